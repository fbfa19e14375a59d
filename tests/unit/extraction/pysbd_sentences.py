"""`split_sentences` computed with pysbd instead: the reference the rule splitter is checked
against (pysbd gives the same boundaries on wire text, about fifty times slower)."""

from __future__ import annotations

import pysbd

from app.extraction.sentences import Sentence


def split_sentences_pysbd(text: str) -> list[Sentence]:
    """The same contract as `app.extraction.sentences.split_sentences`, computed with pysbd."""
    segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)
    sentences: list[Sentence] = []
    paragraph = 0
    for span in segmenter.segment(text):
        piece = text[span.start : span.end]
        stripped = piece.strip()
        if not stripped:
            continue
        start = span.start + len(piece) - len(piece.lstrip())
        sentences.append(Sentence(len(sentences), start, start + len(stripped), stripped, paragraph))
        if "\n\n" in piece:
            paragraph += 1
    return sentences
