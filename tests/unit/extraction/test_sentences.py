from __future__ import annotations

from app.extraction.sentences import MAX_SENTENCE_CHARS, split_sentences
from tests.unit.extraction.pysbd_sentences import split_sentences_pysbd

TEXT = (
    "OSLO, Jan 5 (Test Wire) - The minister met U.S. officials on Sept. 3 in Oslo.  She left early.\n\n"
    '"We will wait. Then we decide," the minister told reporters. Mr. Berg agreed!\n'
)


def test_offsets_are_exact_and_trailing_whitespace_is_stripped() -> None:
    sentences = split_sentences(TEXT)
    for sentence in sentences:
        assert TEXT[sentence.start : sentence.end] == sentence.text
        assert sentence.text == sentence.text.strip()
    assert [s.text for s in sentences] == [
        "OSLO, Jan 5 (Test Wire) - The minister met U.S. officials on Sept. 3 in Oslo.",
        "She left early.",
        '"We will wait. Then we decide," the minister told reporters.',
        "Mr. Berg agreed!",
    ]


def test_paragraph_index_counts_blank_lines() -> None:
    assert [s.paragraph for s in split_sentences(TEXT)] == [0, 0, 1, 1]


def test_rule_splitter_agrees_with_pysbd_on_wire_text() -> None:
    text = 'PARIS, March 2 (Wire) - Ana said she was ready. "It is done," Ben said. Carl left.'
    assert [(s.start, s.end) for s in split_sentences(text)] == [
        (s.start, s.end) for s in split_sentences_pysbd(text)
    ]


def test_an_unclosed_quote_does_not_swallow_the_paragraph() -> None:
    text = 'The mayor said "we will see. ' + "The council met again. " * 100
    sentences = split_sentences(text)
    assert len(sentences) > 1
    assert all(len(s.text) <= MAX_SENTENCE_CHARS for s in sentences)
    assert all(text[s.start : s.end] == s.text for s in sentences)


def test_a_run_on_without_full_stops_is_cut_at_spaces_within_the_limit() -> None:
    text = "the committee heard from residents and " * 200
    sentences = split_sentences(text)
    assert len(sentences) >= len(text) // MAX_SENTENCE_CHARS
    assert all(len(s.text) <= MAX_SENTENCE_CHARS for s in sentences)
    # cut at spaces: no word is split in two
    assert all(
        s.text.split()[0] in {"the", "committee", "heard", "from", "residents", "and"} for s in sentences
    )
    assert "".join(s.text + " " for s in sentences).split() == text.split()
