"""The staged extractor: sentences -> mentions -> topic relevance -> parse -> claimants -> stance -> merge.

Each stage is its own module; this one wires them over one `Document`:

1. `sentences`, `dates`: sentences with offsets, date phrases resolved against the article date;
2. `actors` (registry aliases, dated offices) and short-range coreference (`coreference`);
3. `relevance`: keyword hits per sentence and the topics the article is about;
4. `nlp`: only sentences that hold an actor and a topic candidate are parsed;
5. `claimants`: who makes each claim, with the speaker;
6. `stance`: sign and strength relative to the topic;
7. `merge`: one observation per (actor, topic, observed_at).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date
from typing import TYPE_CHECKING, Any

from app.extraction import nlp
from app.extraction.actors import ActorGazetteer
from app.extraction.claimants import ActorRef, Claimant, find_claimants
from app.extraction.coreference import Discourse, references
from app.extraction.dates import DATELINE, Precision, find_dates, pick, refers_earlier
from app.extraction.document import Document
from app.extraction.explain import NOT_PARSED_NO_ACTOR, NOT_PARSED_NO_TOPIC
from app.extraction.features import claim_features
from app.extraction.lexicon import REFERRING_NOUNS, SPEECH
from app.extraction.merge import Candidate, label_for, merge, to_observation
from app.extraction.relevance import TopicIndex, excluded
from app.extraction.sentences import split_sentences
from app.extraction.stance import (
    Reading,
    ancestors_path,
    circumstance,
    foreign_clause,
    read_clause,
    read_path,
)
from app.extraction.topic_cues import topic_cues
from app.extraction.types import ArticleText, ExtractedObservation, RegistrySnapshot

if TYPE_CHECKING:
    from app.extraction.explain import ExtractionTrace

VERSION = "pipeline-1.0.0"
Token = Any
_LEAD_WINDOW = 3  # days: the lead's event day dates undated remarks made at that event
_REFERRING_DETERMINERS = frozenset(
    ("the", "this", "that", "these", "those", "such", "its", "their", "his", "her")
)
_TOPIC_PRONOUNS = frozenset(("it", "them", "this", "that"))


@dataclass(frozen=True)
class Tuning:
    """The pipeline's few numbers; set by hand, checked storyline by storyline held out (`stanceline eval --held-out`)."""

    # share of the article's topic evidence above which a clause may leave its topic unnamed
    focus_alone: float = 0.6
    # sentences: how far back "it" or "the plan" may find the topic they refer to
    recent_topic: int = 3
    # words from a topic's head noun to a distinctive name of it ("the Hollow Creek project")
    compound_window: int = 6


@dataclass(frozen=True)
class Anchor:
    topic: str
    token: int
    strong: bool  # a keyword, not a reference
    keyword: str = ""


def utc_day(article: ArticleText) -> date:
    published = article.published_at
    if published.tzinfo is not None:
        published = published.astimezone(UTC)
    return published.date()


class PipelineExtractor:
    """The staged extractor compiled for one registry snapshot.

    `semantic_topics(document)` is the hook for engines that add topic relevance by sentence
    similarity; this engine adds none.
    """

    method = "rules"
    version = VERSION
    # for the learned engine (`learned.py`): describe every reading, and keep those that name the
    # topic without a stance cue, which the rules drop and a model may keep
    collect_features = False
    keep_uncued = False

    def __init__(self, registry: RegistrySnapshot, tuning: Tuning | None = None) -> None:
        self.registry = registry
        self.tuning = tuning or Tuning()
        self.gazetteer = ActorGazetteer(registry)
        self.index = TopicIndex(registry, compound_window=self.tuning.compound_window)
        self.names = {a.slug: a.name for a in registry.actors}
        self.kinds = {a.slug: a.kind for a in registry.actors}
        self.cues: dict[str, Mapping[str, float]] = {t.slug: topic_cues(t) for t in registry.topics}

    # -- stages -----------------------------------------------------------------------------

    def prepare(self, article: ArticleText, trace: ExtractionTrace | None = None) -> Document:
        published = utc_day(article)
        sentences = split_sentences(article.text)
        doc = Document(article=article, published=published, sentences=sentences, trace=trace)
        anchor: date | None = None
        for sentence in sentences:
            found = find_dates(sentence.text, published, anchor)
            doc.dates.append(found)
            days = [p.day for p in found if p.precision is Precision.DAY]
            if days:
                anchor = days[0]
        doc.lead_day = _lead_day(doc)
        doc.mentions = [self.gazetteer.find(s.text, published) for s in sentences]
        doc.topic_hits = [self.index.hits(s.text) for s in sentences]
        doc.title_hits = self.index.hits(article.title or "")
        doc.focus = self.index.focus(doc.topic_hits, doc.title_hits)
        doc.semantic = self.semantic_topics(doc)
        return doc

    def semantic_topics(self, doc: Document) -> list[dict[str, float]]:
        return [{} for _ in doc.sentences]

    def _not_worth_parsing(self, doc: Document, index: int) -> str | None:
        """Why a sentence is not parsed (None: it is). A sentence is parsed when it can hold a claim:
        an actor (named, or referred to by a pronoun or role noun after the first sentence) and a
        topic (named, referred to, or the one topic the whole article is about)."""
        text = doc.sentences[index].text
        has_actor = bool(doc.mentions[index]) or (index > 0 and _REFERENCE.search(text) is not None)
        if not has_actor:
            return NOT_PARSED_NO_ACTOR
        if doc.topic_hits[index] or doc.semantic[index]:
            return None
        if any(share >= self.tuning.focus_alone for share in doc.focus.values()):
            return None
        if bool(doc.focus) and _TOPIC_REFERENCE.search(text) is not None:
            return None
        return NOT_PARSED_NO_TOPIC

    def parse(self, doc: Document) -> None:
        wanted = []
        for i in range(len(doc.sentences)):
            skipped = self._not_worth_parsing(doc, i)
            if skipped is None:
                wanted.append(i)
            elif doc.trace is not None:
                doc.trace.not_parsed(i, skipped)
        if not wanted:
            return
        texts = []
        for i in wanted:
            text = doc.sentences[i].text
            skip = DATELINE.match(text) or _SHORT_DATELINE.match(text)
            offset = skip.end() if skip else 0
            doc.parse_offsets[i] = offset
            texts.append(text[offset:])
        for i, parsed in zip(wanted, nlp.parse(texts), strict=True):
            doc.parses[i] = parsed

    def extract(
        self, article: ArticleText, trace: ExtractionTrace | None = None
    ) -> list[ExtractedObservation]:
        """The article's observations; `trace` (see `explain.py`), when given, records why."""
        _, candidates = self.claims(article, trace)
        return [to_observation(c) for c in merge(candidates, trace)]

    def claims(
        self, article: ArticleText, trace: ExtractionTrace | None = None
    ) -> tuple[Document, list[Candidate]]:
        """The article's document and every claim read in it, before merging."""
        doc = self.prepare(article, trace)
        if trace is not None:
            trace.prepared(doc, self)
        if not any(doc.topic_hits) and not any(doc.semantic):
            if trace is not None:
                trace.nothing_to_parse()
            return doc, []
        self.parse(doc)
        discourse = Discourse()
        candidates: list[Candidate] = []
        recent_topics: dict[str, int] = {}
        for sentence in doc.sentences:
            i = sentence.index
            for hit in doc.topic_hits[i]:
                if hit.strong:
                    recent_topics[hit.topic] = i
            for topic in doc.semantic[i]:
                recent_topics.setdefault(topic, i)
            parsed = doc.parses.get(i)
            if parsed is None:
                discourse.forget_sentence()
                continue
            refs = self._refs(doc, i, parsed, discourse)
            sentence_trace = trace.sentences[i] if trace is not None else None
            claimants = find_claimants(parsed, refs, self.names, trace=sentence_trace)
            anchors = self._anchors(doc, i, parsed, recent_topics, {c.actor_token for c in claimants})
            if trace is not None:
                trace.parsed(i, parsed, doc.parse_offsets[i], refs, claimants)
                for a in anchors:
                    trace.anchored(i, a.topic, parsed[a.token].text, a.keyword, a.strong)
            for claimant in claimants:
                if trace is not None:
                    trace.begin_claim(i)
                candidates.extend(self._read(doc, i, parsed, claimant, anchors))
                if trace is not None:
                    trace.end_claim(i, claimant.slug, parsed[claimant.predicate].text)
            discourse.update(parsed, refs, claimants, self.kinds)
        return doc, _drop_summary_leads(candidates, self.gazetteer, doc.published, trace)

    # -- helpers ----------------------------------------------------------------------------

    def _refs(self, doc: Document, i: int, parsed: Any, discourse: Discourse) -> list[ActorRef]:
        offset = doc.parse_offsets[i]
        refs: list[ActorRef] = []
        for mention in doc.mentions[i]:
            if mention.end <= offset:
                continue
            span = parsed.char_span(
                max(0, mention.start - offset), mention.end - offset, alignment_mode="expand"
            )
            if span is None or len(span) == 0:
                continue
            refs.append(ActorRef(mention.slug, mention.kind, span.start, span.end, True, mention.text))
        refs.extend(references(parsed, refs, discourse, self.gazetteer, doc.published))
        return refs

    def _anchors(
        self, doc: Document, i: int, parsed: Any, recent: dict[str, int], actor_tokens: set[int]
    ) -> list[Anchor]:
        offset = doc.parse_offsets[i]
        anchors: list[Anchor] = []
        covered: set[int] = set()
        near = [t for t, at in recent.items() if i - at <= self.tuning.recent_topic]
        sure = (
            {h.topic for h in doc.topic_hits[i] if h.strong}
            | set(near)
            | set(doc.focus)
            | set(doc.semantic[i])
        )
        for hit in doc.topic_hits[i]:
            if hit.end <= offset or (not hit.strong and hit.topic not in sure):
                continue  # a weak keyword counts only where the topic is otherwise in view
            span = parsed.char_span(max(0, hit.start - offset), hit.end - offset, alignment_mode="expand")
            if span is None or len(span) == 0:
                continue
            anchors.append(Anchor(hit.topic, span.root.i, hit.strong, hit.keyword))
            covered.update(range(span.start, span.end))
        blocked = self.index.excluded_spans(doc.sentences[i].text)
        focused = sorted(doc.focus, key=lambda t: (-doc.focus[t], t))
        for token in parsed:
            if token.i in covered or token.i in actor_tokens:
                continue
            lemma = str(token.lemma_).lower()
            if token.pos_ == "NOUN":
                topics = sorted(self.index.topics_for_noun(lemma), key=lambda t: (-doc.focus.get(t, 0.0), t))
                chosen = [
                    t for t in topics if t in near or t in doc.focus or self.index.parents.get(t) in doc.focus
                ]
                if not chosen and lemma in REFERRING_NOUNS and _definite(token):
                    chosen = near[:1] if len(near) == 1 else focused[:1]
                at = token.idx + offset
                for topic in chosen[:1]:
                    if not excluded(blocked, topic, at, at + len(token)):
                        anchors.append(Anchor(topic, token.i, False))
            elif (
                token.pos_ == "PRON"
                and token.lower_ in _TOPIC_PRONOUNS
                and token.dep_ in ("dobj", "pobj")
                and len(near) == 1
            ):
                anchors.append(Anchor(near[0], token.i, False))
        # a child topic named in the sentence replaces its parent ("cod quota" is not also "fishing quotas")
        named = {a.topic for a in anchors if a.strong}
        replaced = {parent for t in named if (parent := self.index.parents.get(t)) is not None}
        return [a for a in anchors if a.strong or a.topic not in replaced]

    def _read(
        self, doc: Document, i: int, parsed: Any, claimant: Claimant, anchors: list[Anchor]
    ) -> list[Candidate]:
        predicate = parsed[claimant.predicate]
        trace = doc.trace
        sentence_trace = trace.sentences[i] if trace is not None else None
        actor_span = {t.i for t in parsed[claimant.actor_token].subtree}
        subtree = {t.i for t in predicate.subtree}
        by_topic: dict[str, list[tuple[Reading, Anchor]]] = {}
        for anchor in anchors:
            if anchor.token in actor_span:
                continue
            path = ancestors_path(parsed[anchor.token], predicate)
            if path is None and predicate.dep_ == "relcl" and anchor.token not in subtree:
                # "the pause that the mayor had ordered": the noun a relative clause modifies is its object
                head_path = ancestors_path(parsed[anchor.token], predicate.head)
                path = [*head_path, predicate] if head_path is not None else None
            if path is None and str(predicate.lemma_).lower() in SPEECH and predicate.dep_ == "parataxis":
                # "The EU should rethink its plan, Sanchez said": the report hangs off its content
                to_content = ancestors_path(parsed[anchor.token], predicate.head)
                path = [*to_content, predicate] if to_content is not None else None
            if path is None and str(predicate.lemma_).lower() in SPEECH:
                # a quote the parser split off from its "he said": its root is the content
                root = _root(parsed[anchor.token])
                if root.i != _root(predicate).i:
                    to_root = ancestors_path(parsed[anchor.token], root)
                    path = [*to_root, predicate] if to_root is not None else None
            if path is None or foreign_clause(path, claimant.actor_token) or circumstance(path):
                if trace is not None:
                    trace.unread(i, claimant.slug, anchor.topic, _no_path(path, parsed, anchor, claimant))
                continue
            if trace is not None:
                trace.reading(i, claimant.slug, anchor.topic)
            reading = read_path(
                path,
                self.cues.get(anchor.topic, {}),
                named=anchor.strong,
                keyword=anchor.keyword,
                trace=sentence_trace,
            )
            by_topic.setdefault(anchor.topic, []).append((reading, anchor))
        out: list[Candidate] = []
        for topic, readings in by_topic.items():
            current = [(r, a) for r, a in readings if _now(parsed, a.token, predicate)]
            named = [(r, a) for r, a in readings if a.strong]
            # what the claimant holds now outweighs what it held before ("initially backed it but
            # now opposes it"); a keyword outweighs "it" or "the plan"
            readings = current or named or readings
            explicit = [(r, a) for r, a in readings if r.explicit]
            if not explicit and self.keep_uncued:
                out.append(self._candidate(doc, i, parsed, claimant, topic, readings, basis="uncued"))
                continue
            if not explicit:
                if trace is not None:
                    words = ", ".join(repr(parsed[a.token].text) for _, a in readings)
                    trace.unread(
                        i,
                        claimant.slug,
                        topic,
                        f"no stance cue: {predicate.text!r} names the topic ({words}) without taking a side",
                    )
                continue  # naming the topic without taking a side ("said the charge takes effect in May")
            out.append(self._candidate(doc, i, parsed, claimant, topic, explicit))
        if by_topic:
            return out
        # The clause names no topic: read it whole for a topic named elsewhere in the sentence,
        # or for the one topic the article is about.
        claimant_tokens = {t.i for t in parsed[claimant.actor_token].subtree}
        topics = {
            a.topic for a in anchors if a.token not in claimant_tokens and parsed[a.token].pos_ != "PRON"
        }
        topics |= set(doc.semantic[i])
        basis = "clause"
        if not topics:
            dominant = [t for t, share in doc.focus.items() if share >= self.tuning.focus_alone]
            topics, basis = set(dominant), "focus"
            if trace is not None:
                trace.by_focus(i, dominant)
        if not topics:
            return []
        refers = self._refers(topics) if not doc.semantic[i] else (lambda _token: True)
        out = []
        for topic in sorted(topics):
            if trace is not None:
                trace.reading(i, claimant.slug, topic)
            clause = read_clause(predicate, self.cues.get(topic, {}), refers, trace=sentence_trace)
            if clause is not None and clause.explicit:
                out.append(self._candidate(doc, i, parsed, claimant, topic, [(clause, None)], basis=basis))
            elif trace is not None:
                trace.unread(
                    i,
                    claimant.slug,
                    topic,
                    f"the clause of {predicate.text!r} names no topic and is about something of its own"
                    if clause is None
                    else f"no stance cue in the clause of {predicate.text!r}",
                )
        return out

    def _refers(self, topics: set[str]) -> Callable[[Token], bool]:
        def refers(token: Token) -> bool:
            lemma = str(token.lemma_).lower()
            return lemma in REFERRING_NOUNS or bool(self.index.topics_for_noun(lemma) & topics)

        return refers

    def _candidate(
        self,
        doc: Document,
        i: int,
        parsed: Any,
        claimant: Claimant,
        topic: str,
        readings: Sequence[tuple[Reading, Anchor | None]],
        basis: str = "path",
    ) -> Candidate:
        fallback = basis in ("clause", "focus")
        values = [r.score for r, _ in readings]
        positives = [v for v in values if v > 0]
        negatives = [v for v in values if v < 0]
        mixed = bool(positives and negatives)
        score = (max(positives) + min(negatives)) / 2 if mixed else max(values, key=abs)
        strong = any(a is not None and a.strong for _, a in readings)
        explicit = any(r.explicit for r, _ in readings)
        confidence = (
            0.4
            + (0.15 if claimant.direct else 0.05)
            + (0.15 if strong else 0.05)
            + (0.15 if explicit else 0.0)
            + (0.05 if abs(score) >= 1 else 0.0)
            - (0.15 if fallback else 0.0)
            - (0.1 if mixed else 0.0)
        )
        day, precision = self._date(doc, i, parsed, claimant)
        features = (
            claim_features(
                doc,
                i,
                parsed,
                claimant,
                topic,
                kind=self.kinds.get(claimant.slug, "group"),
                basis=basis,
                score=score,
                rules_confidence=confidence,
                strong=strong,
                explicit=explicit,
                mixed=mixed,
                shift=any(r.shift for r, _ in readings),
                anchors=[a.token for _, a in readings if a is not None],
            )
            if self.collect_features
            else {}
        )
        candidate = Candidate(
            actor=claimant.slug,
            topic=topic,
            score=round(max(-1.0, min(1.0, score)), 3),
            label=label_for(score, mixed),
            confidence=round(max(0.05, min(0.95, confidence)), 3),
            day=day,
            precision=precision,
            sentence=doc.sentences[i],
            speaker=claimant.speaker,
            shift=any(r.shift for r, _ in readings),
            shift_from=next((r.earlier for r, _ in readings if r.shift and r.earlier is not None), None),
            direct=claimant.direct,
            basis=basis,
            features=features,
        )
        if doc.trace is not None:
            doc.trace.candidate(i, candidate, _how(parsed, claimant, readings, candidate))
        return candidate

    def _date(self, doc: Document, i: int, parsed: Any, claimant: Claimant) -> tuple[date, Precision]:
        sentence = doc.sentences[i]
        offset = doc.parse_offsets[i]
        predicate = parsed[claimant.predicate]
        tokens = list(predicate.subtree)
        start = tokens[0].idx + offset
        end = tokens[-1].idx + len(tokens[-1]) + offset
        own = doc.dates[i]
        found = pick(own, start, end) or pick(own, 0, len(sentence.text))
        if found is None and refers_earlier(sentence.text[start:end]):
            window = [
                p
                for k in range(max(0, i - 2), min(len(doc.dates), i + 3))
                for p in doc.dates[k]
                if p.precision is Precision.MONTH and p.day < doc.published.replace(day=1)
            ]
            if window:
                return window[0].day, Precision.MONTH
        if found is None and doc.lead_day is not None and predicate.tag_ == "VBD":
            return doc.lead_day, Precision.CONTEXT
        if found is None:
            return doc.published, Precision.DEFAULT
        return found.day, found.precision


def _no_path(path: list[Token] | None, parsed: Any, anchor: Anchor, claimant: Claimant) -> str:
    """Why a claim is not read for the topic word at `anchor` (tracing only)."""
    verb, word = parsed[claimant.predicate].text, parsed[anchor.token].text
    if path is None:
        return f"{verb!r} does not govern {word!r} in the parse"
    if foreign_clause(path, claimant.actor_token):
        return f"{word!r} sits in a clause with a subject of its own, not {verb!r}'s"
    return f"{word!r} is only the time or place of the claim"


def _how(
    parsed: Any, claimant: Claimant, readings: Sequence[tuple[Reading, Anchor | None]], candidate: Candidate
) -> str:
    """How a candidate was read, in words (tracing only)."""
    verb = parsed[claimant.predicate].text
    words = ", ".join(repr(parsed[a.token].text) for _, a in readings if a is not None)
    how = {
        "path": f"read along the parse from {verb!r} to {words}",
        "clause": f"{verb!r}'s clause read for a topic named elsewhere in the sentence",
        "focus": f"{verb!r}'s clause read for the article's main topic",
    }.get(candidate.basis, candidate.basis)
    said = f" (speaker: {candidate.speaker})" if candidate.speaker else ""
    return f"{candidate.actor} {candidate.label} {candidate.score:+g}{said}, {how}"


def _now(parsed: Any, anchor: int, predicate: Token) -> bool:
    """The anchor's clause says "now" or "no longer": the claimant's current position."""
    token = parsed[anchor]
    while True:
        if any(c.dep_ == "advmod" and c.lower_ in ("now", "longer") for c in token.children):
            return True
        if token.i == predicate.i or token.head.i == token.i:
            return False
        token = token.head


def _root(token: Token) -> Token:
    while token.head.i != token.i:
        token = token.head
    return token


def _definite(token: Token) -> bool:
    return any(c.dep_ in ("det", "poss") and c.lower_ in _REFERRING_DETERMINERS for c in token.children)


def _lead_day(doc: Document) -> date | None:
    """The day of the event the lead reports ("said on Thursday"), if it is recent."""
    if not doc.dates:
        return None
    for phrase in doc.dates[0]:
        if phrase.precision is Precision.DAY and 0 <= (doc.published - phrase.day).days <= _LEAD_WINDOW:
            return phrase.day
    return None


def _drop_summary_leads(
    candidates: list[Candidate],
    gazetteer: ActorGazetteer,
    on: date,
    trace: ExtractionTrace | None = None,
) -> list[Candidate]:
    """A state's summary sentence followed by the same stance from its own person codes once."""
    kept: list[Candidate] = []
    for candidate in candidates:
        actor = gazetteer.actor(candidate.actor)
        if actor is not None and actor.kind == "state":
            follows = [
                c
                for c in candidates
                if c.topic == candidate.topic
                and 0 < c.sentence.index - candidate.sentence.index <= 2
                and candidate.actor in gazetteer.ancestors(c.actor, on)
                and (a := gazetteer.actor(c.actor)) is not None
                and a.kind == "person"
            ]
            if follows:
                if trace is not None:
                    trace.summary_dropped(candidate, follows[0])
                continue
        kept.append(candidate)
    return kept


_REFERENCE = re.compile(
    r"\b(?:he|she|they|it|the (?:\w+ )?(?:minister|president|chancellor|premier|secretary|envoy|leader|chief|"
    r"spokes\w+|ministry|government|administration|commission|cabinet|office|executive))\b",
    re.IGNORECASE,
)
# a word that may refer back to what the article is about ("it", "the plan", "the deal")
_TOPIC_REFERENCE = re.compile(r"\b(?:it|them|this|that|the|its|their|such)\b", re.IGNORECASE)
# "BERLIN - " or "PARIS, June 4 - ": a dateline before the lead sentence.
_SHORT_DATELINE = re.compile(r"^[A-Z][A-Z .'-]{2,40}(?:,[^-]{0,30})?\s+[-\u2013\u2014]\s+")
