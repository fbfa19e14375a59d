"""Feeds cannot be aimed at the server's own ports or the intranet: non-public addresses are refused
at registration (written out) and at every fetch after DNS resolution, on every redirect too, on
the address the connection really goes to; failures are reported by kind, never by their text."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app import feeds
from app.config import Settings
from app.db import session_scope
from app.feeds import fetch as feed_fetch
from app.feeds import guard
from app.feeds.registration import register_feed
from app.models import Feed
from app.registry import context as registry_context
from app.schemas import FEED_ERRORS, FeedCreate, FeedRead
from tests.feeds.conftest import Database, demo_articles, unique
from tests.feeds.server import Document, FeedServer, rss

NOW = datetime(2025, 4, 1, 12, 0, tzinfo=UTC)
REAL_GETADDRINFO = socket.getaddrinfo
REAL_IS_BLOCKED = guard.is_blocked

BLOCKED = [
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # shared address space (carrier NAT)
    "0.0.0.0",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",  # documentation
    "198.18.0.1",  # benchmarking
    "::1",
    "::",
    "fe80::1",
    "fe80::1%1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "ff0e::1",  # global-scope multicast
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # IPv4-compatible (deprecated)
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2001:db8::1",  # documentation
]
PUBLIC = ["93.184.215.14", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001::200e"]


@pytest.mark.parametrize("address", BLOCKED)
def test_non_public_addresses_are_blocked(address: str) -> None:
    assert guard.is_blocked(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_not(address: str) -> None:
    assert not guard.is_blocked(ipaddress.ip_address(address))


REFUSED_URLS = [
    "http://127.0.0.1:5432/",
    "http://127.1/feed.xml",  # inet_aton's short form
    "http://2130706433/feed.xml",  # 127.0.0.1 as one number
    "http://0x7f.0.0.1/feed.xml",
    "http://0177.0.0.1/feed.xml",
    "https://10.1.2.3/rss",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0:8000/",
    "http://[::1]:8000/rss",
    "http://[::ffff:127.0.0.1]/rss",
    "http://[::ffff:7f00:1]/rss",
    "http://[fe80::1]/rss",
    "http://[fd00::1]/rss",
    "http://localhost:8000/rss",
    "http://LOCALHOST./rss",
    "http://api.localhost/rss",
    "http://user:pass@192.168.0.1/rss",
]
ACCEPTED_URLS = [
    "https://example.org/rss.xml",
    "http://93.184.215.14/rss",
    "http://[2606:4700:4700::1111]/rss",
    "http://cafe.be/feed",  # hex letters, but a name
    "http://1e100.net/feed",
    "http://localhost.example.org/rss",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_written_out_private_hosts_are_recognised(url: str) -> None:
    assert guard.is_blocked_literal(url)


@pytest.mark.parametrize("url", ACCEPTED_URLS)
def test_names_and_public_hosts_are_left_to_resolution(url: str) -> None:
    assert not guard.is_blocked_literal(url)


# --- registration ---------------------------------------------------------------------------


def test_a_private_feed_url_is_refused_naming_url(client: TestClient, subtests: pytest.Subtests) -> None:
    for url in REFUSED_URLS:
        with subtests.test(url=url):
            response = client.post("/v1/feeds", json={"url": url})
            assert response.status_code == 422, response.text
            error = response.json()["error"]
            assert (error["code"], error["field"]) == ("invalid_input", "url")
            assert "public address" in error["message"]
    assert (
        client.post("/v1/feeds", json={"url": unique("https://news.example") + "/rss.xml"}).status_code == 201
    )


def test_the_operator_can_allow_private_feeds(app: FastAPI, settings: Settings, client: TestClient) -> None:
    app.state.settings = settings.model_copy(update={"feed_allow_private": True})
    response = client.post("/v1/feeds", json={"url": "http://127.0.0.1:8080/" + unique("x") + ".xml"})
    assert response.status_code == 201, response.text


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().feed_allow_private is False
    monkeypatch.setenv("STANCELINE_FEED_ALLOW_PRIVATE", "true")
    assert Settings().feed_allow_private is True


# --- failures are shown by kind -------------------------------------------------------------

STORED_ERRORS = [
    # stored before error kinds: the exception's text is never shown
    ("ConnectError: [Errno 111] Connection refused", "unreachable", FEED_ERRORS["unreachable"]),
    ("ReadTimeout: timed out", "timeout", FEED_ERRORS["timeout"]),
    ("ConnectTimeout: timed out", "timeout", FEED_ERRORS["timeout"]),
    ("RemoteProtocolError: Server disconnected", "unreachable", FEED_ERRORS["unreachable"]),
    ("HTTP 503", "http_error", "HTTP 503"),
    ("not an RSS or Atom feed (<unknown>:2:0: syntax error)", "not_a_feed", FEED_ERRORS["not_a_feed"]),
    ("feed larger than 20971520 bytes", "too_large", FEED_ERRORS["too_large"]),
    ("OperationalError: connection to 10.0.0.5 failed", "unreachable", FEED_ERRORS["unreachable"]),
    # stored now
    ("blocked_address: " + FEED_ERRORS["blocked_address"], "blocked_address", FEED_ERRORS["blocked_address"]),
    ("http_error: HTTP 404", "http_error", "HTTP 404"),
    ("internal: " + FEED_ERRORS["internal"], "internal", FEED_ERRORS["internal"]),
]


def test_feeds_list_their_last_error_by_kind(client: TestClient, session: Session) -> None:
    ids = {}
    for stored, _, _ in STORED_ERRORS:
        feed = Feed(url=unique() + "/rss.xml", poll_interval_seconds=900, failures=1, last_error=stored)
        session.add(feed)
        session.flush()
        ids[feed.id] = stored
    healthy = Feed(url=unique() + "/ok.xml", poll_interval_seconds=900)
    session.add(healthy)
    session.commit()
    listed = {f["id"]: f for f in client.get("/v1/feeds", params={"limit": 1000}).json()["items"]}
    for (feed_id, _), (_, kind, message) in zip(ids.items(), STORED_ERRORS, strict=True):
        assert (listed[feed_id]["error_kind"], listed[feed_id]["last_error"]) == (kind, message)
        assert client.get(f"/v1/feeds/{feed_id}").json()["error_kind"] == kind
    assert (listed[healthy.id]["error_kind"], listed[healthy.id]["last_error"]) == (None, None)
    text = client.get("/v1/feeds", params={"limit": 1000}).text
    for leak in ("Errno", "Connection refused", "10.0.0.5", "syntax error", "Timeout:"):
        assert leak not in text


# --- polls ----------------------------------------------------------------------------------


@pytest.fixture
def plain_client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


def _add(db: Database, url: str) -> int:
    with session_scope(db.factory) as session:
        feed, _ = register_feed(session, FeedCreate(url=url), allow_private=True)
        return feed.id


def _poll(db: Database, feed_id: int, client: httpx.Client, *, allow_private: bool) -> feeds.PollResult:
    settings = db.settings.model_copy(update={"feed_allow_private": allow_private})
    return feeds.poll_feed(
        db.factory, feed_id, settings=settings, client=client, cache=registry_context.RegistryCache(), now=NOW
    )


def _stored_error(db: Database, feed_id: int) -> FeedRead:
    with session_scope(db.factory, write=False) as session:
        feed = session.get(Feed, feed_id)
        assert feed is not None
        return FeedRead.model_validate(feed)


def _document() -> Document:
    article = demo_articles()[3]
    item = {
        "title": article["title"],
        "link": unique(),
        "pubDate": "Wed, 26 Mar 2025 08:00:00 GMT",
        "description": article["text"],
    }
    return Document(rss("Wire", [item]))


@pytest.fixture(params=["plain", "guarded"])
def fetching_client(request: pytest.FixtureRequest, feeds_db: Database) -> Iterator[httpx.Client]:
    """Any httpx client (checked before each hop), or the service's own (checked at connect too)."""
    if request.param == "plain":
        with httpx.Client(timeout=5) as client:
            yield client
    else:
        settings = feeds_db.settings.model_copy(
            update={"feed_allow_private": False, "feed_timeout_seconds": 5}
        )
        with feeds.http_client(settings) as client:
            yield client


def test_a_feed_on_a_private_address_is_never_fetched(
    feeds_db: Database, feed_server: FeedServer, fetching_client: httpx.Client
) -> None:
    feed_server.documents["/inside.xml"] = _document()
    feed_id = _add(feeds_db, feed_server.url("/inside.xml"))
    result = _poll(feeds_db, feed_id, fetching_client, allow_private=False)
    assert (result.outcome, result.error_kind, result.error) == (
        "failed",
        "blocked_address",
        FEED_ERRORS["blocked_address"],
    )
    assert feed_server.requests == []  # not even connected to
    stored = _stored_error(feeds_db, feed_id)
    assert (stored.error_kind, stored.last_error, stored.failures) == (
        "blocked_address",
        FEED_ERRORS["blocked_address"],
        1,
    )
    # a name that resolves to a private address is refused the same way
    named = _add(feeds_db, feed_server.url("/inside.xml").replace("127.0.0.1", "localhost"))
    assert _poll(feeds_db, named, fetching_client, allow_private=False).error_kind == "blocked_address"
    assert feed_server.requests == []


def test_allowed_private_feeds_are_fetched(
    feeds_db: Database, feed_server: FeedServer, plain_client: httpx.Client
) -> None:
    feed_server.documents["/allowed.xml"] = _document()
    feed_id = _add(feeds_db, feed_server.url("/allowed.xml"))
    assert _poll(feeds_db, feed_id, plain_client, allow_private=True).statuses["created"] == 1
    settings = feeds_db.settings.model_copy(update={"feed_allow_private": True})
    with feeds.http_client(settings) as guarded:  # the service's own client, allowed
        again = _poll(feeds_db, feed_id, guarded, allow_private=True)
    assert again.outcome == "not_modified"


def test_redirects_are_followed_by_hand_up_to_a_limit(
    feeds_db: Database, feed_server: FeedServer, plain_client: httpx.Client
) -> None:
    feed_server.documents["/new.xml"] = _document()
    feed_server.documents["/old.xml"] = Document(b"", status=301, location="/moved.xml")
    feed_server.documents["/moved.xml"] = Document(b"", status=307, location=feed_server.url("/new.xml"))
    feed_id = _add(feeds_db, feed_server.url("/old.xml"))
    assert _poll(feeds_db, feed_id, plain_client, allow_private=True).statuses["created"] == 1
    assert [r.path for r in feed_server.requests] == ["/old.xml", "/moved.xml", "/new.xml"]

    feed_server.documents["/loop.xml"] = Document(b"", status=302, location="/loop.xml")
    feed_server.requests.clear()
    looping = _add(feeds_db, feed_server.url("/loop.xml"))
    result = _poll(feeds_db, looping, plain_client, allow_private=True)
    assert (result.error_kind, result.error) == ("http_error", "more than 5 redirects")
    assert len(feed_server.requests) == 6

    feed_server.documents["/ftp.xml"] = Document(b"", status=302, location="ftp://files.example/feed.xml")
    result = _poll(feeds_db, _add(feeds_db, feed_server.url("/ftp.xml")), plain_client, allow_private=True)
    assert (result.error_kind, result.error) == ("http_error", "redirected to a URL that is not http(s)")


@pytest.fixture
def public_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """127.0.0.1 counts as public: the test server plays a public feed server."""
    loopback = ipaddress.ip_address("127.0.0.1")
    monkeypatch.setattr(guard, "is_blocked", lambda address: address != loopback and REAL_IS_BLOCKED(address))


@pytest.mark.usefixtures("public_loopback")
@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:10.0.0.1]/",
        "http://167772161:5432/",  # 10.0.0.1 as one number
        "http://0xa9.254.169.254/",
        "http://[::1]/",
    ],
)
def test_every_redirect_target_is_checked(
    feeds_db: Database, feed_server: FeedServer, fetching_client: httpx.Client, location: str
) -> None:
    feed_server.documents["/hop.xml"] = Document(b"", status=302, location=location)
    feed_id = _add(feeds_db, feed_server.url("/hop.xml"))
    result = _poll(feeds_db, feed_id, fetching_client, allow_private=False)
    assert result.error_kind == "blocked_address"
    assert [r.path for r in feed_server.requests] == ["/hop.xml"]  # the first hop only


def _resolver(answers: dict[str, list[list[str]]]) -> Callable[..., Any]:
    """getaddrinfo answering each name in `answers` with its next list of addresses (the last one
    repeats): a DNS server that changes its answer (rebinding)."""

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in answers:
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        queue = answers[host]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    return getaddrinfo


def test_the_connection_goes_to_the_address_that_was_checked(
    feeds_db: Database, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed_server.documents["/pinned.xml"] = _document()
    port = feed_server.url("/").rsplit(":", 1)[1].strip("/")
    url = f"http://feeds.invalid:{port}/pinned.xml"  # a name no real resolver knows
    feed_id = _add(feeds_db, url)
    settings = feeds_db.settings.model_copy(update={"feed_allow_private": False})

    # rebinding: public when checked before the request, private when the connection resolves it
    monkeypatch.setattr(
        socket, "getaddrinfo", _resolver({"feeds.invalid": [["93.184.215.14"], ["127.0.0.1"]]})
    )
    with feeds.http_client(settings) as client:
        result = _poll(feeds_db, feed_id, client, allow_private=False)
    assert result.error_kind == "blocked_address"
    assert feed_server.requests == []

    # the guarded client connects to the very address it resolved and checked: here the only
    # way to reach the server (played public), since no resolver but this one knows the name
    monkeypatch.setattr(socket, "getaddrinfo", _resolver({"feeds.invalid": [["127.0.0.1"]]}))
    monkeypatch.setattr(guard, "is_blocked", lambda address: str(address) != "127.0.0.1")
    with feeds.http_client(settings) as client:
        assert _poll(feeds_db, feed_id, client, allow_private=False).statuses["created"] == 1
    # any address of a name that is blocked refuses it, even if another one would be allowed
    monkeypatch.setattr(socket, "getaddrinfo", _resolver({"feeds.invalid": [["127.0.0.1", "10.0.0.1"]]}))
    with feeds.http_client(settings) as client:
        assert _poll(feeds_db, feed_id, client, allow_private=False).error_kind == "blocked_address"


def test_a_silent_server_is_a_timeout(feeds_db: Database) -> None:
    with socket.socket() as listener:  # accepts connections (backlog) and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        feed_id = _add(feeds_db, f"http://127.0.0.1:{listener.getsockname()[1]}/{unique('x')[-10:]}.xml")
        with httpx.Client(timeout=0.3) as client:
            result = _poll(feeds_db, feed_id, client, allow_private=True)
    assert (result.error_kind, result.error) == ("timeout", FEED_ERRORS["timeout"])
    assert _stored_error(feeds_db, feed_id).last_error == FEED_ERRORS["timeout"]


def test_an_oversized_feed_is_too_large(
    feeds_db: Database, feed_server: FeedServer, plain_client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed_fetch, "MAX_FEED_BYTES", 100)
    feed_server.documents["/big.xml"] = _document()
    feed_id = _add(feeds_db, feed_server.url("/big.xml"))
    result = _poll(feeds_db, feed_id, plain_client, allow_private=True)
    assert (result.error_kind, result.error) == ("too_large", FEED_ERRORS["too_large"])
