"""GET /v1/review/queue on both engines: unreviewed automatic observations, the most uncertain
first (uncertainty = 1 - |2 * confidence - 1|), then the newest, then by id; narrowed by topic
and actor; paged by cursor; a reviewed observation leaves it; bad parameters are a 422 naming them.

The town of Quorran, its lighthouse and its ferry, and every sentence here were invented for
these tests; no starter-pack entry is needed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app import auth
from app.models import Actor, Observation, Topic
from app.pagination import encode_cursor
from app.schemas import ObservationRead
from tests.factories import make_actor, make_observation, make_topic
from tests.pages import all_pages

QUEUE = "/v1/review/queue"
LIGHTHOUSE, FERRY = "quorran-lighthouse", "quorran-winter-ferry"
BOARD, LAMPLIGHTERS, MAYOR = "quorran-harbour-board", "society-of-lamplighters", "mira-tolvane"
SENTENCES = [
    "The harbour board said the lighthouse lens would be relit before the spring tides.",
    "The lamplighters warned that restoring the tower could wait until the pier is mended.",
    "Mayor Tolvane told the quay meeting the winter ferry would keep its Sunday crossing.",
    "The harbour board doubted the ferry could sail twice daily once the gales set in.",
]


class Quorran:
    """The invented town's registry: two topics, three actors."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.topics: dict[str, Topic] = {slug: make_topic(session, slug) for slug in (LIGHTHOUSE, FERRY)}
        self.actors: dict[str, Actor] = {
            slug: make_actor(session, slug, kind=kind)
            for slug, kind in ((BOARD, "organization"), (LAMPLIGHTERS, "group"), (MAYOR, "person"))
        }
        self.made = 0

    def observe(
        self,
        confidence: float,
        *,
        topic: str = LIGHTHOUSE,
        actor: str = BOARD,
        day: int = 1,
        method: str = "rules",
        status: str = "auto",
    ) -> Observation:
        """An observation the extractor stored (unreviewed), unless `method`/`status` say otherwise."""
        self.made += 1
        return make_observation(
            self.session,
            actor=self.actors[actor],
            topic=self.topics[topic],
            score=0.6,
            confidence=confidence,
            observed_at=datetime(2025, 10, day, 9, 30, tzinfo=UTC),
            evidence=SENTENCES[self.made % len(SENTENCES)],
            method=method,
            status=status,
            extractor_version=None if method == "manual" else "rules-test",
        )


@pytest.fixture
def town(session: Session) -> Quorran:
    made = Quorran(session)
    session.commit()
    return made


def _queue(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get(QUEUE, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _ids(client: TestClient, **params: Any) -> list[int]:
    return [item["id"] for item in _queue(client, **params)["items"]]


def _commit(town: Quorran, *observations: Observation) -> list[int]:
    town.session.commit()
    return [o.id for o in observations]


def test_the_most_uncertain_come_first_then_the_newest_then_by_id(client: TestClient, town: Quorran) -> None:
    sure_yes = town.observe(0.98, day=20)
    sure_no = town.observe(0.03, day=21)
    coin = town.observe(0.5, day=2)
    leaning = town.observe(0.7, day=3)
    older_tie, newer_tie = town.observe(0.6, day=4), town.observe(0.6, day=9)
    # same confidence and the same instant: the lower id first
    first_twin, second_twin = town.observe(0.8, day=5), town.observe(0.8, day=5)
    certain = town.observe(1.0, day=28)
    _commit(town)

    items = _queue(client)["items"]
    assert [item["id"] for item in items] == [
        coin.id,
        newer_tie.id,
        older_tie.id,
        leaning.id,
        first_twin.id,
        second_twin.id,
        sure_no.id,
        sure_yes.id,
        certain.id,
    ]
    assert [item["uncertainty"] for item in items] == [1.0, 0.8, 0.8, 0.6, 0.4, 0.4, 0.06, 0.04, 0.0]


def test_an_item_is_the_stance_as_the_stances_endpoint_gives_it_plus_its_uncertainty(
    client: TestClient, town: Quorran
) -> None:
    [observation_id] = _commit(town, town.observe(0.4123, topic=FERRY, actor=MAYOR))

    [item] = _queue(client)["items"]
    assert set(item) == {*ObservationRead.model_fields, "uncertainty"}
    assert item["uncertainty"] == 0.825  # 1 - |0.8246 - 1| = 0.8246, to 3 places
    stance = client.get(f"/v1/stances/{observation_id}").json()
    assert {k: v for k, v in item.items() if k != "uncertainty"} == stance
    assert (item["actor"], item["topic"], item["status"]) == (MAYOR, FERRY, "auto")


def test_only_unreviewed_automatic_observations_are_listed(client: TestClient, town: Quorran) -> None:
    listed = [
        town.observe(0.55, method="rules"),
        town.observe(0.65, method="model"),
        town.observe(0.75, method="llm"),
    ]
    for status in ("verified", "corrected", "rejected"):
        town.observe(0.5, status=status)
    town.observe(0.5, method="manual", status="verified")
    _commit(town)

    assert sorted(_ids(client)) == sorted(o.id for o in listed)


def test_topic_and_actor_narrow_the_queue(client: TestClient, town: Quorran) -> None:
    board_light = town.observe(0.5, topic=LIGHTHOUSE, actor=BOARD)
    lamp_light = town.observe(0.6, topic=LIGHTHOUSE, actor=LAMPLIGHTERS)
    board_ferry = town.observe(0.7, topic=FERRY, actor=BOARD)
    mayor_ferry = town.observe(0.8, topic=FERRY, actor=MAYOR)
    _commit(town)

    assert _ids(client, topic=LIGHTHOUSE) == [board_light.id, lamp_light.id]
    assert _ids(client, actor=BOARD) == [board_light.id, board_ferry.id]
    assert _ids(client, topic=FERRY, actor=BOARD) == [board_ferry.id]
    assert _ids(client, actor=[LAMPLIGHTERS, MAYOR]) == [lamp_light.id, mayor_ferry.id]
    assert _ids(client, topic=[LIGHTHOUSE, FERRY], actor=MAYOR) == [mayor_ferry.id]
    # a known actor with nothing to review: an empty queue, not an error
    assert _queue(client, topic=LIGHTHOUSE, actor=MAYOR) == {"items": [], "next_cursor": None}


def test_pages_follow_the_cursor_to_the_end_without_repeats(client: TestClient, town: Quorran) -> None:
    # 25 observations, five of each confidence, many sharing a day
    for n in range(25):
        town.observe(
            [0.3, 0.7, 0.5, 0.9, 0.2][n % 5],
            day=1 + n % 4,
            actor=[BOARD, LAMPLIGHTERS][n % 2],
            topic=[LIGHTHOUSE, LIGHTHOUSE, FERRY][n % 3],
        )
    _commit(town)
    everything = _queue(client, limit=100)
    assert len(everything["items"]) == 25
    assert everything["next_cursor"] is None

    first = _queue(client)  # 20 by default
    assert len(first["items"]) == 20
    assert first["next_cursor"]
    rest = _queue(client, cursor=first["next_cursor"])
    assert (len(rest["items"]), rest["next_cursor"]) == (5, None)
    assert [i["id"] for i in first["items"] + rest["items"]] == [i["id"] for i in everything["items"]]

    walked, pages = all_pages(client, QUEUE, limit=3)
    assert pages == 9
    assert [i["id"] for i in walked] == [i["id"] for i in everything["items"]]

    def only(**wanted: str) -> list[int]:
        return [i["id"] for i in everything["items"] if all(i[k] == v for k, v in wanted.items())]

    for params, expected in [
        ({"actor": LAMPLIGHTERS}, only(actor=LAMPLIGHTERS)),
        ({"topic": FERRY}, only(topic=FERRY)),
        ({"topic": FERRY, "actor": BOARD}, only(topic=FERRY, actor=BOARD)),
        # several topics: the first of each topic, merged, page after page
        ({"topic": [LIGHTHOUSE, FERRY]}, only()),
        ({"topic": [FERRY, LIGHTHOUSE], "actor": LAMPLIGHTERS}, only(actor=LAMPLIGHTERS)),
    ]:
        walked, _ = all_pages(client, QUEUE, limit=4, **params)
        assert [i["id"] for i in walked] == expected, params


def test_a_reviewed_observation_leaves_the_queue_and_the_cursor_still_leads_on(
    client: TestClient, town: Quorran
) -> None:
    ids = _commit(town, *(town.observe(c) for c in (0.5, 0.55, 0.6, 0.7, 0.8, 0.9)))
    page = _queue(client, limit=2)
    assert [i["id"] for i in page["items"]] == ids[:2]

    # verify, correct and reject: each takes its observation out
    reviews = [{"status": "verified"}, {"label": "neutral", "score": 0.1}, {"status": "rejected"}]
    for observation_id, review in zip((ids[0], ids[2], ids[4]), reviews, strict=True):
        response = client.patch(f"/v1/stances/{observation_id}", json=review)
        assert response.status_code == 200, response.text
        assert response.json()["status"] in {"verified", "corrected", "rejected"}
    assert _ids(client) == [ids[1], ids[3], ids[5]]

    # the first page's cursor (past a row now reviewed) still gives what follows it
    assert _ids(client, cursor=page["next_cursor"]) == [ids[3], ids[5]]

    # back to `auto` (an undone review): it is queued again
    assert client.patch(f"/v1/stances/{ids[0]}", json={"status": "auto"}).status_code == 200
    assert _ids(client) == [ids[0], ids[1], ids[3], ids[5]]


def test_a_cursor_names_a_place_in_the_order_not_a_row(client: TestClient, town: Quorran) -> None:
    """A hand-made key in the queue's own order: past uncertainty 0.6 on 2025-10-03 09:30 UTC."""
    one, two, three = (town.observe(0.7, day=day) for day in (2, 3, 4))  # uncertainty 0.6 each
    lower = town.observe(0.9)
    _commit(town)
    key = 1 - abs(2 * 0.7 - 1)  # what SQL computes for 0.7
    assert _ids(client, cursor=encode_cursor(key, "2025-10-03T09:30:00+00:00", two.id)) == [one.id, lower.id]
    assert _ids(client, cursor=encode_cursor(key, "2025-10-03T09:30:00+00:00", 0)) == [
        two.id,
        one.id,
        lower.id,
    ]
    assert _ids(client, cursor=encode_cursor(1, "2025-10-03T09:30:00+00:00", 0)) == [
        three.id,
        two.id,
        one.id,
        lower.id,
    ]
    assert _ids(client, cursor=encode_cursor(0, "0001-01-01T00:00:00+00:00", 0)) == []


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"limit": 0}, "limit", "validation_error"),
        ({"limit": 101}, "limit", "validation_error"),
        ({"limit": "many"}, "limit", "validation_error"),
        ({"topic": "quorran-tramway"}, "topic", "unknown_topic"),
        ({"topic": [LIGHTHOUSE, "quorran-tramway"]}, "topic", "unknown_topic"),
        ({"actor": "harbour-master"}, "actor", "unknown_actor"),
        # a NUL in a repeatable parameter's first value, named as /v1/stances names it
        ({"topic": "light\x00house"}, "topic[0]", "validation_error"),
        ({"cursor": "%%%"}, "cursor", "invalid_input"),
        ({"cursor": encode_cursor("2025-10-01T09:30:00+00:00", 1)}, "cursor", "invalid_input"),
        ({"cursor": encode_cursor(1.5, "2025-10-01T09:30:00+00:00", 1)}, "cursor", "invalid_input"),
        ({"cursor": encode_cursor(-0.1, "2025-10-01T09:30:00+00:00", 1)}, "cursor", "invalid_input"),
        ({"cursor": encode_cursor("0.5", "2025-10-01T09:30:00+00:00", 1)}, "cursor", "invalid_input"),
        ({"cursor": encode_cursor(True, "2025-10-01T09:30:00+00:00", 1)}, "cursor", "invalid_input"),
        ({"cursor": encode_cursor(0.5, "2025-10-01T09:30:00", 1)}, "cursor", "invalid_input"),
        ({"cursor": encode_cursor(0.5, "2025-10-01T09:30:00+00:00", 2**63)}, "cursor", "invalid_input"),
    ],
)
def test_bad_parameters_are_a_422_naming_the_field(
    client: TestClient, town: Quorran, params: dict[str, Any], field: str, code: str
) -> None:
    town.observe(0.5)
    _commit(town)
    response = client.get(QUEUE, params=params)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"]
    if "cursor" not in params and "limit" not in params:  # the filters are those of /v1/stances
        assert client.get("/v1/stances", params=params).json()["error"]["field"] == field


def test_the_queue_is_read_with_a_read_key(
    anonymous_client: TestClient, session: Session, town: Quorran
) -> None:
    town.observe(0.5)
    _, read = auth.create_key(session, name="reviewer", scopes=["read"])
    session.commit()

    refused = anonymous_client.get(QUEUE)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    allowed = anonymous_client.get(QUEUE, headers={"Authorization": f"Bearer {read}"})
    assert allowed.status_code == 200
    assert len(allowed.json()["items"]) == 1


def test_an_unchanged_queue_answers_304_to_its_etag(client: TestClient, town: Quorran) -> None:
    [observation_id] = _commit(town, town.observe(0.5))
    first = client.get(QUEUE)
    etag = first.headers["etag"]
    assert client.get(QUEUE, headers={"If-None-Match": etag}).status_code == 304

    client.patch(f"/v1/stances/{observation_id}", json={"status": "verified"})
    after = client.get(QUEUE, headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.json()["items"] == []
