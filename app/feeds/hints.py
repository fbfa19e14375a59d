"""Topic hints: a feed with hints keeps only entries that name one of those topics (or a sub-topic)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from app.extraction.relevance import TopicIndex
from app.extraction.types import RegistrySnapshot


@lru_cache(maxsize=4)
def _matcher(snapshot: RegistrySnapshot) -> TopicIndex:
    return TopicIndex(snapshot)


def with_subtopics(snapshot: RegistrySnapshot, hints: Iterable[str]) -> frozenset[str]:
    """The hinted topics and every topic below them."""
    wanted = set(hints)
    parents = {topic.slug: topic.parent for topic in snapshot.topics}
    for slug in parents:
        seen: set[str] = set()
        parent = parents.get(slug)
        while parent is not None and parent not in seen:
            if parent in wanted:
                wanted.add(slug)
                break
            seen.add(parent)
            parent = parents.get(parent)
    return frozenset(wanted)


def matches(snapshot: RegistrySnapshot, hints: Iterable[str], text: str) -> bool:
    """True without hints, or when a strong keyword of a hinted topic (or sub-topic) occurs in `text`."""
    hinted = with_subtopics(snapshot, hints)
    if not hinted:
        return True
    return bool(_matcher(snapshot).strong_topics_in(text) & hinted)
