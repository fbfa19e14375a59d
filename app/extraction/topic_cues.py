"""What counts as support or opposition for one topic, read from the topic's own description.

Users describe a topic the way coders write rules: "Launching or defending the charge is
support; retaliating against it is opposition." The verbs and adjectives of each part
become cues for that topic only, with the part's sign. They never override the general
lexicon (which already knows "reject" or "support"): they add words the general lexicon has
no side for ("retaliate", "annex"). A word found on both sides is left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from app.extraction import nlp
from app.extraction.lexicon import PHRASAL, POLARITY, SPEECH
from app.extraction.types import TopicEntry

_PART = re.compile(r"[;.]\s+|\.$")
_SIDE = re.compile(
    r"\b(?:is|are|counts?\s+as|is\s+coded\s+as|means|as)\s+(?:an?\s+)?(?:tentative\s+|firm\s+|conditional\s+)?"
    r"(support|opposition|oppose|opposing|against|in\s+favou?r)\b",
    re.IGNORECASE,
)
_NAME_STOP = frozenset(
    ("the", "and", "for", "from", "with", "into", "over", "its", "their", "of", "to", "on", "in")
)
_IGNORED = frozenset(
    ("be", "have", "do", "count", "code", "make", "take", "get", "go", "give", "use", "include")
)


def topic_cues(topic: TopicEntry) -> Mapping[str, float]:
    """Lemma -> sign for words the description puts on one side; 0.0 for the words of the topic's
    own name, which take no side on it (a "ban" is what a ban topic is about, not against it)."""
    own = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z-]{2,}", topic.name)} - _NAME_STOP
    own |= {w[:-1] for w in own if w.endswith("s") and not w.endswith("ss")}
    named = dict.fromkeys(own, 0.0)
    if not topic.description or not _SIDE.search(topic.description) or not nlp.available():
        return named
    sides: dict[str, set[float]] = {}
    language = nlp.load()
    parts = [p for p in _PART.split(topic.description) if p and _SIDE.search(p)]
    for part, parsed in zip(parts, language.pipe(parts), strict=True):
        side_match = _SIDE.search(part)
        assert side_match is not None
        sign = 1.0 if side_match.group(1).lower().startswith(("support", "in")) else -1.0
        cut = side_match.start()
        for token in parsed:
            if token.idx >= cut:
                break
            lemma = str(token.lemma_).lower()
            if token.pos_ not in ("VERB", "ADJ") and token.tag_ != "VBG":
                continue
            if (
                lemma in _IGNORED
                or lemma in SPEECH
                or lemma in POLARITY
                or lemma in PHRASAL
                or len(lemma) < 4
            ):
                continue
            sides.setdefault(lemma, set()).add(sign)
    cues = {lemma: next(iter(signs)) for lemma, signs in sides.items() if len(signs) == 1}
    return {**cues, **named}
