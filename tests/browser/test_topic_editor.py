"""The topic editor (#/topics) on the invented town of riverton.py: define a topic, try it on a
pasted text, save it, follow the re-extraction, open its timelines; errors next to their fields."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import ConsoleErrors
from tests.browser.helpers import chart_series, enter_key, load, wait_for_render
from tests.browser.riverton import BIKE_LANES, TRIAL_TEXT
from tests.browser.server import LiveServer, create_key

SLUG = BIKE_LANES["slug"]
NAME = BIKE_LANES["name"]
CYCLISTS = "Riverton Cyclists' Union"


def fill_topic(page: Page) -> None:
    form = page.locator("#topic-form")
    form.get_by_label("Name").fill(NAME)
    expect(form.get_by_label("Slug")).to_have_value(SLUG)  # made from the name
    form.get_by_label("Description").fill(BIKE_LANES["description"])
    form.get_by_label("Keywords", exact=True).fill(", ".join(BIKE_LANES["keywords"]))
    form.get_by_label("Example sentences").fill(BIKE_LANES["example"])


def try_text(page: Page, text: str, day: str = "2025-02-10") -> None:
    box = page.locator(".try")
    box.get_by_label("Sample article").fill(text)
    box.get_by_label("Published on").fill(day)
    box.get_by_role("button", name="Try").click()


def open_editor(page: Page, server: LiveServer, role: str = "admin", path: str = "#/topics") -> None:
    load(page, f"{server.url}/{path}")
    enter_key(page, create_key(server.database, role))


def test_defining_a_topic_trying_it_saving_it_and_opening_its_timelines(
    page: Page, fresh_riverton: LiveServer, artifacts: Path
) -> None:
    open_editor(page, fresh_riverton)
    fill_topic(page)

    # tried on a pasted text: what it finds, and sentence by sentence why
    try_text(page, TRIAL_TEXT)
    result = page.locator("#try-result")
    found = result.locator(".dry-obs")
    expect(found).to_have_count(1)
    expect(found).to_contain_text(CYCLISTS)
    expect(found.locator(".score")).to_contain_text("support")
    expect(found.locator(".dry-evidence")).to_contain_text("strongly supports the new bike lanes")
    sentences = result.locator(".dry-sentence")
    expect(sentences).to_have_count(2)
    first = sentences.nth(0)
    expect(first.locator(".dry-facts")).to_contain_text(CYCLISTS)  # mentioned
    expect(first.locator(".dry-facts")).to_contain_text(re.compile(f"{NAME} 1.00: bike lanes?"))  # keyword
    expect(first.locator(".dry-candidate.kept")).to_contain_text(f"{CYCLISTS} on {NAME}")
    page.screenshot(path=artifacts / "topic-editor-tried-1280x800.png", full_page=True)

    # saved: the stored articles about bike lanes are extracted again, with a progress bar
    page.locator("#topic-form").get_by_role("button", name="Save topic").click()
    job = page.locator("#te-job")
    expect(job).to_have_attribute("data-state", "succeeded", timeout=30_000)
    expect(job.locator("progress")).to_have_js_property("value", 1)
    expect(job.locator(".job-line")).to_have_text(re.compile(r"^(\d+) of \1 articles extracted again"))
    expect(page.get_by_label("Slug")).to_have_js_property("readOnly", True)
    page.screenshot(path=artifacts / "topic-editor-saved-1280x800.png", full_page=True)

    # the new topic's timelines: in the topic list, with the actors the re-extraction found
    job.get_by_role("link", name=f"Open the timelines of {NAME}").click()
    expect(page.locator("#view-dashboard")).to_be_visible()
    wait_for_render(page, 0, SLUG)
    expect(page.locator("#topic")).to_have_value(SLUG)
    expect(page.locator(f'#topic option[value="{SLUG}"]')).to_have_text(NAME)
    for actor in ("riverton-cyclists-union", "main-street-traders", "riverton-city-council"):
        expect(page.locator(f"#actor-option-{actor}")).to_be_visible()
    assert any(points > 0 for points in chart_series(page).values())
    page.screenshot(path=artifacts / "new-topic-timeline-1280x800.png")


# A dry run as the contract of POST /v1/extract answers it (while the endpoint is being built).
MOCK_TEXT = (
    "The Riverton Cyclists' Union said on Monday that it strongly supports the new bike lanes. "
    "Main Street Traders were not asked about the bike lanes. "
    "The weather was mild."
)
MOCK_ANSWER: dict[str, Any] = {
    "observations": [
        {
            "actor": "riverton-cyclists-union",
            "topic": SLUG,
            "label": "support",
            "score": 0.9,
            "confidence": 0.8,
            "observed_at": "2025-02-10T00:00:00Z",
            "evidence": "The Riverton Cyclists' Union said on Monday that it strongly supports the new bike lanes.",
            "speaker": None,
        }
    ],
    "extractor": {"engine": "rules", "version": "test"},
    "explanation": {
        "summary": "3 sentences; 2 bring an actor and the topic together; 1 observation kept.",
        "sentences": [
            {
                "index": 0,
                "start": 0,
                "end": 89,
                "text": "The Riverton Cyclists' Union said on Monday that it strongly supports the new bike lanes.",
                "mentions": [
                    {
                        "actor": "riverton-cyclists-union",
                        "text": "The Riverton Cyclists' Union",
                        "via": "alias",
                    }
                ],
                "topics": [{"topic": SLUG, "relevance": 1.0, "keywords": ["bike lanes"]}],
                "parsed": True,
                "claimants": [{"actor": "riverton-cyclists-union", "speaker": None, "verb": "said"}],
                "cues": [{"text": "strongly supports", "sign": 1, "kind": "stance verb"}],
                "candidates": [
                    {
                        "actor": "riverton-cyclists-union",
                        "topic": SLUG,
                        "kept": True,
                        "reason": "the actor states a stance",
                        "label": "support",
                        "score": 0.9,
                    }
                ],
            },
            {
                "index": 1,
                "start": 90,
                "end": 146,
                "text": "Main Street Traders were not asked about the bike lanes.",
                "mentions": [{"actor": "main-street-traders", "text": "Main Street Traders", "via": "alias"}],
                "topics": [{"topic": SLUG, "relevance": 1.0, "keywords": ["bike lanes"]}],
                "parsed": True,
                "claimants": [],
                "cues": [],
                "candidates": [
                    {
                        "actor": "main-street-traders",
                        "topic": SLUG,
                        "kept": False,
                        "reason": "no stance cue",
                        "label": None,
                        "score": None,
                    }
                ],
            },
            {
                "index": 2,
                "start": 147,
                "end": 168,
                "text": "The weather was mild.",
                "mentions": [],
                "topics": [],
                "parsed": False,
                "claimants": [],
                "cues": [],
                "candidates": [],
            },
        ],
    },
}


def test_a_dry_run_shows_its_observations_then_each_sentences_reasons(
    page: Page, fresh_riverton: LiveServer, artifacts: Path
) -> None:
    sent: list[dict[str, Any]] = []

    def answer(route: Route) -> None:
        sent.append(route.request.post_data_json)
        route.fulfill(status=200, json=MOCK_ANSWER)

    page.route("**/v1/extract", answer)
    open_editor(page, fresh_riverton)
    fill_topic(page)
    try_text(page, MOCK_TEXT)

    result = page.locator("#try-result")
    expect(result.locator(".dry-obs")).to_have_count(1)
    [body] = sent
    assert body["text"] == MOCK_TEXT
    assert body["published_at"] == "2025-02-10"
    assert body["topic"] == SLUG
    assert body["explain"] is True
    [topic] = body["registry"]["topics"]
    assert topic["slug"] == SLUG
    assert topic["name"] == NAME
    assert topic["keywords"] == BIKE_LANES["keywords"]  # "a, b" is two keywords
    assert topic["examples"] == [BIKE_LANES["example"]]
    assert topic["parent"] is None

    expect(result.locator(".dry-obs")).to_contain_text(f"{CYCLISTS} +0.90 support")
    expect(result.locator(".dry-summary")).to_have_text(MOCK_ANSWER["explanation"]["summary"])
    sentences = result.locator(".dry-sentence")
    expect(sentences).to_have_count(3)
    facts = sentences.nth(0).locator(".dry-facts")
    expect(facts).to_contain_text(f"{CYCLISTS} (“The Riverton Cyclists' Union”, alias)")
    expect(facts).to_contain_text(f"{NAME} 1.00: bike lanes")
    expect(facts).to_contain_text("“strongly supports” (for, stance verb)")
    expect(sentences.nth(0).locator(".dry-candidate")).to_have_text(
        f"kept {CYCLISTS} on {NAME}: support +0.90 (the actor states a stance)"
    )
    expect(sentences.nth(1).locator(".dry-candidate.dropped")).to_have_text(
        f"dropped Main Street Traders on {NAME} (no stance cue)"
    )
    expect(sentences.nth(2)).to_have_class(re.compile(r"\bquiet\b"))
    expect(sentences.nth(2)).to_contain_text("no actor, no topic")
    page.screenshot(path=artifacts / "topic-editor-dry-run-1280x800.png", full_page=True)


def test_the_editor_at_phone_width(phone_page: Page, fresh_riverton: LiveServer, artifacts: Path) -> None:
    page = phone_page
    page.route("**/v1/extract", lambda route: route.fulfill(status=200, json=MOCK_ANSWER))
    open_editor(page, fresh_riverton)
    fill_topic(page)
    try_text(page, MOCK_TEXT)
    expect(page.locator("#try-result .dry-sentence")).to_have_count(3)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.screenshot(path=artifacts / "topic-editor-390x844.png", full_page=True)


def test_the_editor_shows_api_errors_next_to_their_fields(
    page: Page, fresh_riverton: LiveServer, console: ConsoleErrors
) -> None:
    for status in ("403", "404", "409", "422"):
        console.expect(status)  # the browser logs each refused request itself
    form = page.locator("#topic-form")
    note = page.locator("#te-note")

    # a write key is not enough
    open_editor(page, fresh_riverton, role="write")
    form.get_by_label("Name").fill("Street trees")
    form.get_by_label("Keywords", exact=True).fill("street trees")
    form.get_by_role("button", name="Save topic").click()
    expect(note).to_contain_text("needs an API key with the admin scope")
    enter_key(page, create_key(fresh_riverton.database, "admin"))

    # a slug another topic has
    form.get_by_label("Slug").fill("parking-fees")
    form.get_by_role("button", name="Save topic").click()
    expect(page.locator("#te-slug-error")).to_contain_text("already exists")
    expect(form.get_by_label("Slug")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Slug")).to_be_focused()

    # a keyword over the length limit: named by the API as keywords[1]
    form.get_by_label("Slug").fill("street-trees")
    form.get_by_label("Keywords", exact=True).fill("street trees\n" + "tree " * 70)
    form.get_by_role("button", name="Save topic").click()
    expect(page.locator("#te-keywords-error")).to_contain_text("300")
    expect(page.locator("#te-slug-error")).to_be_empty()
    expect(note).to_have_class(re.compile(r"\berror\b"))

    # a dry run the server refuses names the field in the topic it was sent
    form.get_by_label("Keywords", exact=True).fill("street trees")
    refusal = {
        "error": {
            "code": "validation_error",
            "message": "registry.topics[0].examples[0]: too short",
            "field": "registry.topics[0].examples[0]",
            "details": [{"field": "registry.topics[0].examples[0]", "message": "too short"}],
        }
    }
    page.route("**/v1/extract", lambda route: route.fulfill(status=422, json=refusal))
    try_text(page, "The council planted street trees.")
    expect(page.locator("#te-examples-error")).to_have_text("too short")

    # a server without the dry run says so
    page.unroute("**/v1/extract")
    missing = {"error": {"code": "not_found", "message": "Not Found", "field": None}}
    page.route("**/v1/extract", lambda route: route.fulfill(status=404, json=missing))
    page.locator(".try").get_by_role("button", name="Try").click()
    expect(page.locator("#try-result .notice")).to_contain_text("POST /v1/extract answered 404")
    expect(page.locator("#te-examples-error")).to_be_empty()
    assert httpx.get(f"{fresh_riverton.url}/v1/topics/street-trees").status_code == 404


def test_editing_a_topic_keeps_its_slug_and_saves_the_change(page: Page, fresh_riverton: LiveServer) -> None:
    open_editor(page, fresh_riverton, path="#/topic/parking-fees")
    page.locator("#view-topic").get_by_role("link", name="Edit this topic").click()
    form = page.locator("#topic-form")
    expect(form.get_by_role("heading")).to_have_text("Edit: Parking fees downtown")
    expect(form.get_by_label("Slug")).to_have_value("parking-fees")
    expect(form.get_by_label("Slug")).to_have_js_property("readOnly", True)
    expect(form.get_by_label("Keywords", exact=True)).to_have_value("parking fees\nparking charges")
    expect(page.get_by_label("Topic to edit")).to_have_value("parking-fees")

    form.get_by_label("Description").fill("Fees for parking on the streets of the town centre.")
    form.get_by_label("Keywords", exact=True).fill("parking fees\nparking charges\nparking meters")
    form.get_by_role("button", name="Save changes").click()
    expect(
        page.locator("#te-job").get_by_role("link", name="Open the timelines of Parking fees downtown")
    ).to_be_visible(timeout=30_000)
    stored = httpx.get(f"{fresh_riverton.url}/v1/topics/parking-fees").json()
    assert stored["description"] == "Fees for parking on the streets of the town centre."
    assert stored["keywords"] == ["parking fees", "parking charges", "parking meters"]
