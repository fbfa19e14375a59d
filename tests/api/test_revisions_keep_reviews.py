"""A new revision of an article keeps the reviews (verified, corrected, rejected) whose evidence
sentence is still in the text, and says what it kept and what it had to drop (issue 15, item 1).

Before: a revision deleted every automatic observation, reviewed ones included, and extracted
again, so a rejected observation came back as `auto` and counted in timelines again, and a
corrected score, its note and `verified` were lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import feeds, review
from app.db import session_scope
from app.feeds.registration import register_feed
from app.ingest import articles as ingest
from app.models import Article, Observation, ObservationDaily
from app.registry import context as registry_context
from app.schemas import FeedCreate, ObservationUpdate
from app.store import aggregates
from tests.conftest import ENGINES
from tests.factories import Database, article_payload, registry_database
from tests.feeds.server import Document, FeedServer, rss

# the API tests: the `client` fixture's database, holding the starter registry
with_registry = pytest.mark.usefixtures("starter_registry")

EUROPE = "PARIS, March 26 - European leaders are taking a step back from sending ground troops to Ukraine."
RUSSIA = "Russia has repeatedly said it would never accept foreign troops in Ukraine."
GERMANY = "Germany backs sending air defence systems to Ukraine."
FRANCE = "France supports a ceasefire monitoring mission."
TEXT = " ".join([EUROPE, RUSSIA, GERMANY, FRANCE])
LEAD = "Updated: talks went on in Paris on Wednesday. "


def _post(client: TestClient, payload: dict[str, Any]) -> dict[str, Any]:
    response = client.post(client.app.url_path_for("create_article"), json=payload)  # type: ignore[attr-defined]
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def _observations(client: TestClient, article_id: int) -> dict[str, dict[str, Any]]:
    """The article's observations by actor (one each in these texts), checked against its text."""
    detail = client.get(f"/v1/articles/{article_id}").json()
    by_actor: dict[str, dict[str, Any]] = {}
    for observation in detail["observations"]:
        assert observation["actor"] not in by_actor, f"two observations of {observation['actor']}"
        by_actor[observation["actor"]] = observation
        if observation["article_revision"] == detail["revision"]:
            start, end = observation["evidence_start"], observation["evidence_end"]
            assert detail["text"][start:end] == observation["evidence"]
    return by_actor


def _review(client: TestClient, observation_id: int, change: dict[str, Any]) -> None:
    response = client.patch(f"/v1/stances/{observation_id}", json=change)
    assert response.status_code == 200, response.text


def _reviewed_article(client: TestClient, **overrides: Any) -> tuple[dict[str, Any], dict[str, int]]:
    """An article of four claims: Europe's rejected, Russia's corrected (with a note), Germany's
    verified, France's left automatic. Returns its payload and the observation ids by actor."""
    payload = article_payload(text=TEXT, **overrides)
    created = _post(client, payload)
    assert created["status"] == "created"
    assert created["kept_reviewed"] == created["dropped_reviewed"] == 0
    found = _observations(client, created["article_id"])
    assert set(found) == {"europe", "russia", "germany", "france"}
    _review(client, found["europe"]["id"], {"status": "rejected", "note": "a step back is not opposition"})
    _review(client, found["russia"]["id"], {"score": -0.5, "note": "repeated, but conditional"})
    _review(client, found["germany"]["id"], {"status": "verified"})
    return payload, {actor: o["id"] for actor, o in found.items()}


def _check_aggregate(session: Session) -> None:
    """`stanceline db check`: the daily aggregate is what the observations give, rejected ones left out."""
    assert aggregates.differences(session) == []
    counted = session.scalar(
        select(func.count()).select_from(Observation).where(Observation.status != "rejected")
    )
    assert session.scalar(select(func.coalesce(func.sum(ObservationDaily.count), 0))) == counted


@with_registry
def test_a_revision_keeps_reviews_whose_sentence_is_still_there(client: TestClient, session: Session) -> None:
    payload, ids = _reviewed_article(client)
    revised = _post(client, {**payload, "text": LEAD + TEXT})

    assert revised["status"] == "revised"
    assert revised["revision"] == 2
    assert (revised["kept_reviewed"], revised["stale_reviewed"], revised["dropped_reviewed"]) == (3, 0, 0)
    assert revised["dropped"] == []
    found = _observations(client, revised["article_id"])
    assert set(found) == {"europe", "russia", "germany", "france"}, "no automatic twin next to a review"
    assert {actor: found[actor]["id"] for actor in ("europe", "russia", "germany")} == {
        actor: ids[actor] for actor in ("europe", "russia", "germany")
    }
    europe, russia, germany, france = (found[a] for a in ("europe", "russia", "germany", "france"))
    assert (europe["status"], europe["note"]) == ("rejected", "a step back is not opposition")
    assert (russia["status"], russia["score"], russia["note"]) == (
        "corrected",
        -0.5,
        "repeated, but conditional",
    )
    assert germany["status"] == "verified"
    assert france["status"] == "auto"
    # moved to the new revision: offsets into the new text (checked in _observations)
    assert all(o["article_revision"] == 2 for o in found.values())
    assert europe["evidence_start"] == len(LEAD)
    assert revised["observations"] == 4
    _check_aggregate(session)

    # the rejection still counts in nothing: Europe has no point on its topic
    timeline = client.get("/v1/timelines", params={"topic": "ground-troops-ukraine", "interval": "day"})
    assert timeline.status_code == 200, timeline.text
    series = {s["actor"]: s for s in timeline.json()["series"]}
    assert sum(p["count"] for p in series.get("europe", {"points": []})["points"]) == 0
    assert sum(p["count"] for p in series["russia"]["points"]) == 1


@with_registry
def test_a_revision_that_removes_sentences_drops_and_reports_verified_ones(
    client: TestClient, session: Session
) -> None:
    payload, ids = _reviewed_article(client)
    # Europe's rejected sentence and Germany's verified one are gone; Europe says something new
    changed = " ".join(
        [
            LEAD.strip(),
            RUSSIA,
            "European leaders now say they are ready to send ground troops to Ukraine.",
            FRANCE,
        ]
    )
    revised = _post(client, {**payload, "text": changed})

    assert revised["status"] == "revised"
    assert (revised["kept_reviewed"], revised["stale_reviewed"], revised["dropped_reviewed"]) == (2, 1, 1)
    (dropped,) = revised["dropped"]
    assert dropped == {
        "observation_id": ids["germany"],
        "actor": "germany",
        "topic": "us-military-aid-ukraine",
        "status": "verified",
        "score": 1.0,
        "label": "support",
        "note": None,
        "evidence": GERMANY,
        "observed_at": "2025-03-26T00:00:00Z",
        "article_revision": 1,
    }
    detail = client.get(f"/v1/articles/{revised['article_id']}").json()
    by_id = {o["id"]: o for o in detail["observations"]}
    assert "germany" not in {o["actor"] for o in detail["observations"]}
    # the stale rejection stays as it was, on the revision its offsets point into
    stale = by_id[ids["europe"]]
    assert (stale["status"], stale["article_revision"], stale["evidence"]) == ("rejected", 1, EUROPE)
    assert stale["evidence_start"] == 0
    # ... and holds nothing back: Europe's new claim, same actor, topic and day, is extracted
    fresh = [o for o in detail["observations"] if o["actor"] == "europe" and o["id"] != ids["europe"]]
    assert [(o["status"], o["label"], o["article_revision"]) for o in fresh] == [("auto", "support", 2)]
    russia = by_id[ids["russia"]]
    assert (russia["status"], russia["score"], russia["article_revision"]) == ("corrected", -0.5, 2)
    assert changed[russia["evidence_start"] : russia["evidence_end"]] == RUSSIA
    _check_aggregate(session)


@with_registry
def test_a_new_date_moves_kept_reviews_with_the_extraction(client: TestClient, session: Session) -> None:
    payload, ids = _reviewed_article(client)
    revised = _post(client, {**payload, "published_at": "2025-03-28T09:00:00Z"})

    assert (revised["status"], revised["kept_reviewed"], revised["dropped_reviewed"]) == ("revised", 3, 0)
    found = _observations(client, revised["article_id"])
    assert set(found) == {"europe", "russia", "germany", "france"}
    assert {o["observed_at"] for o in found.values()} == {"2025-03-28T00:00:00Z"}
    assert {o["reported_at"] for o in found.values()} == {"2025-03-28T09:00:00Z"}
    assert found["russia"]["id"] == ids["russia"]
    assert (found["russia"]["status"], found["russia"]["score"]) == ("corrected", -0.5)
    _check_aggregate(session)


@with_registry
def test_a_batch_revision_says_what_it_kept(client: TestClient, session: Session) -> None:
    payload, ids = _reviewed_article(client)
    response = client.post(
        client.app.url_path_for("create_articles_batch"),  # type: ignore[attr-defined]
        json={"articles": [{**payload, "text": TEXT.replace(GERMANY + " ", "")}, article_payload()]},
    )
    assert response.status_code == 200, response.text
    revised, created = response.json()["results"]
    assert (revised["status"], revised["kept_reviewed"], revised["stale_reviewed"]) == ("revised", 2, 0)
    assert revised["dropped_reviewed"] == 1
    assert [d["observation_id"] for d in revised["dropped"]] == [ids["germany"]]
    assert (created["status"], created["kept_reviewed"], created["dropped"]) == ("created", 0, [])
    _check_aggregate(session)


@with_registry
def test_re_extraction_after_a_revision_keeps_the_reviews(client: TestClient, session: Session) -> None:
    payload, _ = _reviewed_article(client)
    revised = _post(client, {**payload, "text": LEAD + TEXT})
    context = registry_context.load_registry_context(session)
    done = ingest.reextract_article(session, revised["article_id"], context=context, engine="rules")
    assert done.added == 1  # France's automatic observation, replaced; no twin of a review
    session.commit()
    found = _observations(client, revised["article_id"])
    assert {actor: o["status"] for actor, o in found.items()} == {
        "europe": "rejected",
        "russia": "corrected",
        "germany": "verified",
        "france": "auto",
    }
    _check_aggregate(session)


# --- feeds ----------------------------------------------------------------------------------------


@pytest.fixture(params=ENGINES)
def feeds_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database of its own (polls commit); private addresses allowed: the feed is on 127.0.0.1."""
    with registry_database(request.param, tmp_path, feed_allow_private=True) as database:
        yield database


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    yield server
    server.stop()


def _rss(link: str, text: str, published: str) -> bytes:
    return rss(
        "Wire", [{"title": "Europe", "link": link, "guid": link, "pubDate": published, "description": text}]
    )


def test_a_feed_entry_revised_keeps_its_reviews_and_the_poll_records_them(
    feeds_db: Database, feed_server: FeedServer
) -> None:
    link = "https://wire.example/revised"
    feed_server.documents["/feed.xml"] = Document(_rss(link, TEXT, "Wed, 26 Mar 2025 08:00:00 GMT"))
    with session_scope(feeds_db.factory) as session:
        feed, _ = register_feed(session, FeedCreate(url=feed_server.url("/feed.xml")), allow_private=True)
        feed_id = feed.id

    def poll() -> feeds.PollResult:
        with httpx.Client(timeout=5) as http:
            return feeds.poll_feed(
                feeds_db.factory,
                feed_id,
                settings=feeds_db.settings,
                client=http,
                cache=registry_context.RegistryCache(),
                now=datetime(2025, 4, 1, tzinfo=UTC),
            )

    assert poll().statuses["created"] == 1
    with session_scope(feeds_db.factory) as session:
        ids = session.scalars(select(Observation.id).order_by(Observation.id)).all()
        assert len(ids) == 4
        reviewed = {ids[0]: "rejected", ids[2]: "verified"}
        for observation_id, status in reviewed.items():
            review.review_observation(session, observation_id, ObservationUpdate(status=status))

    # the entry comes back updated, with a new lead paragraph: a new revision
    feed_server.documents["/feed.xml"] = Document(_rss(link, LEAD + TEXT, "Thu, 27 Mar 2025 08:00:00 GMT"))
    result = poll()
    assert result.statuses["revised"] == 1
    assert (result.kept_reviewed, result.stale_reviewed, result.dropped_reviewed) == (2, 0, 0)
    with session_scope(feeds_db.factory, write=False) as session:
        article = session.scalars(select(Article)).one()
        assert article.revision == 2
        stored = {o.id: o for o in session.scalars(select(Observation))}
        assert {i: stored[i].status for i in reviewed} == reviewed
        assert all(stored[i].article_revision == 2 for i in reviewed)
        assert len(stored) == 4
        assert aggregates.differences(session) == []
