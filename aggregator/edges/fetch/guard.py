"""Crawl safety: article links come from untrusted feeds, so a page request must not reach this
machine or its network (a feed could point us at a router's admin page or a cloud metadata
service). Unless ``[fetch] allow_private = true``, every address a page host resolves to is
checked *after* DNS and *before* connecting, on every redirect hop, and the connection goes to
the address that was checked (a second lookup could answer differently: DNS rebinding).

``refusal`` is the pure rule; ``GuardedBackend`` applies it inside httpcore's connection pool,
where every new connection (first request or redirect hop) is opened. Behind a proxy the proxy
connects, so ``Guard.check_request`` resolves each hop's host here before the request is sent.
The hosts of configured feeds are the user's choice and are not checked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddress(Exception):
    """A page host that resolves to an address we do not connect to."""


def refusal(address: str | IPAddress) -> str | None:
    """Why a connection to ``address`` is refused (None: a public unicast address)."""
    ip = ipaddress.ip_address(address.split("%")[0] if isinstance(address, str) else address)
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return refusal(embedded)
    for reason, applies in (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("site-local", isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local),  # fec0::/10
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    ):
        if applies:
            return reason
    # Shared address space (100.64/10, carrier NAT) and the like: neither private nor global.
    return None if ip.is_global else "non-global"


def first_refusal(host: str, addresses: Iterable[str]) -> str | None:
    """A message for the first refused address among ``addresses``, or None."""
    for address in addresses:
        if reason := refusal(address):
            return (
                f"{host} resolves to {reason} address {address}: refused "
                "(set [fetch] allow_private = true to allow)"
            )
    return None


async def resolve(host: str, port: int) -> list[str]:
    """The addresses of ``host`` (an IP literal resolves to itself), in resolver order; none
    when the name does not resolve."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


Endpoint = tuple[str, int]  # (host, port)


class Guard:
    """The rule applied to one client's connections. ``trusted``: the (host, port) of each
    configured feed, the user's choice (possibly on their own network): not checked. A port,
    not a whole host: a feed server on 127.0.0.1:1200 must not open 127.0.0.1:6379 to links."""

    def __init__(self, trusted: frozenset[Endpoint] = frozenset()) -> None:
        self.trusted = trusted

    def trust(self, urls: Iterable[str]) -> None:
        self.trusted = frozenset(e for url in urls if (e := endpoint(url)) is not None)

    def install(self, transport: httpx.AsyncHTTPTransport) -> None:
        """Into a direct (proxy-less) transport's connection pool."""
        # httpx offers no public way to give its pool another network backend.
        pool = transport._pool
        if not isinstance(pool, httpcore.AsyncConnectionPool) or isinstance(
            pool, httpcore.AsyncHTTPProxy | httpcore.AsyncSOCKSProxy
        ):
            raise TypeError("Guard.install needs a direct httpcore.AsyncConnectionPool")
        pool._network_backend = GuardedBackend(pool._network_backend, self)

    async def check_request(self, request: httpx.Request) -> None:
        """An httpx request hook for proxied clients: every hop's host is resolved and checked
        here, since the proxy, not we, connects to it."""
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        if (host, port) in self.trusted:
            return
        addresses = await resolve(host, port)
        if not addresses:
            raise httpx.ConnectError(f"cannot resolve {host}", request=request)
        if message := first_refusal(host, addresses):
            raise RefusedAddress(message)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the address check between DNS and connect."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend, guard: Guard) -> None:
        self._inner = inner
        self._guard = guard

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if (host, port) in self._guard.trusted:
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        addresses = await resolve(host, port)
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve {host}")
        # Every address must pass: otherwise a name with one public and one private address
        # would reach the private one whenever the public one is down.
        if message := first_refusal(host, addresses):
            raise RefusedAddress(message)
        error: Exception | None = None
        for address in addresses:
            try:
                # TLS still verifies (and sends SNI for) the name: httpcore passes the request's
                # host to start_tls separately.
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                error = e
        raise error or httpcore.ConnectError(f"{host} has no address")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedAddress(f"unix socket {path}: refused")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# -- a feed's own headers stay on its own origin --------------------------------------------

_OWN = "aggregator.own_headers"  # request extension: (origin, header names); redirects keep it


def own_headers(feed_url: str, names: Iterable[str]) -> dict[str, Any]:
    """Request extensions marking ``names`` (a feed's configured headers: access keys) as
    meant for the origin of ``feed_url`` only."""
    names = tuple(names)
    return {_OWN: (_origin(feed_url), names)} if names else {}


async def strip_foreign_headers(request: httpx.Request) -> None:
    """An httpx request hook, run for every hop: on any other origin (another host, port or
    scheme: https -> http too) the feed's own headers are removed. httpx itself strips only
    Authorization on a cross-origin redirect."""
    own = request.extensions.get(_OWN)
    if own is not None and _origin(str(request.url)) != own[0]:
        for name in own[1]:
            request.headers.pop(name, None)


def _origin(url: str) -> tuple[str, Endpoint | None]:
    return urlsplit(url).scheme.lower(), endpoint(url)


def endpoint(url: str) -> Endpoint | None:
    """(host, port) of an http(s) URL, the default port filled in; None for anything else."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    try:
        port = parts.port or default
    except ValueError:
        return None
    return (parts.hostname, port) if parts.hostname and port else None
