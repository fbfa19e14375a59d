"""`stanceline feeds add | poll --once | list` against a feed served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import cli
from app.config import get_settings
from app.registry.edits import STARTER_REGISTRY
from tests.feeds.conftest import demo_articles, unique
from tests.feeds.server import Document, FeedServer, rss

runner = CliRunner()


@pytest.fixture
def env_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The command reads its settings from the environment: set them there, read afresh."""
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def test_add_poll_and_list_from_the_command_line(
    tmp_path: Path, feed_server: FeedServer, env_settings: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'feeds.db'}"
    refused = runner.invoke(cli, ["feeds", "add", feed_server.url("/cli.xml"), "--database-url", url])
    assert refused.exit_code == 2  # 127.0.0.1: not without STANCELINE_FEED_ALLOW_PRIVATE
    assert "not a public address" in refused.output
    env_settings.setenv("STANCELINE_FEED_ALLOW_PRIVATE", "true")
    env_settings.setenv("STANCELINE_INGEST_WAIT", "false")  # the shipped default: polls queue extraction
    get_settings.cache_clear()
    assert (
        runner.invoke(cli, ["registry", "load", str(STARTER_REGISTRY), "--database-url", url]).exit_code == 0
    )
    prefix = unique()
    story = demo_articles()[2]
    items = [
        {
            "title": story["title"],
            "link": f"{prefix}/{n}",
            "pubDate": "Wed, 26 Mar 2025 08:00:00 GMT",
            "description": story["text"],
        }
        for n in range(2)
    ]
    feed_server.documents["/cli.xml"] = Document(rss("CLI Wire", items))
    added = runner.invoke(
        cli, ["feeds", "add", feed_server.url("/cli.xml"), "--interval", "300", "--database-url", url]
    )
    assert added.exit_code == 0, added.output
    assert "feed 1 added" in added.output

    polled = runner.invoke(cli, ["feeds", "poll", "--once", "--database-url", url])
    assert polled.exit_code == 0, polled.output
    assert "1 feeds polled, 0 failed; 2 articles created (1 of them syndicated copies)" in polled.output
    # the copy has no extraction of its own; the other was queued, and the command extracted it
    assert "1 articles extracted, 0 failed, 0 to retry" in polled.output

    again = runner.invoke(cli, ["feeds", "poll", "--once", "--database-url", url])
    assert "0 feeds polled" in again.output  # not due before its interval
    forced = runner.invoke(cli, ["feeds", "poll", "--once", "--all", "--database-url", url])
    assert "1 feeds polled, 0 failed; 0 articles created" in forced.output
    assert feed_server.requests[-1].status == 304

    listed = runner.invoke(cli, ["feeds", "list", "--database-url", url])
    assert listed.exit_code == 0
    assert "cli.xml" in listed.output

    refused = runner.invoke(cli, ["feeds", "add", "ftp://x.example/feed", "--database-url", url])
    assert refused.exit_code == 2
