"""Why extraction found what it found: a trace the pipeline's stages report into, for dry runs.

`trace_extraction(extractor, article)` runs the real extractor with an `ExtractionTrace`: every
stage of `PipelineExtractor` (and of the embeddings engine built on it) reports what it found in
each sentence and why it went no further, into one `SentenceTrace` per sentence:

* `mentions`: registry actors named (`via` alias, or office when an alias several actors share
  was resolved by the article's date) and pronouns or role nouns resolved to one (coreference);
* `topics`: the topics the sentence is about, with their evidence: a keyword (relevance 1.0), a
  weak keyword (0.25, counted only where the topic is otherwise in view), similarity to the
  topic (the embeddings engine: the cosine similarity, against the topic's `threshold`), a word
  referring back to a topic in view (0.5), or the article's focus (its share of the article's
  topic evidence, against `Tuning.focus_alone`); `counted` tells whether the pipeline used it;
* `parsed`: only a sentence with an actor and a topic is parsed (`notes` says why not);
* `claimants`: the actors in an agent role, with the verb and the speaker;
* `cues`: the words that gave the stance its side: stance verbs and words, negation, modality...;
* `candidates`: one per actor and topic the sentence brings together, kept (it is an
  observation) or dropped, with the reason.

Stages receive `None` by default and record nothing: `extract(article)` does what it always
did, and its observations are the same with or without a trace.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any

from app.extraction.merge import Candidate
from app.extraction.sentences import split_sentences
from app.extraction.types import ArticleText, ExtractedObservation, Extractor, TopicEntry

if TYPE_CHECKING:
    from app.extraction.claimants import ActorRef, Claimant
    from app.extraction.document import Document
    from app.extraction.pipeline import PipelineExtractor
    from app.extraction.relevance import TopicHit

KEYWORD = 1.0
WEAK_KEYWORD = 0.25
REFERENCE = 0.5

NOT_PARSED_NO_ACTOR = "no actor"
NOT_PARSED_NO_TOPIC = "no topic"


@dataclass
class MentionTrace:
    actor: str
    text: str
    via: str  # alias | office | coreference
    start: int  # offsets into the article text
    end: int


@dataclass
class TopicTrace:
    topic: str
    relevance: float
    keywords: list[str] = field(default_factory=list)
    via: str = "keyword"  # keyword | weak keyword | similarity | reference | article focus | none
    threshold: float | None = None
    counted: bool = True


@dataclass
class ClaimantTrace:
    actor: str
    speaker: str | None
    verb: str


@dataclass(frozen=True)
class CueTrace:
    text: str
    sign: int
    kind: str
    topic: str | None = None  # the topic being read when the cue was seen


@dataclass
class CandidateTrace:
    actor: str
    topic: str
    kept: bool = False
    reason: str = ""
    label: str | None = None
    score: float | None = None
    confidence: float | None = None
    candidate: Candidate | None = field(default=None, repr=False, compare=False)
    how: str = field(default="", repr=False, compare=False)
    resolved: bool = field(default=False, repr=False, compare=False)


@dataclass
class SentenceTrace:
    """What the stages found in one sentence; stages call the methods below when tracing."""

    index: int
    start: int
    end: int
    text: str
    mentions: list[MentionTrace] = field(default_factory=list)
    topics: list[TopicTrace] = field(default_factory=list)
    parsed: bool = False
    claimants: list[ClaimantTrace] = field(default_factory=list)
    cues: list[CueTrace] = field(default_factory=list)
    candidates: list[CandidateTrace] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    similarities: dict[str, float] = field(default_factory=dict, repr=False)
    _reading: str | None = field(default=None, repr=False)
    _touched: set[tuple[str, str]] = field(default_factory=set, repr=False)

    # -- reported by the stages ---------------------------------------------------------------

    def cue(self, text: str, sign: float, kind: str) -> None:
        """A word that decided or changed the side of the reading under way (stance.read_path)."""
        cue = CueTrace(text, 1 if sign > 0 else -1 if sign < 0 else 0, kind, self._reading)
        if cue not in self.cues:
            self.cues.append(cue)

    def drop_claimant(self, actor: str, text: str, reason: str) -> None:
        """An actor mention that makes no claim here (claimants.find_claimants)."""
        self.notes.append(f"{text!r} ({actor}) is no claimant: {reason}")
        for pair in self._pairs(actor):
            pair.reason = f"{actor} makes no claim here: {reason}"

    # -- filled in by the pipeline through ExtractionTrace ------------------------------------

    def pair(self, actor: str, topic: str) -> CandidateTrace:
        """The placeholder for an actor and topic the sentence brings together, made on first use."""
        same = [c for c in self.candidates if c.actor == actor and c.topic == topic]
        placeholder = next((c for c in same if c.candidate is None), None)
        if placeholder is not None:
            return placeholder
        entry = CandidateTrace(actor, topic)
        if not same:  # once a claim gave a candidate, what other claims missed is not news
            self.candidates.append(entry)
        return entry

    def _pairs(self, actor: str) -> list[CandidateTrace]:
        return [c for c in self.candidates if c.actor == actor and c.candidate is None]

    def topic(self, slug: str) -> TopicTrace | None:
        return next((t for t in self.topics if t.topic == slug), None)


@dataclass
class ExtractionTrace:
    """The recorder: one `SentenceTrace` per sentence, plus what holds for the whole article."""

    sentences: list[SentenceTrace] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    focus: dict[str, float] = field(default_factory=dict)
    engine: str = ""
    detailed: bool = True  # False: the engine reported no stages (a coarse explanation)
    similarity: bool = False  # the engine also scores topics by sentence similarity
    focus_alone: float = 0.0
    topics: dict[str, TopicEntry] = field(default_factory=dict, repr=False)
    _near_misses: dict[int, TopicTrace] = field(default_factory=dict, repr=False)
    _similarities: dict[int, dict[str, float]] = field(default_factory=dict, repr=False)
    _thresholds: dict[str, float] = field(default_factory=dict, repr=False)
    _early_notes: dict[int, list[str]] = field(default_factory=dict, repr=False)  # before `prepared`
    _entries: dict[Candidate, list[CandidateTrace]] = field(default_factory=dict, repr=False)

    # -- prepare: sentences, mentions, topic relevance ----------------------------------------

    def similar(
        self, index: int, similarities: dict[str, float], thresholds: dict[str, float], outcome: str | None
    ) -> None:
        """The embeddings engine compared sentence `index` with every topic; `outcome` says why its
        closest topic did not count (None: it counted)."""
        self.similarity = True
        self._similarities[index] = similarities
        self._thresholds.update(thresholds)
        if outcome is not None and similarities:
            best = max(similarities, key=lambda slug: similarities[slug])
            self._near_misses[index] = TopicTrace(
                best, round(similarities[best], 3), [], "similarity", round(thresholds[best], 3), False
            )
            self._early_notes.setdefault(index, []).append(
                f"closest topic by similarity is {best} ({similarities[best]:.2f}): {outcome}"
            )

    def prepared(self, doc: Document, extractor: PipelineExtractor) -> None:
        self.focus = dict(doc.focus)
        self.focus_alone = extractor.tuning.focus_alone
        self.topics = dict(extractor.index.topics)
        from app.extraction.pipeline import PipelineExtractor

        # an engine that adds topic relevance of its own (the embeddings engine's similarity)
        if type(extractor).semantic_topics is not PipelineExtractor.semantic_topics:
            self.similarity = True
        for sentence in doc.sentences:
            i = sentence.index
            trace = SentenceTrace(sentence.index, sentence.start, sentence.end, sentence.text)
            trace.similarities = {k: round(v, 3) for k, v in self._similarities.get(i, {}).items()}
            trace.notes.extend(self._early_notes.get(i, []))
            for mention in doc.mentions[i]:
                via = "office" if extractor.gazetteer.shared(mention.text) else "alias"
                trace.mentions.append(
                    MentionTrace(
                        mention.slug,
                        mention.text,
                        via,
                        sentence.start + mention.start,
                        sentence.start + mention.end,
                    )
                )
            by_topic: dict[str, list[TopicHit]] = {}
            for hit in doc.topic_hits[i]:
                by_topic.setdefault(hit.topic, []).append(hit)
            for slug, hits in by_topic.items():
                strong = any(h.strong for h in hits)
                trace.topics.append(
                    TopicTrace(
                        slug,
                        KEYWORD if strong else WEAK_KEYWORD,
                        list(dict.fromkeys(h.keyword for h in hits)),
                        "keyword" if strong else "weak keyword",
                        None,
                        strong,
                    )
                )
            for slug, similarity in doc.semantic[i].items():
                threshold = self._thresholds.get(slug)
                existing = trace.topic(slug)
                if existing is not None:
                    existing.relevance, existing.via, existing.counted = (
                        round(similarity, 3),
                        "similarity",
                        True,
                    )
                    existing.threshold = round(threshold, 3) if threshold is not None else None
                else:
                    trace.topics.append(
                        TopicTrace(
                            slug,
                            round(similarity, 3),
                            [],
                            "similarity",
                            round(threshold, 3) if threshold is not None else None,
                        )
                    )
            miss = self._near_misses.get(i)
            if miss is not None and trace.topic(miss.topic) is None:
                trace.topics.append(miss)
            for named in trace.mentions:
                for topic in trace.topics:
                    if topic.counted:
                        trace.pair(named.actor, topic.topic)
            self.sentences.append(trace)
        if doc.focus:
            shares = ", ".join(f"{t} {s:.2f}" for t, s in sorted(doc.focus.items(), key=lambda x: -x[1]))
            self.notes.append(f"the article is about: {shares} (share of its topic keywords)")

    def nothing_to_parse(self) -> None:
        self.notes.append(
            "no sentence names a topic keyword"
            + (" or is similar enough to a topic" if self.similarity else "")
            + ": nothing was parsed"
        )
        for trace in self.sentences:
            self._not_parsed(trace, "no sentence of the article names a topic")

    def not_parsed(self, index: int, reason: str) -> None:
        trace = self.sentences[index]
        if reason == NOT_PARSED_NO_ACTOR:
            why = "no actor in it" + ("" if index == 0 else " (nor a pronoun or role noun that could be one)")
        else:
            top = max(self.focus.values(), default=0.0)
            why = (
                "no topic in it, and no topic dominates the article "
                f"(largest share {top:.2f} < {self.focus_alone:g})"
            )
        self._not_parsed(trace, why)

    def _not_parsed(self, trace: SentenceTrace, why: str) -> None:
        trace.notes.append(f"not parsed: {why}")
        for entry in trace.candidates:
            entry.reason = f"sentence not parsed: {why}"

    # -- parse: claimants and what refers to a topic ------------------------------------------

    def parsed(
        self, index: int, parse: Any, offset: int, refs: Sequence[ActorRef], claimants: Sequence[Claimant]
    ) -> None:
        trace = self.sentences[index]
        trace.parsed = True
        for ref in refs:
            if ref.direct:
                continue
            token = parse[ref.start]
            start = trace.start + offset + token.idx
            trace.mentions.append(
                MentionTrace(ref.slug, ref.text, "coreference", start, start + len(ref.text))
            )
            for topic in trace.topics:
                if topic.counted:
                    trace.pair(ref.slug, topic.topic)
        for claimant in claimants:
            trace.claimants.append(
                ClaimantTrace(claimant.slug, claimant.speaker, parse[claimant.predicate].text)
            )
        if trace.mentions and not refs:
            trace.notes.append("no claimant: the actors named lie before the parsed text (a dateline)")

    def anchored(self, index: int, topic: str, word: str, keyword: str, strong: bool) -> None:
        """A word of the parse stands for `topic`: a weak keyword now in view, or a reference."""
        trace = self.sentences[index]
        existing = trace.topic(topic)
        if existing is None and (strong or keyword):
            return
        if existing is None:
            trace.topics.append(TopicTrace(topic, REFERENCE, [word], "reference"))
        elif existing.counted:
            return
        else:
            existing.counted = True  # a weak keyword, now that the topic is in view
        for mention in trace.mentions:
            trace.pair(mention.actor, topic)

    def by_focus(self, index: int, topics: Iterable[str]) -> None:
        """The clause names no topic and is read for the article's dominant topics."""
        trace = self.sentences[index]
        for topic in topics:
            if trace.topic(topic) is None:
                share = round(self.focus.get(topic, 0.0), 3)
                trace.topics.append(TopicTrace(topic, share, [], "article focus", self.focus_alone))

    # -- stance: one claimant's reading of each topic -----------------------------------------

    def begin_claim(self, index: int) -> None:
        self.sentences[index]._touched = set()

    def reading(self, index: int, actor: str, topic: str) -> None:
        trace = self.sentences[index]
        trace._reading = topic
        trace.pair(actor, topic)

    def unread(self, index: int, actor: str, topic: str, reason: str) -> None:
        """No candidate for `actor` on `topic` from this claim, and why."""
        trace = self.sentences[index]
        trace.pair(actor, topic).reason = reason
        trace._touched.add((actor, topic))

    def end_claim(self, index: int, actor: str, verb: str) -> None:
        trace = self.sentences[index]
        for entry in trace._pairs(actor):
            if (actor, entry.topic) not in trace._touched:
                entry.reason = f"{actor}'s claim ({verb!r}) does not reach a word of this topic"
        trace._reading = None

    def candidate(self, index: int, candidate: Candidate, how: str) -> None:
        trace = self.sentences[index]
        entry = CandidateTrace(
            candidate.actor,
            candidate.topic,
            label=candidate.label,
            score=candidate.score,
            confidence=candidate.confidence,
            candidate=candidate,
            how=how,
            reason="candidate",
        )
        trace.candidates = [
            c
            for c in trace.candidates
            if not (c.candidate is None and c.actor == candidate.actor and c.topic == candidate.topic)
        ]
        trace.candidates.append(entry)
        trace._touched.add((candidate.actor, candidate.topic))
        self._entries.setdefault(_key(candidate), []).append(entry)

    # -- after all sentences: summary leads, merging ------------------------------------------

    def _entry(self, candidate: Candidate) -> CandidateTrace | None:
        return next((e for e in self._entries.get(_key(candidate), []) if not e.resolved), None)

    def summary_dropped(self, candidate: Candidate, by: Candidate) -> None:
        entry = self._entry(candidate)
        if entry is not None:
            entry.resolved, entry.kept = True, False
            entry.reason = (
                f"dropped: {candidate.actor}'s summary sentence; its own {by.actor} takes the same "
                f"topic in sentence {by.sentence.index}, which codes it once"
            )

    def merged(self, best: Candidate, same_day: Sequence[Candidate]) -> None:
        """`merge` kept `best` of the reports of one actor, topic and day."""
        for candidate in same_day:
            entry = self._entry(candidate)
            if entry is None:
                continue
            entry.resolved = True
            if candidate is best:
                entry.kept = True
                entry.reason = f"kept: {entry.how}; confidence {candidate.confidence:g}"
                continue
            where = (
                "another reading in this sentence"
                if best.sentence.index == candidate.sentence.index
                else f"the report in sentence {best.sentence.index}"
            )
            if best.confidence > candidate.confidence:
                why = f"read with more confidence there ({best.confidence:g} > {candidate.confidence:g})"
            elif best.precision > candidate.precision:
                why = "dated more precisely there"
            else:
                why = "it comes first"
            support = (
                "; kept as its supporting evidence"
                if (candidate.score > 0) == (best.score > 0) and candidate.score != 0
                else ""
            )
            entry.kept = False
            entry.reason = (
                f"merged into {where} (same actor, topic and day {best.day.isoformat()}): {why}{support}"
            )

    def finish(self, observations: Sequence[ExtractedObservation]) -> None:
        """Check the trace against the extractor's answer: its kept candidates are the observations."""
        kept = sorted(
            (c.actor, c.topic, s.index, c.score) for s in self.sentences for c in s.candidates if c.kept
        )
        found = sorted((o.actor, o.topic, int(o.extras.get("sentence", -1)), o.score) for o in observations)
        if kept != found:  # pragma: no cover - a stage that reports wrongly; say so rather than mislead
            self.notes.append("the trace does not match the observations: the explanation is incomplete")

    # -- what the user sees --------------------------------------------------------------------

    def view(self, topic: str | None = None) -> list[SentenceTrace]:
        """The sentences as a user reads them: per-sentence notes on what is missing, and with
        `topic`, only that topic's relevance, cues and candidates."""
        out = []
        for trace in self.sentences:
            sentence = replace(
                trace,
                mentions=list(trace.mentions),
                topics=list(trace.topics),
                claimants=list(trace.claimants),
                cues=list(trace.cues),
                candidates=list(trace.candidates),
                notes=[],
            )
            if topic is not None:
                sentence.topics = [t for t in trace.topics if t.topic == topic] or [
                    self._absent(trace, topic)
                ]
                sentence.cues = [c for c in trace.cues if c.topic in (topic, None)]
                sentence.candidates = [c for c in trace.candidates if c.topic == topic]
            sentence.cues = list(dict.fromkeys(replace(c, topic=None) for c in sentence.cues))
            sentence.notes = [*self._missing(sentence, topic), *trace.notes]
            for entry in sentence.candidates:
                if not entry.reason:
                    entry.reason = "no stage read this actor and topic together"
            out.append(sentence)
        return out

    def _absent(self, trace: SentenceTrace, topic: str) -> TopicTrace:
        similarity = trace.similarities.get(topic)
        threshold = self._thresholds.get(topic)
        return TopicTrace(
            topic,
            round(similarity, 3) if similarity is not None else 0.0,
            [],
            "similarity" if similarity is not None else "none",
            round(threshold, 3) if threshold is not None and similarity is not None else None,
            False,
        )

    def _missing(self, sentence: SentenceTrace, topic: str | None) -> list[str]:
        if not self.detailed:
            return []
        notes = []
        if not sentence.mentions:
            notes.append("no actor: no registry actor is named or referred to")
        if not any(t.counted for t in sentence.topics):
            notes.append(self._no_topic(sentence, topic))
        return notes

    def _no_topic(self, sentence: SentenceTrace, topic: str | None) -> str:
        if topic is None:
            weak = [t.topic for t in sentence.topics if t.via == "weak keyword"]
            if weak:
                return (
                    f"no topic: only weak keywords ({', '.join(weak)}), which count only where the topic "
                    "is otherwise in view"
                )
            return "no topic: no keyword of any topic" + (
                " and no topic similar enough" if self.similarity else ""
            )
        entry = self.topics.get(topic)
        keywords = ", ".join([*(entry.keywords if entry else ()), *(entry.weak_keywords if entry else ())])
        note = f"no topic: no keyword of {topic}" + (f" ({keywords})" if keywords else "")
        found = sentence.topics[0] if sentence.topics else None
        if found is not None and found.via == "similarity":
            note += f"; similarity {found.relevance:.2f} against threshold {found.threshold or 0:.2f}"
        elif self.similarity:
            note += "; not compared by similarity (only sentences naming an actor and no keyword are)"
        return note

    def summary(self, observations: int, topic: str | None = None) -> str:
        sentences = self.view(topic) if topic is not None else self.sentences
        total = len(sentences)
        if not self.detailed:
            return (
                f"{total} sentence{'s' * (total != 1)}, {observations} observation{'s' * (observations != 1)}; engine "
                f"{self.engine} reports no stages, so only the sentences its observations quote are explained"
            )
        actors = sum(1 for s in sentences if s.mentions)
        about = sum(1 for s in sentences if any(t.counted and t.via != "article focus" for t in s.topics))
        parsed = sum(1 for s in sentences if s.parsed)
        claims = sum(1 for s in sentences if s.claimants)
        candidates = sum(1 for s in sentences for c in s.candidates if c.candidate is not None)
        text = (
            f"{total} sentence{'s' * (total != 1)}: {actors} mention{'s' * (actors == 1)} an actor, "
            f"{about} {'is' if about == 1 else 'are'} about {topic or 'a topic'}, {parsed} parsed, "
            f"{claims} with a claimant; {candidates} candidate{'s' * (candidates != 1)}, "
            f"{observations} observation{'s' * (observations != 1)}"
        )
        if self.similarity:
            text += (
                f" (engine {self.engine}: the rules pipeline's stages, topics also by sentence similarity)"
            )
        return text


def _key(candidate: Candidate) -> Candidate:
    """A candidate as reported before merging moved its day or added supporting sentences."""
    return replace(candidate, day=date.min, supporting=())


def trace_extraction(
    extractor: Extractor, article: ArticleText, engine: str = ""
) -> tuple[list[ExtractedObservation], ExtractionTrace]:
    """The extractor's observations of `article`, and the trace of how it found them.

    The staged engines report every stage; any other engine gives a coarse trace: its
    observations marked on the sentences they quote.
    """
    from app.extraction.pipeline import PipelineExtractor

    if isinstance(extractor, PipelineExtractor):
        trace = ExtractionTrace(engine=engine or extractor.method)
        found = extractor.extract(article, trace=trace)
        trace.finish(found)
        return found, trace
    found = list(extractor.extract(article))
    return found, coarse_trace(article, found, engine or extractor.method)


def coarse_trace(article: ArticleText, found: Sequence[ExtractedObservation], engine: str) -> ExtractionTrace:
    trace = ExtractionTrace(engine=engine, detailed=False)
    for sentence in split_sentences(article.text):
        entry = SentenceTrace(sentence.index, sentence.start, sentence.end, sentence.text)
        for observation in found:
            if sentence.start <= observation.evidence_start < sentence.end or (
                observation.extras.get("sentence") == sentence.index
            ):
                entry.candidates.append(
                    CandidateTrace(
                        observation.actor,
                        observation.topic,
                        kept=True,
                        reason=f"kept: engine {engine} reports no stages",
                        label=observation.label,
                        score=observation.score,
                        confidence=observation.confidence,
                    )
                )
        trace.sentences.append(entry)
    return trace
