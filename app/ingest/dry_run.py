"""Dry-run extraction: what extraction makes of a text, and why, without storing anything.

The registry the text is read with is the stored one with an optional fragment laid over it in
memory (a topic or actor being written: the same slug replaces the stored entry, a new slug is
added). The fragment is checked as `import_registry` would check it, so a fragment that runs here
also loads, but it is never stored. Nothing here touches the database: the caller passes the
stored registry snapshot in (`RegistryCache.get(session).snapshot`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from app.errors import ExtractionUnavailable, InvalidInput, UnknownReference
from app.extraction import ENGINES, build_extractor
from app.extraction.explain import ExtractionTrace, trace_extraction
from app.extraction.pipeline import PipelineExtractor
from app.extraction.types import (
    ActorEntry,
    ArticleText,
    ExtractedObservation,
    ExtractionError,
    Extractor,
    MembershipEntry,
    RegistrySnapshot,
    TopicEntry,
)
from app.registry.edits import check_unique_slugs
from app.schemas import ActorCreate, RegistryImport, TopicCreate

logger = logging.getLogger(__name__)
FRAGMENT_FIELD = "registry"


@dataclass(frozen=True)
class DryRun:
    observations: list[ExtractedObservation]
    trace: ExtractionTrace | None  # with `explain` only
    engine: str
    version: str
    topic: str | None
    registry: RegistrySnapshot  # the stored registry with the fragment laid over it


def _actor_entry(data: ActorCreate) -> ActorEntry:
    memberships = dict.fromkeys((m.parent, m.role, m.valid_from, m.valid_to) for m in data.memberships)
    return ActorEntry(
        slug=data.slug,
        name=data.name,
        kind=data.kind,
        aliases=tuple(dict.fromkeys(data.aliases)),
        memberships=tuple(MembershipEntry(*key) for key in memberships),
    )


def _topic_entry(data: TopicCreate) -> TopicEntry:
    return TopicEntry(
        slug=data.slug,
        name=data.name,
        description=data.description,
        keywords=tuple(dict.fromkeys(data.keywords)),
        examples=tuple(dict.fromkeys(data.examples)),
        parent=data.parent,
        weak_keywords=tuple(dict.fromkeys(data.weak_keywords)),
        excluded_phrases=tuple(dict.fromkeys(data.excluded_phrases)),
        relevance_threshold=data.relevance_threshold,
    )


def overlay(base: RegistrySnapshot, fragment: RegistryImport | None) -> RegistrySnapshot:
    """`base` with `fragment` laid over it: a slug the fragment names replaces the stored entry in
    place, a new slug is added after the stored ones. Raises 422s naming the fragment's field, for
    what `import_registry` would refuse (a slug twice, an unknown parent, a topic its own ancestor)."""
    if fragment is None or not (fragment.actors or fragment.topics):
        return base
    prefix = FRAGMENT_FIELD
    check_unique_slugs([a.slug for a in fragment.actors], f"{prefix}.actors")
    check_unique_slugs([t.slug for t in fragment.topics], f"{prefix}.topics")
    actors = {a.slug: a for a in base.actors} | {a.slug: _actor_entry(a) for a in fragment.actors}
    topics = {t.slug: t for t in base.topics} | {t.slug: _topic_entry(t) for t in fragment.topics}
    for index, actor in enumerate(fragment.actors):
        for number, membership in enumerate(actor.memberships):
            where = f"{prefix}.actors[{index}].memberships[{number}]"
            if membership.parent not in actors:
                raise UnknownReference("actor", membership.parent, field=f"{where}.parent")
            if membership.parent == actor.slug:
                raise InvalidInput("an actor cannot be its own member", field=where)
    for index, topic in enumerate(fragment.topics):
        where = f"{prefix}.topics[{index}].parent"
        if topic.parent is not None and topic.parent not in topics:
            raise UnknownReference("topic", topic.parent, field=where)
        seen = {topic.slug}
        parent = topic.parent
        while parent is not None:
            if parent in seen:
                raise InvalidInput(f"topic {topic.slug!r} is its own ancestor", field=where)
            seen.add(parent)
            entry = topics.get(parent)
            parent = entry.parent if entry is not None else None
    return RegistrySnapshot(actors=tuple(actors.values()), topics=tuple(topics.values()))


@lru_cache(maxsize=4)
def _fragment_extractor(registry: RegistrySnapshot, engine: str) -> Extractor:
    """Extractors for registries with a fragment laid over them, cached apart from the ingest
    extractors (`build_extractor`), so that a user trying out topics does not evict those."""
    if engine == "rules":
        return PipelineExtractor(registry)
    if engine == "embeddings" and engine in ENGINES:  # listed only when its packages import
        from app.extraction.embeddings import EmbeddingsExtractor

        return EmbeddingsExtractor(registry)
    return build_extractor(registry, engine)  # another engine, or the error for a missing one


def dry_run(
    stored: RegistrySnapshot,
    *,
    text: str,
    published_at: datetime,
    engine: str,
    title: str | None = None,
    language: str = "en",
    topic: str | None = None,
    fragment: RegistryImport | None = None,
    explain: bool = False,
) -> DryRun:
    """Extract `text` as ingest would, with `fragment` laid over the `stored` registry; with
    `topic`, only that topic's observations (an unknown slug: 422 naming `topic`)."""
    registry = overlay(stored, fragment)
    if topic is not None and topic not in {t.slug for t in registry.topics}:
        raise UnknownReference("topic", topic, field="topic")
    overlaid = fragment is not None and registry is not stored
    extractor = _fragment_extractor(registry, engine) if overlaid else build_extractor(registry, engine)
    article = ArticleText(text=text, published_at=published_at, title=title, language=language)
    trace: ExtractionTrace | None = None
    try:
        if explain:
            found, trace = trace_extraction(extractor, article, engine)
        else:
            found = list(extractor.extract(article))
    except ExtractionError as error:  # the llm engine's endpoint failing: 503
        raise ExtractionUnavailable(f"the {engine} engine could not extract the text: {error}") from error
    observations = [o for o in found if topic is None or o.topic == topic]
    logger.info(
        "extract.dry_run engine=%s chars=%d fragment=%s observations=%d explain=%s",
        engine,
        len(text),
        overlaid,
        len(observations),
        explain,
    )
    return DryRun(observations, trace, engine, extractor.version, topic, registry)
