"""Stance cues: support/oppose predicates, negation, modality, deferral and shift.

`read_stance(text)` turns one clause into signed parts. Parts are combined by the
engine: both signs present -> mixed (mean of the strongest of each sign), else the
strongest part. Scores follow the corpus scale: +-1 firm, +-0.5 tentative or
hesitant, 0 a deferral without a lean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class CueKind(Enum):
    SUPPORT = "support"
    OPPOSE = "oppose"
    EVALUATIVE = "evaluative"  # welcomes/warns: the sign depends on what is evaluated
    REDUCTION = "reduction"  # pause, halt, delay: an act against the thing, or the evaluated object
    DEFERRAL = "deferral"
    DIVISION = "division"
    SUPPRESS = "suppress"  # predictions and non-positions: the clause codes nothing


@dataclass(frozen=True)
class Cue:
    start: int
    end: int
    kind: CueKind
    value: float
    negated: bool = False


@dataclass(frozen=True)
class StanceParts:
    """What one clause says: signed values, plus flags the engine needs."""

    values: tuple[float, ...]
    deferral: bool
    division: bool
    suppressed: bool
    cue_count: int


def _c(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-])(?:{pattern})(?![\w-])", re.IGNORECASE)


# (pattern, kind, value). Longer matches win over shorter overlapping ones.
_LEXICON: list[tuple[re.Pattern[str], CueKind, float]] = [
    (_c(p), k, v)
    for p, k, v in [
        # support, firm
        (r"ready and willing|ready to|willing to|prepared to|readiness to|ready\b", CueKind.SUPPORT, 1.0),
        (
            r"pledg\w*|commit(?:s|ted|ting|ment)?|offer(?:s|ed)?|propos\w*|form(?:ally)? committed",
            CueKind.SUPPORT,
            1.0,
        ),
        (
            r"(?:would|will|could|must|might|may|should|can|won't|wouldn't|can't|cannot|"
            r"(?:plans|planned|planning|(?:not|n't|to|will|would) plan|decided|agreed|vowed|promised|intends?|intended|wants?|wanted|going|"
            r"aims?|aimed|set|moved|offered|pledged|committed) to) (?:\w+ )?"
            r"(?:send|deploy|provide|contribute|station|supply|give|back|defend|secure|take part|join)",
            CueKind.SUPPORT,
            1.0,
        ),
        (r"boots on the ground|planes in the air|put (?:\w+ )?troops on the ground", CueKind.SUPPORT, 1.0),
        (r"back(?:s|ed|ing)?|support(?:s|ed|ing)?|endors\w+|favou?r\w*|in favou?r of", CueKind.SUPPORT, 1.0),
        (
            r"pressed ahead|press(?:es|ing)? ahead|(?:focus(?:es|ed|ing)?|concentrat\w+) on \w+ing\b",
            CueKind.SUPPORT,
            1.0,
        ),
        # praise without a commitment, an open door, exploring options: tentative support
        (r"prais\w+|spoke warmly|speaks? warmly|warm words", CueKind.SUPPORT, 0.5),
        (r"(?:left|leave|leaves|leaving|keep|keeps|kept) the door open", CueKind.SUPPORT, 0.5),
        (
            r"draw(?:s|ing)? up (?:proposals|options|plans)|drew up (?:proposals|options|plans)",
            CueKind.SUPPORT,
            0.5,
        ),
        (
            r"resum\w+|lift(?:ed|ing)? the pause|reversed course|has trained|have trained|trained",
            CueKind.SUPPORT,
            1.0,
        ),
        (
            r"help(?:ed|ing)? (?:to )?(?:rebuild|train|arm|protect)|asked (?:[\w'-]+ ){0,3}for|hoping to secure|needed(?! to be)|needs(?! to be)",
            CueKind.SUPPORT,
            1.0,
        ),
        (
            r"thank\w+|called for|calls for|urg(?:ed|es) \w+ to (?:send|supply)|would continue|will continue",
            CueKind.SUPPORT,
            1.0,
        ),
        (
            r"consider(?:s|ed|ing)? (?:sending|deploying|committing|providing|contributing)",
            CueKind.SUPPORT,
            1.0,
        ),
        (r"deter\w*|concrete steps?|receive", CueKind.SUPPORT, 1.0),
        # support, partial contribution
        (
            r"logistics hub|logistical (?:support|help|assistance)|from the air|air cover",
            CueKind.SUPPORT,
            0.5,
        ),
        # opposition, firm
        (
            r"unacceptable|reject\w*|(?:will|would|could|did) not accept|never (?:agree|accept)|rul(?:e|es|ed|ing) out",
            CueKind.OPPOSE,
            -1.0,
        ),
        (
            r"not foreseen|no room for compromise|legitimate targets?|dismiss\w*|mock\w*",
            CueKind.OPPOSE,
            -1.0,
        ),
        (
            r"threat|escalat\w+|extreme concern|categorical\w*|definitely not|no sense|oppos\w+|condemn\w*",
            CueKind.OPPOSE,
            -1.0,
        ),
        (r"no (?:\w+ ){0,2}(?:troops|soldiers|forces|boots)", CueKind.OPPOSE, -1.0),
        # arguments from harmful consequences
        (
            r"(?:cause|causes|do|does|inflict)\s+(?:\w+\s+)?damage|damag\w+ (?:to )?(?:relations|ties)|"
            r"harm\w* (?:relations|ties)|prolong(?:s|ed|ing)? the (?:war|conflict|fighting)|"
            r"fuel(?:s|led|ling)? the (?:war|conflict|fighting)|provocat\w+|destabili[sz]\w+",
            CueKind.OPPOSE,
            -1.0,
        ),
        (r"(?:closed|close|closes|closing|shut|shuts) the door", CueKind.OPPOSE, -1.0),
        # opposition, hesitant
        (
            r"premature|inappropriate|sceptic\w*|skeptic\w*|least effective|most complex|overburden",
            CueKind.OPPOSE,
            -0.5,
        ),
        (
            r"shift(?:s|ed|ing)? away|step(?:ping)? back|waned|baulk\w*|balk\w*|no hurry|back(?:s|ed|ing)? away|abandon\w*",
            CueKind.OPPOSE,
            -0.5,
        ),
        (r"stopped short of|careful not to|cool(?:s|ed)? on", CueKind.OPPOSE, -0.5),
        # the sign of what is evaluated decides
        (r"welcom\w+|best contribution", CueKind.EVALUATIVE, 1.0),
        (r"warn\w*|embolden\w*|cautio\w+ against", CueKind.EVALUATIVE, -1.0),
        (
            r"paus\w+|halt\w*|held back|hold(?:s|ing)? back|suspend\w*|stopp?(?:ed|s)?|delay\w*|fewer|review\w*",
            CueKind.REDUCTION,
            -0.5,
        ),
        # deferral
        (
            r"(?:will|would) decide|appropriate time|looking at|final determination|have to be agreed|approval of parliament|need(?:ed|s)? time to analy[sz]e",
            CueKind.DEFERRAL,
            0.0,
        ),
        # a group reported as divided
        (r"failed to agree|not unanimous|divided|split over|divisions", CueKind.DIVISION, 0.0),
        # no position taken
        (
            r"expected to|(?:is|are|was|were) due to|will likely|did not say|has not said|not immediately comment\w*|no immediate",
            CueKind.SUPPRESS,
            0.0,
        ),
    ]
]

_NEGATOR = re.compile(
    r"(?<![\w-])(?:not|\w*n't|never|no|nor|neither|without|no longer|yet to)(?![\w-])", re.IGNORECASE
)
# Predicates that govern their complement: in "shifting away from plans to send troops" the
# "send" belongs to what is being moved away from, so it is not a separate statement of support.
_GOVERNING = _c(
    r"shift(?:s|ed|ing)? away|step(?:ping)? back|taking a step back|back(?:s|ed|ing)? away|abandon\w*|"
    r"reject\w*|rul(?:e|es|ed|ing) out|dismiss\w*|oppos\w+|refus\w+|resist\w*|against"
)
_CLAUSE_BREAK = re.compile(r"[;]|,\s*(?:but|while|although|whereas|though)\b|\bbut\b", re.IGNORECASE)
# "lack of US support", "absence of American backing": someone else's support, not a stance
_NOT_A_STANCE_BEFORE = re.compile(r"\b(?:lack|absence)\s+of\s+(?:[\w.-]+\s+){0,3}$", re.IGNORECASE)
# "Support for X has waned", "the backing of all allies": the noun is what a predicate talks about
_NOMINAL_SUPPORT = re.compile(r"(?:support|backing)\s+(?:for|of|from)\b", re.IGNORECASE)
_DETERMINER_BEFORE = re.compile(
    r"(?:^|\b(?:the|its|their|his|her|any|some|public|broad|growing|apparent|popular|political))\s*$",
    re.IGNORECASE,
)
# "to support Kyiv," "help Ukraine.": backing a party in general, not a position on a policy
_PARTY_OBJECT = re.compile(r"\s+(?:[A-Z][\w-]+)(?=\s*[,.;]|\s+(?:in|against|with|and)\b)(?!')")
_GENERIC_BACKING = re.compile(r"(?:support|help|back|aid|assist)\w*$", re.IGNORECASE)
# A refusal limited to fighting ("not ... send combat troops", "not to the front line") narrows a
# proposal; it is not opposition to it.
_RESTRICTION = re.compile(
    r"\b(?:combat|front(?:\s|-)?lines?|the front|line of contact|to fight|in the fighting|wage war|war on)\b",
    re.IGNORECASE,
)
_RESTRICTION_REACH = 70
# A reservation that tempers support anywhere in a claimant's clauses.
HEDGE = _c(r"(?:many|some|several|serious) questions remain\w*|questions remain\w*|concerns remain\w*")
_MODAL = _c(
    r"could consider|consider\w*|open to|might|may|tentative\w*|many questions|questions remain\w*|probably|hedg\w+"
)
_TIMING = _c(r"in the coming weeks|only after|only once|not before|until")
_SHIFT = _c(
    r"shift(?:s|ed|ing)? away|step(?:ping)? back|taking a step back|u-turn|revers\w+|no longer|"
    r"(?:has|have|had) paused|paused|halted|resum\w+|backing away|sharp turn|first time|caused a stir|"
    r"waned|lift(?:ed|ing)? the pause|change of course|changed course"
)
_NEGATION_WINDOW = 28  # characters before a cue in which a negator flips it


def find_cues(text: str) -> list[Cue]:
    """Non-overlapping cues in `text`, leftmost-longest, with negation applied."""
    found: list[tuple[int, int, CueKind, float]] = []
    for pattern, kind, value in _LEXICON:
        for match in pattern.finditer(text):
            found.append((match.start(), match.end(), kind, value))
    found.sort(key=lambda item: (item[0], -(item[1] - item[0])))
    cues: list[Cue] = []
    last_end = -1
    for start, end, kind, value in found:
        if start < last_end:
            continue
        last_end = end
        window = text[max(0, start - _NEGATION_WINDOW) : start]
        window = re.split(r"[,;:]|\bbut\b|\band\b", window)[-1]
        inside = bool(_NEGATOR.search(text[start:end]))
        negated = False
        if kind is CueKind.SUPPORT:
            negated = inside or bool(_NEGATOR.search(window))
        elif kind is CueKind.OPPOSE:
            # Oppose cues that carry their own negator ("not foreseen") are not flipped again.
            negated = not inside and bool(_NEGATOR.search(window))
        if kind is CueKind.SUPPORT and _not_a_stance(text, start, end, negated):
            continue
        cues.append(Cue(start, end, kind, value, negated))
    return _drop_governed(text, cues)


def _not_a_stance(text: str, start: int, end: int, negated: bool) -> bool:
    """Support words that do not state the claimant's position on the topic."""
    before = text[max(0, start - 60) : start]
    if _NOT_A_STANCE_BEFORE.search(before):
        return True
    if _NOMINAL_SUPPORT.match(text, start) and _DETERMINER_BEFORE.search(before):
        return True
    word = text[start:end]
    if _GENERIC_BACKING.search(word) and _PARTY_OBJECT.match(text, end):
        return True
    if negated:
        clause = re.split(r"[,;]|\bbut\b", text[end : end + _RESTRICTION_REACH])[0]
        if _RESTRICTION.search(clause):
            return True
    return False


def _drop_governed(text: str, cues: list[Cue]) -> list[Cue]:
    """Drop support cues inside the complement of a governing predicate, up to the clause's end."""
    spans: list[tuple[int, int]] = []
    for cue in cues:
        if cue.kind is CueKind.OPPOSE and _GOVERNING.fullmatch(text[cue.start : cue.end]):
            tail = _CLAUSE_BREAK.search(text, cue.end)
            spans.append((cue.end, tail.start() if tail else len(text)))
    if not spans:
        return cues
    return [
        c for c in cues if not (c.kind is CueKind.SUPPORT and any(lo <= c.start < hi for lo, hi in spans))
    ]


def read_stance(text: str, *, about_reduction: bool = False) -> StanceParts:
    """Signed stance values expressed in one clause.

    `about_reduction`: the clause refers back to a halt or pause ("welcomed the decision" after
    "has halted deliveries"), so evaluations of it flip sign as if the halt were named here.
    """
    cues = find_cues(text)
    suppressed = any(c.kind is CueKind.SUPPRESS for c in cues)
    named_reduction = any(c.kind is CueKind.REDUCTION for c in cues)
    reduction = named_reduction or about_reduction
    evaluative = [c for c in cues if c.kind is CueKind.EVALUATIVE]
    modal = bool(_MODAL.search(text))
    timing = bool(_TIMING.search(text))
    values: list[float] = []
    for cue in cues:
        if cue.kind in (CueKind.SUPPORT, CueKind.OPPOSE):
            value = cue.value
            if cue.negated:
                # "did not rule out" is weak support; "would not send" is a firm refusal.
                value = 0.5 if value < 0 else -1.0
            if value < 0 and timing and "no" in text[cue.start : cue.end].lower().split():
                value = 0.5  # a proponent's timing ("no troops in the coming weeks") is conditional support
            if value > 0 and modal:
                value = min(value, 0.5)
            values.append(value)
        elif cue.kind is CueKind.EVALUATIVE:
            # Welcoming (+) or warning (-) about a halt or delay flips the sign.
            values.append(-cue.value if reduction else cue.value)
    if named_reduction and not evaluative:
        values.append(-0.5)
    return StanceParts(
        values=tuple(values),
        deferral=any(c.kind is CueKind.DEFERRAL for c in cues),
        division=any(c.kind is CueKind.DIVISION for c in cues),
        suppressed=suppressed,
        cue_count=sum(c.kind is not CueKind.SUPPRESS for c in cues),
    )


def has_shift(text: str) -> bool:
    return bool(_SHIFT.search(text))


def combine(values: list[float]) -> tuple[float, bool]:
    """Score and whether it is mixed: both signs -> mean of the strongest of each, else the strongest."""
    positives = [v for v in values if v > 0]
    negatives = [v for v in values if v < 0]
    if positives and negatives:
        return (max(positives) + min(negatives)) / 2, True
    if not values:
        return 0.0, False
    return max(values, key=abs), False
