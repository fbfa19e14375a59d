"""Topic detection: registry keywords plus lexicon supplements, on word boundaries.

Each keyword also matches its simple inflections ("deploy" -> "deployed",
"deploying", "deployment"; "forces" -> "force"). A topic only fires in articles
that name its anchor (the place in the topic name, e.g. Ukraine), and a child
topic hit in a sentence replaces its parent ("Tomahawk" is not also US aid).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.extraction.lexicon import SUPPLEMENTS, TopicSupplement
from app.extraction.scan import prefixes, scan
from app.extraction.types import RegistrySnapshot

_SUFFIXES = r"(?:s|es|ed|d|ing|ment|ments)?"


@dataclass(frozen=True)
class TopicHit:
    topic: str
    start: int
    end: int
    keyword: str
    strong: bool


def _keyword_pattern(keyword: str) -> str:
    words = keyword.split()
    last = words[-1]
    if last[0].isupper() or not last.isalpha():
        tail = re.escape(last) + r"s?"
    else:
        stem = last
        if (stem.endswith("es") and len(stem) > 4 and stem[-3] in "cs") or (
            stem.endswith("s") and not stem.endswith("ss")
        ):
            stem = stem[:-1]
        if stem.endswith("e"):
            stem = stem[:-1]
            tail = re.escape(stem) + r"(?:e|es|ed|ing|ement|ements)?"
        else:
            tail = re.escape(stem) + _SUFFIXES
    head = "".join(re.escape(w) + r"\s+" for w in words[:-1])
    return head + tail


class _TopicProfile:
    def __init__(self, slug: str, parent: str | None, supplement: TopicSupplement):
        self.slug = slug
        self.parent = parent
        self.not_senses = [re.compile(p, re.IGNORECASE) for p in supplement.not_senses]


@dataclass(frozen=True)
class _Keyword:
    topic: str
    keyword: str
    strong: bool
    gated: bool


@dataclass(frozen=True)
class _Matcher:
    pattern: re.Pattern[str]
    keywords: tuple[_Keyword, ...]
    starts: frozenset[str]


def _compile(entries: list[tuple[str, _Keyword]], flags: int) -> _Matcher | None:
    """One alternation for many keywords; group `k<i>` tells which keyword matched."""
    if not entries:
        return None
    entries = sorted(entries, key=lambda item: len(item[1].keyword), reverse=True)
    body = "|".join(f"(?P<k{i}>{pattern})" for i, (pattern, _) in enumerate(entries))
    pattern = re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", flags)
    return _Matcher(pattern, tuple(k for _, k in entries), prefixes(k.keyword for _, k in entries))


class TopicMatcher:
    """Compiled topic keyword matchers for one registry snapshot."""

    def __init__(self, registry: RegistrySnapshot) -> None:
        self.profiles: dict[str, _TopicProfile] = {}
        anchors: set[str] = set()
        actor_names = {a.name: a for a in registry.actors}
        sensitive: list[tuple[str, _Keyword]] = []
        insensitive: list[tuple[str, _Keyword]] = []
        for topic in registry.topics:
            supplement = SUPPLEMENTS.get(topic.slug, TopicSupplement())
            self.profiles[topic.slug] = _TopicProfile(topic.slug, topic.parent, supplement)
            weak = {w.lower() for w in supplement.weak}
            keywords = {k for k in (*topic.keywords, *supplement.extra) if k not in supplement.drop}
            for keyword in sorted(keywords):
                entry = _Keyword(topic.slug, keyword, keyword.lower() not in weak, gated=False)
                target = sensitive if keyword[:1].isupper() else insensitive
                target.append((_keyword_pattern(keyword), entry))
            for keyword in supplement.gated:
                insensitive.append((re.escape(keyword), _Keyword(topic.slug, keyword, True, gated=True)))
            for word in re.findall(r"\b[A-Z][a-z]+\b", topic.name):
                actor = actor_names.get(word)
                if actor is not None and actor.kind == "state":
                    anchors.add(re.escape(word[:-1] if word[-1] in "aeiy" else word) + r"\w*")
                    anchors.update(re.escape(a) for a in actor.aliases if a[:1].isupper() and " " not in a)
        self._matchers = [_compile(sensitive, 0), _compile(insensitive, re.IGNORECASE)]
        self.parents = {slug: p.parent for slug, p in self.profiles.items()}
        self._anchor = re.compile(rf"\b(?:{'|'.join(sorted(anchors))})\b") if anchors else None

    def article_is_relevant(self, text: str) -> bool:
        """True when the article names the topics' anchor (or there is no anchor)."""
        if self._anchor is None:
            return True
        return self._anchor.search(text) is not None

    def strong_topics_in(self, text: str) -> set[str]:
        """Topics with a strong keyword anywhere in `text` (enables gated keywords)."""
        return {hit.topic for hit in self._raw_hits(text, frozenset()) if hit.strong}

    def _raw_hits(self, text: str, enabled_gates: frozenset[str] | set[str]) -> list[TopicHit]:
        hits: list[TopicHit] = []
        for matcher in self._matchers:
            if matcher is None:
                continue
            for match in scan(matcher.pattern, text, matcher.starts):
                name = match.lastgroup
                assert name is not None
                keyword = matcher.keywords[int(name[1:])]
                if keyword.gated and keyword.topic not in enabled_gates:
                    continue
                hits.append(
                    TopicHit(keyword.topic, match.start(), match.end(), keyword.keyword, keyword.strong)
                )
        return hits

    def find(self, text: str, enabled_gates: frozenset[str] | set[str]) -> list[TopicHit]:
        """Keyword hits in one sentence, longest first, minus wrong senses and parents of children."""
        candidates = self._raw_hits(text, enabled_gates)
        if not candidates:
            return []
        blocked: dict[str, list[tuple[int, int]]] = {}
        for topic in {h.topic for h in candidates}:
            blocked[topic] = [m.span() for p in self.profiles[topic].not_senses for m in p.finditer(text)]
        candidates = [
            h for h in candidates if not any(a < h.end and h.start < b for a, b in blocked[h.topic])
        ]
        candidates.sort(key=lambda h: (h.start, -(h.end - h.start)))
        hits: list[TopicHit] = []
        last_end = -1
        for hit in candidates:
            if hit.start < last_end:
                continue
            hits.append(hit)
            last_end = hit.end
        children = {h.topic for h in hits}
        parents_covered = {self.parents[t] for t in children if self.parents.get(t)}
        return [h for h in hits if h.topic not in parents_covered]
