"""Syndicated copies at ingest: linked to their story, no observations of their own, so a
story counts once in timelines and the daily aggregate."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.ingest import articles as ingest
from app.models import Observation, ObservationDaily
from app.registry import context as registry_context
from app.schemas import ArticleCreate
from tests.feeds.conftest import demo_articles, unique

pytestmark = pytest.mark.usefixtures("starter_registry")

WIRE = demo_articles()[10]  # a story with observations on the starter topics
OTHER = demo_articles()[4]


def _ingest(session: Session, link: bool = True, **overrides: Any) -> ingest.IngestOutcome:
    data = ArticleCreate.model_validate({**WIRE, "url": unique(), **overrides})
    context = registry_context.load_registry_context(session)
    return ingest.ingest_article_safely(session, data, context=context, engine="rules", link_stories=link)


def _observations(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Observation)) or 0)


def _aggregate_count(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(ObservationDaily.count), 0))) or 0)


def test_the_same_text_under_two_urls_is_one_story(session: Session) -> None:
    first = _ingest(session)
    assert first.article.story_id is None
    assert first.observations > 0
    stored, daily = _observations(session), _aggregate_count(session)

    copy = _ingest(session, source="Another Paper")
    assert copy.status == "created"
    assert copy.article.story_id == first.article.id
    assert copy.observations == 0
    assert _observations(session) == stored  # the story counts once in timelines
    assert _aggregate_count(session) == daily


def test_a_lightly_edited_copy_joins_the_story_and_a_different_article_does_not(session: Session) -> None:
    first = _ingest(session)
    edited = _ingest(session, text="By Jane Doe\n\n" + WIRE["text"].replace(" the ", " a ", 1))
    assert edited.article.story_id == first.article.id
    other = _ingest(session, text=OTHER["text"], title=OTHER["title"])
    assert other.article.story_id is None
    assert other.observations > 0
    # a copy of the copy belongs to the same (first) story
    again = _ingest(session, text="Updated: " + WIRE["text"])
    assert again.article.story_id == first.article.id


def test_without_linking_copies_are_counted_as_before(session: Session) -> None:
    first = _ingest(session, link=False)
    copy = _ingest(session, link=False)
    assert copy.article.story_id is None
    assert copy.observations == first.observations


def test_a_copy_revised_into_a_different_text_leaves_the_story_and_is_extracted(session: Session) -> None:
    first = _ingest(session)
    url = unique()
    copy = _ingest(session, url=url)
    assert copy.article.story_id == first.article.id
    revised = _ingest(session, url=url, text=OTHER["text"], link=False)  # linked articles stay checked
    assert revised.status == "revised"
    assert revised.article.story_id is None
    assert revised.observations > 0


def test_reextracting_a_copy_adds_nothing(session: Session) -> None:
    first = _ingest(session)
    copy = _ingest(session)
    context = registry_context.load_registry_context(session)
    done = ingest.reextract_article(session, copy.article.id, context=context, engine="rules")
    assert (done.removed, done.added) == (0, 0)
    redone = ingest.reextract_article(session, first.article.id, context=context, engine="rules")
    assert redone.added == first.observations
