"""SSRF guard: which URLs the fetcher may request and which addresses it may connect to.

Addresses are checked at the moment of connecting, by the network backend the HTTP client uses:
the host is resolved once, every address is checked, and the socket is opened to one of exactly
those addresses. A DNS answer that changes between a check and the connect (DNS rebinding) thus
cannot steer the request to an internal address; TLS SNI and the Host header still carry the name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import typing
from collections.abc import Callable, Iterable

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IPAddress], bool]
"""Returns True when the fetcher may connect to the address."""

ALLOWED_SCHEMES = frozenset({"http", "https"})


class Blocked(Exception):
    """The URL or one of its addresses is off limits; no connection was made."""


class ResolveError(OSError):
    """The host name did not resolve; ``transient`` when another try may succeed."""

    def __init__(self, host: str, error: socket.gaierror) -> None:
        super().__init__(f"cannot resolve {host}: {error.strerror or error}")
        self.transient = error.errno == socket.EAI_AGAIN


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form smuggles (mapped, 6to4, Teredo), which decides reachability."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def is_public_address(address: IPAddress) -> bool:
    """The default policy: only globally routable unicast addresses."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None and not is_public_address(inner):
            return False
    return address.is_global and not (
        address.is_loopback or address.is_private or address.is_link_local
        or address.is_multicast or address.is_reserved or address.is_unspecified)


def check_scheme(url: httpx.URL) -> None:
    """Only http and https: file://, ftp://, gopher://, javascript: and the rest are refused."""
    if url.scheme not in ALLOWED_SCHEMES:
        raise Blocked(f"scheme {url.scheme or '(none)'!r} is not allowed")
    if not url.host:
        raise Blocked("URL has no host")


class Guard:
    """Resolves a host and refuses it unless every address passes ``policy``.

    ``allow_private`` skips the address policy (tests, intranet deployments); the host is still
    resolved here so the connection goes to the address that was looked up.
    """

    def __init__(self, allow_private: bool = False,
                 policy: AddressPolicy = is_public_address) -> None:
        self._allow_private = allow_private
        self._policy = policy

    async def resolve(self, host: str, port: int, timeout: float | None = None) -> list[str]:
        """The addresses to connect to, in resolver order; raises Blocked, ResolveError or
        httpcore.ConnectTimeout (a lookup counts against the connect timeout)."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                infos = await loop.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ResolveError(host, exc) from exc
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not self._allow_private:
            for text in addresses:
                address = ipaddress.ip_address(text.partition("%")[0])
                if not self._policy(address):
                    raise Blocked(f"{host} resolves to non-public address {address}")
        if not addresses:
            raise Blocked(f"{host} resolves to no address")
        return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the guard resolved and checked (see the module docstring)."""

    def __init__(self, guard: Guard,
                 inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._guard = guard
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[typing.Any] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        error: Exception | None = None
        for address in await self._guard.resolve(host, port, timeout):
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address,
                                                     socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None  # resolve() never returns an empty list
        raise error

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[typing.Any] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        raise Blocked("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
