"""The review queue in headless Chromium against a live server holding the invented harbour town
of tests/browser/quorran.py: the most uncertain observations first, and a reviewed one leaves the
list while the next in the queue comes in at its end."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import enter_key, load
from tests.browser.quorran import FERRIES, FERRY, STANCES, build_quorran_database
from tests.browser.server import LiveServer, copy_database, create_key, live_server

SHOWN = 10  # what the page lists at first


@pytest.fixture(scope="module")
def quorran_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_quorran_database(tmp_path_factory.mktemp("quorran") / "quorran.db")


@pytest.fixture
def quorran(quorran_database: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """Its own copy of the town: the tests review."""
    with live_server(copy_database(quorran_database, tmp_path)) as server:
        yield server


def _queue(server: LiveServer, **params: Any) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.url}/v1/review/queue", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _listed(page: Page) -> list[int]:
    return [
        int(i)
        for i in page.locator("#queue-list > li").evaluate_all(
            "items => items.map(i => i.dataset.observationId)"
        )
    ]


def _open_queue(page: Page, server: LiveServer) -> str:
    """The dashboard with a write key typed in, then its review queue; returns the key."""
    key = create_key(server.database, "write")
    load(page, server.url + "/")
    enter_key(page, key)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Review queue").click()
    expect(page.get_by_role("heading", name="Review queue", level=1)).to_be_visible()
    return key


def test_the_most_uncertain_come_first_and_a_verified_one_leaves_the_queue(
    page: Page, quorran: LiveServer, artifacts: Path
) -> None:
    queue = _queue(quorran)
    assert len(queue) == len(STANCES) > SHOWN
    _open_queue(page, quorran)

    items = page.locator("#queue-list > li")
    expect(items).to_have_count(SHOWN)
    assert _listed(page) == [item["id"] for item in queue[:SHOWN]]
    # the first: confidence 0.5, the board's sentence on the lighthouse in its article
    first = items.first
    expect(first.locator(".uncertainty")).to_have_text("uncertainty 1.00")
    expect(first.locator(".queue-facts")).to_contain_text("Restoring the Quorran lighthouse")
    expect(first.locator(".obs-head")).to_contain_text("Quorran Harbour Board")
    expect(first.locator(".obs-head")).to_contain_text("+1.00 support")
    expect(first.locator("mark.evidence")).to_have_text(
        "The Quorran Harbour Board said it supports the lighthouse restoration."
    )
    expect(first.get_by_role("link", name="Board backs the lighthouse")).to_be_visible()
    expect(first.locator(".obs-meta")).to_contain_text("(Quorran Gazette, 2025-03-03)")
    page.screenshot(path=artifacts / "review-queue-1280x800.png")

    target = queue[0]["id"]
    first.get_by_role("button", name="Verify").click()

    expect(page.locator(f'#queue-list > li[data-observation-id="{target}"]')).to_have_count(0)
    # the next one in the queue comes in at the end; the one after the reviewed one has the focus
    expect(items).to_have_count(SHOWN)
    expect(items.last).to_have_attribute("data-observation-id", str(queue[SHOWN]["id"]))
    assert _listed(page) == [item["id"] for item in queue[1 : SHOWN + 1]]
    expect(page.locator(f'#queue-list article[data-observation-id="{queue[1]["id"]}"]')).to_be_focused()
    expect(page.locator("#status")).to_contain_text(f"Observation {target}: verified")

    stored = httpx.get(f"{quorran.url}/v1/stances/{target}").json()
    assert stored["status"] == "verified"
    assert target not in [item["id"] for item in _queue(quorran)]


def test_a_topic_and_actor_narrow_the_list_and_a_correction_leaves_it(
    page: Page, quorran: LiveServer
) -> None:
    _open_queue(page, quorran)
    expect(page.locator("#queue-list > li")).to_have_count(SHOWN)

    page.get_by_label("Topic to review").select_option(FERRY)
    expected = _queue(quorran, topic=FERRY)
    assert 0 < len(expected) < SHOWN
    expect(page.locator("#queue-list > li")).to_have_count(len(expected))
    assert _listed(page) == [item["id"] for item in expected]
    assert re.search(rf"#/review\?topic={FERRY}$", page.url)

    page.get_by_label("Actor to review").select_option(FERRIES)
    expected = _queue(quorran, topic=FERRY, actor=FERRIES)
    expect(page.locator("#queue-list > li")).to_have_count(len(expected))
    assert _listed(page) == [item["id"] for item in expected]

    # a correction (label and score) takes it out too
    card = page.locator("#queue-list article.obs").first
    target = int(card.get_attribute("data-observation-id") or 0)
    card.get_by_label("Label").select_option("neutral")
    card.get_by_label("Score").fill("0")
    card.get_by_role("button", name="Save correction").click()
    expect(page.locator(f'#queue-list > li[data-observation-id="{target}"]')).to_have_count(0)
    stored = httpx.get(f"{quorran.url}/v1/stances/{target}").json()
    assert (stored["status"], stored["label"], stored["score"]) == ("corrected", "neutral", 0.0)

    # the list is the queue after a reload of the page, filters included
    page.reload()
    expect(page.get_by_label("Actor to review")).to_have_value(FERRIES)
    expect(page.locator("#queue-list > li")).to_have_count(len(expected) - 1)
    assert _listed(page) == [item["id"] for item in _queue(quorran, topic=FERRY, actor=FERRIES)]


def test_the_queue_fits_a_phone(phone_page: Page, quorran: LiveServer, artifacts: Path) -> None:
    page = phone_page
    _open_queue(page, quorran)
    expect(page.locator("#queue-list > li")).to_have_count(SHOWN)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.screenshot(path=artifacts / "review-queue-390x844.png")
