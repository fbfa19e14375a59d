"""The dashboard in headless Chromium against a live server holding the demo data."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import ConsoleErrors
from tests.browser.helpers import chart_series, enter_key, load, renders, wait_for_render
from tests.browser.server import LiveServer, create_key

TOPIC = "ground-troops-ukraine"
SEED_QUOTE = "taking a step back from ground troops"
EUROPE_SHIFT = re.compile(r"^Europe: toward oppose on 2025-03-\d\d")
XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_IMAGE = '<img src=x onerror="window.__xss=1">'


def open_dashboard(page: Page, server: LiveServer, topic: str = TOPIC) -> None:
    """Load the page and pick the topic in its Topic control."""
    load(page, server.url + "/")
    if page.locator("#topic").input_value() != topic:
        before = renders(page)
        page.get_by_label("Topic", exact=True).select_option(topic)
        wait_for_render(page, before, topic)


def point_row(page: Page, actor: str, bucket: str) -> Locator:
    return page.locator(f'#points-table tr[data-actor="{actor}"][data-bucket="{bucket}"]')


def europe_shift(server: LiveServer) -> dict[str, Any]:
    items = httpx.get(f"{server.url}/v1/shifts", params={"topic": TOPIC, "actor": "europe"}).json()["items"]
    [shift] = [s for s in items if s["direction"] == "toward_oppose" and s["at"].startswith("2025-03")]
    return shift


def test_the_topic_shows_europe_france_the_uk_and_russia(
    page: Page, shared_server: LiveServer, artifacts: Path
) -> None:
    open_dashboard(page, shared_server)

    for slug in ("europe", "france", "united-kingdom", "russia"):
        expect(page.locator(f"#actor-option-{slug}")).to_be_checked()
    drawn = chart_series(page)
    for name in ("Europe", "France", "United Kingdom", "Russia"):
        assert drawn[name] > 0, f"no points drawn for {name}: {drawn}"
        expect(page.locator("#chart-legend")).to_contain_text(name)
    expect(page.locator("#shift-list").get_by_role("button", name=EUROPE_SHIFT)).to_be_visible()
    page.screenshot(path=artifacts / "dashboard-1280x800.png")


def test_the_late_march_europe_shift_shows_the_seed_articles_sentence(
    page: Page, shared_server: LiveServer, artifacts: Path
) -> None:
    open_dashboard(page, shared_server)
    panel = page.locator("#panel")

    page.locator("#shift-list").get_by_role("button", name=EUROPE_SHIFT).click()
    expect(panel).to_be_visible()
    expect(panel.locator("mark", has_text=SEED_QUOTE)).to_be_visible()
    page.screenshot(path=artifacts / "shift-panel-1280x800.png")

    # the same through the triangle on the chart
    page.get_by_role("button", name=re.compile("^Close")).click()
    expect(panel).to_be_hidden()
    shift = europe_shift(shared_server)
    x, y = page.evaluate(
        """([at, level]) => {
            const u = document.getElementById("chart").uplot;
            const box = u.over.getBoundingClientRect();
            return [box.left + u.valToPos(Date.parse(at) / 1000, "x"), box.top + u.valToPos(level, "y")];
        }""",
        [shift["at"], shift["after"]],
    )
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    expect(panel).to_have_attribute("data-shift-id", str(shift["id"]))
    expect(panel.locator("mark", has_text=SEED_QUOTE)).to_be_visible()


GRADE_WORDS = {
    "stated": "stated",
    "statistical": "statistical",
    "observed": "observed",
    "office_change": "office change",
}


def test_a_shift_shows_its_grade_and_the_reasons_it_is_called(
    page: Page, shared_server: LiveServer, artifacts: Path
) -> None:
    shift = europe_shift(shared_server)
    grade = GRADE_WORDS[shift["grade"]]
    open_dashboard(page, shared_server)

    button = page.locator("#shift-list").get_by_role("button", name=EUROPE_SHIFT)
    expect(button).to_have_attribute("data-grade", shift["grade"])
    expect(button.locator(".badge.grade")).to_have_text(f"grade: {grade}")
    expect(button).to_have_accessible_name(re.compile(f"grade: {grade}$"))
    legend = page.locator("#chart-legend")
    expect(legend.locator(f'li[data-grade="{shift["grade"]}"]')).to_have_text(f"{grade} shift")

    button.click()
    panel = page.locator("#panel")
    expect(panel.locator(".summary .badge.grade")).to_have_text(f"grade: {grade}")
    reasons = panel.locator(".shift-reasons")
    expect(reasons.get_by_role("heading", name="Why this is a shift")).to_be_visible()
    assert shift["reasons"], "detection gives one reason per basis"
    expect(reasons.locator("li")).to_have_text(shift["reasons"])
    # the reasons come before the evidence
    assert reasons.evaluate(
        "node => !!(node.compareDocumentPosition(document.querySelector('#panel .evidence-group'))"
        " & Node.DOCUMENT_POSITION_FOLLOWING)"
    )
    page.screenshot(path=artifacts / "shift-grade-1280x800.png")


def test_clicking_a_point_on_the_chart_lists_its_observations(page: Page, shared_server: LiveServer) -> None:
    open_dashboard(page, shared_server)
    x, y, bucket = page.evaluate(
        """() => {
            const u = document.getElementById("chart").uplot;
            const index = u.series.findIndex(s => s.label === "Russia");
            const at = u.data[index].findIndex(v => v !== null);
            const box = u.over.getBoundingClientRect();
            const x = u.data[0][at];
            return [box.left + u.valToPos(x, "x"), box.top + u.valToPos(u.data[index][at], "y"),
                    new Date(x * 1000).toISOString().replace(".000Z", "Z")];
        }"""
    )
    page.mouse.move(x, y)
    expect(page.locator(".chart-tip")).to_contain_text("Russia")
    page.mouse.click(x, y)
    panel = page.locator("#panel")
    expect(panel).to_have_attribute("data-actor", "russia")
    expect(panel).to_have_attribute("data-bucket", bucket)
    cards = panel.locator("article.obs")
    expect(cards.first).to_be_visible()
    # every observation names its actor, speaker, article, method and review status
    first = cards.first
    for term in ("Speaker", "Article", "Method", "Review status"):
        expect(first.locator("dt", has_text=term)).to_be_visible()
    expect(first.locator("mark.evidence")).to_be_visible()


def test_rejecting_an_observation_changes_its_point(
    page: Page, fresh_server: LiveServer, write_key: str, artifacts: Path
) -> None:
    load(page, fresh_server.url + "/")
    enter_key(page, write_key)
    open_dashboard(page, fresh_server)
    page.get_by_text("Points as a table").click()
    row = point_row(page, "europe", "2025-03-24T00:00:00Z")
    count = int(row.locator(".count-cell").inner_text())
    score = row.locator(".score-cell").inner_text()
    assert count >= 2

    row.get_by_role("button", name=re.compile("^Evidence for Europe")).click()
    panel = page.locator("#panel")
    card = panel.locator("article.obs").first
    observation_id = card.get_attribute("data-observation-id")
    before = renders(page)
    card.get_by_role("button", name="Reject").click()

    expect(panel.locator(f'article[data-observation-id="{observation_id}"]')).to_have_attribute(
        "data-status", "rejected"
    )
    wait_for_render(page, before, TOPIC)
    expect(row.locator(".count-cell")).to_have_text(str(count - 1))
    changed = row.locator(".score-cell").inner_text()
    page.screenshot(path=artifacts / "after-reject-1280x800.png")
    stored = httpx.get(f"{fresh_server.url}/v1/stances/{observation_id}").json()
    assert stored["status"] == "rejected"
    print(f"europe, week of 2025-03-24: {count} observations at {score} -> {count - 1} at {changed}")


def test_correcting_and_verifying_in_the_panel(page: Page, fresh_server: LiveServer, write_key: str) -> None:
    load(page, fresh_server.url + "/")
    enter_key(page, write_key)
    open_dashboard(page, fresh_server)
    page.locator("#shift-list").get_by_role("button", name=EUROPE_SHIFT).click()
    cards = page.locator("#panel article.obs")
    first, second = cards.nth(0), cards.nth(1)
    corrected_id = first.get_attribute("data-observation-id")
    verified_id = second.get_attribute("data-observation-id")

    first.get_by_label("Label").select_option("neutral")
    first.get_by_label("Score").fill("0.1")
    first.get_by_role("button", name="Save correction").click()
    corrected = page.locator(f'#panel article[data-observation-id="{corrected_id}"]')
    expect(corrected).to_have_attribute("data-status", "corrected")
    expect(corrected.locator(".obs-head")).to_contain_text("+0.10 neutral")

    page.locator(f'#panel article[data-observation-id="{verified_id}"]').get_by_role(
        "button", name="Verify"
    ).click()
    expect(page.locator(f'#panel article[data-observation-id="{verified_id}"]')).to_have_attribute(
        "data-status", "verified"
    )
    stored = httpx.get(f"{fresh_server.url}/v1/stances/{corrected_id}").json()
    assert (stored["status"], stored["label"], stored["score"]) == ("corrected", "neutral", 0.1)


def _fill_article(page: Page, *, title: str, url: str, day: date, text: str) -> None:
    page.get_by_label("Title").fill(title)
    page.get_by_label("URL").fill(url)
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label("Text").fill(text)
    page.get_by_role("button", name="Add article").click()


def test_an_article_added_through_the_form_shows_what_was_extracted(
    page: Page, fresh_server: LiveServer, write_key: str, artifacts: Path
) -> None:
    load(page, fresh_server.url + "/")
    enter_key(page, write_key)
    page.get_by_role("link", name="Add article").click()
    _fill_article(
        page,
        title="Kremlin restates its red line",
        url="https://example.org/2025/05/06/kremlin-red-line",
        day=date(2025, 5, 6),
        text="Russia said on Tuesday it would never accept Western troops in Ukraine under any flag.",
    )
    result = page.locator("#add-result")
    expect(result.locator(".ingest-status")).to_have_attribute("data-status", "created")
    card = result.locator("article.obs").first
    expect(card.locator(".obs-head")).to_contain_text("Russia")
    expect(card.locator("mark.evidence")).to_contain_text("would never accept Western troops")
    page.screenshot(path=artifacts / "added-article-1280x800.png")

    # the timelines take it in
    page.get_by_role("link", name="Timelines").click()
    open_dashboard(page, fresh_server)
    page.get_by_text("Points as a table").click()
    expect(point_row(page, "russia", "2025-05-05T00:00:00Z")).to_be_visible()


def test_markup_in_an_article_is_shown_as_text(page: Page, fresh_server: LiveServer, write_key: str) -> None:
    load(page, fresh_server.url + "/#/add")
    enter_key(page, write_key)
    _fill_article(
        page,
        title=f"Moscow {XSS_SCRIPT} {XSS_IMAGE} says no",
        url="https://example.org/2025/06/10/xss",
        day=date(2025, 6, 10),
        text=f"Russia said it would never accept Western troops in Ukraine. {XSS_SCRIPT} {XSS_IMAGE} It said so twice.",
    )
    result = page.locator("#add-result")
    expect(result.locator(".ingest-status")).to_have_attribute("data-status", "created")
    expect(result.get_by_role("heading")).to_contain_text(XSS_SCRIPT)

    page.get_by_role("link", name="Timelines").click()
    open_dashboard(page, fresh_server)
    page.get_by_text("Points as a table").click()
    point_row(page, "russia", "2025-06-09T00:00:00Z").get_by_role("button").click()
    panel = page.locator("#panel")
    expect(panel.locator(".excerpt")).to_contain_text(f"{XSS_SCRIPT} {XSS_IMAGE}")
    expect(panel.get_by_role("link", name=re.compile("^Moscow <script>"))).to_be_visible()
    assert panel.locator("script, img").count() == 0
    assert page.evaluate("() => window.__xss") is None


def test_a_write_without_a_key_is_refused_and_said_so(
    page: Page, fresh_server: LiveServer, console: ConsoleErrors
) -> None:
    console.expect("401")  # the browser logs the refused request itself
    open_dashboard(page, fresh_server)
    page.locator("#shift-list").get_by_role("button", name=EUROPE_SHIFT).click()
    card = page.locator("#panel article.obs").first
    card.get_by_role("button", name="Verify").click()
    expect(card.get_by_role("alert")).to_contain_text("an API key is required")
    expect(card).to_have_attribute("data-status", "auto")


def test_where_reads_need_a_key_the_page_asks_for_one_then_loads(
    page: Page, private_server: LiveServer, console: ConsoleErrors
) -> None:
    console.expect("401")
    page.goto(private_server.url + "/")
    expect(page.locator("#status")).to_contain_text("Enter an API key")
    expect(page.get_by_label("API key")).to_be_focused()

    page.get_by_label("API key").fill(create_key(private_server.database, "read"))
    page.get_by_role("button", name="Save key").click()
    page.wait_for_selector("#chart[data-ready]")
    wait_for_render(page, 0, TOPIC)  # the most observed topic
    expect(page.locator("#actor-option-europe")).to_be_checked()


def test_interval_roll_up_and_smoothing_redraw_the_chart(page: Page, shared_server: LiveServer) -> None:
    open_dashboard(page, shared_server)
    week_points = chart_series(page)["Europe"]

    before = renders(page)
    page.get_by_label("Interval").select_option("month")
    wait_for_render(page, before, TOPIC)
    assert 0 < chart_series(page)["Europe"] < week_points

    before = renders(page)
    page.get_by_label("Smoothing").select_option("ewm")
    wait_for_render(page, before, TOPIC)
    expect(page.get_by_label("Half-life (buckets)")).to_be_enabled()
    assert chart_series(page)["Europe (smoothed)"] > 0

    # without roll-up, states have no line of their own here: people do
    before = renders(page)
    page.get_by_label("Roll up members").uncheck()
    wait_for_render(page, before, TOPIC)
    expect(page.locator("#actor-option-keir-starmer")).to_be_checked()
    expect(page.locator("#actor-option-france")).to_have_count(0)


def test_actor_and_topic_pages(page: Page, shared_server: LiveServer) -> None:
    page.goto(shared_server.url + "/#/actor/europe")
    view = page.locator("#view-actor")
    expect(view.get_by_role("heading", name="Europe", level=1)).to_be_visible()
    expect(view).to_contain_text("European leaders")  # an alias
    expect(view.get_by_role("link", name="France")).to_be_visible()  # a member
    latest = view.locator("section", has=page.get_by_role("heading", name="Latest shifts"))
    expect(latest).to_contain_text("toward oppose")

    # Europe also moves back toward support with the September pledge; open the late-March step back
    step_back = latest.locator("li", has_text="toward oppose")
    step_back.get_by_role("button", name=re.compile("^Evidence")).first.click()
    expect(page.locator("#view-dashboard")).to_be_visible()
    expect(page.locator("#panel mark", has_text=SEED_QUOTE)).to_be_visible()

    page.goto(shared_server.url + f"/#/topic/{TOPIC}")
    topic = page.locator("#view-topic")
    expect(topic.get_by_role("heading", level=1)).to_have_text("Foreign troops on the ground in Ukraine")
    expect(topic).to_contain_text("boots on the ground")  # a keyword
    expect(topic).to_contain_text("Europe")  # its latest shift


def test_phone_width_keyboard_and_labels(
    phone_page: Page, shared_server: LiveServer, artifacts: Path
) -> None:
    page = phone_page
    open_dashboard(page, shared_server)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.screenshot(path=artifacts / "dashboard-390x844.png", full_page=True)

    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll("input, select, textarea")]
            .filter(e => !e.labels.length && !e.getAttribute("aria-label")).map(e => e.outerHTML)"""
    )
    assert unlabelled == []

    shift = page.locator("#shift-list").get_by_role("button", name=EUROPE_SHIFT)
    shift.focus()
    page.keyboard.press("Enter")
    panel = page.locator("#panel")
    expect(panel).to_be_focused()
    expect(panel.locator("mark", has_text=SEED_QUOTE)).to_be_visible()
    page.screenshot(path=artifacts / "shift-panel-390x844.png")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(shift).to_be_focused()


def test_everything_the_page_loads_comes_from_the_app(page: Page, shared_server: LiveServer) -> None:
    elsewhere: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(shared_server.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_local)
    open_dashboard(page, shared_server)
    page.locator("#shift-list").get_by_role("button", name=EUROPE_SHIFT).click()
    expect(page.locator("#panel article.obs").first).to_be_visible()
    assert elsewhere == []
    policy = httpx.get(shared_server.url + "/").headers["content-security-policy"]
    assert "script-src 'self'" in policy


@pytest.mark.parametrize("path", ["/static/js/main.js", "/static/vendor/uplot-1.6.32/uPlot.iife.min.js"])
def test_static_files_are_served_with_cache_headers(shared_server: LiveServer, path: str) -> None:
    response = httpx.get(shared_server.url + path)
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    expected = "immutable" if "/vendor/" in path else "no-cache"
    assert expected in response.headers["cache-control"]
