"""Actor gazetteer: registry aliases found in text, resolved to slugs on a given day.

Matching is leftmost-longest on word boundaries. Short all-caps aliases ("US",
"EU", "UN") match case-sensitively so that "us" is not the United States; every
other alias matches case-insensitively. An alias shared by several actors ("the
German chancellor") resolves to the actors whose office is valid on the day.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from app.extraction.scan import prefixes, scan
from app.extraction.types import ActorEntry, RegistrySnapshot

# Words after "X's" that make the possessor the speaker ("Meloni's office said").
SPOKES_NOUNS = frozenset(
    {"office", "spokesman", "spokeswoman", "spokesperson", "government", "administration", "team"}
)
_POSSESSIVE = re.compile(r"'s?\b|'(?=\s)")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Mention:
    """A registry actor named in a sentence; offsets are relative to the searched text."""

    start: int
    end: int
    text: str
    slugs: tuple[str, ...]
    kind: str
    metonym: bool = False
    possessive: bool = False
    speaks_for: bool = False  # "X's office": the possessor holds the position

    @property
    def slug(self) -> str:
        return self.slugs[0]


def _case_sensitive(alias: str) -> bool:
    """Aliases with a short acronym ("US", "the EU", "DoD") must keep their case."""
    words = [w.replace(".", "") for w in alias.split()]
    return any(2 <= len(w) <= 4 and sum(c.isupper() for c in w) >= 2 for w in words)


def _is_metonym(alias: str, actor: ActorEntry) -> bool:
    """A place or building standing for a state or organisation ("Riverton", "the Palace")."""
    if actor.kind not in ("state", "organization"):
        return False
    if _case_sensitive(alias):
        return False
    words = [w for w in re.findall(r"[A-Za-z]+", alias) if w.lower() != "the"]
    name_stems = {w[:4].lower() for w in re.findall(r"[A-Za-z]+", actor.name) if len(w) > 2}
    lowered = {w.lower() for w in words}
    if lowered & {"government", "ministry", "officials", "administration", "department", "federation"}:
        return False
    if any(w[:4].lower() in name_stems for w in words):
        return False
    # Country names that differ from the registry name ("Britain", "America") are not places.
    return not (len(words) == 1 and not alias.lower().startswith("the ") and words[0][-1] in "aey")


class ActorGazetteer:
    """Compiled alias matcher for one registry snapshot."""

    def __init__(self, registry: RegistrySnapshot) -> None:
        self._actors = {actor.slug: actor for actor in registry.actors}
        owners: dict[str, list[str]] = defaultdict(list)
        self._metonym: dict[str, bool] = {}
        for actor in registry.actors:
            variants = {actor.name, *actor.aliases}
            # "the EU" also opens a sentence as "The EU".
            variants |= {a[0].upper() + a[1:] for a in variants if _case_sensitive(a) and a[0].islower()}
            # "the White House" also appears without its article as a modifier ("White House officials").
            variants |= {a[4:] for a in variants if a.lower().startswith("the ") and a[4:5].isupper()}
            for alias in variants:
                key = alias if _case_sensitive(alias) else alias.lower()
                if actor.slug not in owners[key]:
                    owners[key].append(actor.slug)
                self._metonym[key] = self._metonym.get(key, True) and _is_metonym(alias, actor)
        self._owners = dict(owners)
        sensitive = sorted((a for a in owners if _case_sensitive(a)), key=len, reverse=True)
        insensitive = sorted((a for a in owners if not _case_sensitive(a)), key=len, reverse=True)
        self._patterns = [
            (self._compile(sensitive, 0), True, prefixes(sensitive)),
            (self._compile(insensitive, re.IGNORECASE), False, prefixes(insensitive)),
        ]

    @staticmethod
    def _compile(aliases: list[str], flags: int) -> re.Pattern[str] | None:
        if not aliases:
            return None
        body = "|".join(re.escape(a) for a in aliases)
        return re.compile(rf"(?<![\w.])(?:{body})(?![\w]|\.\w)", flags)

    def actor(self, slug: str) -> ActorEntry | None:
        return self._actors.get(slug)

    def shared(self, alias: str) -> bool:
        """Several actors carry `alias` (an office, "the environment minister"), so the day decides."""
        key = alias if _case_sensitive(alias) else alias.lower()
        return len(self._owners.get(key, ())) > 1

    def resolve(self, key: str, on: date) -> tuple[str, ...]:
        """Slugs for an alias key, keeping only office holders valid on `on` when it is shared."""
        slugs = self._owners.get(key, [])
        if len(slugs) <= 1:
            return tuple(slugs)
        # The first membership is the actor's current office (registry convention).
        in_office = [
            slug
            for slug in slugs
            if self._actors[slug].memberships and self._actors[slug].memberships[0].valid_on(on)
        ]
        return tuple(in_office[:1] or slugs[:1])

    def find(self, text: str, on: date) -> list[Mention]:
        """Non-overlapping actor mentions in `text`, leftmost-longest, resolved on day `on`."""
        found: list[tuple[int, int, str]] = []
        for pattern, sensitive, starts in self._patterns:
            if pattern is None:
                continue
            for match in scan(pattern, text, starts):
                key = match.group(0) if sensitive else match.group(0).lower()
                found.append((match.start(), match.end(), key))
        found.sort(key=lambda item: (item[0], -(item[1] - item[0])))
        mentions: list[Mention] = []
        last_end = -1
        for start, end, key in found:
            if start < last_end:
                continue
            slugs = self.resolve(key, on)
            if not slugs:
                continue
            last_end = end
            tail = text[end : end + 40]
            possessive = bool(_POSSESSIVE.match(tail))
            speaks_for = False
            if possessive:
                following = _WORD.findall(tail.split(" ", 1)[1] if " " in tail else "")
                speaks_for = bool(following) and following[0].strip(",.").lower() in SPOKES_NOUNS
            actor = self._actors[slugs[0]]
            mentions.append(
                Mention(
                    start=start,
                    end=end,
                    text=text[start:end],
                    slugs=slugs,
                    kind=actor.kind,
                    metonym=self._metonym.get(key, False),
                    possessive=possessive,
                    speaks_for=speaks_for,
                )
            )
        return mentions

    def ancestors(self, slug: str, on: date) -> set[str]:
        """Every actor `slug` belongs to on day `on`, transitively (a mayor -> her city -> its country)."""
        seen: set[str] = set()
        frontier = [slug]
        while frontier:
            actor = self._actors.get(frontier.pop())
            if actor is None:
                continue
            for membership in actor.memberships:
                if membership.valid_on(on) and membership.parent not in seen:
                    seen.add(membership.parent)
                    frontier.append(membership.parent)
        return seen
