"""Stance relative to the topic: polarity through the parse from the claimant's predicate to the topic.

Walking up from the word that names the topic to the claimant's predicate, every word with
a side multiplies the sign: "rejected calls to delay the ban" is reject (-1) x delay (-1)
= support of the ban. A polar preposition decides for its head ("warned against the
charge", "voted for the deal"). A speech verb passes its content through unchanged
("said the charge would hurt shops" is hurt's -1, not say's). Negation in the parse
("would never accept", "no fee") flips; modality and conditions ("could", "open to",
"if") halve the strength; abstaining and deferring give a neutral reading.

Where the clause refers to the topic without naming it, the claimant's own clause is read
down its complements ("Riverton indicated it was ready to retaliate": ready (+1) x
retaliate (-1)).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from app.extraction.lexicon import (
    COMPLEMENT_POLARITY,
    EVALUATIVE_WHEN_SUBJECT,
    NEGATORS,
    NEUTRAL,
    NEUTRAL_WITH_PREPOSITION,
    PHRASAL,
    POLARITY,
    RESTRICTIONS,
    SHIFT_STRONG,
    SPEECH,
    TENTATIVE,
    VERB_ONLY,
)

if TYPE_CHECKING:
    from app.extraction.explain import SentenceTrace

Token = Any

_CLAUSAL = ("ccomp", "xcomp", "parataxis")
_DOWN_ORDER = ("xcomp", "ccomp", "dobj", "acomp", "attr", "oprd", "prep", "pobj", "pcomp")
_COMPLEMENTS = ("acomp", "attr", "oprd")
_CIRCUMSTANCES = frozenset(
    ("during", "before", "after", "since", "until", "amid", "near", "outside", "throughout", "ahead")
)
_NO_SIDE_POS = frozenset(("ADV", "ADP", "PART", "DET", "PRON", "PUNCT", "CCONJ", "SCONJ", "NUM"))
_PARTICLES = frozenset(("away", "back", "out", "down", "off", "up", "ahead"))
_FOREIGN_EDGES = frozenset(("conj", "advcl", "relcl", "parataxis", "acl"))
# Prepositions a clause is read down through ("opposed to", "voted against"), not places or times.
_DOWN_PREPOSITIONS = frozenset(("against", "for", "to", "of", "over", "with", "about", "into", "on"))
_TENTATIVE_AUX = frozenset(("could", "might", "may"))
_GIVING_UP = frozenset(("drop", "abandon", "withdraw", "end", "lift", "soften", "reverse", "shelve", "ditch"))
_DEONTIC = frozenset(("should", "must", "ought"))
_EARLIER = frozenset(("initially", "previously", "earlier", "once", "formerly"))
_LATER = frozenset(("now", "since", "later", "longer"))
# shift words that say the position turned to the other side, not merely moved
_REVERSAL = frozenset(
    (
        "reverse",
        "reversal",
        "u-turn",
        "u-turned",
        "backtrack",
        "about-face",
        "turnaround",
        "volte-face",
        "flip",
    )
)


@dataclass(frozen=True)
class Reading:
    score: float  # signed strength: +-1 firm, +-0.5 tentative, 0 neutral
    explicit: bool  # a word with a side (or an abstention) decided it
    neutral: bool
    shift: bool
    # the earlier position the clause itself states ("dropped its opposition": -1), when it does
    earlier: float | None = None


def key(token: Token) -> str:
    """The lexicon key of a token: its lemma, joined with a verb particle ("rule_out", "shift_away")."""
    lemma = str(token.lemma_).lower()
    if lemma == "take" and any(c.dep_ == "dobj" and c.lower_ == "step" for c in token.children):
        lemma = "step"  # "take a step back": the step is the verb
    if lemma in ("stand", "get") and any(
        c.dep_ == "prep" and c.lower_ == "in" and any(g.lower_ == "way" for g in c.children)
        for c in token.children
    ):
        return "stand_in_the_way"  # "would not stand in the way of the deal"
    for child in token.children:
        if child.dep_ == "prt" or (child.dep_ == "advmod" and child.lower_ in _PARTICLES):
            joined = f"{lemma}_{child.lower_}"
            if child.dep_ == "prt" or joined in PHRASAL:
                return joined
    return lemma


def polarity(token: Token, topic_cues: Mapping[str, float]) -> float | None:
    word = key(token)
    if topic_cues.get(word) == 0.0 or topic_cues.get(str(token.lemma_).lower()) == 0.0:
        return None  # a word of the topic's own name ("ban" in a plastic-bag ban) takes no side on it
    if token.pos_ in _NO_SIDE_POS and word not in PHRASAL and word not in ("against", "for"):
        return None  # "back" as an adverb is not "to back"
    if word in VERB_ONLY and token.pos_ != "VERB":
        return None  # "the vote on the charge" takes no side
    if word in ("lift", "lift_up"):
        # "lift the ban" removes it; "lift spending" raises it
        objects = [c for c in token.children if c.dep_ in ("dobj", "nsubjpass")]
        if token.dep_ == "amod":
            objects.append(token.head)
        return -1.0 if any(str(o.lemma_).lower() in RESTRICTIONS for o in objects) else 1.0
    if word in PHRASAL:
        return PHRASAL[word]
    if word in POLARITY:
        return POLARITY[word]
    if word in topic_cues:
        return topic_cues[word]
    lemma = str(token.lemma_).lower()
    return POLARITY.get(lemma, topic_cues.get(lemma))


def _negated(token: Token) -> bool:
    return _negation(token) is not None


def _negation(token: Token) -> str | None:
    """The word that negates `token`, if any."""
    if any(
        c.dep_ == "advmod" and c.lower_ == "longer" and any(g.lower_ == "no" for g in c.children)
        for c in token.children
    ):
        return "no longer"  # "no longer opposes"
    if str(token.lemma_).lower() == "have" and any(
        c.dep_ == "advmod" and c.lower_ == "yet" for c in token.children
    ):
        return "yet"  # "has yet to abandon" has not abandoned
    for child in token.children:
        if child.dep_ == "neg" or (child.dep_ in ("advmod", "det", "preconj") and child.lower_ in NEGATORS):
            following = child.nbor(1) if child.i + 1 < len(child.doc) else None
            if following is not None and following.lower_ == "only":  # "not only ... but also"
                continue
            return str(child.text)
    return None


def _deferral(token: Token) -> bool:
    """ "will decide on", "(said it was) looking at": a decision put off, with no lean. A process
    the reporter describes ("the council is deciding on the charge") is not a position."""
    reported = any(str(t.lemma_).lower() in SPEECH for t in token.ancestors)
    future = any(c.dep_ == "aux" and c.lower_ in ("will", "would", "'ll", "shall") for c in token.children)
    if not (reported or future):
        return False
    lemma = str(token.lemma_).lower()
    preposition = next((c.lower_ for c in token.children if c.dep_ == "prep"), "")
    if f"{lemma}_{preposition}" in NEUTRAL_WITH_PREPOSITION:
        return True
    return lemma == "decide" and not any(c.dep_ in ("xcomp", "ccomp", "dobj") for c in token.children)


def _hedge(token: Token) -> str | None:
    """The word that makes `token` tentative ("could", "open to", an "if" clause), if any."""
    if str(token.lemma_).lower() in TENTATIVE:
        return str(token.text)
    for child in token.children:
        if child.dep_ == "aux" and child.lower_ in _TENTATIVE_AUX:
            return str(child.text)
        if child.dep_ in ("advmod", "mark") and child.lower_ in TENTATIVE:
            return str(child.text)
        if child.dep_ == "advcl" and any(
            c.dep_ == "mark" and c.lower_ in ("if", "unless") for c in child.children
        ):
            return next(
                str(c.text) for c in child.children if c.dep_ == "mark" and c.lower_ in ("if", "unless")
            )
    return None


def ancestors_path(anchor: Token, top: Token) -> list[Token] | None:
    """[anchor, ..., top] when `top` governs `anchor`, else None."""
    path = [anchor]
    token = anchor
    while token.i != top.i:
        if token.head.i == token.i:
            return None
        token = token.head
        path.append(token)
    return path


def _complement_side(
    node: Token, topic_cues: Mapping[str, float], *, with_objects: bool
) -> tuple[float, Token] | None:
    """The side taken by what a predicate says of its subject or content (its complement, and
    for a subject also its object: "would put security at risk"), and the word that took it."""
    deps = (*_COMPLEMENTS, "dobj", "prep") if with_objects else _COMPLEMENTS
    for child in node.children:
        if child.dep_ not in deps:
            continue
        target = child
        if child.dep_ == "prep":
            target = next((g for g in child.children if g.dep_ == "pobj"), None)
            if target is None:
                continue
        value = polarity(target, topic_cues)
        if value is None and child.dep_ in (*_COMPLEMENTS, "prep"):
            # "would be targets", "would bring everything to an end"
            value = COMPLEMENT_POLARITY.get(str(target.lemma_).lower())
        if value is None:
            # "a mistake", "a new stage of escalation": the complement's modifiers and nouns of its own
            below = [g for g in target.children if g.dep_ == "amod"] if child.dep_ in _COMPLEMENTS else []
            below += [p for g in target.children if g.dep_ == "prep" for p in g.children if p.dep_ == "pobj"]
            value = next((v for g in below if (v := polarity(g, topic_cues)) is not None), None)
        if value is not None:
            return (-value if _negated(target) else value), target
    return None


def _object_predicate_side(node: Token, topic_cues: Mapping[str, float]) -> tuple[float, Token] | None:
    """The side of what the object is said to be ("called the plan a mistake"), and the word."""
    for child in node.children:
        if child.dep_ in ("oprd", "xcomp", "attr") and child.pos_ in ("NOUN", "ADJ"):
            value = polarity(child, topic_cues)
            if value is None:
                value = COMPLEMENT_POLARITY.get(str(child.lemma_).lower())
            if value is not None:
                return (-value if _negated(child) else value), child
    return None


def circumstance(path: list[Token]) -> bool:
    """The topic is only the time or place of the claim ("announced ahead of the summit", "said during
    the meeting"), not what it is about."""
    for index in range(1, len(path)):
        node = path[index]
        if node.dep_ == "prep" and node.lower_ in _CIRCUMSTANCES and path[index - 1].dep_ == "pobj":
            return True
        if node.lower_ in ("ahead", "prior") and any(c.lower_ in ("of", "to") for c in node.children):
            return True
    return False


def foreign_clause(path: list[Token], claimant_token: int) -> bool:
    """The path climbs out of a clause with a subject of its own (a coordinated, adverbial or
    relative clause about someone else: "..., as farmers press him to kill it")."""
    for index in range(1, len(path) - 1):
        node, _below = path[index], path[index - 1]
        if node.dep_ not in _FOREIGN_EDGES:
            continue
        if any(c.dep_ in ("nsubj", "nsubjpass") and c.i != claimant_token for c in node.children):
            return True
    return False


def read_path(
    path: list[Token],
    topic_cues: Mapping[str, float],
    *,
    named: bool = False,
    keyword: str = "",
    trace: SentenceTrace | None = None,
) -> Reading:
    """Sign and strength of the claimant's stance on the thing at path[0] (path ends at the predicate).

    `named`: path[0] is a keyword of the topic (`keyword`, as the registry writes it), whose own
    side counts ("an opt-out", "a blocking minority" name what goes against the topic).
    `trace`, when given, hears every word that gave the reading its side (`SentenceTrace.cue`).
    """
    sign = 1.0
    explicit = False
    neutral: bool | None = None  # decided by the lowest word with a side or an abstention
    tentative = False
    anchor = path[0]
    if named:
        own = PHRASAL.get(re.sub(r"[\s-]+", "_", keyword.lower()))
        own = own if own is not None else polarity(anchor, topic_cues)
        own = (
            own
            if own is not None
            else next(
                (
                    v
                    for c in anchor.children
                    if c.dep_ == "amod" and (v := polarity(c, topic_cues)) is not None
                ),
                None,
            )
        )
        if own is not None and own < 0:
            sign, explicit, neutral = -1.0, True, False
            if trace is not None:
                trace.cue(str(anchor.text), own, "topic word")
    negation = _negation(anchor)
    if negation is not None:
        sign, explicit = -sign, True
        if trace is not None:
            trace.cue(negation, -1, "negation")
    if named and len(path) == 1:
        explicit = True  # the claimant does what the topic names ("Britain has trained recruits")
    for child in anchor.children:
        if child.dep_ == "amod" and child.pos_ == "ADJ":
            value = polarity(child, topic_cues)
            if value is not None and value < 0:
                sign, explicit = sign * value, True
                if trace is not None:
                    trace.cue(str(child.text), value, "modifier")
    decided_by_preposition = False
    via_preposition = False
    for index in range(1, len(path)):
        node, below = path[index], path[index - 1]
        word = key(node)
        if node.dep_ == "prep" or node.pos_ == "ADP":
            via_preposition = True
            if word == "against":
                sign, explicit, decided_by_preposition = -sign, True, True
                if trace is not None:
                    trace.cue(str(node.text), -1, "preposition")
            elif word == "for" and node.head.pos_ in ("VERB", "NOUN", "ADJ", "AUX"):
                explicit, decided_by_preposition = True, True
                if trace is not None:
                    trace.cue(str(node.text), 1, "preposition")
            continue
        skip = decided_by_preposition
        decided_by_preposition = False
        came_by_preposition, via_preposition = via_preposition, False
        if (
            below.dep_ == "advcl"
            and below.tag_ in ("VBG", "VBN")
            and not any(c.dep_ in ("mark", "aux") for c in below.children)
        ):
            continue  # "..., calling it a provocation": a statement of its own by the same subject
        if below.dep_ == "conj":
            # a coordinated word shares its head's governor, and its negation only in "not X or Y"
            joined_by = next((c.lower_ for c in node.children if c.dep_ == "cc"), "and")
            if joined_by in ("or", "nor") and _negated(node):
                sign = -sign
                if trace is not None:
                    trace.cue(f"{_negation(node)} ... {joined_by}", -1, "negation")
            continue
        if word in SPEECH and below.dep_ in (*_CLAUSAL, "dobj"):
            skip = True  # what is said carries the sign
        by_subject = below.dep_ in ("nsubj", "nsubjpass", "csubj")
        if (by_subject or below.dep_ in _CLAUSAL) and node.pos_ in ("AUX", "VERB"):
            # the topic does something or is judged: "the charge would hurt", "the deal is a
            # mistake", "called it terrible that ...", "not adopting it would put security at risk"
            side = _complement_side(node, topic_cues, with_objects=by_subject)
            if side is not None:
                sign, explicit = sign * side[0], True
                if neutral is None:
                    neutral = False
                if trace is not None:
                    trace.cue(str(side[1].text), side[0], "judgement")
        if not skip and below.dep_ == "dobj":
            # "called the plan a mistake": what the object is said to be decides, not "call"
            judged = _object_predicate_side(node, topic_cues)
            if judged is not None:
                sign, explicit, skip = sign * judged[0], True, True
                if neutral is None:
                    neutral = False
                if trace is not None:
                    trace.cue(str(judged[1].text), judged[0], "judgement")
        if not skip:
            value = polarity(node, topic_cues)
            if by_subject and node.pos_ == "VERB":
                value = EVALUATIVE_WHEN_SUBJECT.get(key(node), topic_cues.get(key(node)))
            if came_by_preposition:
                # a light verb takes its side from its object: "stepped up its attack on X"
                light = [polarity(c, topic_cues) for c in node.children if c.dep_ == "dobj"]
                value = next((v for v in light if v is not None), value)
            if word in NEUTRAL or _deferral(node):
                if neutral is None:
                    neutral = True
                explicit = True
                if trace is not None:
                    trace.cue(str(node.text), 0, "neutral" if word in NEUTRAL else "deferral")
            elif value is not None:
                sign, explicit = sign * value, True
                if neutral is None:
                    neutral = False
                if trace is not None:
                    trace.cue(str(node.text), value, "stance verb" if node.pos_ == "VERB" else "stance word")
        negation = _negation(node)
        if negation is not None:
            sign, explicit = -sign, True
            if trace is not None:
                trace.cue(negation, -1, "negation")
        if node.lower_ in _DEONTIC or any(c.dep_ == "aux" and c.lower_ in _DEONTIC for c in node.children):
            explicit = True  # "members should spend more", said by someone, is a demand
            if trace is not None:
                modal = (
                    node
                    if node.lower_ in _DEONTIC
                    else next(c for c in node.children if c.dep_ == "aux" and c.lower_ in _DEONTIC)
                )
                trace.cue(str(modal.text), 0, "demand")
        if not tentative or trace is not None:
            hedge = _hedge(node)
            if hedge is not None:
                tentative = True
                if trace is not None:
                    trace.cue(hedge, 0, "modality (halves the strength)")
    if neutral:
        return Reading(0.0, True, True, _shift(path[-1]), _earlier(path[-1], 0.0))
    strength = 0.5 if tentative else 1.0
    return Reading(sign * strength, explicit, False, _shift(path[-1]), _earlier(path[-1], sign * strength))


def downward_path(predicate: Token) -> list[Token]:
    """The claimant's clause read down its complements, returned anchor-first like a path up."""
    chain = [predicate]
    token = predicate
    for _ in range(8):
        children = [
            c
            for c in token.children
            if c.dep_ in _DOWN_ORDER and (c.dep_ != "prep" or c.lower_ in _DOWN_PREPOSITIONS)
        ]
        if not children:
            break
        children.sort(key=lambda c: _DOWN_ORDER.index(c.dep_))
        preferred = [c for c in children if c.dep_ == "prep" and c.lower_ in ("against", "for")]
        token = preferred[0] if preferred else children[0]
        chain.append(token)
    return list(reversed(chain))


def read_clause(
    predicate: Token,
    topic_cues: Mapping[str, float],
    refers: Callable[[Token], bool],
    trace: SentenceTrace | None = None,
) -> Reading | None:
    """The claimant's stance read from its own clause, for a topic the clause does not name.

    None when the clause ends in a thing of its own ("agreed to a halt to strikes", "ruled out
    stepping down"): only a clause that ends in itself ("abstained"), a pronoun, a word that
    refers to the topic (`refers`) or a word with a side is read for a topic named elsewhere.
    """
    path = downward_path(predicate)
    end = path[0]
    ends_elsewhere = end.i != predicate.i and end.pos_ != "PRON" and not refers(end)
    if ends_elsewhere and polarity(end, topic_cues) is None and key(end) not in NEUTRAL:
        return None
    return read_path([_Leaf(end), *path], topic_cues, trace=trace)


class _Leaf:
    """A stand-in anchor below the last word of the clause, so that word's own sign counts."""

    def __init__(self, under: Token) -> None:
        self.head = under
        self.i = -1
        self.children: tuple[Token, ...] = ()
        self.dep_ = "dobj"
        self.pos_ = "NOUN"
        self.lemma_ = ""
        self.lower_ = ""


@dataclass(frozen=True)
class _ClauseWords:
    """What `_earlier` and `_shift` read from a predicate's whole subtree, gathered once: a clause
    is read once per topic mention it holds, and a long clause holds many."""

    words: frozenset[str]  # lemmas and lexicon keys
    lowers: frozenset[str]
    given_up: float | None  # the position given up ("dropped its opposition": -1)
    gives_up: bool  # a verb of giving up with a position as its object, signed or not


@lru_cache(maxsize=64)
def _clause_words(predicate: Token) -> _ClauseWords:
    tokens = list(predicate.subtree)
    given_up = None
    gives_up = False
    for token in tokens:
        if str(token.lemma_).lower() not in _GIVING_UP:
            continue
        for child in token.children:
            lemma = str(child.lemma_).lower()
            if child.dep_ == "dobj" and child.pos_ == "NOUN" and lemma in POLARITY:
                gives_up = True
                if given_up is None and POLARITY[lemma]:
                    given_up = 1.0 if POLARITY[lemma] > 0 else -1.0
    return _ClauseWords(
        words=frozenset({str(t.lemma_).lower() for t in tokens} | {key(t) for t in tokens}),
        lowers=frozenset(t.lower_ for t in tokens),
        given_up=given_up,
        gives_up=gives_up,
    )


def _earlier(predicate: Token, score: float) -> float | None:
    """The position the clause says the claimant held before: the one it gave up ("dropped its
    opposition": -1), or the mirror of the present one where it reports a reversal ("no longer
    backs", "reversed course", "initially ... now")."""
    clause = _clause_words(predicate)
    if clause.given_up is not None:
        return clause.given_up
    if not score:
        return None
    lowers = clause.lowers
    reversed_ = bool(clause.words & _REVERSAL) or ("no" in lowers and "longer" in lowers)
    if reversed_ or (lowers & _EARLIER and lowers & _LATER):
        return -score
    return None


def _shift(predicate: Token) -> bool:
    """The clause reports that the claimant's position changed."""
    clause = _clause_words(predicate)
    lowers = clause.lowers
    if clause.words & SHIFT_STRONG:
        return True
    if "no" in lowers and "longer" in lowers:
        return True
    # "dropped its opposition", "abandoned its support": giving up a position is a change
    if clause.gives_up:
        return True
    return bool(lowers & _EARLIER and lowers & _LATER)
