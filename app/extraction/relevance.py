"""Topic relevance, from the registry alone: keywords, weak keywords, excluded senses, head nouns.

A keyword matches its simple inflections ("deploy" -> "deployed", "deployment"). A strong
keyword decides that a clause is about its topic; a weak one (`weak_keywords`) counts only
where the article is about the topic already. A hit inside one of the topic's
`excluded_phrases` ("parking charge" for a congestion charge) is another sense of the word and is dropped.
A child topic's hit replaces its parent's in the same sentence.

Beyond keywords, a clause can refer to a topic the article is about with a definite noun
phrase built on one of the topic's head nouns ("the charge", "the deal": the last word of a
keyword or of the topic name) or with a general referring noun ("the plan", "the move").
`focus()` tells which topics the article is about: where its strong keywords fall.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from app.extraction.scan import prefixes, scan
from app.extraction.types import RegistrySnapshot, TopicEntry

_SUFFIXES = r"(?:s|es|ed|d|ing|ment|ments)?"
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "on",
        "in",
        "to",
        "for",
        "and",
        "or",
        "with",
        "by",
        "from",
        "at",
        "as",
        "its",
        "their",
        "his",
        "her",
        "our",
        "this",
        "that",
        "these",
        "those",
        "us",
        "eu",
        "un",
        "any",
        "all",
        "new",
        "other",
        "own",
        "more",
        "most",
        "such",
        "positions",
        "position",
    ]
)


@dataclass(frozen=True)
class TopicHit:
    topic: str
    start: int
    end: int
    keyword: str
    strong: bool


@dataclass(frozen=True)
class _Keyword:
    topic: str
    keyword: str
    strong: bool


_SPELLINGS = (
    (r"ence\b", "en[cs]e"),
    (r"ense\b", "en[cs]e"),
    (r"our\b", "o(?:u)?r"),
    (r"is(?=e|ing|ation)", "i[sz]"),
    (r"iz(?=e|ing|ation)", "i[sz]"),
)


def _spelling_variants(pattern: str) -> str:
    """British and American spellings of one escaped word ("defence"/"defense", "favour"/"favor")."""
    for ending, either in _SPELLINGS:
        pattern = re.sub(ending, either, pattern)
    return pattern


def keyword_pattern(keyword: str) -> str:
    """A regex for `keyword`, the simple inflections of its last word, British and American
    spellings, and a hyphen or a space between its parts ("opt-out", "opt out")."""
    plain = keyword.replace("-", "").replace(" ", "").isalpha()
    words = keyword.replace("-", " ").split() if plain else keyword.split()
    last = words[-1]
    if last[0].isupper() or not last.isalpha():
        tail = re.escape(last) + r"s?"
    else:
        stem = last
        if (stem.endswith("es") and len(stem) > 4 and stem[-3] in "cs") or (
            stem.endswith("s") and not stem.endswith("ss")
        ):
            stem = stem[:-1]
        if stem.endswith("y") and len(stem) > 3:
            tail = re.escape(stem[:-1]) + r"(?:y|ies|ied|ying)"
        elif stem.endswith("e"):
            stem = stem[:-1]
            tail = re.escape(stem) + r"(?:e|es|ed|ing|ement|ements)?"
        else:
            tail = re.escape(stem) + _SUFFIXES
    head = "".join(_spelling_variants(re.escape(w)) + r"[\s-]+" for w in words[:-1])
    return head + _spelling_variants(tail)


@dataclass(frozen=True)
class _Matcher:
    pattern: re.Pattern[str]
    keywords: tuple[tuple[_Keyword, ...], ...]  # per group: every topic that has this keyword
    starts: frozenset[str]


def _compile(entries: list[tuple[str, _Keyword]], flags: int) -> _Matcher | None:
    """One alternation for many keywords; a keyword several topics share is one group naming all."""
    if not entries:
        return None
    groups: dict[str, list[_Keyword]] = {}
    for regex, keyword in entries:
        groups.setdefault(regex, []).append(keyword)
    ordered = sorted(groups.items(), key=lambda item: len(item[1][0].keyword), reverse=True)
    body = "|".join(f"(?P<k{i}>{regex})" for i, (regex, _) in enumerate(ordered))
    compiled = re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", flags)
    return _Matcher(compiled, tuple(tuple(ks) for _, ks in ordered), prefixes(k.keyword for _, k in entries))


def _names(phrase: str, *, sentence_case: bool) -> list[str]:
    """Names and figures in a phrase ("Lakeford", "UN", "5%"); a capital that only opens the phrase is not one."""
    out = []
    for match in re.finditer(r"\b[A-Z][A-Za-z-]{2,}|\d+(?:\.\d+)?\s?%", phrase):
        word = match.group(0)
        internal_capital = any(c.isupper() for c in word[1:])
        if match.start() > 0 or not sentence_case or internal_capital or word[0].isdigit():
            out.append(word)
    return out


def _head_noun(phrase: str) -> str | None:
    """The noun a phrase is about: its last word before any preposition ("trade war with China" -> war)."""
    phrase = re.split(r"\s(?:of|with|to|for|on|in|by|from|against)\s", phrase)[0]
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z-]*", phrase) if w.lower() not in _STOP]
    if not words:
        return None
    last = str(words[-1]).lower()
    if len(last) < 3 or words[-1][0].isupper():
        return None
    return last[:-1] if last.endswith("s") and not last.endswith("ss") else last


def excluded(blocked: list[tuple[int, int, set[str]]], topic: str, start: int, end: int) -> bool:
    return any(a < end and start < b and topic in topics for a, b, topics in blocked)


class TopicIndex:
    """Compiled keyword matchers and head nouns for one registry snapshot."""

    def __init__(self, registry: RegistrySnapshot, *, compound_window: int = 6) -> None:
        self.compound_window = compound_window  # words from a head noun to a distinctive name of its topic
        self.topics: dict[str, TopicEntry] = {t.slug: t for t in registry.topics}
        self.parents = {t.slug: t.parent for t in registry.topics}
        sensitive: list[tuple[str, _Keyword]] = []
        insensitive: list[tuple[str, _Keyword]] = []
        excluded: dict[str, set[str]] = {}
        for topic in registry.topics:
            weak = {w.lower() for w in topic.weak_keywords}
            for keyword in sorted({*topic.keywords, *topic.weak_keywords}):
                if not keyword.strip():
                    continue
                entry = _Keyword(topic.slug, keyword, keyword.lower() not in weak)
                upper = (keyword[:1].isupper() and not keyword.isupper()) or (
                    keyword.isupper() and len(keyword) <= 4
                )
                (sensitive if upper else insensitive).append((keyword_pattern(keyword), entry))
            for phrase in topic.excluded_phrases:
                if phrase.strip():
                    excluded.setdefault(phrase.lower(), set()).add(topic.slug)
        self._matchers = [m for m in (_compile(sensitive, 0), _compile(insensitive, re.IGNORECASE)) if m]
        # one named group per phrase, so an inflected match ("rallied their troops") still says
        # which topics excluded it
        phrases = sorted(excluded, key=len, reverse=True)
        self._excluded_topics = [excluded[p] for p in phrases]
        self._excluded = (
            re.compile(
                r"(?<![\w-])(?:"
                + "|".join(f"(?P<x{i}>{keyword_pattern(p)})" for i, p in enumerate(phrases))
                + r")(?![\w-])",
                re.IGNORECASE,
            )
            if phrases
            else None
        )
        self.head_nouns: dict[str, set[str]] = {}
        for topic in registry.topics:
            for phrase in (topic.name, *topic.keywords):
                noun = _head_noun(phrase)
                if noun is not None:
                    self.head_nouns.setdefault(noun, set()).add(topic.slug)
        self._compounds = self._compile_compounds(registry)

    def _compile_compounds(
        self, registry: RegistrySnapshot
    ) -> list[tuple[str, re.Pattern[str], re.Pattern[str]]]:
        """Per topic: its head nouns, and the distinctive words of its name and keywords.

        "the Hollow Creek project" or "a fee for drivers entering Lakeford" name a topic without
        being one of its keywords: a head noun with a distinctive word of the topic nearby.
        """
        shared: Counter[str] = Counter()
        words_of: dict[str, set[str]] = {}
        for topic in registry.topics:
            words = set()
            # distinctive: names ("Lakeford", "Norwegian", "UN") and figures ("5%"), not common words;
            # the topic's name is written in sentence case, its keywords are not
            for phrase, sentence_case in ((topic.name, True), *((k, False) for k in topic.keywords)):
                for name in _names(phrase, sentence_case=sentence_case):
                    words |= {part.lower() for part in (name, *name.split("-")) if len(part) > 1} - _STOP
            words_of[topic.slug] = words
            shared.update(words)
        out = []
        for topic in registry.topics:
            heads = {n for n, topics in self.head_nouns.items() if topic.slug in topics}
            marks = {w for w in words_of[topic.slug] if shared[w] == 1 and w not in heads}
            marks -= {w for h in heads for w in (h, h + "s")}
            if not heads or not marks:
                continue
            head_re = re.compile(
                r"(?<![\w-])(?:" + "|".join(keyword_pattern(h) for h in sorted(heads)) + r")(?![\w-])", re.I
            )
            mark_re = re.compile(
                r"(?<![\w])(?:" + "|".join(re.escape(m) + "s?" for m in sorted(marks)) + r")(?![\w])", re.I
            )
            out.append((topic.slug, head_re, mark_re))
        return out

    def _compound_hits(self, text: str) -> list[TopicHit]:
        found: list[TopicHit] = []
        for slug, head_re, mark_re in self._compounds:
            marks = [m.span() for m in mark_re.finditer(text)]
            if not marks:
                continue
            for head in head_re.finditer(text):
                near = any(
                    len(text[min(e, head.start()) : max(s, head.end())].split()) <= self.compound_window
                    for s, e in marks
                )
                if near:
                    found.append(TopicHit(slug, head.start(), head.end(), head.group(0), True))
        return found

    def hits(self, text: str) -> list[TopicHit]:
        """Keyword hits in `text`, leftmost-longest, minus excluded senses and parents of children."""
        found: list[TopicHit] = []
        for matcher in self._matchers:
            for match in scan(matcher.pattern, text, matcher.starts):
                name = match.lastgroup
                assert name is not None
                found.extend(
                    TopicHit(keyword.topic, match.start(), match.end(), keyword.keyword, keyword.strong)
                    for keyword in matcher.keywords[int(name[1:])]
                )
        found.extend(self._compound_hits(text))
        if not found:
            return []
        blocked = self.excluded_spans(text)
        if blocked:
            found = [h for h in found if not excluded(blocked, h.topic, h.start, h.end)]
        found.sort(key=lambda h: (h.start, -(h.end - h.start)))
        kept: list[TopicHit] = []
        last_end = -1
        for hit in found:
            if hit.start < last_end and kept and kept[-1].topic == hit.topic:
                continue
            kept.append(hit)
            last_end = max(last_end, hit.end)
        children = {h.topic for h in kept}
        covered = {self.parents[t] for t in children if self.parents.get(t)}
        return [h for h in kept if h.topic not in covered]

    def excluded_spans(self, text: str) -> list[tuple[int, int, set[str]]]:
        """Where `text` uses a word in a sense one of the topics excludes, and for which topics."""
        if self._excluded is None:
            return []
        return [
            (m.start(), m.end(), self._excluded_topics[int(str(m.lastgroup)[1:])])
            for m in self._excluded.finditer(text)
        ]

    def focus(self, sentence_hits: list[list[TopicHit]], title_hits: list[TopicHit]) -> dict[str, float]:
        """How much the article is about each topic: the share of its strong keyword evidence.

        The title counts twice; weak hits count a quarter. Topics under a tenth are left out.
        """
        weight: dict[str, float] = {}
        for hits in sentence_hits:
            for topic in {h.topic for h in hits if h.strong}:
                weight[topic] = weight.get(topic, 0.0) + 1.0
            for topic in {h.topic for h in hits if not h.strong}:
                weight[topic] = weight.get(topic, 0.0) + 0.25
        for topic in {h.topic for h in title_hits if h.strong}:
            weight[topic] = weight.get(topic, 0.0) + 2.0
        strong_total = sum(weight.values())
        if not strong_total:
            return {}
        return {t: w / strong_total for t, w in weight.items() if w >= 1.0 and w / strong_total >= 0.1}

    def topics_for_noun(self, lemma: str) -> set[str]:
        return self.head_nouns.get(lemma.lower(), set())

    def strong_topics_in(self, text: str) -> set[str]:
        return {h.topic for h in self.hits(text) if h.strong}
