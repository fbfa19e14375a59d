"""Feed polls running at the same time on a real database (no shared test transaction).

Pollers on threads of their own, each with its own engine and session factory (as pollers in
separate processes would be), are released together by a barrier, round after round. Their feeds
report on one made-up story (the town of Marrowby and a toll on its Corrow Bridge) and name the
same actors on the same topics and days, each feed in another order: the polls' write
transactions change the same aggregate rows, which they must lock in one (key) order so that
PostgreSQL never has to break a deadlock. A second poller also polls one feed already being polled
each round (a poller whose lease ran out). Afterwards: no poll failed, every entry is stored
exactly once with its observations, and the aggregates are what the observations sum to (the
check `stanceline db check` runs)."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from app import feeds
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.feeds.registration import register_feed
from app.models import Actor, Article, Feed, Observation, ObservationDaily, Topic
from app.ops import migrate
from app.registry import edits as registry
from app.registry.context import RegistryCache
from app.schemas import FeedCreate, RegistryImport
from app.store import aggregates
from tests.conftest import ENGINES, create_database
from tests.feeds.server import Document, FeedServer, rss

ROUNDS = 5
ITEMS = 3  # new entries per feed and round, one a day: the feeds' days are the same
FIRST_DAY = datetime(2025, 6, 2, tzinfo=UTC)
TOLL, FERRY = "corrow-bridge-toll", "marrowby-night-ferry"
COUNCIL, MAYOR, HAULIERS, COMMUTERS = (
    "marrowby-council",
    "odile-varn",
    "corrow-hauliers",
    "marrowby-commuters",
)

REGISTRY = {
    "topics": [
        {
            "slug": TOLL,
            "name": "A toll on the Corrow Bridge",
            "description": (
                "Plans to charge drivers a toll for crossing the Corrow Bridge in Marrowby. Backing "
                "or keeping the toll is support; cutting or scrapping it is opposition."
            ),
            "keywords": ["bridge toll", "toll"],
            "examples": ["The council said the bridge toll would pay for the repairs."],
        },
        {
            "slug": FERRY,
            "name": "A night ferry across the Corrow estuary",
            "description": (
                "Plans for a subsidised night ferry across the Corrow estuary. Funding or running "
                "the ferry is support; cutting it is opposition."
            ),
            "keywords": ["night ferry", "ferry service"],
            "examples": ["The mayor said the night ferry would run from June."],
        },
    ],
    "actors": [
        {
            "slug": COUNCIL,
            "name": "Marrowby Town Council",
            "kind": "organization",
            "aliases": ["Marrowby Town Council", "the Marrowby council"],
        },
        {
            "slug": MAYOR,
            "name": "Odile Varn",
            "kind": "person",
            "aliases": ["Mayor Odile Varn", "Odile Varn", "Varn"],
        },
        {
            "slug": HAULIERS,
            "name": "Corrow Hauliers Guild",
            "kind": "organization",
            "aliases": ["the Corrow Hauliers Guild", "Corrow Hauliers Guild"],
        },
        {
            "slug": COMMUTERS,
            "name": "Marrowby Commuters Union",
            "kind": "organization",
            "aliases": ["the Marrowby Commuters Union", "Marrowby Commuters Union"],
        },
    ],
}
ACTORS = (COUNCIL, MAYOR, HAULIERS, COMMUTERS)
# each actor's line in four wordings; an article takes one of each (ferry lines: the two on it)
TOLL_LINES = {
    COUNCIL: (
        "Marrowby Town Council voted on Monday to keep the bridge toll.",
        "The Marrowby council backed the bridge toll after a long debate.",
        "Marrowby Town Council endorsed the bridge toll in its budget.",
        "The Marrowby council approved the bridge toll by seven votes to four.",
    ),
    MAYOR: (
        "Mayor Odile Varn said she strongly supports the bridge toll.",
        "Odile Varn welcomed the toll as the fairest way to pay for the repairs.",
        "Mayor Odile Varn defended the bridge toll in a radio interview.",
        "Mayor Odile Varn praised the bridge toll as the only way to mend the bridge.",
    ),
    HAULIERS: (
        "The Corrow Hauliers Guild opposed the bridge toll, saying it would hurt trade.",
        "The Corrow Hauliers Guild criticised the bridge toll as a tax on lorries.",
        "The Corrow Hauliers Guild condemned the toll, warning of higher delivery prices.",
        "The Corrow Hauliers Guild rejected the bridge toll outright.",
    ),
    COMMUTERS: (
        "The Marrowby Commuters Union rejected the toll and called for it to be scrapped.",
        "The Marrowby Commuters Union said it opposes the bridge toll.",
        "The Marrowby Commuters Union opposed the bridge toll at a packed meeting.",
        "The Marrowby Commuters Union denounced the toll as unfair to people who work nights.",
    ),
}
FERRY_LINES = {
    MAYOR: (
        "Odile Varn said she backs the night ferry.",
        "Varn said she supports a night ferry for shift workers.",
        "Odile Varn said she strongly supports the ferry service.",
        "Mayor Odile Varn backed the night ferry again.",
    ),
    HAULIERS: (
        "The Corrow Hauliers Guild opposed the ferry service.",
        "The Corrow Hauliers Guild rejected the night ferry as a waste of money.",
        "The Corrow Hauliers Guild said it opposes the night ferry.",
        "The Corrow Hauliers Guild criticised the ferry service as too costly.",
    ),
}
EXPECTED_PAIRS = {(TOLL, a) for a in ACTORS} | {(FERRY, a) for a in FERRY_LINES}
DESKS = ("Marrowby Mercury", "Estuary Evening Post", "Corrow Valley Radio", "The Marrowby Ledger")
# the orders of the four actors, without their reverses (12)
ORDERS = [order for order in itertools.permutations(ACTORS) if order < order[::-1]]
assert len(ORDERS) >= 2 * ROUNDS


def _order(desk: int, round_: int) -> tuple[str, ...]:
    """The order a desk's articles of a round name the actors in: desks 0 and 1 in opposite
    orders, desks 2 and 3 too, and never an order of another round (so that no article reads as a
    syndicated copy of another: `app.ingest.fingerprint`)."""
    order = ORDERS[2 * round_ + desk // 2]
    return order if desk % 2 == 0 else order[::-1]


def _item(desk: int, round_: int, day: int) -> dict[str, str]:
    number = round_ * ITEMS + day  # the feeds' articles of a day are on the same day
    published = FIRST_DAY + timedelta(days=number, hours=7 + desk)
    order = _order(desk, round_)
    wording = {actor: (desk + day + i) % 4 for i, actor in enumerate(ACTORS)}
    lead = (
        f"MARROWBY, {published:%B} {published.day} - Report {number + 1} of the {DESKS[desk]} on the "
        f"Corrow Bridge: repairs are due to take {round_ + day + 3} months, and {140 + 17 * number + desk} "
        f"lorries crossed it on {published:%A}."
    )
    toll = " ".join(TOLL_LINES[actor][wording[actor]] for actor in order)
    ferry = " ".join(FERRY_LINES[actor][wording[actor]] for actor in order if actor in FERRY_LINES)
    link = f"https://{DESKS[desk].lower().replace(' ', '-')}.example/corrow/{number + 1}"
    return {
        "title": f"{DESKS[desk]}: the Corrow Bridge toll, report {number + 1}",
        "link": link,
        "guid": link,
        "pubDate": format_datetime(published, usegmt=True),
        "description": f"<p>{lead}</p><p>{toll}</p><p>{ferry}</p>",
    }


@dataclass(frozen=True)
class Live:
    url: str
    settings: Settings


@pytest.fixture(params=ENGINES)
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    """A migrated database of its own holding the Marrowby registry (polls commit)."""
    url, drop = create_database(request.param, tmp_path)
    try:
        migrate.upgrade(url)
        # new articles extracted in the poll (not left to the extraction workers): the polls'
        # transactions write the observations and so the aggregates; shift detection as shipped
        settings = Settings(
            database_url=url,
            feed_allow_private=True,
            ingest_wait=True,
            shift_detection="deferred",
            log_level="WARNING",
        )
        engine = make_engine(settings)
        try:
            with session_scope(make_sessionmaker(engine, settings)) as session:
                registry.import_registry(session, RegistryImport.model_validate(REGISTRY))
        finally:
            engine.dispose()
        yield Live(url, settings)
    finally:
        drop()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    yield server
    server.stop()


@dataclass
class Poller:
    """What a poller process has of its own: engine, session factory, registry cache, HTTP client."""

    engine: Engine
    settings: Settings
    factory: sessionmaker[Session] = field(init=False)
    cache: RegistryCache = field(init=False, default_factory=RegistryCache)
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.factory = make_sessionmaker(self.engine, self.settings)
        self.client = feeds.http_client(self.settings)

    def poll(self, feed_id: int) -> feeds.PollResult:
        return feeds.poll_feed(
            self.factory, feed_id, settings=self.settings, client=self.client, cache=self.cache
        )

    def close(self) -> None:
        self.client.close()
        self.engine.dispose()


def _problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the service logged at WARNING or above (a poll that failed to store: with its error)."""
    return [
        f"{r.getMessage()} {r.exc_info[1]!r}" if r.exc_info else r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("app.")
    ]


def test_concurrent_polls_neither_deadlock_nor_duplicate_nor_skew_the_aggregates(
    live: Live, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    caplog.set_level(logging.INFO, logger="app.ingest.articles")  # ingest.race: the doubled polls met
    pollers = [Poller(make_engine(live.settings), live.settings) for _ in range(len(DESKS) + 1)]
    try:
        feed_ids = []
        with session_scope(pollers[0].factory) as session:
            for i in range(len(DESKS)):
                url = feed_server.url(f"/desk/{i}.xml")
                feed, _ = register_feed(session, FeedCreate(url=url), allow_private=True)
                feed_ids.append(feed.id)
        items: list[list[dict[str, str]]] = [[] for _ in DESKS]
        start = threading.Barrier(len(pollers), timeout=30)

        def run(poller: Poller, feed_id: int) -> feeds.PollResult:
            start.wait()
            return poller.poll(feed_id)

        with ThreadPoolExecutor(max_workers=len(pollers)) as pool:
            for round_ in range(ROUNDS):
                for i in range(len(DESKS)):
                    items[i] += [_item(i, round_, day) for day in range(ITEMS)]
                    # newest first, as feeds list them; entries of earlier rounds stay in the document
                    document = rss(DESKS[i], items[i][::-1])
                    feed_server.documents[f"/desk/{i}.xml"] = Document(document)
                # the last poller polls a feed another poller is polling (its lease had run out)
                targets = [*feed_ids, feed_ids[round_ % len(feed_ids)]]
                results = list(pool.map(run, pollers, targets))
                failed = [r for r in results if r.outcome != "ingested" or r.error_kind is not None]
                assert failed == [], (round_, failed, _problems(caplog))
                for feed_id in feed_ids:
                    mine = [r for r in results if r.feed_id == feed_id]
                    created = sum(r.statuses["created"] for r in mine)
                    assert created == ITEMS, (round_, feed_id, mine)
                    assert all(set(r.statuses) <= {"created", "unchanged"} for r in mine), mine
                    assert all(r.copies == 0 for r in mine), mine  # no desk's text reads as another's copy
        assert _problems(caplog) == []

        with session_scope(pollers[0].factory, write=False) as session:
            links = [it["link"] for desk in items for it in desk]
            stored = session.execute(
                select(Article.url, func.count()).where(Article.url.in_(links)).group_by(Article.url)
            ).all()
            assert dict(stored) == dict.fromkeys(links, 1)  # every entry, each exactly once
            assert session.scalar(select(func.count()).select_from(Article)) == len(links)
            assert [f.entries_ingested for f in session.scalars(select(Feed).order_by(Feed.id))] == [
                ROUNDS * ITEMS
            ] * len(DESKS)
            pairs = session.execute(
                select(Observation.article_id, Topic.slug, Actor.slug)
                .join(Topic, Topic.id == Observation.topic_id)
                .join(Actor, Actor.id == Observation.actor_id)
            ).all()
            by_article: dict[int | None, set[tuple[str, str]]] = {}
            for article_id, topic, actor in pairs:
                by_article.setdefault(article_id, set()).add((topic, actor))
            assert len(by_article) == len(links)
            assert all(found == EXPECTED_PAIRS for found in by_article.values()), by_article
            counted = session.scalar(select(func.sum(ObservationDaily.count)))
            assert counted == len(pairs)
            differences = aggregates.differences(session)
        races = sum(r.getMessage().startswith("ingest.race") for r in caplog.records)
        print(
            f"\nconcurrent feed polls ({make_url(live.url).get_backend_name()}): {ROUNDS} rounds x "
            f"{len(pollers)} polls, {len(links)} entries, {len(pairs)} observations, {races} ingest "
            f"races of the doubled polls, {len(differences)} aggregate differences"
        )
        assert [d.describe() for d in differences] == []
    finally:
        for poller in pollers:
            poller.close()
