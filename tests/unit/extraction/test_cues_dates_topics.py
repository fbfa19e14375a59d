from __future__ import annotations

from datetime import date

import pytest

from app.extraction.cues import combine, has_shift, read_stance
from app.extraction.dates import Precision, find_dates
from app.extraction.topics import TopicMatcher
from app.extraction.types import RegistrySnapshot


def _score(text: str) -> float:
    return combine(list(read_stance(text).values))[0]


def test_negation_flips_support_to_opposition() -> None:
    assert _score("The government is ready to send soldiers") == 1.0
    assert _score("The government would not send soldiers") == -1.0
    assert _score("The government won't send soldiers") == -1.0


def test_did_not_rule_out_is_weak_support() -> None:
    assert _score("She said she had never ruled out such a step") == 0.5
    assert _score("She ruled out such a step") == -1.0


def test_modality_halves_support() -> None:
    assert _score("The cabinet could consider sending a few officers") == 0.5


def test_welcoming_a_halt_is_opposition() -> None:
    assert _score("The spokesman welcomed the decision") == 1.0
    assert _score("The spokesman welcomed the halt of deliveries") == -1.0


def test_both_signs_give_mixed_mean() -> None:
    score, mixed = combine([-1.0, 0.5])
    assert mixed
    assert score == pytest.approx(-0.25)


@pytest.mark.parametrize(
    "text",
    ["The allies are shifting away from the plan", "The leader made a U-turn", "It would resume deliveries"],
)
def test_shift_cues(text: str) -> None:
    assert has_shift(text)


def test_no_shift_in_plain_statement() -> None:
    assert not has_shift("The minister said the plan was sound")


PUBLISHED = date(2025, 3, 12)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "expected", "precision"),
    [
        ("The minister said on March 3 that ...", date(2025, 3, 3), Precision.DAY),
        ("The minister said on Monday that ...", date(2025, 3, 10), Precision.DAY),
        ("The minister said on Wednesday that ...", date(2025, 3, 12), Precision.DAY),
        ("The minister said last month that ...", date(2025, 2, 1), Precision.MONTH),
        ("The minister said earlier this month that ...", date(2025, 3, 1), Precision.MONTH),
    ],
)
def test_date_phrases(text: str, expected: date, precision: Precision) -> None:
    phrases = find_dates(text, PUBLISHED)
    assert [(p.day, p.precision) for p in phrases] == [(expected, precision)]


def test_a_day_earlier_is_relative_to_the_anchor() -> None:
    phrases = find_dates("who a day earlier had said so", PUBLISHED, anchor=date(2025, 3, 10))
    assert [p.day for p in phrases] == [date(2025, 3, 9)]


def test_future_weekday_and_dateline_are_ignored() -> None:
    assert find_dates("OSLO, March 12 (Wire) - Leaders will meet on Friday.", PUBLISHED) == []


def test_child_topic_wins_over_parent(registry: RegistrySnapshot) -> None:
    matcher = TopicMatcher(registry)
    topics = {h.topic for h in matcher.find("He might send Tomahawks and other weapons.", set())}
    assert topics == {"tomahawk-missiles-ukraine"}
    assert {h.topic for h in matcher.find("He sent more weapons.", set())} == {"us-military-aid-ukraine"}


def test_keywords_inflect_and_respect_word_boundaries(registry: RegistrySnapshot) -> None:
    matcher = TopicMatcher(registry)
    hits = matcher.find("Troops were deployed; instructors will be training.", set())
    assert {h.keyword for h in hits} >= {"troops", "deploy", "instructors"}
    assert {h.topic for h in hits} == {"ground-troops-ukraine", "training-ukrainian-forces"}
    assert matcher.find("The troopship and the trainspotter left.", set()) == []


def test_support_inside_a_retreating_complement_is_not_support() -> None:
    parts = read_stance("The ministers are stepping back from plans to deploy soldiers along the border.")
    assert parts.values == (-0.5,)


def test_someone_elses_missing_support_is_not_a_stance() -> None:
    parts = read_stance("The cabinet backed away from the idea amid a lack of American support.")
    assert all(v < 0 for v in parts.values)


def test_yet_to_abandon_is_weak_support() -> None:
    assert read_stance("The government has yet to abandon its offer of peacekeepers.").values[0] > 0


def test_causal_due_to_is_not_a_prediction_but_scheduled_due_to_is() -> None:
    assert not read_stance("Ministers rejected the force due to cost concerns.").suppressed
    assert read_stance("The minister is due to present the plan on Friday.").suppressed


def test_a_clause_break_ends_the_governed_complement() -> None:
    parts = read_stance("They ruled out sending troops, but pledged to send instructors.")
    assert min(parts.values) == -1.0
    assert max(parts.values) == 1.0
