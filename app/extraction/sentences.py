"""Sentence splitting with exact character offsets.

A small rule splitter tuned for news-wire English: it never rewrites the text, so
`text[s.start:s.end] == s.text` always holds, and it keeps a direct quote, even one of
several sentences, together with its attribution (`"... We have to," he said.`). pysbd gives the same boundaries on the
development corpus but is about fifty times slower, so only the tests use it, to check this one
(tests/unit/extraction/pysbd_sentences.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Tokens that end with a period without ending a sentence.
ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "st", "gen", "sen", "rep", "gov", "lt", "col", "capt", "sgt", "prof",
        "jr", "sr", "no", "inc", "ltd", "co", "corp", "vs", "etc", "approx", "dept", "est", "fig",
        "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
        "u.s", "u.k", "u.n", "e.g", "i.e", "a.m", "p.m", "j.d",
    }
)  # fmt: skip

# A candidate boundary: terminal punctuation, optional closing quotes/brackets, whitespace.
_BOUNDARY = re.compile(r"[.!?]+[\"')\]]*(?=\s+[\"'(\[]?[A-Z0-9])")
_PARAGRAPH = re.compile(r"\n\s*\n")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)\.?$")


@dataclass(frozen=True)
class Sentence:
    """One sentence: `text` equals the article text between `start` and `end`."""

    index: int
    start: int
    end: int
    text: str
    paragraph: int


def _is_abbreviation(chunk: str) -> bool:
    match = _WORD_BEFORE.search(chunk)
    if match is None:
        return False
    word = match.group(1).lower().rstrip(".")
    if word in ABBREVIATIONS:
        return True
    # Single initials ("J." in "J. Smith") and dotted acronyms ("U.S.").
    return len(word) == 1 or bool(re.fullmatch(r"(?:[a-z]\.)+[a-z]", word))


# A parse costs more than linearly in a sentence's length: a run-on of 20,000 characters (an
# unclosed quote, a list with no full stops) took half a minute. News sentences, even a quote kept
# with its attribution, stay far below this; longer ones are cut at a boundary, else at a space.
MAX_SENTENCE_CHARS = 1_000


def _split_paragraph(text: str, offset: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = 0
    quotes = 0  # double quotes before `counted`
    counted = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if match.group(0).startswith(".") and _is_abbreviation(text[start : match.start() + 1]):
            continue
        quotes += text.count('"', counted, end)
        counted = end
        # inside a direct quote: keep it with its attribution, unless the quote never closes
        if quotes % 2 and end - start < MAX_SENTENCE_CHARS:
            continue
        spans.append((start, end))
        start = end
    spans.append((start, len(text)))
    out: list[tuple[int, int]] = []
    for a, b in _bounded(text, spans):
        piece = text[a:b]
        stripped = piece.strip()
        if not stripped:
            continue
        lead = len(piece) - len(piece.lstrip())
        out.append((offset + a + lead, offset + a + lead + len(stripped)))
    return out


def _bounded(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`spans` with any longer than MAX_SENTENCE_CHARS cut at the last space before the limit."""
    out: list[tuple[int, int]] = []
    for start, end in spans:
        while end - start > MAX_SENTENCE_CHARS:
            cut = text.rfind(" ", start + 1, start + MAX_SENTENCE_CHARS)
            cut = cut if cut > start else start + MAX_SENTENCE_CHARS
            out.append((start, cut))
            start = cut
        out.append((start, end))
    return out


def split_sentences(text: str) -> list[Sentence]:
    """Split `text` into sentences; offsets index into `text`, trailing whitespace is stripped."""
    sentences: list[Sentence] = []
    position = 0
    paragraph = 0
    for block in [*_PARAGRAPH.finditer(text), None]:
        end = block.start() if block is not None else len(text)
        for start, stop in _split_paragraph(text[position:end], position):
            sentences.append(Sentence(len(sentences), start, stop, text[start:stop], paragraph))
        if block is not None:
            position = block.end()
            paragraph += 1
    return sentences
