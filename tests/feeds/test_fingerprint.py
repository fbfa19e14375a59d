"""The syndication threshold: copies and light edits are one story, other articles are not."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from app.ingest import fingerprint
from tests.feeds.conftest import demo_articles

TEXTS = [a["text"] for a in demo_articles()]


def _fp(text: str) -> fingerprint.Fingerprint:
    found = fingerprint.fingerprint(text)
    assert found is not None
    return found


def _similarity(a: str, b: str) -> float:
    return fingerprint.similarity(_fp(a).signature, _fp(b).signature)


def _exact_jaccard(a: str, b: str) -> float:
    x, y = fingerprint.shingles(a), fingerprint.shingles(b)
    return len(x & y) / len(x | y)


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda t: t, id="same text"),
        pytest.param(lambda t: f"By Jane Doe, Example Wire\n\n{t}\n\nReporting by John Smith", id="byline"),
        pytest.param(lambda t: t.replace(" the ", " a ", 1), id="one word"),
        pytest.param(lambda t: re.sub(r"\bsaid\b", "stated", t, count=3), id="three words"),
    ],
)
def test_a_copy_or_light_edit_is_the_same_story(edit: Callable[[str], str]) -> None:
    for text in TEXTS:
        copy = edit(text)
        assert fingerprint.same_story(_fp(text).signature, _fp(copy).signature), (
            _similarity(text, copy),
            _exact_jaccard(text, copy),
        )
        # and the LSH bands find it: at least one band key in common
        assert set(_fp(text).band_keys) & set(_fp(copy).band_keys)


def test_different_articles_are_different_stories() -> None:
    for i, a in enumerate(TEXTS):
        for b in TEXTS[i + 1 :]:
            assert _similarity(a, b) < 0.2
            assert not set(_fp(a).band_keys) & set(_fp(b).band_keys)


def test_an_article_quoting_the_first_paragraphs_of_another_is_not_a_copy() -> None:
    for text in TEXTS:
        lead = "\n\n".join(text.split("\n\n")[:3])
        assert _similarity(text, lead) < fingerprint.THRESHOLD


def test_the_estimate_follows_the_exact_jaccard() -> None:
    text = TEXTS[0]
    edited = "\n\n".join(text.split("\n\n")[:-2])
    assert abs(_similarity(text, edited) - _exact_jaccard(text, edited)) < 0.12


def test_short_texts_get_no_fingerprint_and_signatures_are_stable() -> None:
    assert fingerprint.fingerprint("European leaders step back.") is None
    first = fingerprint.fingerprint(TEXTS[3])
    again = fingerprint.fingerprint(TEXTS[3])
    assert first is not None
    assert again == first
    assert len(first.signature) == fingerprint.PERMUTATIONS * 4
    assert len(first.band_keys) == fingerprint.BANDS
