"""Actors and topics: create, update and idempotent import (upsert by slug). Flush, never commit.

Every write here first takes the registry's write lock (`unit_of_work.lock_registry`): registry
writes read before they write (an actor's lists, the slugs an import upserts, the topic tree), so on
PostgreSQL two of them at once would each replace what it read and leave both lists, or insert the
same slug twice. Taking turns, each one reads what the previous one committed and answers as if it
came second: a repeated create finds the stored row, an import counts it `unchanged`.

The `*_with_reach` forms also say which stored articles the write can change the extraction of
(`app.registry.reach`), for the caller to start their re-extraction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidInput, NotFound, UnknownReference
from app.models import Actor, ActorAlias, ActorMembership, Topic
from app.registry import reach
from app.registry.reach import Reach
from app.schemas import (
    ActorCreate,
    ActorUpdate,
    ImportCounts,
    MembershipIn,
    RegistryImport,
    RegistryImportResult,
    TopicCreate,
    TopicUpdate,
)
from app.store import actors as actor_store
from app.store import topics as topic_store
from app.store import unit_of_work

STARTER_REGISTRY = Path(__file__).parent / "starter.json"

MembershipKey = tuple[str, str | None, date | None, date | None]
T = TypeVar("T")


@dataclass(frozen=True)
class Written(Generic[T]):
    """A registry write's row, whether the write added it, and the stored articles it can reach."""

    item: T
    created: bool
    reach: Reach


def _repeated_create(kind: str, stored: T, slug: str, *, matches: bool) -> Written[T]:
    """A create naming a stored slug is a retry (or a racing request) when the fields match: it
    answers with the stored row, not added. Other fields would silently replace it: a Conflict."""
    if matches:
        return Written(stored, False, reach.NOTHING)
    raise Conflict(f"{kind} {slug!r} already exists with other fields", field="slug", code=f"{kind}_exists")


def read_registry_file(path: Path) -> RegistryImport:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InvalidInput(f"cannot read registry file {path}: {error}", field="file") from error
    return RegistryImport.model_validate(data)


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _membership_keys(memberships: list[MembershipIn]) -> list[MembershipKey]:
    return list(dict.fromkeys((m.parent, m.role, m.valid_from, m.valid_to) for m in memberships))


def _current_membership_keys(actor: Actor) -> list[MembershipKey]:
    return [(m.parent.slug, m.role, m.valid_from, m.valid_to) for m in actor.memberships]


def _set_aliases(actor: Actor, aliases: list[str]) -> bool:
    wanted = _dedupe(aliases)
    if [a.alias for a in actor.aliases] == wanted:
        return False
    by_text = {a.alias: a for a in actor.aliases}
    actor.aliases = [by_text.get(text) or ActorAlias(alias=text) for text in wanted]
    return True


def _set_memberships(
    session: Session, actor: Actor, memberships: list[MembershipIn], *, field_prefix: str
) -> bool:
    wanted = _membership_keys(memberships)
    if _current_membership_keys(actor) == wanted:
        return False
    parents = actor_store.ids_by_slug(session, slugs=[key[0] for key in wanted])
    for index, key in enumerate(wanted):
        if key[0] not in parents:
            raise UnknownReference("actor", key[0], field=f"{field_prefix}memberships[{index}].parent")
        if key[0] == actor.slug:
            raise InvalidInput(
                "an actor cannot be its own member", field=f"{field_prefix}memberships[{index}]"
            )
    actor.memberships = [
        ActorMembership(parent_id=parents[parent], role=role, valid_from=start, valid_to=end)
        for parent, role, start, end in wanted
    ]
    return True


def _actor_matches(actor: Actor, data: ActorCreate) -> bool:
    return (
        (actor.name, actor.kind, actor.description) == (data.name, data.kind, data.description)
        and [a.alias for a in actor.aliases] == _dedupe(data.aliases)
        and _current_membership_keys(actor) == _membership_keys(data.memberships)
    )


def _actor_definition(actor: Actor) -> tuple[object, ...]:
    """What extraction reads of an actor (not its description)."""
    memberships = tuple((m.parent_id, m.role, m.valid_from, m.valid_to) for m in actor.memberships)
    return (actor.name, actor.kind, tuple(a.alias for a in actor.aliases), memberships)


def _actor_terms(actor: Actor) -> frozenset[reach.Term]:
    return reach.actor_terms(name=actor.name, aliases=[a.alias for a in actor.aliases])


def _created_actor_reach(actor: Actor) -> Reach:
    return reach.actor_change(
        None, _actor_definition(actor), terms_before=frozenset(), terms_after=_actor_terms(actor)
    )


def create_actor_with_reach(session: Session, data: ActorCreate) -> Written[Actor]:
    """The actor and whether this call added it. An actor stored with the same fields is the
    answer to a repeated create (not added); one with other fields is a Conflict on `slug`."""
    unit_of_work.lock_registry(session)
    existing = actor_store.get_actor(session, slug=data.slug)
    if existing is not None:
        return _repeated_create("actor", existing, data.slug, matches=_actor_matches(existing, data))
    actor = Actor(slug=data.slug, name=data.name, kind=data.kind, description=data.description, aliases=[])
    actor.memberships = []
    session.add(actor)
    session.flush()
    _set_aliases(actor, data.aliases)
    _set_memberships(session, actor, data.memberships, field_prefix="")
    session.flush()
    unit_of_work.bump_registry_revision(session)
    return Written(actor, True, _created_actor_reach(actor))


def update_actor_with_reach(session: Session, slug: str, data: ActorUpdate) -> Written[Actor]:
    unit_of_work.lock_registry(session)
    actor = actor_store.get_actor(session, slug=slug)
    if actor is None:
        raise NotFound("actor", slug)
    definition, terms_before = _actor_definition(actor), _actor_terms(actor)
    description = actor.description
    fields = data.model_fields_set
    for name in ("name", "kind", "description"):
        if name in fields and (name == "description" or getattr(data, name) is not None):
            setattr(actor, name, getattr(data, name))
    if data.aliases is not None:
        _set_aliases(actor, data.aliases)
    if data.memberships is not None:
        _set_memberships(session, actor, data.memberships, field_prefix="")
    session.flush()
    if (definition, description) != (_actor_definition(actor), actor.description):
        unit_of_work.bump_registry_revision(session)  # not for a write that changes nothing
    changed = reach.actor_change(
        definition, _actor_definition(actor), terms_before=terms_before, terms_after=_actor_terms(actor)
    )
    return Written(actor, False, changed)


def _resolve_topic_parent(session: Session, topic: Topic | None, parent_slug: str | None) -> int | None:
    if parent_slug is None:
        return None
    parent = topic_store.get_topic(session, slug=parent_slug)
    if parent is None:
        raise UnknownReference("topic", parent_slug, field="parent")
    ancestor: Topic | None = parent
    while ancestor is not None:
        if topic is not None and ancestor.id == topic.id:
            raise InvalidInput("a topic cannot be its own ancestor", field="parent")
        ancestor = topic_store.get_topic(session, slug=ancestor.parent.slug) if ancestor.parent else None
    return parent.id


def _topic_values(data: TopicCreate) -> dict[str, Any]:
    """Every stored topic field a create or a registry file sets, except the parent (a reference)."""
    return {
        "name": data.name,
        "description": data.description,
        "keywords": _dedupe(data.keywords),
        "examples": _dedupe(data.examples),
        "weak_keywords": _dedupe(data.weak_keywords),
        "excluded_phrases": _dedupe(data.excluded_phrases),
        "relevance_threshold": data.relevance_threshold,
    }


def _topic_terms(topic: Topic) -> reach.TopicTerms:
    """The topic's terms, and its definition as far as extraction reads it."""
    definition = (
        topic.name,
        topic.description,
        tuple(topic.keywords),
        tuple(topic.examples),
        tuple(topic.weak_keywords),
        tuple(topic.excluded_phrases),
        topic.relevance_threshold,
        topic.parent_id,
    )
    return reach.topic_terms(
        name=topic.name, keywords=topic.keywords, weak_keywords=topic.weak_keywords, definition=definition
    )


def _topic_matches(topic: Topic, data: TopicCreate) -> bool:
    parent = topic.parent.slug if topic.parent else None
    return parent == data.parent and all(
        getattr(topic, name) == value for name, value in _topic_values(data).items()
    )


def create_topic_with_reach(session: Session, data: TopicCreate) -> Written[Topic]:
    """The topic and whether this call added it (see `create_actor_with_reach`)."""
    unit_of_work.lock_registry(session)
    existing = topic_store.get_topic(session, slug=data.slug)
    if existing is not None:
        return _repeated_create("topic", existing, data.slug, matches=_topic_matches(existing, data))
    topic = Topic(
        slug=data.slug,
        **_topic_values(data),
        parent_id=_resolve_topic_parent(session, None, data.parent),
    )
    session.add(topic)
    session.flush()
    unit_of_work.bump_registry_revision(session)
    parent = topic_store.get_topic(session, slug=data.parent) if data.parent else None
    parents = [_topic_terms(parent)] if parent is not None else []
    return Written(topic, True, reach.topic_change(None, _topic_terms(topic), parents=parents))


def update_topic_with_reach(session: Session, slug: str, data: TopicUpdate) -> Written[Topic]:
    unit_of_work.lock_registry(session)
    topic = topic_store.get_topic(session, slug=slug)
    if topic is None:
        raise NotFound("topic", slug)
    before = _topic_terms(topic)
    parents = [_topic_terms(topic.parent)] if topic.parent is not None else []
    fields = data.model_fields_set
    if data.name is not None:
        topic.name = data.name
    if data.description is not None:
        topic.description = data.description
    if data.keywords is not None:
        topic.keywords = _dedupe(data.keywords)
    if data.examples is not None:
        topic.examples = _dedupe(data.examples)
    if data.weak_keywords is not None:
        topic.weak_keywords = _dedupe(data.weak_keywords)
    if data.excluded_phrases is not None:
        topic.excluded_phrases = _dedupe(data.excluded_phrases)
    if "relevance_threshold" in fields:
        topic.relevance_threshold = data.relevance_threshold
    if "parent" in fields:
        topic.parent_id = _resolve_topic_parent(session, topic, data.parent)
        parent = topic_store.get_topic(session, slug=data.parent) if data.parent else None
        if parent is not None:
            parents.append(_topic_terms(parent))
    session.flush()
    after = _topic_terms(topic)
    if after.definition != before.definition:  # every stored field but the slug
        unit_of_work.bump_registry_revision(session)
    return Written(topic, False, reach.topic_change(before, after, parents=parents))


@dataclass
class _Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def counts(self) -> ImportCounts:
        return ImportCounts(created=self.created, updated=self.updated, unchanged=self.unchanged)


def import_registry(session: Session, data: RegistryImport) -> RegistryImportResult:
    """Upsert every actor and topic by slug; importing the same content twice changes nothing.

    Actors first without memberships (a membership may name an actor later in the file), then memberships.
    """
    return import_registry_with_reach(session, data)[0]


def import_registry_with_reach(session: Session, data: RegistryImport) -> tuple[RegistryImportResult, Reach]:
    """`import_registry`, and the union of what its created and updated actors and topics reach."""
    check_unique_slugs([a.slug for a in data.actors], "actors")
    check_unique_slugs([t.slug for t in data.topics], "topics")
    unit_of_work.lock_registry(session)
    actors = _Tally()
    touched: set[str] = set()
    existing = {a.slug: a for a in actor_store.list_all_actors(session)}
    imported = {item.slug for item in data.actors}
    actors_before = {
        slug: (_actor_definition(a), _actor_terms(a)) for slug, a in existing.items() if slug in imported
    }
    for item in data.actors:
        actor = existing.get(item.slug)
        if actor is None:
            actor = Actor(slug=item.slug, name=item.name, kind=item.kind, description=item.description)
            actor.aliases = []
            actor.memberships = []
            session.add(actor)
            existing[item.slug] = actor
            actors.created += 1
            touched.add(item.slug)
        elif (actor.name, actor.kind, actor.description) != (item.name, item.kind, item.description):
            actor.name, actor.kind, actor.description = item.name, item.kind, item.description
            touched.add(item.slug)
        if _set_aliases(actor, item.aliases):
            touched.add(item.slug)
    session.flush()
    for index, item in enumerate(data.actors):
        if _set_memberships(session, existing[item.slug], item.memberships, field_prefix=f"actors[{index}]."):
            touched.add(item.slug)
    actors.updated = len(touched) - actors.created
    actors.unchanged = len(data.actors) - actors.created - actors.updated
    changes = reach.NOTHING
    for slug in sorted(touched):
        definition, terms_before = actors_before.get(slug, (None, frozenset()))
        after = existing[slug]
        changes = changes.union(
            reach.actor_change(
                definition,
                _actor_definition(after),
                terms_before=terms_before,
                terms_after=_actor_terms(after),
            )
        )

    topics = _Tally()
    known = {t.slug: t for t in topic_store.list_all_topics(session)}
    topics_before = {slug: _topic_terms(t) for slug, t in known.items()}
    parents_before = {slug: t.parent.slug for slug, t in known.items() if t.parent is not None}
    pending_parents: list[tuple[int, Topic, str | None]] = []
    for index, topic_item in enumerate(data.topics):
        topic = known.get(topic_item.slug)
        values = _topic_values(topic_item)
        if topic is None:
            topic = Topic(slug=topic_item.slug)
            session.add(topic)
            known[topic_item.slug] = topic
            topics.created += 1
            changed = True
        else:
            changed = any(getattr(topic, name) != value for name, value in values.items())
            current_parent = topic.parent.slug if topic.parent else None
            changed = changed or current_parent != topic_item.parent
            if changed:
                topics.updated += 1
            else:
                topics.unchanged += 1
        if changed:
            for name, value in values.items():
                setattr(topic, name, value)
            pending_parents.append((index, topic, topic_item.parent))
    session.flush()
    for index, topic, parent_slug in pending_parents:
        if parent_slug is None:
            topic.parent_id = None
            continue
        parent = known.get(parent_slug)
        if parent is None:
            raise UnknownReference("topic", parent_slug, field=f"topics[{index}].parent")
        if parent is topic:
            raise InvalidInput("a topic cannot be its own parent", field=f"topics[{index}].parent")
        topic.parent_id = parent.id
    session.flush()
    _check_topic_tree(list(known.values()))
    if touched or topics.created or topics.updated:
        unit_of_work.bump_registry_revision(session)
    for _, topic, parent_slug in pending_parents:
        parents = [
            topics_before[slug] if slug == parents_before.get(topic.slug) else _topic_terms(known[slug])
            for slug in {parents_before.get(topic.slug), parent_slug}
            if slug is not None and slug in known
        ]
        changes = changes.union(
            reach.topic_change(topics_before.get(topic.slug), _topic_terms(topic), parents=parents)
        )
    return RegistryImportResult(actors=actors.counts(), topics=topics.counts()), changes


def _check_topic_tree(topics: list[Topic]) -> None:
    parent_of = {t.id: t.parent_id for t in topics}
    slug_of = {t.id: t.slug for t in topics}
    for start in parent_of:
        seen = {start}
        current = parent_of[start]
        while current is not None:
            if current in seen:
                raise InvalidInput(f"topic {slug_of[start]!r} is its own ancestor", field="topics.parent")
            seen.add(current)
            current = parent_of.get(current)


def check_unique_slugs(slugs: list[str], field: str) -> None:
    """422 naming the second place a slug stands in `field`: an import (or a dry run's fragment)
    upserts by slug, so a slug twice would make one entry silently overwrite the other."""
    seen: set[str] = set()
    for index, slug in enumerate(slugs):
        if slug in seen:
            raise InvalidInput(f"slug {slug!r} appears twice", field=f"{field}[{index}].slug")
        seen.add(slug)
