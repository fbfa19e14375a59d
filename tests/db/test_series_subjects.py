"""What a series read names (its topic and actors, with the actors' names) is read in one query on
every engine, and refused as before: an unknown topic first, then the first unknown actor asked."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from app import series
from app.errors import UnknownReference
from app.store import timelines as timeline_store
from tests.factories import make_actor, make_topic


@pytest.fixture
def subjects(session: Session) -> dict[str, int]:
    """A topic and two actors of their own, by slug -> id."""
    topic = make_topic(session, "lighthouse-keeping")
    ids = {"lighthouse-keeping": topic.id}
    for slug, name in (("keeper-guild", "Keepers' Guild"), ("coast-board", "Coast Board")):
        ids[slug] = make_actor(session, slug, kind="organization", name=name).id
    make_topic(session, "fog-horns")  # a second topic the join must not mix in
    return ids


@contextmanager
def _statements(session: Session) -> Iterator[list[str]]:
    """The SQL statements `session` sends meanwhile."""
    sent: list[str] = []

    def note(*args: Any) -> None:
        sent.append(args[2])

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(connection, "before_cursor_execute", note)


def test_the_topic_and_the_actors_found_with_their_names(session: Session, subjects: dict[str, int]) -> None:
    with _statements(session) as sent:
        found = timeline_store.get_series_subjects(
            session, topic_slug="lighthouse-keeping", actor_slugs=["coast-board", "atlantis", "keeper-guild"]
        )
    assert len(sent) == 1
    assert found.topic is not None
    assert (found.topic.slug, found.topic.id) == ("lighthouse-keeping", subjects["lighthouse-keeping"])
    assert found.actors == {
        "coast-board": timeline_store.NamedActor(subjects["coast-board"], "Coast Board"),
        "keeper-guild": timeline_store.NamedActor(subjects["keeper-guild"], "Keepers' Guild"),
    }


@pytest.mark.usefixtures("subjects")
def test_no_actors_asked_or_found_leaves_the_topic(session: Session) -> None:
    for slugs in ([], ["atlantis"], ["atlantis", "atlantis"]):
        found = timeline_store.get_series_subjects(session, topic_slug="fog-horns", actor_slugs=slugs)
        assert found.topic is not None
        assert found.topic.slug == "fog-horns"
        assert found.actors == {}


@pytest.mark.usefixtures("subjects")
def test_an_unknown_topic_is_none_with_no_actors(session: Session) -> None:
    found = timeline_store.get_series_subjects(
        session, topic_slug="tide-tables", actor_slugs=["keeper-guild"]
    )
    assert found == timeline_store.SeriesSubjects(None, {})


def test_require_subjects_orders_the_actors_as_asked(session: Session, subjects: dict[str, int]) -> None:
    with _statements(session) as sent:
        topic, actors = series.require_subjects(
            session, "lighthouse-keeping", ["keeper-guild", "coast-board", "keeper-guild"]
        )
    assert len(sent) == 1
    assert topic.id == subjects["lighthouse-keeping"]
    assert list(actors) == ["keeper-guild", "coast-board"]
    assert actors["coast-board"] == timeline_store.NamedActor(subjects["coast-board"], "Coast Board")


@pytest.mark.usefixtures("subjects")
@pytest.mark.parametrize(
    ("topic", "actors", "field", "message"),
    [
        ("tide-tables", ["atlantis"], "topic", "unknown topic 'tide-tables'"),
        ("lighthouse-keeping", ["coast-board", "narnia", "atlantis"], "actor", "unknown actor 'narnia'"),
    ],
)
def test_require_subjects_refuses_the_topic_then_the_first_unknown_actor(
    session: Session, topic: str, actors: list[str], field: str, message: str
) -> None:
    with pytest.raises(UnknownReference) as raised:
        series.require_subjects(session, topic, actors)
    assert raised.value.field == field
    assert str(raised.value) == message
