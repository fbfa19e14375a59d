"""The registry as extraction reads it: one snapshot per registry revision, cached per process."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from app.extraction import build_extractor
from app.extraction.claim_model import ClaimModel
from app.extraction.types import ActorEntry, Extractor, MembershipEntry, RegistrySnapshot, TopicEntry
from app.schemas import IngestWarning
from app.store import actors as actor_store
from app.store import extractor_models, unit_of_work
from app.store import topics as topic_store


@dataclass(frozen=True)
class RegistryContext:
    """The registry as extraction sees it, plus the slug -> id maps storage needs, and the
    registry revision it was read at (stamped on the articles extracted with it)."""

    snapshot: RegistrySnapshot
    actor_ids: dict[str, int]
    topic_ids: dict[str, int]
    revision: int = 0
    _extractors: dict[str, Extractor] = field(default_factory=dict, compare=False, repr=False)

    def extractor(self, engine: str) -> Extractor:
        """`engine`'s compiled extractor for this registry, kept with the context: an ingest does
        not hash the whole snapshot again to find it, and no other registry can evict it."""
        if engine == "llm":
            # its endpoint is process configuration that may change under one registry revision
            return build_extractor(self.snapshot, engine)
        compiled = self._extractors.get(engine)
        if compiled is None:
            # two threads may both build: `build_extractor` hands them the same object
            compiled = self._extractors.setdefault(engine, build_extractor(self.snapshot, engine))
        return compiled


class RegistryCache:
    """The registry context of one process, rebuilt only when the stored registry revision moves.

    Every registry write bumps the revision in its own transaction, so every worker process
    sees the change on its next ingest (one small query instead of loading the whole registry).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # one load at a time: threads that miss together must get the same object, since an
        # extraction done ahead fits only the context object it was done with (`Extraction.fits`)
        self._loading = threading.Lock()
        self._revision: int | None = None
        self._context: RegistryContext | None = None

    def _cached(self, revision: int) -> RegistryContext | None:
        with self._lock:
            return self._context if self._context is not None and self._revision == revision else None

    def get(self, session: Session) -> RegistryContext:
        revision = unit_of_work.get_registry_revision(session)
        cached = self._cached(revision)
        if cached is not None:
            return cached
        with self._loading:
            cached = self._cached(revision)
            if cached is not None:
                return cached
            context = load_registry_context(session, revision=revision)
            with self._lock:
                self._revision, self._context = revision, context
        return context


def load_registry_context(session: Session, *, revision: int | None = None) -> RegistryContext:
    """The stored registry; `revision`: the registry revision read just before (read here when not
    given). A write committed in between makes the context newer than its revision says, which
    only makes its articles look stale sooner."""
    if revision is None:
        revision = unit_of_work.get_registry_revision(session)
    actors = actor_store.list_all_actors(session)
    topics = topic_store.list_all_topics(session)
    snapshot = RegistrySnapshot(
        actors=tuple(
            ActorEntry(
                slug=a.slug,
                name=a.name,
                kind=a.kind,
                aliases=tuple(alias.alias for alias in a.aliases),
                memberships=tuple(
                    MembershipEntry(
                        parent=m.parent.slug, role=m.role, valid_from=m.valid_from, valid_to=m.valid_to
                    )
                    for m in a.memberships
                ),
            )
            for a in actors
        ),
        topics=tuple(
            TopicEntry(
                slug=t.slug,
                name=t.name,
                description=t.description,
                keywords=tuple(t.keywords),
                examples=tuple(t.examples),
                parent=t.parent.slug if t.parent else None,
                weak_keywords=tuple(t.weak_keywords),
                excluded_phrases=tuple(t.excluded_phrases),
                relevance_threshold=t.relevance_threshold,
            )
            for t in topics
        ),
    )
    trained = extractor_models.active_model(session)
    if trained is not None:
        snapshot = replace(snapshot, claim_model=ClaimModel.from_bytes(trained.body.encode()))
    return RegistryContext(
        snapshot=snapshot,
        actor_ids={a.slug: a.id for a in actors},
        topic_ids={t.slug: t.id for t in topics},
        revision=revision,
    )


EMPTY_REGISTRY = "empty_registry"


def registry_warnings(context: RegistryContext) -> list[IngestWarning]:
    """What an ingest tells its caller about the registry: with no topic (or no actor) articles
    are stored but nothing can be extracted from them until they are defined."""
    missing = [
        kind
        for kind, entries in (("topics", context.snapshot.topics), ("actors", context.snapshot.actors))
        if not entries
    ]
    if not missing:
        return []
    routes = " and ".join(f"POST /v1/{kind}" for kind in missing)
    message = (
        f"no {' and no '.join(missing)} are defined: articles are stored but nothing can be extracted; "
        f"define {' and '.join(missing)} ({routes} or stanceline registry load) and they will be "
        "applied to stored articles"
    )
    return [IngestWarning(code=EMPTY_REGISTRY, message=message)]
