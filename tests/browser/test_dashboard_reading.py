"""The dashboard's first look, on the invented town of riverton.py: the topic it opens on, gaps,
lines that coincide, bands, the actor page and the add-article result."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.helpers import enter_key, load, renders, wait_for_render
from tests.browser.riverton import COUNCIL_WEEKS, TRADERS_WEEKS
from tests.browser.server import LiveServer, create_key

TOPIC = "parking-fees"
COUNCIL = "Riverton City Council"
TRADERS = "Main Street Traders"
FORUM = "Riverton Business Forum"

# The line of one series as drawn: uPlot's gaps (canvas pixel ranges left undrawn), the canvas
# x of given weeks, y of a value, and the line's colour.
LINE = """([label, weeks, value]) => {
    const u = document.getElementById("chart").uplot;
    const i = u.series.findIndex(s => s.label === label);
    const x = (day) => u.valToPos(Date.parse(day + "T00:00:00Z") / 1000, "x", true);
    return {
        spanGaps: u.series[i].spanGaps,
        gaps: u.series[i]._paths.gaps || [],
        xs: weeks.map(x),
        y: u.valToPos(value, "y", true),
        color: u.series[i].stroke(u, i),
        dash: u.series[i].dash || [],
    };
}"""

# Canvas pixels of a box close to a colour (the line or point drawn in it).
PIXELS_LIKE = """([color, left, top, width, height]) => {
    const u = document.getElementById("chart").uplot;
    const n = parseInt(color.slice(1), 16);
    const rgb = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
    const data = u.ctx.getImageData(Math.round(left), Math.round(top), Math.round(width), Math.round(height)).data;
    let near = 0;
    for (let p = 0; p < data.length; p += 4) {
        const distance = Math.abs(data[p] - rgb[0]) + Math.abs(data[p + 1] - rgb[1]) + Math.abs(data[p + 2] - rgb[2]);
        if (data[p + 3] > 200 && distance < 60) near += 1;
    }
    return near;
}"""


def line(page: Page, label: str, weeks: list[str], value: float) -> dict[str, Any]:
    found: dict[str, Any] = page.evaluate(LINE, [label, weeks, value])
    return found


def pixels_like(page: Page, color: str, box: tuple[float, float, float, float]) -> int:
    return int(page.evaluate(PIXELS_LIKE, [color, *box]))


def open_topic(page: Page, server: LiveServer, topic: str = TOPIC) -> None:
    load(page, f"{server.url}/#/?topic={topic}")
    wait_for_render(page, 0, topic)


def show_actor(page: Page, slug: str) -> None:
    before = renders(page)
    page.locator(f"#actor-option-{slug}").check()
    wait_for_render(page, before, TOPIC)


def test_the_dashboard_opens_on_the_most_observed_topic(
    page: Page, riverton_server: LiveServer, artifacts: Path
) -> None:
    load(page, riverton_server.url + "/")
    wait_for_render(page, 0, TOPIC)
    options = page.locator("#topic option")
    # "Airport noise" sorts first, by slug and by name, and has one observation
    expect(options.first).to_have_attribute("value", "airport-noise")
    expect(page.locator("#topic")).to_have_value(TOPIC)
    expect(page).to_have_url(re.compile(r"#/\?topic=parking-fees$"))
    expect(page.locator("#actor-option-riverton-city-council")).to_be_checked()
    page.screenshot(path=artifacts / "riverton-dashboard-1280x800.png")

    # a topic the URL names is kept, on a first load as after
    page.goto("about:blank")
    load(page, riverton_server.url + "/#/?topic=airport-noise")
    wait_for_render(page, 0, "airport-noise")
    expect(page.locator("#topic")).to_have_value("airport-noise")
    before = renders(page)
    page.get_by_label("Topic", exact=True).select_option(TOPIC)
    wait_for_render(page, before, TOPIC)
    expect(page).to_have_url(re.compile(r"#/\?topic=parking-fees$"))


def test_an_empty_week_breaks_the_line_and_single_weeks_stay_points(
    page: Page, riverton_server: LiveServer, artifacts: Path
) -> None:
    open_topic(page, riverton_server)
    show_actor(page, "main-street-traders")

    # the council was observed in weeks 1, 2, 4 and 5: no line across week 3
    council = line(page, COUNCIL, [*COUNCIL_WEEKS[:2], "2025-01-20", *COUNCIL_WEEKS[2:]], 1.0)
    x1, x2, x3, x4, _ = council["xs"]
    assert council["spanGaps"] is False
    [gap] = council["gaps"]
    assert x2 - 2 <= gap[0] < x3 < gap[1] <= x4 + 2, (gap, council["xs"])
    y = council["y"]
    assert pixels_like(page, council["color"], (x1 + 10, y - 3, x2 - x1 - 20, 6)) > 0, "weeks 1-2 are joined"
    assert pixels_like(page, council["color"], (x2 + 10, y - 3, x4 - x2 - 20, 6)) == 0, (
        "a line crosses week 3"
    )

    # the traders, observed every other week, are single points with nothing between them
    traders = line(page, TRADERS, TRADERS_WEEKS, -1.0)
    t1, t3, t5 = traders["xs"]
    assert len(traders["gaps"]) == 2
    y = traders["y"]
    for x in (t1, t3, t5):
        assert pixels_like(page, traders["color"], (x - 7, y - 7, 14, 14)) > 0, f"no point at x={x}"
    assert pixels_like(page, traders["color"], (t1 + 10, y - 3, t3 - t1 - 20, 6)) == 0
    page.locator("#chart").screenshot(path=artifacts / "gaps-chart-1280x800.png")


def test_lines_that_coincide_stay_apart_and_bands_follow_the_hovered_actor(
    page: Page, riverton_server: LiveServer, artifacts: Path
) -> None:
    open_topic(page, riverton_server)
    chart = page.locator("#chart")
    # two lines: both bands drawn
    expect(page.locator("#actor-option-riverton-business-forum")).to_be_checked()
    expect(chart).to_have_attribute("data-bands", re.compile(r"^\S+ \S+$"))

    show_actor(page, "main-street-traders")
    # the forum's only member is the traders: the same line, told apart by dash, marker and legend
    legend = page.locator("#chart-legend")
    expect(legend.locator('li[data-actor="riverton-business-forum"]')).to_contain_text(
        f"same line as {TRADERS}"
    )
    forum = line(page, FORUM, [], 0)
    traders = line(page, TRADERS, [], 0)
    assert forum["dash"] != traders["dash"]
    assert forum["color"] != traders["color"]

    # three lines: no band until one is hovered in the legend
    expect(chart).to_have_attribute("data-bands", "")
    legend.locator('li[data-actor="riverton-city-council"]').hover()
    expect(chart).to_have_attribute("data-emphasis", "riverton-city-council")
    expect(chart).to_have_attribute("data-bands", "riverton-city-council")
    page.screenshot(path=artifacts / "coinciding-lines-1280x800.png")
    page.mouse.move(5, 5)
    expect(chart).to_have_attribute("data-bands", "")

    # the actor whose evidence is open keeps its band
    page.get_by_text("Points as a table").click()
    page.locator('#points-table tr[data-actor="main-street-traders"]').first.get_by_role("button").click()
    expect(page.locator("#panel")).to_be_visible()
    expect(chart).to_have_attribute("data-bands", "main-street-traders")


def test_the_dashboard_at_phone_width(phone_page: Page, riverton_server: LiveServer, artifacts: Path) -> None:
    page = phone_page
    load(page, riverton_server.url + "/")
    wait_for_render(page, 0, TOPIC)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.screenshot(path=artifacts / "riverton-dashboard-390x844.png", full_page=True)


def test_actor_and_topic_pages_print_no_null(page: Page, riverton_server: LiveServer) -> None:
    view = page.locator("#view-actor")
    page.goto(riverton_server.url + "/#/actor/main-street-traders")  # no description
    expect(view.get_by_role("heading", name=TRADERS, level=1)).to_be_visible()
    expect(view.get_by_role("link", name=FORUM)).to_be_visible()
    assert "null" not in view.inner_text()

    page.goto(riverton_server.url + "/#/actor/riverton-city-council")
    expect(view.get_by_role("heading", name=COUNCIL, level=1)).to_be_visible()
    expect(view).to_contain_text("The elected council of the town of Riverton.")
    assert "null" not in view.inner_text()

    topic = page.locator("#view-topic")
    page.goto(riverton_server.url + "/#/topic/airport-noise")
    expect(topic.get_by_role("heading", name="Airport noise", level=1)).to_be_visible()
    assert "null" not in topic.inner_text()


def test_the_added_articles_result_comes_into_view(
    phone_page: Page, fresh_riverton: LiveServer, artifacts: Path
) -> None:
    page = phone_page
    load(page, fresh_riverton.url + "/#/add")
    enter_key(page, create_key(fresh_riverton.database, "write"))
    page.get_by_label("Title").fill("Mayor backs parking fees")
    page.get_by_label("URL").fill("https://example.org/riverton-courier/2025/02/06/mayor-parking")
    page.get_by_label("Date").fill("2025-02-06")
    page.get_by_label("Text").fill("Mayor Whitcombe said on Thursday that she supports the parking fees.")
    page.get_by_role("button", name="Add article").click()

    result = page.locator("#add-result")
    expect(result.locator(".ingest-status")).to_have_attribute("data-status", "created")
    expect(result.get_by_role("heading", level=2)).to_be_in_viewport()
    expect(page.locator("#add-note")).to_contain_text("1 observation, shown below")
    expect(result.locator("article.obs").first).to_contain_text("Dana Whitcombe")
    page.screenshot(path=artifacts / "added-article-390x844.png")
