"""What the browser tests share: waiting for the chart, typing the API key, reading the chart."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def renders(page: Page) -> int:
    return int(page.get_attribute("#chart", "data-renders") or 0)


def wait_for_render(page: Page, after: int, topic: str) -> None:
    """Wait for a chart drawn after the `after`-th, of `topic`."""
    page.wait_for_function(
        """([after, topic]) => {
            const chart = document.getElementById("chart");
            return Number(chart.dataset.renders || 0) > after && chart.dataset.topic === topic;
        }""",
        arg=[after, topic],
    )


def load(page: Page, url: str) -> None:
    """Open the page and wait for its first chart (drawn even while another view shows)."""
    page.goto(url)
    page.wait_for_selector("#chart[data-ready]", state="attached")


def enter_key(page: Page, key: str) -> None:
    """Type the key into the API key field, as an analyst would; the page reloads its data."""
    before = renders(page)
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Save key").click()
    expect(page.locator("#status")).to_contain_text("API key saved")
    page.wait_for_function(
        "n => Number(document.getElementById('chart').dataset.renders || 0) > n", arg=before
    )


def chart_series(page: Page) -> dict[str, int]:
    """Label of every line drawn -> how many points it has."""
    pairs: list[tuple[str, int]] = page.evaluate(
        """() => {
            const u = document.getElementById("chart").uplot;
            return u.series.slice(1).map((s, i) => [s.label, u.data[i + 1].filter(v => v !== null).length]);
        }"""
    )
    return dict(pairs)
