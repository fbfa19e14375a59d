"""Who makes a claim: actors in an agent role, read off the dependency parse.

An actor mention is a claimant when it is the subject of a predicate ("Spain backs"), the
agent of a passive ("was rejected by Hungary"), the source of "according to", or the
possessor or modifier of a noun that speaks for it ("Meloni's office said", "Commission
spokesperson"). Capitals stand for their state only in those roles, never as places
("in Paris", "the Paris meeting"): no list of places is needed.

Reported speech belongs to the outermost registry actor who reports it: in "The mayor said
the council would back the charge" the claim is the mayor's. An actor inside what a source outside the
registry reports ("a source said Germany would abstain") keeps the claim, with that
source as speaker. Claims inside a condition ("if France agreed") are not claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.extraction.lexicon import MEMBER_NOUNS, NON_ACTOR_SOURCES, PREDICTION, SPEECH, SPOKES_NOUNS

if TYPE_CHECKING:
    from app.extraction.explain import SentenceTrace

Token = Any  # spaCy Token

_SUBJECT = frozenset(("nsubj", "csubj"))
_CONDITION_MARKS = frozenset(("if", "unless", "whether"))


@dataclass(frozen=True)
class ActorRef:
    """An actor named or referred to in a parsed sentence."""

    slug: str
    kind: str
    start: int  # token index of the first token
    end: int  # token index after the last token
    direct: bool  # named, not resolved from a pronoun or a role noun
    text: str


@dataclass(frozen=True)
class Claimant:
    slug: str
    actor_token: int
    predicate: int  # token index of the predicate the actor is the agent of
    speaker: str | None
    direct: bool
    via_spokes: bool = False


def _climb_conj(token: Token) -> Token:
    while token.dep_ == "conj" and token.head.pos_ in ("PROPN", "NOUN", "PRON"):
        token = token.head
    return token


def _role_predicate(token: Token) -> tuple[Token | None, Token | None]:
    """The predicate `token` is the agent of, and the noun that speaks for it, if any ("office")."""
    token = _climb_conj(token)
    via_spokes = False
    if token.dep_ in ("poss", "compound", "nmod") and token.head.lemma_.lower() in SPOKES_NOUNS:
        token = _climb_conj(token.head)
        via_spokes = True
    elif (
        token.dep_ == "pobj" and token.head.lower_ == "of" and token.head.head.lemma_.lower() in SPOKES_NOUNS
    ):
        # "the leaders of Italy and Spain said", "a spokesman for the ministry"
        token = _climb_conj(token.head.head)
        via_spokes = True
    elif (
        token.dep_ == "pobj"
        and token.head.lower_ in ("of", "in")
        and token.head.head.lemma_.lower() in MEMBER_NOUNS
    ):
        # "six countries in the alliance have committed": the members act for the group
        token = _climb_conj(token.head.head)
    elif (
        token.dep_ == "pobj" and token.head.lower_ == "for" and token.head.head.lemma_.lower() in SPOKES_NOUNS
    ):
        token = _climb_conj(token.head.head)
        via_spokes = True
    spokes = token if via_spokes else None
    if spokes is not None and spokes.dep_ == "appos":
        return None, None  # "Ana Ruiz, president of the Commission, announced": she speaks
    if token.dep_ in _SUBJECT:
        return token.head, spokes
    if token.dep_ == "pobj" and token.head.dep_ == "agent":
        if token.head.head.dep_ == "acl":
            return None, spokes  # "a meeting called by the mayor", "the fee imposed by the council"
        return token.head.head, spokes
    if token.dep_ == "pobj" and token.head.lower_ == "to" and token.head.head.lower_ == "according":
        return token.head.head.head, spokes
    if token.dep_ == "appos" and token.head.dep_ in _SUBJECT:
        return token.head.head, spokes
    return None, spokes


def in_condition(predicate: Token) -> bool:
    """The predicate sits in an "if"/"unless"/"whether" clause."""
    token = predicate
    while True:
        if token.dep_ in ("advcl", "ccomp") and any(
            c.dep_ == "mark" and c.lower_ in _CONDITION_MARKS for c in token.children
        ):
            return True
        if token.head.i == token.i:
            return False
        token = token.head


def _silent(predicate: Token) -> bool:
    """ "has not said", "declined to comment": a report that no position was given."""
    lemma = predicate.lemma_.lower()
    if lemma in SPEECH and any(c.dep_ == "neg" for c in predicate.children):
        return True
    return lemma in ("decline", "refuse") and any(
        c.dep_ == "xcomp" and c.lemma_.lower() in ("comment", "say", "elaborate") for c in predicate.children
    )


def is_prediction(predicate: Token) -> bool:
    """ "X is expected to", "X is due to", "X is likely to": what others expect, not a position."""
    if predicate.lemma_.lower() in PREDICTION:
        return True
    for child in predicate.children:
        if child.dep_ in ("acomp", "xcomp", "attr") and child.lemma_.lower() in PREDICTION:
            return True
    return False


def _speaker_of(predicate: Token, slug_names: dict[int, str]) -> str | None:
    """A non-registry source that reports this predicate ("a source familiar with the matter said",
    "according to a diplomat")."""
    for child in predicate.children:
        if child.lower_ == "according":
            source = next((g for t in child.children for g in t.children if g.dep_ == "pobj"), None)
            if source is not None and source.i not in slug_names:
                return _phrase(predicate.doc, source)
    token = predicate
    while token.head.i != token.i:
        parent = token.head
        if parent.lemma_.lower() in SPEECH and token.dep_ in ("ccomp", "xcomp", "parataxis", "advcl"):
            subject = next((c for c in parent.children if c.dep_ in _SUBJECT), None)
            if subject is not None and subject.i not in slug_names:
                if subject.lemma_.lower() in NON_ACTOR_SOURCES:
                    return None
                if subject.pos_ != "PRON" and len(list(subject.subtree)) <= 10:
                    return _phrase(parent.doc, subject)
        token = parent
    return None


def find_claimants(
    parse: Any, refs: list[ActorRef], names: dict[str, str], trace: SentenceTrace | None = None
) -> list[Claimant]:
    """Claimants of one parsed sentence, outermost speaker first; embedded reports are dropped.

    `trace`, when given, hears why each mention that is no claimant was dropped."""
    token_owner: dict[int, str] = {}
    for ref in refs:
        for i in range(ref.start, ref.end):
            token_owner[i] = ref.slug
    found: list[tuple[ActorRef, Token, Token | None]] = []
    for ref in refs:
        span = parse[ref.start : ref.end]
        root = span.root
        predicate, spokes = _role_predicate(root)
        if predicate is None:
            if trace is not None:
                trace.drop_claimant(ref.slug, ref.text, "not the subject or agent of a verb")
            continue
        if in_condition(predicate) or is_prediction(predicate) or _silent(predicate):
            if trace is not None:
                trace.drop_claimant(ref.slug, ref.text, _no_claim(predicate))
            continue
        found.append((ref, predicate, spokes))
    # A claimant whose predicate sits in the content of another actor's speech is content.
    predicates = {p.i: ref.slug for ref, p, _ in found}
    # officials and spokespeople relay the claim of the actor they report on; they do not own it
    relays = {p.i for _, p, spokes in found if spokes is not None}
    out: list[Claimant] = []
    for ref, predicate, spokes in found:
        token = predicate
        embedded = False
        # "that the US needs ...": a clause opened by "that" inside a report is its content
        reported = any(c.dep_ == "mark" and c.lower_ == "that" for c in predicate.children)
        while token.head.i != token.i:
            parent = token.head
            owner = predicates.get(parent.i)
            if (
                owner is not None
                and owner != ref.slug
                and parent.lemma_.lower() in SPEECH
                and (token.dep_ in ("ccomp", "xcomp", "parataxis", "dobj") or reported)
            ):
                embedded = True
                break
            token = parent
        # "The EU should rethink its plan, Sanchez said": the report hangs off what it reports
        if not embedded:
            embedded = any(
                c.dep_ in ("parataxis", "ccomp")
                and c.lemma_.lower() in SPEECH
                and predicates.get(c.i) not in (None, ref.slug)
                and c.i not in relays
                for c in predicate.children
            )
        if embedded:
            if trace is not None:
                trace.drop_claimant(
                    ref.slug, ref.text, "inside what another actor here reports: the claim is the reporter's"
                )
            continue
        speaker: str | None = None
        if spokes is not None:
            speaker = _phrase(parse, spokes)
        elif predicate.lemma_.lower() in SPEECH:
            speaker = names.get(ref.slug, ref.text)
        outer = _speaker_of(predicate, token_owner)
        if outer is not None:
            speaker = outer
        out.append(
            Claimant(
                slug=ref.slug,
                actor_token=parse[ref.start : ref.end].root.i,
                predicate=predicate.i,
                speaker=speaker,
                direct=ref.direct,
                via_spokes=spokes is not None,
            )
        )
    return _without_relays(parse, out, trace)


def _no_claim(predicate: Token) -> str:
    """Why an actor in an agent role makes no claim (tracing only)."""
    if in_condition(predicate):
        return f"{predicate.text!r} sits in an 'if', 'unless' or 'whether' clause"
    if is_prediction(predicate):
        return f"{predicate.text!r} says what is expected of it, not a position"
    return f"{predicate.text!r} reports that it gave no position"


def _phrase(parse: Any, head: Token) -> str:
    """The text of a noun phrase as written ("Meloni's office", "a spokesperson for the ministry")."""
    tokens = [t for t in head.subtree if not (t.dep_ in ("relcl", "acl", "punct") and t.i > head.i)]
    span = parse[min(t.i for t in tokens) : max(t.i for t in tokens) + 1]
    return str(span.text)[:120]


def _without_relays(
    parse: Any, claimants: list[Claimant], trace: SentenceTrace | None = None
) -> list[Claimant]:
    """An official or spokesperson who reports another actor's claim in the same sentence adds no
    claim of their own ("The mayor has paused the project, a city hall official said")."""
    kept: list[Claimant] = []
    for claimant in claimants:
        if claimant.via_spokes:
            predicate = parse[claimant.predicate]
            reported = {c.predicate for c in claimants if c.slug != claimant.slug and not c.via_spokes}
            above = predicate.head.i if predicate.dep_ in ("parataxis", "ccomp") else None
            below = {t.i for t in predicate.subtree} - {predicate.i}
            if above in reported or reported & below:
                if trace is not None:
                    text = str(parse[claimant.actor_token].text)
                    trace.drop_claimant(claimant.slug, text, "relays the claim of another actor here")
                continue
        kept.append(claimant)
    return kept
