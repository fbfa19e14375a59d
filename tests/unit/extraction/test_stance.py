"""Stance relative to the topic: polarity multiplied along the parse from the claimant's predicate
to the words that name the topic, with negation, polar prepositions, modality and abstention."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from app.extraction import nlp
from app.extraction.pipeline import PipelineExtractor
from app.extraction.stance import Reading, ancestors_path, key, read_path
from tests.unit.extraction.lakeford import BAG_BAN, CHARGE, QUOTAS, UNIFORMS, WEEK, WIND, extract, one


def reading(sentence: str, predicate: str, anchor: str, cues: Mapping[str, float] | None = None) -> Reading:
    """The reading of the path from the word `anchor` up to the word `predicate`."""
    parsed = nlp.load()(sentence)
    top = next(t for t in parsed if t.text == predicate)
    path = ancestors_path(next(t for t in parsed if t.text == anchor), top)
    assert path is not None, f"{predicate!r} does not govern {anchor!r}"
    return read_path(path, cues or {}, named=True)


@pytest.mark.parametrize(
    ("sentence", "predicate", "anchor", "score"),
    [
        ("The chamber rejected calls to delay the congestion charge.", "rejected", "charge", 1.0),
        ("The Greens dropped their opposition to the congestion charge.", "dropped", "charge", 1.0),
        ("The union would never accept a congestion charge.", "accept", "charge", -1.0),
        ("The union warned against a congestion charge.", "warned", "charge", -1.0),
        ("The council voted for the congestion charge.", "voted", "charge", 1.0),
        ("The Greens could consider a four-day week.", "consider", "week", 0.5),
        ("Voss said the congestion charge would hurt small shops.", "said", "charge", -1.0),
        ("The fishers ruled out new catch limits.", "ruled", "limits", -1.0),
    ],
)
def test_polarity_multiplies_along_the_path(sentence: str, predicate: str, anchor: str, score: float) -> None:
    found = reading(sentence, predicate, anchor)
    assert (found.score, found.explicit, found.neutral) == (score, True, False)


def test_abstaining_is_a_neutral_reading() -> None:
    found = reading("The council abstained on the congestion charge.", "abstained", "charge")
    assert (found.score, found.explicit, found.neutral) == (0.0, True, True)


def test_a_path_without_a_side_is_not_explicit() -> None:
    assert not reading("The council discussed the congestion charge.", "discussed", "charge").explicit


def test_topic_cues_give_words_a_side_for_that_topic() -> None:
    sentence = "The fishers want to shrink the wind farm."
    assert reading(sentence, "want", "farm").score == 1.0  # "shrink" has no side of its own
    assert reading(sentence, "want", "farm", {"shrink": -1.0}).score == -1.0


def test_a_verb_particle_is_part_of_the_key() -> None:
    parsed = nlp.load()("The fishers ruled out new catch limits and backed down.")
    assert [key(t) for t in parsed if t.pos_ == "VERB"] == ["rule_out", "back_down"]


# -- stance of whole claims -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "actor", "topic", "label", "score"),
    [
        # verbs with a side
        ("Mayor Clara Voss backs the congestion charge.", "clara-voss", CHARGE, "support", 1.0),
        ("The city council rejected the congestion charge on Tuesday.", "lakeford-council", CHARGE, "oppose", -1.0),
        ("The teachers' union criticised the uniform policy.", "teachers-union", UNIFORMS, "oppose", -1.0),
        # negation in scope
        ("The Transit Workers Union would never accept a congestion charge.", "transit-union", CHARGE, "oppose", -1.0),
        ("The teachers' union will not back school uniforms.", "teachers-union", UNIFORMS, "oppose", -1.0),
        ("The Greens are not against a congestion charge.", "green-party", CHARGE, "support", 1.0),
        # polarity through the object
        (
            "The Lakeford Chamber of Commerce rejected calls to delay the congestion charge.",
            "chamber-of-commerce", CHARGE, "support", 1.0,
        ),
        ("The Green Party dropped its opposition to the congestion charge.", "green-party", CHARGE, "support", 1.0),
        ("Riverton refused to license the Gull Bank wind farm.", "norland", WIND, "oppose", -1.0),
        # polar prepositions
        ("The teachers' union warned against a four-day week.", "teachers-union", WEEK, "oppose", -1.0),
        ("The city council voted for the congestion charge.", "lakeford-council", CHARGE, "support", 1.0),
        ("Norland voted against new catch limits.", "norland", QUOTAS, "oppose", -1.0),
        # what is said carries the sign, not the speech verb
        ("Voss said the congestion charge would hurt small shops.", "clara-voss", CHARGE, "oppose", -1.0),
        ("Voss said a four-day week was not the answer.", "clara-voss", WEEK, "oppose", -1.0),
        ("The teachers' union is a fierce critic of school uniforms.", "teachers-union", UNIFORMS, "oppose", -1.0),
        # abstaining and deferring
        ("The city council abstained on the congestion charge.", "lakeford-council", CHARGE, "neutral", 0.0),
        (
            "The chamber of commerce said it was undecided on the congestion charge.",
            "chamber-of-commerce", CHARGE, "neutral", 0.0,
        ),
        ("The city council deferred a decision on the congestion charge.", "lakeford-council", CHARGE, "neutral", 0.0),
        # modality
        ("The Greens could consider a four-day week.", "green-party", WEEK, "support", 0.5),
        ("The Greens might back a four-day week.", "green-party", WEEK, "support", 0.5),
        ("The Greens are open to a four-day week.", "green-party", WEEK, "support", 0.5),
    ],
)  # fmt: skip
def test_stance_of_a_claim(
    extractor: PipelineExtractor, sentence: str, actor: str, topic: str, label: str, score: float
) -> None:
    found = extract(extractor, sentence)
    assert [(o.actor, o.topic) for o in found] == [(actor, topic)]
    assert (found[0].label, found[0].score) == (label, score)


def test_a_reported_change_of_position_is_a_shift(extractor: PipelineExtractor) -> None:
    found = extract(extractor, "The Greens reversed course on Monday and backed the congestion charge.")
    observation = one(found, "green-party", CHARGE)
    assert (observation.label, observation.shift) == ("support", True)
    assert not one(
        extract(extractor, "The Greens backed the congestion charge."), "green-party", CHARGE
    ).shift


@pytest.mark.parametrize(
    ("sentence", "actor", "label"),
    [
        pytest.param(
            "The Greens welcomed the plastic bag ban.", "green-party", "support",
        ),
        pytest.param(
            "The Lakeford Chamber of Commerce rejected calls to delay the plastic bag ban.",
            "chamber-of-commerce", "support",
        ),
        pytest.param(
            "The city council voted against the plastic bag ban.", "lakeford-council", "oppose",
        ),
    ],
)  # fmt: skip
def test_a_topic_that_is_a_ban_keeps_the_sign_of_the_claim(
    extractor: PipelineExtractor, sentence: str, actor: str, label: str
) -> None:
    assert [(o.actor, o.topic, o.label) for o in extract(extractor, sentence)] == [(actor, BAG_BAN, label)]


def test_abstaining_in_a_vote_is_neutral(extractor: PipelineExtractor) -> None:
    found = extract(extractor, "The city council abstained in a vote on the congestion charge.")
    assert [(o.actor, o.label, o.score) for o in found] == [("lakeford-council", "neutral", 0.0)]


def test_calling_the_topic_a_mistake_is_opposition(extractor: PipelineExtractor) -> None:
    found = extract(extractor, "The Greens called the four-day week a mistake.")
    assert [(o.actor, o.topic, o.label) for o in found] == [("green-party", WEEK, "oppose")]


@pytest.mark.xfail(
    strict=True,
    reason="a benefit the topic brings ('would cut traffic and clean the air') has no side: no observation "
    "(before 6056784 'cut' was read as the charge's own side, giving oppose -1.0)",
)
def test_a_benefit_the_topic_brings_is_support(extractor: PipelineExtractor) -> None:
    found = extract(
        extractor, "Mayor Clara Voss said the congestion charge would cut traffic and clean the air."
    )
    assert [(o.actor, o.topic, o.label) for o in found] == [("clara-voss", CHARGE, "support")]


@pytest.mark.parametrize(
    "sentence",
    [
        pytest.param(
            "The Green Party no longer opposes the congestion charge.",
        ),
        pytest.param(
            "The city council reversed its opposition to the congestion charge.",
        ),
    ],
)
def test_giving_up_opposition_is_support(extractor: PipelineExtractor, sentence: str) -> None:
    found = extract(extractor, sentence)
    assert [(o.topic, o.label, o.shift) for o in found] == [(CHARGE, "support", True)]
    # the sentence itself says where the actor came from
    assert found[0].extras["shift_from"] < 0


@pytest.mark.parametrize(
    ("sentence", "actor", "earlier"),
    [
        pytest.param(
            "The Greens reversed course on Monday and backed the congestion charge.", "green-party", -1.0
        ),
        pytest.param("The Greens no longer back the congestion charge.", "green-party", 1.0),
        pytest.param(
            "The city council dropped its support for the congestion charge.", "lakeford-council", 1.0
        ),
    ],
)
def test_a_stated_change_carries_the_earlier_position(
    extractor: PipelineExtractor, sentence: str, actor: str, earlier: float
) -> None:
    observation = one(extract(extractor, sentence), actor, CHARGE)
    assert observation.shift
    assert observation.extras["shift_from"] == earlier


def test_a_move_without_a_stated_origin_carries_no_earlier_position(extractor: PipelineExtractor) -> None:
    observation = one(
        extract(extractor, "The Greens stepped back from the congestion charge on Monday."),
        "green-party",
        CHARGE,
    )
    assert observation.shift
    assert "shift_from" not in observation.extras


def test_a_threat_against_an_outcome_is_not_support_for_it(extractor: PipelineExtractor) -> None:
    found = extract(
        extractor, "The transit union would strike if the city council backed the congestion charge."
    )
    assert ("transit-union", "support") not in {(o.actor, o.label) for o in found}
    assert "lakeford-council" not in {o.actor for o in found}


@pytest.mark.parametrize(
    ("sentence", "predicate", "anchor", "score"),
    [
        # an idiom of blocking, negated
        ("The union said it would not stand in the way of the congestion charge.", "said", "charge", 1.0),
        # what the topic would bring something to
        (
            "Voss warned that a congestion charge would bring the city centre to a standstill.",
            "warned",
            "charge",
            -1.0,
        ),
        ("The Greens said the plastic bag ban would bring the waste crisis to an end.", "said", "ban", 1.0),
    ],
)
def test_idioms_of_blocking_and_ending(sentence: str, predicate: str, anchor: str, score: float) -> None:
    found = reading(sentence, predicate, anchor)
    assert (found.score, found.explicit) == (score, True)


def test_a_keyword_that_names_the_opposite_of_the_topic_keeps_its_side() -> None:
    parsed = nlp.load()("The union said the city would have an opt-out.")
    top = next(t for t in parsed if t.text == "said")
    anchor = next(t for t in parsed if t.text == "opt")
    path = ancestors_path(anchor, top)
    assert path is not None
    assert read_path(path, {}, named=True, keyword="opt-out").score == -1.0
    assert read_path(path, {}, named=True, keyword="opt-in").score == 1.0


def test_the_time_of_a_claim_is_not_what_it_is_about(extractor: PipelineExtractor) -> None:
    # the wind farm is when the council spoke, not what it spoke about
    found = extract(
        extractor,
        "Lakeford City Council announced ahead of the Gull Bank wind farm hearing that it would hire staff.",
    )
    assert [o for o in found if o.topic == WIND] == []
