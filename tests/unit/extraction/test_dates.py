"""Date phrases resolved against the publication date, and the day each observation gets."""

from __future__ import annotations

from datetime import date

import pytest

from app.extraction.dates import DatePhrase, Precision, find_dates, pick, refers_earlier
from app.extraction.pipeline import PipelineExtractor
from tests.unit.extraction.lakeford import CHARGE, DAY, WEEK, extract, one

# DAY is Wednesday 14 May 2025


@pytest.mark.parametrize(
    ("text", "expected", "precision"),
    [
        ("The mayor said on May 3 that ...", date(2025, 5, 3), Precision.DAY),
        ("The mayor said on Monday that ...", date(2025, 5, 12), Precision.DAY),
        ("The mayor said on Wednesday that ...", date(2025, 5, 14), Precision.DAY),
        ("The mayor said after Tuesday's meeting that ...", date(2025, 5, 13), Precision.DAY),
        ("The mayor said last month that ...", date(2025, 4, 1), Precision.MONTH),
        ("The mayor said earlier this month that ...", date(2025, 5, 1), Precision.MONTH),
        ("The mayor said in February that ...", date(2025, 2, 1), Precision.MONTH),
        ("The mayor said in December that ...", date(2024, 12, 1), Precision.MONTH),
        ("The mayor said last week that ...", date(2025, 5, 7), Precision.RELATIVE),
    ],
)
def test_date_phrases(text: str, expected: date, precision: Precision) -> None:
    phrases = find_dates(text, DAY)
    assert [(p.day, p.precision) for p in phrases] == [(expected, precision)]


def test_a_day_earlier_is_relative_to_the_anchor() -> None:
    phrases = find_dates("who a day earlier had said so", DAY, anchor=date(2025, 5, 12))
    assert [(p.day, p.precision) for p in phrases] == [(date(2025, 5, 11), Precision.RELATIVE)]


def test_future_weekday_and_dateline_are_ignored() -> None:
    assert find_dates("LAKEFORD, May 14 (Test Wire) - The council will meet on Friday.", DAY) == []
    assert find_dates("The council is due to decide on Friday.", DAY) == []


def test_would_vote_on_friday_is_future() -> None:
    assert find_dates("She said the council would vote on Friday.", DAY) == []


def test_pick_takes_the_most_precise_phrase_inside_the_span() -> None:
    month = DatePhrase(0, 10, date(2025, 4, 1), Precision.MONTH)
    day = DatePhrase(20, 29, date(2025, 5, 12), Precision.DAY)
    outside = DatePhrase(60, 70, date(2025, 5, 13), Precision.DAY)
    assert pick([month, day, outside], 0, 50) == day
    assert pick([month, day, outside], 0, 15) == month
    assert pick([month, day, outside], 30, 50) is None


def test_initially_refers_to_an_earlier_time() -> None:
    assert refers_earlier("the Greens initially backed the charge")
    assert refers_earlier("the mayor had suggested a fee")
    assert not refers_earlier("the Greens backed the charge")


# -- the day an observation gets --------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "day", "precision"),
    [
        (
            "Mayor Clara Voss said on Monday that the congestion charge was necessary.",
            date(2025, 5, 12),
            "day",
        ),
        ("Mayor Clara Voss said on May 2 that the congestion charge was necessary.", date(2025, 5, 2), "day"),
        (
            "Mayor Clara Voss said last month that the congestion charge was necessary.",
            date(2025, 4, 1),
            "month",
        ),
        (
            "Mayor Clara Voss said in February that the congestion charge was necessary.",
            date(2025, 2, 1),
            "month",
        ),
        ("Mayor Clara Voss has said the congestion charge is necessary.", date(2025, 5, 14), "default"),
    ],
)
def test_observations_are_dated_by_the_phrase_of_their_sentence(
    extractor: PipelineExtractor, sentence: str, day: date, precision: str
) -> None:
    voss = one(extract(extractor, sentence), "clara-voss", CHARGE)
    assert (voss.observed_at, voss.extras["date_precision"]) == (day, precision)


def test_undated_remarks_at_the_leads_event_take_its_day(extractor: PipelineExtractor) -> None:
    found = extract(
        extractor,
        "LAKEFORD, May 14 (Test Wire) - The city council met on Tuesday to debate the congestion charge.",
        "Voss told the meeting that the congestion charge was necessary.",
    )
    voss = one(found, "clara-voss", CHARGE)
    assert (voss.observed_at, voss.extras["date_precision"]) == (date(2025, 5, 13), "context")


def test_the_dateline_does_not_date_the_claim(extractor: PipelineExtractor) -> None:
    found = extract(
        extractor, "LAKEFORD, May 2 (Test Wire) - The teachers' union has backed a four-day week."
    )
    assert one(found, "teachers-union", WEEK).observed_at == DAY


def test_a_future_weekday_in_the_same_sentence_does_not_date_the_claim(extractor: PipelineExtractor) -> None:
    found = extract(
        extractor,
        "Voss said on Monday that she backed the congestion charge and that the council would vote on Friday.",
    )
    assert [(o.actor, o.observed_at) for o in found] == [("clara-voss", date(2025, 5, 12))]
