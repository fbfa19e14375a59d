"""Which stored articles a registry change can change the extraction of (plain data, no SQL).

A change reaches the articles whose title or text holds one of its **terms**: a term is a few
lowercase ASCII fragments that must appear in that order (the store turns it into
`lower(title || text) LIKE '%f1%f2%'`). Terms are a superset test, never an exact one: an article
the extractor could match is always selected, and a few it would not are re-extracted for nothing.

* an actor: its name and aliases ("the X" also as "X"), as the gazetteer matches them
  (app.extraction.actors), before and after the change;
* a topic: its keywords and weak keywords, with every inflection and spelling the keyword matcher
  allows (app.extraction.relevance.keyword_pattern: "policy" finds "policies", "defence" finds
  "defense"), and its head nouns together with a name of its name or keywords ("the Ostvik
  project": a head noun near a distinctive name is the topic), before and after; and the same of
  its parent, before and after (a child topic is found by its head noun in an article about its
  parent).

Keyword terms only narrow the rules engine: the embeddings engine can find a topic in any
sentence naming an actor, so a topic change reaches every article there (`selection`). Non-ASCII
letters are left out of the fragments (SQLite's lower() folds ASCII only), which only widens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.extraction.relevance import TopicIndex
from app.extraction.types import RegistrySnapshot, TopicEntry

Term = tuple[str, ...]

# past this many terms a change narrows little and its SQL grows long: every article
MAX_TERMS = 200

_WORD_SPLIT = re.compile(r"[\s-]+")
_ASCII_RUNS = re.compile(r"[\x00-\x7f]+")
# where relevance._spelling_variants may rewrite a word: cut it there ("defen|ce", "fav|our", "organi|se")
_VARIANTS = re.compile(r"(?<=en)[cs](?=e)|(?<=o)u(?=r)|(?<=i)[sz](?=e|ing|ation)")
_NAME_WORDS = re.compile(r"\b[A-Z][A-Za-z-]{2,}|\d+(?:\.\d+)?\s?%")
_STOP = frozenset({"the", "a", "an", "of", "on", "in", "to", "for", "and", "or", "with", "by", "from", "at"})


@dataclass(frozen=True)
class Reach:
    """What a registry write can change: nothing (`changed` false), every stored article
    (`terms` None), or the articles holding one of `terms`."""

    changed: bool = False
    terms: frozenset[Term] | None = frozenset()
    topics: bool = False  # a topic changed (see `selection`)

    def union(self, other: Reach) -> Reach:
        if not other.changed:
            return self
        if not self.changed:
            return other
        terms = None if self.terms is None or other.terms is None else self.terms | other.terms
        return Reach(True, terms, self.topics or other.topics)

    def selection(self, *, engine: str) -> list[list[str]] | None:
        """The terms that select the articles to re-extract with `engine`, or None for every article."""
        if not self.terms or (self.topics and engine != "rules") or len(self.terms) > MAX_TERMS:
            return None  # nothing narrows: a change with no term, or one any sentence may show
        if any(not term for term in self.terms):
            return None
        return [list(term) for term in sorted(self.terms)]


NOTHING = Reach()


def _fragments(text: str) -> list[str]:
    """The ASCII runs of `text`, lowercased (non-ASCII letters become gaps)."""
    return [run for run in _ASCII_RUNS.findall(text.lower()) if run.strip()]


def _cut_variants(word: str) -> str:
    found = _VARIANTS.search(word.lower())
    return word[: found.start()] if found else word


def _stem(last: str) -> str:
    """The part of a keyword's last word every inflection keeps (as relevance.keyword_pattern)."""
    if last[0].isupper() or not last.isalpha():
        return last
    stem = last
    if (stem.endswith("es") and len(stem) > 4 and stem[-3] in "cs") or (
        stem.endswith("s") and not stem.endswith("ss")
    ):
        stem = stem[:-1]
    if (stem.endswith("y") and len(stem) > 3) or stem.endswith("e"):
        stem = stem[:-1]
    return stem


def keyword_term(keyword: str) -> Term:
    """The fragments every match of `keyword` contains, in order."""
    words = [w for w in _WORD_SPLIT.split(keyword.strip()) if w]
    if not words:
        return ()
    last = words[-1]
    stem = _stem(last)
    parts = [*(_cut_variants(w) for w in words[:-1]), last[: min(len(stem), len(_cut_variants(last)))]]
    return tuple(fragment for word in parts for fragment in _fragments(word))


def alias_term(alias: str) -> Term:
    """The fragments every match of an actor alias contains ("the X" also matches as "X")."""
    text = alias.strip()
    if text.lower().startswith("the "):
        text = text[4:]
    return tuple(_fragments(text))


def _names(phrases: Iterable[tuple[str, bool]]) -> set[Term]:
    """The names and figures in a topic's name and keywords (as relevance._names: the capital
    that only opens a sentence-case name is no name)."""
    terms: set[Term] = set()
    for phrase, sentence_case in phrases:
        for match in _NAME_WORDS.finditer(phrase):
            word = match.group(0)
            internal_capital = any(c.isupper() for c in word[1:])
            if match.start() == 0 and sentence_case and not internal_capital and not word[0].isdigit():
                continue
            for part in (word, *word.split("-")):
                if len(part) > 1 and part.lower() not in _STOP:
                    terms.add(tuple(_fragments(part)))
    return terms


@dataclass(frozen=True)
class TopicTerms:
    """A topic's definition as far as extraction reads it, and the terms it is found by."""

    definition: tuple[object, ...]
    terms: frozenset[Term]


def topic_terms(
    *,
    name: str,
    keywords: Sequence[str],
    weak_keywords: Sequence[str],
    definition: tuple[object, ...] = (),
) -> TopicTerms:
    terms = {keyword_term(k) for k in (*keywords, *weak_keywords) if k.strip()}
    # a head noun near a name is the topic too: both in the text, in either order
    entry = TopicEntry(slug="topic", name=name, keywords=tuple(keywords))
    heads = [keyword_term(h) for h in TopicIndex(RegistrySnapshot(actors=(), topics=(entry,))).head_nouns]
    for mark in _names([(name, True), *((k, False) for k in keywords)]):
        terms |= {term for head in heads for term in ((*mark, *head), (*head, *mark))}
    return TopicTerms(definition, frozenset(terms))


def actor_terms(*, name: str, aliases: Sequence[str]) -> frozenset[Term]:
    return frozenset(alias_term(a) for a in (name, *aliases) if a.strip())


def topic_change(
    before: TopicTerms | None,
    after: TopicTerms,
    *,
    parents: Sequence[TopicTerms | None] = (),
) -> Reach:
    """A topic created (`before` None) or updated; `parents`: its parent before and after."""
    if before is not None and before.definition == after.definition:
        return NOTHING
    terms = set(after.terms)
    for other in (before, *parents):
        if other is not None:
            terms |= other.terms
    return Reach(True, frozenset(terms), topics=True)


def actor_change(
    before: tuple[object, ...] | None,
    after: tuple[object, ...],
    *,
    terms_before: frozenset[Term],
    terms_after: frozenset[Term],
) -> Reach:
    """An actor created (`before` None) or updated; the definitions say whether it changed."""
    if before is not None and before == after:
        return NOTHING
    return Reach(True, terms_before | terms_after)


def matches(term: Term, text: str) -> bool:
    """What `app.store.jobs`'s LIKE test of `term` answers for `text` (ASCII letters fold case)."""
    lowered = "".join(ch.lower() if ch.isascii() else ch for ch in text)
    position = 0
    for fragment in term:
        found = lowered.find(fragment, position)
        if found < 0:
            return False
        position = found + len(fragment)
    return True
