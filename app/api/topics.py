from __future__ import annotations

from fastapi import APIRouter, Response, status

from app import registry
from app.api.convert import topic_read
from app.api.deps import AdminAccess
from app.api.params import SlugPath
from app.db import SessionDep
from app.errors import NotFound
from app.pagination import CursorParam, Limit, decode_cursor, encode_cursor
from app.schemas import Page, TopicCreate, TopicRead, TopicUpdate
from app.store import topics as topic_store

router = APIRouter(prefix="/topics", tags=["registry"])


@router.get("", response_model=Page[TopicRead])
def list_topics(session: SessionDep, limit: Limit = 100, cursor: CursorParam = None) -> Page[TopicRead]:
    after = str(decode_cursor(cursor, 1)[0]) if cursor else None
    rows = topic_store.list_topics(session, after_slug=after, limit=limit + 1)
    items = rows[:limit]
    next_cursor = encode_cursor(items[-1].slug) if len(rows) > limit else None
    return Page[TopicRead](items=[topic_read(t) for t in items], next_cursor=next_cursor)


@router.post(
    "",
    dependencies=[AdminAccess],
    response_model=TopicRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": TopicRead, "description": "Already stored with the same fields: unchanged"},
        409: {"description": "The slug is taken by a topic with other fields"},
        422: {},
    },
)
def create_topic(data: TopicCreate, session: SessionDep, response: Response) -> TopicRead:
    """Add a topic. Sending the same topic again (a retry, or a racing request) answers 200 with the
    stored topic; the same slug with other fields is 409 `topic_exists` naming `slug`."""
    topic, created = registry.create_topic(session, data)
    if not created:
        response.status_code = status.HTTP_200_OK
    return get_topic(topic.slug, session)


@router.get("/{slug}", response_model=TopicRead, responses={404: {}})
def get_topic(slug: SlugPath, session: SessionDep) -> TopicRead:
    topic = topic_store.get_topic(session, slug=slug)
    if topic is None:
        raise NotFound("topic", slug)
    return topic_read(topic)


@router.patch("/{slug}", dependencies=[AdminAccess], response_model=TopicRead, responses={404: {}, 422: {}})
def update_topic(slug: SlugPath, data: TopicUpdate, session: SessionDep) -> TopicRead:
    registry.update_topic(session, slug, data)
    session.expire_all()
    return get_topic(slug, session)
