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
from app.extraction.cues import HEDGE, combine, has_shift, read_stance
from app.extraction.dates import DatePhrase, Precision, find_dates, pick, refers_earlier
from app.extraction.sentences import Sentence, split_sentences
from app.extraction.topics import TopicHit, TopicMatcher
from app.extraction.types import ArticleText, ExtractedObservation, Label, RegistrySnapshot

VERSION = "rules-0.2.0"
SUPPORT_THRESHOLD = 0.15
# Clause breaks inside a claimant's span: cues in one clause speak about the topics of that clause.
_CLAUSE_BREAK = re.compile(
    r";|,?\s+but\s+|,\s+while\s+|,\s+whereas\s+|,\s+(?:even\s+)?(?:though|although)\s+|"
    r",\s+(?:(?:a|one|two|three|several) (?:day|days|week|weeks|hours) |shortly |just |hours )?(?:after|before)\s+|"
    r",\s+and\s+(?=(?:it|he|she|they|that|would|will|could|should|must|can|has|have|had)\b)"
)
# A concessive clause with a subject of its own reports someone else ("even though the plan does
# not have the backing of all allies"), unless that subject refers back to the claimant.
_CONCESSIVE = re.compile(r"^\s*,?\s*(?:even\s+)?(?:though|although)\s+(?!(?:he|she|it|they|we|I)\b)", re.I)
# "..., a day after 26 countries pledged to contribute": an earlier event with its own subject.
_TEMPORAL_EVENT = re.compile(
    r"^\s*,\s+(?:(?:a|one|two|three|several) (?:day|days|week|weeks|hours) |shortly |just |hours )?"
    r"(?:after|before)\s+(?!(?:he|she|it|they|we|I|\w+ing)\b)[^,;]*?\b(?:\w+ed|said|told|met|made)\b",
    re.I,
)
# Nouns that refer back to a proposal; the antecedent names it with a complement ("plans for a force").
_TOPIC_ANAPHOR = re.compile(
    r"\b(?:the|this|that|such an?|its|his|their) (?:plan|proposal|idea|initiative|offer)s?\b"
)
_PROPOSAL_NOUN = re.compile(r"\b(?:plan|proposal|idea|initiative|offer)s?\s+(?:for|to|of|on)\b")
_COMPLEMENT_REACH = 40  # characters after the noun, up to the first punctuation
# Nouns that refer back to an act ("welcomed the decision", "any delay"): the topic of the act.
_EVENT_ANAPHOR = re.compile(
    r"\b(?:the|this|any|such an?) (?:decision|move|halt|pause|delay|suspension|freeze|news|"
    r"announcement)s?\b",
    re.IGNORECASE,
)
_EVENT_REACH = 3  # sentences back
_REDUCTION_ACT = re.compile(
    r"\b(?:paus\w*|halt\w*|suspen\w+|freez\w*|froze|held back|hold(?:s|ing)? back|stopp\w+)", re.I
)
_RESUMPTION_ACT = re.compile(r"\b(?:resum\w+|lift(?:s|ed|ing)? the pause|reversed course|unfroze\w*)", re.I)
_EVALUATION = re.compile(r"\b(?:welcom\w+|warn\w*|prais\w+|criticis\w+|criticiz\w+|best contribution)", re.I)
# "mocked it", "reversed course": the claimant's clause refers to the topic named earlier.
_REFERS_BACK = re.compile(
    r"\b\w+(?:ed|s)\s+(?:it|them)\b|\brevers\w+|\bu-turn\b|\bchanged course\b", re.IGNORECASE
)
# The same claimant's earlier and later position in one clause: a shift.
_EARLIER_POSITION = re.compile(r"\b(?:initially|previously|at first|earlier)\b", re.IGNORECASE)
_LATER_POSITION = re.compile(r"\b(?:has since|have since|now|no longer|later)\b", re.IGNORECASE)
_PERFECT_OR_PRESENT = re.compile(r"\b(?:has|have|had|says|say|will|is|are)\b", re.IGNORECASE)
_SIMPLE_PAST = re.compile(r"\b(?:\w+ed|said|told|spoke|wrote|made|gave|set|put|took|held)\s*$", re.IGNORECASE)
_APPOSITIVE_CLAIM = re.compile(r"\s*,\s*who\b[^,;]*\b(?:said|told|offered|proposed|announced)\b[^,;]*,")
_LEAD_WINDOW = 3  # days: the lead's event day dates undated remarks made at that event
_REFERENCE = re.compile(r"\b(?:he|she|He|She|It|[Tt]he (?:minister|president|chancellor|envoy|spokes\w+))\b")
_SEMANTIC = "~semantic"  # keyword of topic hits added by a semantic gate (whole sentence)


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
    # other sentences of the article that report the same claim (same actor, topic, day and sign)
    supporting: tuple[tuple[Sentence, str | None], ...] = ()


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
    """Rule-based stance extractor compiled for one registry snapshot.

    Subclasses may refine topic detection through `refine_topics`, which sees every
    sentence of an article with its keyword hits (the embeddings engine adds a
    semantic gate there).
    """

    method = "rules"
    version = VERSION

    def __init__(self, registry: RegistrySnapshot) -> None:
        self.registry = registry
        self.gazetteer = ActorGazetteer(registry)
        self.topics = TopicMatcher(registry)
        self.suppliers = self._suppliers(registry)

    def _suppliers(self, registry: RegistrySnapshot) -> dict[str, frozenset[str]]:
        """Per topic, the states its name makes the supplier ("US military aid to Ukraine" -> US)."""
        own: dict[str, frozenset[str]] = {}
        for topic in registry.topics:
            found = set()
            for mention in self.gazetteer.find(topic.name, date.today()):
                if mention.kind == "state" and mention.start == 0:
                    found.add(mention.slug)
            own[topic.slug] = frozenset(found)
        parents = {t.slug: t.parent for t in registry.topics}
        out: dict[str, frozenset[str]] = {}
        for slug in own:
            current: str | None = slug
            while current is not None and not own.get(current):
                current = parents.get(current)
            out[slug] = own.get(current, frozenset()) if current else frozenset()
        return out

    def refine_topics(
        self, sentences: list[Sentence], hits: list[list[TopicHit]], claimable: list[bool]
    ) -> list[list[TopicHit]]:
        """Hook for engines that add or veto topic hits; the rules engine keeps keyword hits.

        `claimable[i]` says whether sentence i names an actor or refers to one ("he said"):
        topics of other sentences cannot produce an observation.
        """
        return hits

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
        lead_day = _lead_day(phrases, published)
        keyword_hits = [self.topics.find(sentence.text, gates) for sentence in sentences]
        sentence_mentions = [self.gazetteer.find(sentence.text, published) for sentence in sentences]
        claimable = [
            bool(m) or bool(_REFERENCE.search(s.text))
            for s, m in zip(sentences, sentence_mentions, strict=True)
        ]
        all_hits = self.refine_topics(sentences, keyword_hits, claimable)

        discourse = Discourse()
        candidates: list[Candidate] = []
        reduced: dict[str, bool] = {}  # topic -> the latest act on it was a halt or pause
        for sentence in sentences:
            mentions = sentence_mentions[sentence.index]
            holders = find_holders(sentence.text, mentions, discourse, self.gazetteer, published)
            hits = all_hits[sentence.index]
            about_reduction = False
            if not hits:
                hits, about_reduction = self._anaphoric_hits(sentence, sentences, keyword_hits, reduced)
            if hits and holders:
                for holder in holders:
                    candidates.extend(
                        self._read(
                            sentence,
                            holder,
                            hits,
                            phrases,
                            len(holders),
                            published,
                            lead_day,
                            about_reduction,
                        )
                    )
            for hit in keyword_hits[sentence.index]:
                if _RESUMPTION_ACT.search(sentence.text):
                    reduced[hit.topic] = False
                elif _REDUCTION_ACT.search(sentence.text):
                    reduced[hit.topic] = True
            update_discourse(discourse, mentions, holders)
        candidates = self._drop_summary_leads(candidates, published)
        candidates = self._drop_bystanders(candidates, published)
        return [self._observation(c) for c in _merge(candidates)]

    def _anaphoric_hits(
        self,
        sentence: Sentence,
        sentences: list[Sentence],
        keyword_hits: list[list[TopicHit]],
        reduced: dict[str, bool],
    ) -> tuple[list[TopicHit], bool]:
        """Topics a sentence without keywords refers back to ("the plan", "the decision")."""
        index = sentence.index
        proposal = _TOPIC_ANAPHOR.search(sentence.text)
        if proposal is not None:
            span = proposal.span()
            for earlier in range(index - 1, -1, -1):
                antecedent = _PROPOSAL_NOUN.search(sentences[earlier].text)
                if antecedent is None:
                    continue
                tail = sentences[earlier].text[antecedent.end() : antecedent.end() + _COMPLEMENT_REACH]
                reach = (antecedent.start(), antecedent.end() + len(re.split(r"[,;.]", tail)[0]))
                found = [h for h in keyword_hits[earlier] if reach[0] <= h.start < reach[1]]
                return [replace(h, start=span[0], end=span[1], strong=False) for h in found], False
            if index > 0:
                found = [h for h in keyword_hits[index - 1] if h.strong]
                return [replace(h, start=span[0], end=span[1], strong=False) for h in found], False
        event = _EVENT_ANAPHOR.search(sentence.text)
        if event is not None:
            for earlier in range(index - 1, max(-1, index - 1 - _EVENT_REACH), -1):
                found = keyword_hits[earlier]
                if found:
                    hits = [replace(h, start=event.start(), end=event.end(), strong=False) for h in found]
                    return hits, any(reduced.get(h.topic, False) for h in hits)
        return [], False

    def _read(
        self,
        sentence: Sentence,
        holder: Holder,
        hits: list[TopicHit],
        phrases: list[list[DatePhrase]],
        holder_count: int,
        published: date,
        lead_day: date | None = None,
        about_reduction: bool = False,
        scoped_dates: bool = False,
    ) -> list[Candidate]:
        start, end = holder.span
        text = sentence.text
        appositive = _APPOSITIVE_CLAIM.match(text, holder.end)
        if appositive is not None and not scoped_dates and start <= holder.start:
            # "Starmer, who a day earlier said Britain was ready ..., said after the meeting that ...":
            # two dated claims by one claimant.
            dated = [p for p in phrases[sentence.index] if holder.end <= p.start < appositive.end()]
            if dated:
                earlier = replace(holder, span=(holder.end, appositive.end()))
                later = replace(holder, span=(appositive.end(), end))
                args = (phrases, holder_count, published, lead_day, about_reduction, True)
                return self._read(sentence, earlier, hits, *args) + self._read(sentence, later, hits, *args)
        everywhere = [h for h in hits if h.keyword == _SEMANTIC]
        located = [h for h in hits if h.keyword != _SEMANTIC]
        span_hits = [h for h in located if start <= h.start < end] or (located if holder_count == 1 else [])
        if not span_hits and located and _REFERS_BACK.search(text[start:end]):
            span_hits = [h for h in located if h.start < start]  # "has since mocked it"
        span_hits = span_hits + [h for h in everywhere if h.topic not in {x.topic for x in span_hits}]
        if not span_hits:
            return []
        span_text = text[start:end]
        masked = _mask(text, holder.excluded)
        clauses = _clauses(span_text, start)
        topic_values: dict[str, list[float]] = {h.topic: [] for h in span_hits}
        deferral: dict[str, bool] = dict.fromkeys(topic_values, False)
        division: dict[str, bool] = dict.fromkeys(topic_values, False)
        strong = {h.topic for h in span_hits if h.strong}
        for clause_start, clause_end in clauses:
            clause = masked[clause_start:clause_end]
            if clause_start > start and _subordinate_event(text, clause_start, clause_end):
                continue
            refers = about_reduction and any(
                clause_start <= h.start < clause_end for h in span_hits if not h.strong
            )
            parts = read_stance(clause, about_reduction=refers)
            if parts.suppressed:
                continue
            here = {h.topic for h in span_hits if clause_start <= h.start < clause_end}
            targets = here or set(topic_values)
            for topic in targets:
                topic_values[topic].extend(parts.values)
                deferral[topic] = deferral[topic] or parts.deferral
                division[topic] = division[topic] or parts.division
        hedged = bool(HEDGE.search(span_text))
        relayed_nothing = not any(v > 0 for values in topic_values.values() for v in values)
        if holder.relayed and not any(division.values()) and relayed_nothing:
            return []  # a member relays its group's decision or division, nothing else
        day, precision = self._date(
            sentence, holder, phrases, 1 if scoped_dates else holder_count, published, lead_day
        )
        if scoped_dates:
            day, precision = self._date(
                sentence, replace(holder, trailing=False), phrases, 2, published, lead_day
            )
        shift = self._shift(span_text, holder, text)
        out: list[Candidate] = []
        for topic, values in topic_values.items():
            if hedged:
                values = [min(v, 0.5) for v in values]
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
    def _shift(span_text: str, holder: Holder, text: str) -> bool:
        """The clause reports a change of this claimant's position."""
        if has_shift(span_text):
            return True
        if _EARLIER_POSITION.search(span_text) and _LATER_POSITION.search(span_text):
            return True
        # Halting or pausing something is a change from supplying it, when the claimant does it.
        return bool(_REDUCTION_ACT.search(span_text)) and not _EVALUATION.search(span_text)

    @staticmethod
    def _date(
        sentence: Sentence,
        holder: Holder,
        phrases: list[list[DatePhrase]],
        holder_count: int,
        published: date,
        lead_day: date | None = None,
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
        if found is None and lead_day is not None and _simple_past(sentence.text, holder):
            return lead_day, Precision.CONTEXT
        if found is None:
            return published, Precision.DEFAULT
        return found.day, found.precision

    def _drop_bystanders(self, candidates: list[Candidate], published: date) -> list[Candidate]:
        """Claims on a topic with a named supplier ("US military aid") from actors other than the
        supplier count only when the supplier takes part in the article's claims or the sentence."""
        kept: list[Candidate] = []
        for candidate in candidates:
            suppliers = self.suppliers.get(candidate.topic, frozenset())
            if not suppliers or self._belongs(candidate.actor, suppliers, published):
                kept.append(candidate)
                continue
            family = {t for t, s in self.suppliers.items() if s == suppliers}
            engaged = any(
                c.topic in family and self._belongs(c.actor, suppliers, published) for c in candidates
            )
            named = any(
                self._belongs(m.slug, suppliers, published)
                for m in self.gazetteer.find(candidate.sentence.text, published)
            )
            if engaged or named:
                kept.append(candidate)
        return kept

    def _belongs(self, slug: str, groups: frozenset[str], on: date) -> bool:
        return slug in groups or bool(self.gazetteer.ancestors(slug, on) & groups)

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
            extras={
                "date_precision": candidate.precision.name.lower(),
                "sentence": sentence.index,
                "supporting": [
                    {"evidence": other.text, "start": other.start, "end": other.end, "speaker": speaker}
                    for other, speaker in candidate.supporting
                ],
            },
        )


def _subordinate_event(text: str, clause_start: int, clause_end: int) -> bool:
    """A concessive or temporal clause about someone else ("even though the plan does not ...")."""
    window = text[max(0, clause_start - 40) : clause_end]
    head = text[max(0, clause_start - 40) : clause_start]
    comma = head.rfind(",")
    piece = window[comma:] if comma >= 0 else text[clause_start:clause_end]
    return bool(_CONCESSIVE.match(piece) or _TEMPORAL_EVENT.match(piece))


def _lead_day(phrases: list[list[DatePhrase]], published: date) -> date | None:
    """The day of the event the lead reports ("said on Thursday"), if it is recent."""
    if not phrases:
        return None
    for phrase in phrases[0]:
        if phrase.precision is Precision.DAY and 0 <= (published - phrase.day).days <= _LEAD_WINDOW:
            return phrase.day
    return None


def _simple_past(text: str, holder: Holder) -> bool:
    """The claimant's verb is a plain past ("said", "told"), not a perfect or present."""
    region = text[holder.end : holder.verb_end]
    return not _PERFECT_OR_PRESENT.search(region) and bool(_SIMPLE_PAST.search(region))


def _mask(text: str, ranges: tuple[tuple[int, int], ...]) -> str:
    """`text` with the given ranges blanked out (offsets unchanged)."""
    if not ranges:
        return text
    chars = list(text)
    for start, end in ranges:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _clauses(span_text: str, offset: int) -> list[tuple[int, int]]:
    bounds: list[tuple[int, int]] = []
    position = 0
    for match in _CLAUSE_BREAK.finditer(span_text):
        bounds.append((offset + position, offset + match.start()))
        position = match.end()
    bounds.append((offset + position, offset + len(span_text)))
    return bounds


def _best(candidates: list[Candidate]) -> Candidate:
    """The most telling of several reports of one claim: the most confident one, unless a report
    with an explicit date disagrees with it (a summary lead "has ruled out ..." against the
    detailed "said on Tuesday ...")."""
    best = max(candidates, key=lambda c: c.confidence)
    precise = max(candidates, key=lambda c: (c.precision, c.confidence))
    if precise.label != best.label and precise.precision > max(best.precision, Precision.CONTEXT):
        return precise
    return best


def _with_support(best: Candidate, reports: list[Candidate]) -> Candidate:
    """`best` with the other sentences that make the same claim, in text order, once each."""
    same_sign = [
        c
        for c in reports
        if c.sentence.index != best.sentence.index and (c.score > 0) == (best.score > 0) and c.score != 0
    ]
    seen: dict[int, tuple[Sentence, str | None]] = {}
    for c in sorted(same_sign, key=lambda c: c.sentence.index):
        seen.setdefault(c.sentence.index, (c.sentence, c.speaker))
    return replace(best, supporting=tuple(seen.values())) if seen else best


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
        by_day: dict[date, list[Candidate]] = {}
        for candidate in group:
            by_day.setdefault(candidate.day, []).append(candidate)
        out.extend(_with_support(_best(same_day), same_day) for same_day in by_day.values())
    out.sort(key=lambda c: (c.sentence.index, c.actor, c.topic))
    return out
