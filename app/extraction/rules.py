"""The rules engine: gazetteer + topic keywords + cue lexicon + date phrases.

For each sentence it finds the claimants, reads each claimant's clauses for stance
cues, assigns the cues to the topics named in the same clause, dates the claim, and
finally keeps one observation per (actor, topic, observed_at) per article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date

from app.extraction.actors import ActorGazetteer
from app.extraction.attribution import Discourse, Holder, find_holders, update_discourse
from app.extraction.cues import combine, has_shift, read_stance
from app.extraction.dates import DatePhrase, Precision, find_dates, pick, refers_earlier
from app.extraction.sentences import Sentence, split_sentences
from app.extraction.topics import TopicHit, TopicMatcher
from app.extraction.types import ArticleText, ExtractedObservation, Label, RegistrySnapshot

VERSION = "rules-0.1.0"
SUPPORT_THRESHOLD = 0.15
# Clause breaks inside a claimant's span: cues in one clause speak about the topics of that clause.
_CLAUSE_BREAK = re.compile(
    r";|,?\s+but\s+|,\s+while\s+|,\s+whereas\s+|,\s+and\s+(?=(?:it|he|she|they|that)\b)"
)
# Nouns that refer back to the proposal discussed in the previous sentence.
_TOPIC_ANAPHOR = re.compile(
    r"\b(?:the|this|that|such an?|its|his|their) (?:plan|proposal|idea|initiative|offer)s?\b"
)


@dataclass(frozen=True)
class Candidate:
    actor: str
    topic: str
    score: float
    label: Label
    confidence: float
    day: date
    precision: Precision
    sentence: Sentence
    speaker: str | None
    shift: bool
    direct: bool


def label_for(score: float, mixed: bool) -> Label:
    if mixed:
        return "mixed"
    if score > SUPPORT_THRESHOLD:
        return "support"
    if score < -SUPPORT_THRESHOLD:
        return "oppose"
    return "neutral"


def utc_day(article: ArticleText) -> date:
    published = article.published_at
    if published.tzinfo is not None:
        published = published.astimezone(UTC)
    return published.date()


class RulesExtractor:
    """Rule-based stance extractor compiled for one registry snapshot."""

    method = "rules"
    version = VERSION

    def __init__(self, registry: RegistrySnapshot) -> None:
        self.registry = registry
        self.gazetteer = ActorGazetteer(registry)
        self.topics = TopicMatcher(registry)

    def extract(self, article: ArticleText) -> list[ExtractedObservation]:
        text = article.text
        if not self.topics.article_is_relevant(text):
            return []
        published = utc_day(article)
        sentences = split_sentences(text)
        gates = self.topics.strong_topics_in(text)
        phrases: list[list[DatePhrase]] = []
        anchor: date | None = None
        for sentence in sentences:
            found = find_dates(sentence.text, published, anchor)
            phrases.append(found)
            days = [p.day for p in found if p.precision is Precision.DAY]
            if days:
                anchor = days[0]

        discourse = Discourse()
        candidates: list[Candidate] = []
        previous_topics: list[TopicHit] = []
        for sentence in sentences:
            mentions = self.gazetteer.find(sentence.text, published)
            holders = find_holders(sentence.text, mentions, discourse, self.gazetteer, published)
            hits = self.topics.find(sentence.text, gates)
            if not hits and previous_topics and _TOPIC_ANAPHOR.search(sentence.text):
                match = _TOPIC_ANAPHOR.search(sentence.text)
                assert match is not None
                hits = [
                    replace(h, start=match.start(), end=match.end(), strong=False) for h in previous_topics
                ]
            if hits:
                previous_topics = [h for h in hits if h.strong] or previous_topics
            if hits and holders:
                for holder in holders:
                    candidates.extend(self._read(sentence, holder, hits, phrases, len(holders), published))
            update_discourse(discourse, mentions, holders)
        candidates = self._drop_summary_leads(candidates, published)
        return [self._observation(c) for c in _merge(candidates)]

    def _read(
        self,
        sentence: Sentence,
        holder: Holder,
        hits: list[TopicHit],
        phrases: list[list[DatePhrase]],
        holder_count: int,
        published: date,
    ) -> list[Candidate]:
        start, end = holder.span
        span_hits = [h for h in hits if start <= h.start < end] or (hits if holder_count == 1 else [])
        if not span_hits:
            return []
        span_text = sentence.text[start:end]
        clauses = _clauses(span_text, start)
        topic_values: dict[str, list[float]] = {h.topic: [] for h in span_hits}
        deferral: dict[str, bool] = dict.fromkeys(topic_values, False)
        division: dict[str, bool] = dict.fromkeys(topic_values, False)
        strong = {h.topic for h in span_hits if h.strong}
        cue_count = 0
        for clause_start, clause_end in clauses:
            parts = read_stance(sentence.text[clause_start:clause_end])
            if parts.suppressed:
                continue
            cue_count += parts.cue_count
            here = {h.topic for h in span_hits if clause_start <= h.start < clause_end}
            targets = here or set(topic_values)
            for topic in targets:
                topic_values[topic].extend(parts.values)
                deferral[topic] = deferral[topic] or parts.deferral
                division[topic] = division[topic] or parts.division
        day, precision = self._date(sentence, holder, phrases, holder_count, published)
        shift = has_shift(span_text)
        out: list[Candidate] = []
        for topic, values in topic_values.items():
            if division[topic]:
                score, mixed = 0.0, True
            elif values:
                score, mixed = combine(values)
                if deferral[topic] and not mixed and score > 0:
                    score = 0.0
            elif deferral[topic]:
                score, mixed = 0.0, False
            else:
                continue
            score = max(-1.0, min(1.0, round(score, 3)))
            confidence = (
                0.45
                + (0.2 if holder.direct else 0.05)
                + (0.1 if topic in strong else 0.0)
                + (0.15 if any(abs(v) >= 1 for v in values) else 0.05)
                + (0.05 if holder.reporting else 0.0)
                - (0.1 if mixed else 0.0)
            )
            out.append(
                Candidate(
                    actor=holder.slug,
                    topic=topic,
                    score=score,
                    label=label_for(score, mixed),
                    confidence=round(max(0.05, min(0.95, confidence)), 3),
                    day=day,
                    precision=precision,
                    sentence=sentence,
                    speaker=holder.speaker,
                    shift=shift,
                    direct=holder.direct,
                )
            )
        return out

    @staticmethod
    def _date(
        sentence: Sentence,
        holder: Holder,
        phrases: list[list[DatePhrase]],
        holder_count: int,
        published: date,
    ) -> tuple[date, Precision]:
        own = phrases[sentence.index]
        start, end = holder.span
        found = pick(own, start, end)
        if found is None and (holder_count == 1 or holder.trailing):
            found = pick(own, 0, len(sentence.text))
        if found is None and refers_earlier(sentence.text[start:end]):
            window = [
                p
                for i in range(max(0, sentence.index - 2), min(len(phrases), sentence.index + 3))
                for p in phrases[i]
                if p.precision is Precision.MONTH and p.day < published.replace(day=1)
            ]
            if window:
                return window[0].day, Precision.MONTH
        if found is None:
            return published, Precision.DEFAULT
        return found.day, found.precision

    def _drop_summary_leads(self, candidates: list[Candidate], published: date) -> list[Candidate]:
        """A state's summary sentence followed by the same stance from its own person codes once."""
        kept: list[Candidate] = []
        for candidate in candidates:
            actor = self.gazetteer.actor(candidate.actor)
            if actor is not None and actor.kind == "state":
                follows = [
                    c
                    for c in candidates
                    if c.topic == candidate.topic
                    and 0 < c.sentence.index - candidate.sentence.index <= 2
                    and candidate.actor in self.gazetteer.ancestors(c.actor, published)
                    and (a := self.gazetteer.actor(c.actor)) is not None
                    and a.kind == "person"
                ]
                if follows:
                    continue
            kept.append(candidate)
        return kept

    @staticmethod
    def _observation(candidate: Candidate) -> ExtractedObservation:
        sentence = candidate.sentence
        return ExtractedObservation(
            actor=candidate.actor,
            topic=candidate.topic,
            score=candidate.score,
            label=candidate.label,
            confidence=candidate.confidence,
            observed_at=candidate.day,
            evidence=sentence.text,
            evidence_start=sentence.start,
            evidence_end=sentence.end,
            speaker=candidate.speaker,
            shift=candidate.shift,
            extras={"date_precision": candidate.precision.name.lower(), "sentence": sentence.index},
        )


def _clauses(span_text: str, offset: int) -> list[tuple[int, int]]:
    bounds: list[tuple[int, int]] = []
    position = 0
    for match in _CLAUSE_BREAK.finditer(span_text):
        bounds.append((offset + position, offset + match.start()))
        position = match.end()
    bounds.append((offset + position, offset + len(span_text)))
    return bounds


def _merge(candidates: list[Candidate]) -> list[Candidate]:
    """One candidate per (actor, topic, day); undated mentions fold into a dated one of the same pair."""
    by_pair: dict[tuple[str, str], list[Candidate]] = {}
    for candidate in candidates:
        by_pair.setdefault((candidate.actor, candidate.topic), []).append(candidate)
    out: list[Candidate] = []
    for group in by_pair.values():
        dated = [c for c in group if c.precision > Precision.DEFAULT]
        if dated:
            best_dated = max(dated, key=lambda c: (c.precision, c.confidence))
            group = [c if c in dated else replace(c, day=best_dated.day) for c in group]
        best: dict[date, Candidate] = {}
        for candidate in group:
            current = best.get(candidate.day)
            if current is None or candidate.confidence > current.confidence:
                best[candidate.day] = candidate
        out.extend(best.values())
    out.sort(key=lambda c: (c.sentence.index, c.actor, c.topic))
    return out
