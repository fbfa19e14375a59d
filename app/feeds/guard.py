"""Where a feed fetch may connect: public addresses only, unless the operator allows the others.

A feed's url is the one address a user (with a write key) makes the server fetch, so unguarded it
reaches the server's own ports (127.0.0.1:5432), the intranet and cloud metadata
(169.254.169.254). Refused, after DNS resolution: loopback, private, link-local, multicast,
unspecified, reserved and other non-global addresses, IPv4 and IPv6, including an IPv4 address
inside IPv6 (IPv4-mapped `::ffff:a.b.c.d`, 6to4, NAT64). `STANCELINE_FEED_ALLOW_PRIVATE` lets
them through (a feed on this machine or the intranet).

Every hop of a fetch (the feed's url, then each redirect, which `app.feeds.fetch.fetch` follows
itself) is checked twice:

* `check_url` resolves the host and refuses the hop before any request is sent, whatever httpx
  client makes it;
* the client `guarded_client` builds connects through `GuardedBackend`, which resolves the host
  once, checks every address and connects to those very addresses, so a DNS answer that changes
  between a check and the connection (DNS rebinding) cannot slip a private address in. TLS still
  verifies the certificate for the url's host name.

Residual window: a client made elsewhere (the tests pass their own `httpx.Client`) resolves the
host again after `check_url`, so a name whose DNS answer flips within that moment could still be
reached on a private address; the service's pollers (API worker, CLI, Celery) all fetch through
`guarded_client`. Proxy settings from the environment are not used by it: a proxy would resolve
and connect on its own.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# what inet_aton (so getaddrinfo) reads as an IPv4 address: 127.1, 0x7f000001, 2130706433, 0177.0.0.1
_LEGACY_IPV4 = re.compile(r"(?:0x[0-9a-f]+|[0-9]+)(?:\.(?:0x[0-9a-f]+|[0-9]+)){0,3}", re.IGNORECASE)


class BlockedAddress(httpx.ConnectError):
    """The host is, or resolves to, an address feeds may not reach (`STANCELINE_FEED_ALLOW_PRIVATE`)."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to {address}, which is not a public address")
        self.host, self.address = host, address


def is_blocked(address: Address) -> bool:
    """True for every address that is not plainly public."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_blocked(address.ipv4_mapped)
        embedded = address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and is_blocked(embedded):
            return True
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
    )


def literal_address(host: str) -> Address | None:
    """The address a url's host names without DNS: an IP literal in any notation the resolver reads."""
    host = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def is_blocked_literal(url: str) -> bool:
    """True when the url's host is a blocked address written out, or localhost: refused at
    registration, before any lookup (a name is checked when it is resolved, at each fetch)."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = literal_address(host)
    return address is not None and is_blocked(address)


def resolve(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The host's addresses, in the resolver's order; BlockedAddress when any of them is blocked
    (unless allowed); OSError (socket.gaierror) when it does not resolve."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_private:
        for text in addresses:
            if is_blocked(ipaddress.ip_address(text)):
                raise BlockedAddress(host, text)
    return addresses


def check_url(url: httpx.URL, *, allow_private: bool) -> None:
    """Refuse a hop to a blocked address before sending it (see the module's doc)."""
    if allow_private:
        return
    host = url.raw_host.decode("ascii")
    resolve(host, url.port or (443 if url.scheme == "https" else 80), allow_private=False)


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's sync network backend, connecting only to addresses it resolved and checked."""

    def __init__(self, *, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve(host, port, allow_private=self._allow_private)
        except OSError as error:
            raise httpcore.ConnectError(f"{host} does not resolve: {error}") from error
        options = list(socket_options) if socket_options is not None else None
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:  # the checked addresses themselves: no second lookup
            try:
                return self._backend.connect_tcp(address, port, timeout, local_address, options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("feeds are fetched over TCP only")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport (TLS verified, HTTP/1.1, httpx's pool limits) on a GuardedBackend."""

    def __init__(self, *, allow_private: bool) -> None:
        super().__init__()
        self._pool = httpcore.ConnectionPool(  # what HTTPTransport builds, on the guarded backend
            ssl_context=httpx.create_ssl_context(),
            max_connections=100,  # httpx's default limits
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(allow_private=allow_private),
        )


def guarded_client(*, allow_private: bool, timeout: float, headers: dict[str, str]) -> httpx.Client:
    """An httpx client for feed fetches: guarded connections, no redirects followed by httpx."""
    return httpx.Client(
        timeout=timeout,
        follow_redirects=False,
        headers=headers,
        transport=GuardedTransport(allow_private=allow_private),
    )
