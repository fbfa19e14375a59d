"""Browser fixtures: Debian's chromium driven by Playwright against a live server with the demo data.

`playwright install` cannot download here, so the browser is the system one
(STANCELINE_CHROMIUM, else `chromium` on PATH). Without it, or without the playwright package,
every test here is skipped with the reason printed. Screenshots go to
$STANCELINE_TEST_ARTIFACTS/browser (default test-artifacts/browser, git-ignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.riverton import build_riverton_database
from tests.browser.server import LiveServer, build_demo_database, copy_database, create_key, live_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ARTIFACTS = Path(os.environ.get("STANCELINE_TEST_ARTIFACTS", "test-artifacts")) / "browser"


def _skip(reason: str) -> None:
    print(f"\nSKIP reason: {reason}")
    pytest.skip(reason)


def chromium_path() -> str | None:
    configured = os.environ.get("STANCELINE_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _skip("playwright is not installed: pip install -e '.[dev]'")
    executable = chromium_path()
    if executable is None:
        _skip("chromium is not installed (apt-get install -y chromium) or STANCELINE_CHROMIUM is wrong")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        except Error as error:
            _skip(f"chromium at {executable} did not start: {error.message.splitlines()[0]}")
        yield launched
        launched.close()


@pytest.fixture(scope="package")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_database(tmp_path_factory.mktemp("demo") / "demo.db")


@pytest.fixture(scope="package")
def shared_server(demo_database: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """For tests that only read."""
    with live_server(copy_database(demo_database, tmp_path_factory.mktemp("shared"))) as server:
        yield server


@pytest.fixture
def fresh_server(demo_database: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """For tests that write: their own copy of the demo database."""
    with live_server(copy_database(demo_database, tmp_path)) as server:
        yield server


@pytest.fixture
def private_server(demo_database: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """Reads need a key too (STANCELINE_PUBLIC_READ off)."""
    with live_server(copy_database(demo_database, tmp_path), public_read=False) as server:
        yield server


@pytest.fixture
def write_key(fresh_server: LiveServer) -> str:
    return create_key(fresh_server.database, "write")


@pytest.fixture(scope="package")
def riverton_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The invented town of tests/browser/riverton.py."""
    return build_riverton_database(tmp_path_factory.mktemp("riverton") / "riverton.db")


@pytest.fixture(scope="package")
def riverton_server(
    riverton_database: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """For tests that only read the town."""
    with live_server(copy_database(riverton_database, tmp_path_factory.mktemp("riverton-shared"))) as server:
        yield server


@pytest.fixture
def fresh_riverton(riverton_database: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """For tests that write: their own copy of the town."""
    with live_server(copy_database(riverton_database, tmp_path)) as server:
        yield server


class ConsoleErrors:
    """Console errors and uncaught exceptions of a page; the test fails on any it did not expect."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.expected: list[str] = []

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.seen.append(f"console: {message.text} ({message.location.get('url', '')})")

    def on_page_error(self, error: Any) -> None:
        self.seen.append(f"page error: {error}")

    def expect(self, fragment: str) -> None:
        """An error containing `fragment` is part of the test (a refused request, say)."""
        self.expected.append(fragment)

    def unexpected(self) -> list[str]:
        return [line for line in self.seen if not any(fragment in line for fragment in self.expected)]


@pytest.fixture
def console() -> ConsoleErrors:
    return ConsoleErrors()


def _open_page(browser: Browser, console: ConsoleErrors, viewport: dict[str, int]) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()
    problems = console.unexpected()
    assert not problems, "the page logged errors:\n" + "\n".join(problems)


@pytest.fixture
def page(browser: Browser, console: ConsoleErrors) -> Iterator[Page]:
    yield from _open_page(browser, console, DESKTOP)


@pytest.fixture
def phone_page(browser: Browser, console: ConsoleErrors) -> Iterator[Page]:
    yield from _open_page(browser, console, PHONE)


@pytest.fixture(scope="package")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
