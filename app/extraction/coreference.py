"""Short-range coreference: "he", "she", "they", "it" and role nouns ("the chancellor", "the ministry").

Only subjects are resolved, since only subjects become claimants:
* "he"/"she" -> the last person who made a claim (or was named) in the article;
* "the chancellor", "the prime minister" -> the last person named whose aliases or office
  carry that role word;
* "they" -> a plural collective that was the subject within the last two sentences;
* "it", "the ministry", "the government" -> the non-person actor that made the last sentence's claim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.extraction.actors import ActorGazetteer
from app.extraction.claimants import ActorRef, Claimant

ROLE_NOUNS = frozenset(
    (
        "president", "chancellor", "minister", "premier", "secretary", "envoy", "leader", "chief", "king",
        "queen", "spokesman", "spokeswoman", "spokesperson", "commissioner", "ambassador", "governor",
        "senator", "mayor", "general", "head", "director", "chairman", "chair", "chairwoman", "prince",
    )
)  # fmt: skip
INSTITUTION_NOUNS = frozenset(
    (
        "ministry",
        "government",
        "administration",
        "department",
        "commission",
        "cabinet",
        "office",
        "executive",
        "union",
        "party",
        "council",
        "committee",
        "alliance",
        "federation",
        "association",
        "chamber",
        "agency",
        "company",
        "group",
        "bloc",
        "parliament",
        "assembly",
        "court",
    )
)
_SUBJECTS = frozenset(("nsubj", "nsubjpass"))
_PLURAL_REACH = 2
_OTHER_REACH = 1
_COLLECTIVE_KINDS = frozenset(("bloc", "group", "organization"))


@dataclass
class Discourse:
    last_person: str | None = None
    persons: list[str] = field(default_factory=list)  # persons named so far, latest last
    named: list[str] = field(default_factory=list)  # every actor named so far, latest last
    last_other: str | None = None
    other_age: int = 99
    last_plural: str | None = None
    plural_age: int = 99

    def forget_sentence(self) -> None:
        self.other_age += 1
        self.plural_age += 1

    def update(
        self, parsed: Any, refs: list[ActorRef], claimants: list[Claimant], kinds: dict[str, str]
    ) -> None:
        self.forget_sentence()
        for ref in refs:
            if ref.direct:
                if ref.slug in self.named:
                    self.named.remove(ref.slug)
                self.named.append(ref.slug)
            if ref.direct and kinds.get(ref.slug) == "person":
                if ref.slug in self.persons:
                    self.persons.remove(ref.slug)
                self.persons.append(ref.slug)
                if self.last_person is None:
                    self.last_person = ref.slug
        for claimant in claimants:
            kind = kinds.get(claimant.slug)
            if kind == "person":
                self.last_person = claimant.slug
            else:
                self.last_other, self.other_age = claimant.slug, 0
                token = parsed[claimant.actor_token]
                if kind in _COLLECTIVE_KINDS and (
                    token.tag_ in ("NNS", "NNPS") or token.lower_.endswith("s")
                ):
                    self.last_plural, self.plural_age = claimant.slug, 0


def _role_words(gazetteer: ActorGazetteer, slug: str) -> set[str]:
    actor = gazetteer.actor(slug)
    if actor is None:
        return set()
    text = " ".join([*actor.aliases, *(m.role or "" for m in actor.memberships)]).lower()
    return set(re.findall(r"[a-z]+", text)) & ROLE_NOUNS


def _institution(gazetteer: ActorGazetteer, discourse: Discourse, noun: str) -> str | None:
    """ "the ministry": the last actor named whose aliases carry the noun, else a recent state."""
    for slug in reversed(discourse.named):
        actor = gazetteer.actor(slug)
        if actor is not None and any(noun in alias.lower().split() for alias in actor.aliases):
            return slug
    last = discourse.last_other
    if last is not None and discourse.other_age <= _OTHER_REACH + 1:
        actor = gazetteer.actor(last)
        if actor is not None and actor.kind == "state":
            return last
    return None


def _reports(parsed: Any, ref: ActorRef, pronoun: Any) -> bool:
    """`ref` is named in the subject of a report that contains the pronoun ("a source close to the
    union said it would ...")."""
    actor = parsed[ref.start : ref.end].root
    head = pronoun.head
    while head.head.i != head.i:
        parent = head.head
        subject = next((c for c in parent.children if c.dep_ in _SUBJECTS), None)
        if subject is not None and subject.i != pronoun.i and actor.i in {t.i for t in subject.subtree}:
            return True
        head = parent
    return False


def references(
    parsed: Any, named: list[ActorRef], discourse: Discourse, gazetteer: ActorGazetteer, on: date
) -> list[ActorRef]:
    """Actor references in subject position that are not names (`named`: the sentence's names)."""
    taken = {i for ref in named for i in range(ref.start, ref.end)}
    out: list[ActorRef] = []
    for token in parsed:
        if token.i in taken or token.dep_ not in _SUBJECTS:
            continue
        lower = token.lower_
        slug: str | None = None
        if lower in ("he", "she"):
            # a person named earlier in the same sentence comes first ("Voss said ..., and she refused")
            earlier = [r.slug for r in named if r.end <= token.i and r.kind == "person"]
            slug = earlier[-1] if earlier else None
            slug = slug or discourse.last_person or (discourse.persons[-1] if discourse.persons else None)
        elif lower in ("it", "they"):
            # a group or state named earlier in the same sentence comes first ("a source close to
            # the union said it would vote against")
            earlier = [
                r.slug
                for r in named
                if r.end <= token.i and r.kind != "person" and _reports(parsed, r, token)
            ]
            if earlier:
                slug = earlier[-1]
            elif lower == "they":
                slug = discourse.last_plural if discourse.plural_age <= _PLURAL_REACH else None
            else:
                slug = discourse.last_other if discourse.other_age <= _OTHER_REACH else None
        elif token.pos_ == "NOUN" and any(c.dep_ == "det" and c.lower_ == "the" for c in token.children):
            lemma = str(token.lemma_).lower()
            if lemma in ROLE_NOUNS:
                slug = next(
                    (p for p in reversed(discourse.persons) if lemma in _role_words(gazetteer, p)), None
                )
            elif lemma in INSTITUTION_NOUNS:
                slug = _institution(gazetteer, discourse, lemma)
        if slug is None:
            continue
        actor = gazetteer.actor(slug)
        out.append(ActorRef(slug, actor.kind if actor else "group", token.i, token.i + 1, False, token.text))
    return out
