"""Merging: one observation per (actor, topic, observed_at) per article, with its supporting sentences.

Several sentences of one article often report the same claim. The most telling one (the most
confident, unless a report with a more precise date disagrees) becomes the evidence; the
others of the same sign are kept as supporting sentences. Undated mentions fold into a dated
report of the same pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING

from app.extraction.dates import Precision
from app.extraction.sentences import Sentence
from app.extraction.types import ExtractedObservation, Label

if TYPE_CHECKING:
    from app.extraction.explain import ExtractionTrace

SUPPORT_THRESHOLD = 0.15


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
    basis: str = "path"  # how the stance was read: path, act, clause, focus
    # other sentences of the article that report the same claim (same actor, topic, day and sign)
    supporting: tuple[tuple[Sentence, str | None], ...] = ()
    shift_from: float | None = None  # the earlier position the sentence states, with `shift`
    # how the reading was made, for the learned model (`features.py`); empty unless asked for
    features: Mapping[str, float] = field(default_factory=dict, compare=False)


def label_for(score: float, mixed: bool) -> Label:
    if mixed:
        return "mixed"
    if score > SUPPORT_THRESHOLD:
        return "support"
    if score < -SUPPORT_THRESHOLD:
        return "oppose"
    return "neutral"


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


def merge(candidates: list[Candidate], trace: ExtractionTrace | None = None) -> list[Candidate]:
    """One candidate per (actor, topic, day); undated mentions fold into a dated one of the same pair.

    `trace`, when given, hears which report of each (actor, topic, day) was kept over which."""
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
        for same_day in by_day.values():
            best = _best(same_day)
            if trace is not None:
                trace.merged(best, same_day)
            out.append(_with_support(best, same_day))
    out.sort(key=lambda c: (c.sentence.index, c.actor, c.topic))
    return out


def to_observation(candidate: Candidate) -> ExtractedObservation:
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
            "basis": candidate.basis,
            "sentence": sentence.index,
            **(
                {"shift_from": candidate.shift_from}
                if candidate.shift and candidate.shift_from is not None
                else {}
            ),
            "supporting": [
                {"evidence": other.text, "start": other.start, "end": other.end, "speaker": speaker}
                for other, speaker in candidate.supporting
            ],
        },
    )
