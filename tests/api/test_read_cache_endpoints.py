"""Cached reads beyond the timelines: topics, actors, stances, shifts, compare and network.

Each answers with an ETag and a 304 while it is current, is computed once per URL and revision,
and gives the new answer at once after every kind of write that changes it, including those that
leave the aggregates alone: a review that only verifies or annotates, a re-extraction that
replaces observations by equal ones, the deletion of rejected observations, the shift detection's
refresh in the background, an article's new title under the shifts that cite it.

The topic, its actors and the sentences (a tramway in the invented city of Velmora, in the
invented state of Dornia) were written for these tests; no starter-pack entry is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from types import ModuleType
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.api import actors as actors_api
from app.api import shifts as shifts_api
from app.api import stances as stances_api
from app.api import timelines as timelines_api
from app.api import topics as topics_api
from app.config import Settings
from app.ingest import articles as ingest
from app.main import create_app
from app.models import Shift
from app.registry import context as registry_context
from app.schemas import ArticleCreate
from app.shifts import refresh as shifts
from app.store import unit_of_work
from tests.conftest import share_session
from tests.workload import TOPIC as STARTER_TOPIC
from tests.workload import Workload

TRAM = "velmora-tramway"
TOPIC: dict[str, Any] = {
    "slug": TRAM,
    "name": "The Velmora tramway",
    "description": "Plans for a tramway through Velmora. Funding or building it is support; "
    "scrapping or delaying it is opposition.",
    "keywords": ["Velmora tramway", "tram line", "tramway"],
    "examples": ["The mayor said the Velmora tramway would open in 2027."],
}
ACTORS: list[dict[str, Any]] = [
    {"slug": "dornia", "name": "Dornia", "kind": "state", "aliases": ["Dornia"]},
    {
        "slug": "velmora-council",
        "name": "Velmora City Council",
        "kind": "organization",
        "aliases": ["Velmora City Council", "the city council"],
        "memberships": [{"parent": "dornia", "role": "municipality", "from": "2020-01-01"}],
    },
    {
        "slug": "shopkeepers-guild",
        "name": "Velmora Shopkeepers Guild",
        "kind": "organization",
        "aliases": ["the Velmora Shopkeepers Guild", "the shopkeepers' guild"],
    },
]
COUNCIL, GUILD = "velmora-council", "shopkeepers-guild"
ARTICLE: dict[str, Any] = {
    "url": "https://example.org/velmora/tram-1",
    "title": "Council backs the tramway",
    "published_at": "2025-04-02T08:00:00Z",
    "source": "Velmora Post",
    "language": "en",
    "text": (
        "VELMORA, April 2 - The Velmora City Council approved funding for the Velmora tramway on "
        "Tuesday.\n\nThe Velmora Shopkeepers Guild rejected the tram line, saying years of building "
        "work would ruin trade on the high street."
    ),
}
START = date(2025, 1, 6)


@pytest.fixture
def tram(client: TestClient) -> None:
    """The topic and its actors, written through the API as a user would."""
    for actor in ACTORS:
        assert client.post("/v1/actors", json=actor).status_code == 201
    assert client.post("/v1/topics", json=TOPIC).status_code == 201


class Computations:
    """How often the wrapped functions really computed an answer (not answered from the cache)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.count = 0

    def watch(self, module: ModuleType, name: str) -> None:
        original: Callable[..., Any] = getattr(module, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(*args, **kwargs)

        self.monkeypatch.setattr(module, name, counted)


@pytest.fixture
def computations(monkeypatch: pytest.MonkeyPatch) -> Computations:
    return Computations(monkeypatch)


def code(client: TestClient, actor: str, day: date | str, score: float, **extra: Any) -> int:
    """A stance coded by hand; returns its id."""
    body = {"actor": actor, "topic": TRAM, "score": score, "observed_at": str(day), **extra}
    response = client.post("/v1/stances", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def step(client: TestClient, actor: str, before: float, after: float, **extra: Any) -> list[int]:
    """Ten stances at one level, then ten at another: a shift between them."""
    days = [START + timedelta(days=4 * i) for i in range(20)]
    return [
        code(client, actor, day, before if i < 10 else after, evidence=f"{actor} on {day}", **extra)
        for i, day in enumerate(days)
    ]


@contextmanager
def shifts_detected_once(session: Session) -> Iterator[None]:
    """The writes inside queue the series they touch; their shifts are detected once at the end,
    as the background worker would, instead of after every write (the reads under test are the
    same, and forty refreshes of a growing series cost seconds)."""
    settings: Settings = session.info["settings"]
    session.info["settings"] = settings.model_copy(update={"shift_detection": "deferred"})
    try:
        yield
    finally:
        session.info["settings"] = settings
    shifts.process_queue(session, settings=settings, settle=False)
    session.commit()


def store_article(session: Session, **overrides: Any) -> ingest.IngestOutcome:
    """An article ingested as the API ingests it, committed."""
    data = ArticleCreate.model_validate({**ARTICLE, **overrides})
    outcome = ingest.ingest_article(
        session, data, context=registry_context.load_registry_context(session), engine="rules"
    )
    session.commit()
    return outcome


class Reader:
    """Reads one URL and checks that each new answer comes with a new ETag."""

    def __init__(self, client: TestClient, url: str) -> None:
        self.client, self.url = client, url
        self.last = self._get()

    def _get(self) -> Response:
        response = self.client.get(self.url)
        assert response.status_code == 200, response.text
        return response

    def same(self) -> Any:
        response = self._get()
        assert response.headers["etag"] == self.last.headers["etag"]
        assert response.content == self.last.content
        return response.json()

    def changed(self) -> Any:
        response = self._get()
        assert response.headers["etag"] != self.last.headers["etag"], "a stale answer from the cache"
        self.last = response
        return response.json()


# (url, the module and function that compute it)
READS: list[tuple[str, ModuleType, str]] = [
    ("/v1/topics", topics_api, "_topic_page"),
    (f"/v1/topics/{TRAM}", topics_api, "_topic"),
    ("/v1/actors?kind=organization&limit=1", actors_api, "_actor_page"),
    (f"/v1/actors/{COUNCIL}", actors_api, "_actor"),
    (f"/v1/stances?topic={TRAM}&limit=5", stances_api, "_observation_page"),
    (f"/v1/stances?topic={TRAM}&format=csv", stances_api, "_observation_page"),
    ("/v1/stances/{first}", stances_api, "_observation"),
    (f"/v1/shifts?topic={TRAM}", shifts_api, "_shift_list"),
    (f"/v1/shifts?topic={TRAM}&format=ndjson", shifts_api, "_shift_list"),
    (f"/v1/compare?topic={TRAM}&actor={COUNCIL}&actor={GUILD}", timelines_api, "_comparison"),
    (f"/v1/network?topic={TRAM}", timelines_api, "_network"),
    (f"/v1/network?topic={TRAM}&format=graphml", timelines_api, "_network"),
]


@pytest.mark.usefixtures("tram")
@pytest.mark.parametrize(("url", "module", "name"), READS, ids=[url for url, _, _ in READS])
def test_a_read_is_computed_once_and_a_current_etag_gets_304(
    client: TestClient,
    session: Session,
    computations: Computations,
    url: str,
    module: ModuleType,
    name: str,
) -> None:
    with shifts_detected_once(session):
        ids = step(client, COUNCIL, 1.0, -1.0)
        step(client, GUILD, -1.0, -1.0)
    assert session.scalar(select(func.count()).select_from(Shift)), "the step is a shift"
    url = url.format(first=ids[0])
    computations.watch(module, name)
    first = client.get(url)
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"] == "no-cache"
    again = client.get(url)
    assert (again.content, again.headers["etag"]) == (first.content, first.headers["etag"])
    assert again.headers["content-type"] == first.headers["content-type"]
    assert computations.count == 1
    unchanged = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == first.headers["etag"]
    code(client, COUNCIL, "2025-06-01", 0.5)
    changed = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200
    assert changed.headers["etag"] != first.headers["etag"]
    assert computations.count == 2


@pytest.mark.usefixtures("tram")
def test_registry_writes_reach_the_topic_and_actor_reads(client: TestClient) -> None:
    topics, topic = Reader(client, "/v1/topics"), Reader(client, f"/v1/topics/{TRAM}")
    actors, actor = Reader(client, "/v1/actors"), Reader(client, f"/v1/actors/{COUNCIL}")
    assert [t["slug"] for t in topics.last.json()["items"]] == [TRAM]

    ferry = {**TOPIC, "slug": "velmora-ferry", "name": "The Velmora ferry", "keywords": ["Velmora ferry"]}
    assert client.post("/v1/topics", json=ferry).status_code == 201
    assert [t["slug"] for t in topics.changed()["items"]] == ["velmora-ferry", TRAM]
    edited = client.patch(f"/v1/topics/{TRAM}", json={"description": "Trams through the old town."})
    assert edited.status_code == 200, edited.text
    assert topic.changed()["description"] == "Trams through the old town."

    union = {"slug": "tram-drivers-union", "name": "Tram Drivers Union", "kind": "organization"}
    assert client.post("/v1/actors", json=union).status_code == 201
    assert "tram-drivers-union" in [a["slug"] for a in actors.changed()["items"]]
    renamed = client.patch(f"/v1/actors/{COUNCIL}", json={"name": "Velmora Town Council"})
    assert renamed.status_code == 200, renamed.text
    assert actor.changed()["name"] == "Velmora Town Council"
    council = next(a for a in actors.changed()["items"] if a["slug"] == COUNCIL)
    assert council["name"] == "Velmora Town Council"

    refused = client.post("/v1/actors", json={**union, "name": "Another name"})  # 409: nothing written
    assert refused.status_code == 409
    actors.same()


@pytest.mark.usefixtures("tram")
def test_every_write_reaches_the_stance_pages(client: TestClient, session: Session) -> None:
    stance = code(client, COUNCIL, "2025-03-03", 0.5)
    page = Reader(client, f"/v1/stances?topic={TRAM}")
    one = Reader(client, f"/v1/stances/{stance}")
    assert [o["id"] for o in page.last.json()["items"]] == [stance]

    other = code(client, GUILD, "2025-03-04", -0.5)  # manual coding
    assert [o["id"] for o in page.changed()["items"]] == [stance, other]
    # a review that leaves every aggregate as it was: only the note and the version change
    noted = client.patch(f"/v1/stances/{stance}", json={"note": "checked against the minutes"})
    assert noted.status_code == 200, noted.text
    assert page.changed()["items"][0]["note"] == "checked against the minutes"
    assert one.changed()["note"] == "checked against the minutes"
    corrected = client.patch(f"/v1/stances/{stance}", json={"score": 0.9})
    assert corrected.status_code == 200
    assert one.changed()["score"] == 0.9

    outcome = store_article(session)  # ingest
    assert outcome.observations > 0
    automatic = Reader(client, f"/v1/stances?article={outcome.article.id}")
    found = automatic.last.json()["items"]
    assert {o["status"] for o in found} == {"auto"}
    assert {o["actor"] for o in found} == {COUNCIL, GUILD}
    guild = next(o for o in found if o["actor"] == GUILD)
    verified = client.patch(f"/v1/stances/{guild['id']}", json={"status": "verified"})  # counts as before
    assert verified.status_code == 200
    assert {o["status"] for o in automatic.changed()["items"]} == {"auto", "verified"}

    # a re-extraction replaces the unreviewed observations by equal ones, under new ids
    ingest.reextract_article(
        session, outcome.article.id, context=registry_context.load_registry_context(session), engine="rules"
    )
    session.commit()
    replaced = automatic.changed()["items"]
    assert {o["id"] for o in replaced} != {o["id"] for o in found}
    assert guild["id"] in {o["id"] for o in replaced}

    # rejected observations count in no aggregate, but they are listed until their article goes
    for item in replaced:
        assert client.patch(f"/v1/stances/{item['id']}", json={"status": "rejected"}).status_code == 200
    rejected = Reader(client, f"/v1/stances?topic={TRAM}&status=rejected")
    assert len(rejected.last.json()["items"]) == len(replaced)
    assert client.delete(f"/v1/articles/{outcome.article.id}").status_code == 200
    assert rejected.changed()["items"] == []
    assert automatic.changed()["items"] == []


@pytest.fixture
def deferred(settings: Settings) -> Settings:
    """Shift detection as a server runs it by default: queued by the write, done in the background."""
    return settings.model_copy(update={"shift_detection": "deferred"})


@pytest.fixture
def deferred_client(deferred: Settings, session: Session, admin_key: str) -> Iterator[TestClient]:
    app: FastAPI = create_app(deferred)
    share_session(app, session)
    with TestClient(app, headers={"Authorization": f"Bearer {admin_key}"}) as client:
        yield client


def refresh_in_background(session: Session, settings: Settings) -> None:
    """What the background worker does: the queued series' shifts, in transactions of their own."""
    while shifts.process_queue(session, settings=settings, settle=False):
        session.commit()


def test_the_background_shift_refresh_reaches_the_shift_list(
    deferred_client: TestClient, session: Session, deferred: Settings
) -> None:
    client = deferred_client
    for actor in ACTORS:
        assert client.post("/v1/actors", json=actor).status_code == 201
    assert client.post("/v1/topics", json=TOPIC).status_code == 201
    ids = step(client, GUILD, 1.0, -1.0)
    listed = Reader(client, f"/v1/shifts?topic={TRAM}&actor={GUILD}")
    assert listed.last.json()["items"] == []  # written, not yet refreshed

    refresh_in_background(session, deferred)
    [shift] = listed.changed()["items"]
    assert shift["direction"] == "toward_oppose"
    assert shift["status"] == "active"
    since = Reader(client, f"/v1/shifts?topic={TRAM}&since={shift['updated_at']}")
    assert [s["id"] for s in since.last.json()["items"]] == [shift["id"]]

    # the reviews that undo the step move the data at once; the shift goes with the next refresh
    for stance in ids[10:]:
        assert client.patch(f"/v1/stances/{stance}", json={"status": "rejected"}).status_code == 200
    assert [s["id"] for s in listed.changed()["items"]] == [shift["id"]]
    refresh_in_background(session, deferred)
    assert listed.changed()["items"] == []
    withdrawn = client.get(f"/v1/shifts?topic={TRAM}&actor={GUILD}&include_withdrawn=true")
    assert [s["status"] for s in withdrawn.json()["items"]] == ["withdrawn"]


@pytest.mark.usefixtures("tram")
def test_an_article_revision_reaches_the_shifts_that_cite_it(client: TestClient, session: Session) -> None:
    article = store_article(session, text="VELMORA, April 2 - Nothing was said about any of it.")
    assert article.observations == 0
    step(client, GUILD, 1.0, -1.0, article_id=article.article.id)
    listed = Reader(client, f"/v1/shifts?topic={TRAM}")
    [shift] = listed.last.json()["items"]
    assert shift["evidence_after"][0]["article_title"] == ARTICLE["title"]

    revised = store_article(
        session, title="Guild turns against the tramway", text="Revised: no claims either."
    )
    assert revised.status == "revised"
    [again] = listed.changed()["items"]
    assert again["evidence_after"][0]["article_title"] == "Guild turns against the tramway"
    assert again["id"] == shift["id"]

    renamed = client.patch(f"/v1/actors/{GUILD}", json={"name": "Velmora Traders Guild"})  # registry
    assert renamed.status_code == 200
    [again] = listed.changed()["items"]
    assert again["title"].startswith("Velmora Traders Guild: toward oppose")


@pytest.mark.usefixtures("tram")
def test_compare_and_network_follow_the_data(client: TestClient) -> None:
    first = code(client, COUNCIL, "2025-03-03", 0.8)
    code(client, GUILD, "2025-03-05", -0.8)
    compared = Reader(client, f"/v1/compare?topic={TRAM}&actor={COUNCIL}&actor={GUILD}&interval=month")
    network = Reader(client, f"/v1/network?topic={TRAM}")
    assert compared.last.json()["mean_distance"] == pytest.approx(1.6)
    assert {n["actor"]: n["side"] for n in network.last.json()["nodes"]} == {
        COUNCIL: "support",
        GUILD: "oppose",
    }

    code(client, COUNCIL, "2025-03-10", -0.8)  # manual coding
    assert compared.changed()["mean_distance"] == pytest.approx(0.8)
    assert {n["actor"]: n["count"] for n in network.changed()["nodes"]} == {COUNCIL: 2, GUILD: 1}
    assert client.patch(f"/v1/stances/{first}", json={"status": "rejected"}).status_code == 200  # review
    assert compared.changed()["mean_distance"] == pytest.approx(0.0)
    assert {n["actor"]: n["side"] for n in network.changed()["nodes"]} == {COUNCIL: "oppose", GUILD: "oppose"}


@pytest.mark.usefixtures("tram")
def test_what_moves_the_data_revision_and_what_does_not(client: TestClient, session: Session) -> None:
    def moved(write: Callable[[], object]) -> bool:
        before = unit_of_work.current(session)
        write()
        session.commit()
        after = unit_of_work.current(session)
        assert after[0] == before[0], "the registry revision is the registry's"
        return after[1] != before[1]

    outcome = store_article(session)
    stance = code(client, COUNCIL, "2025-03-03", 0.5, article_id=outcome.article.id)
    assert moved(lambda: client.patch(f"/v1/stances/{stance}", json={"note": "seen"}))
    assert moved(lambda: client.patch(f"/v1/stances/{stance}", json={"status": "rejected"}))
    assert not moved(lambda: store_article(session))  # the same article again: unchanged
    assert not moved(lambda: client.get(f"/v1/stances?topic={TRAM}"))
    assert not moved(lambda: client.patch(f"/v1/stances/{stance}", json={"note": "x" * 10_001}))  # 422


@pytest.fixture
def uncached_client(settings: Settings, session: Session, admin_key: str) -> Iterator[TestClient]:
    """The same API and test transaction with the cache off: every read computed afresh."""
    app = create_app(settings.model_copy(update={"read_cache_mb": 0, "shift_detection": "off"}))
    share_session(app, session)
    with TestClient(app, headers={"Authorization": f"Bearer {admin_key}"}) as client:
        yield client


@pytest.mark.usefixtures("starter_registry")
def test_cached_reads_equal_fresh_ones_through_random_writes(
    client: TestClient, uncached_client: TestClient, session: Session
) -> None:
    work = Workload(client, session, seed=20261204)
    urls = [
        "/v1/topics?limit=3",
        f"/v1/topics/{STARTER_TOPIC}",
        "/v1/actors?kind=state&limit=5",
        "/v1/actors/europe",
        f"/v1/stances?topic={STARTER_TOPIC}&limit=20",
        f"/v1/stances?topic={STARTER_TOPIC}&status=verified&format=ndjson",
        "/v1/stances?method=manual&limit=10",
        f"/v1/shifts?topic={STARTER_TOPIC}&include_withdrawn=true",
        f"/v1/compare?topic={STARTER_TOPIC}&actor=france&actor=united-kingdom&actor=europe&rollup=true",
        f"/v1/network?topic={STARTER_TOPIC}",
    ]
    compared = 0
    for _ in range(4):
        work.run(8)
        session.commit()  # the workload's direct re-extraction commits as its own unit of work would
        for url in urls:
            for _ in range(2):  # the second read is a hit
                cached, fresh = client.get(url), uncached_client.get(url)
                assert cached.status_code == fresh.status_code, url
                assert cached.content == fresh.content, url
                compared += 1
    assert compared == 80
