"""A scripted HTTP server on a loopback port for fetch tests; it records every request it sees.

Each path answers with a list of replies, one per request (the last one repeats), so a test can
say "503, then 200". Handlers run in daemon threads and every wait is cut short on shutdown.
"""

from __future__ import annotations

import http.server
import ssl
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reply:
    """What the server sends: ``delay`` before the headers; ``trickle`` splits the body into that
    many pieces with ``trickle_gap`` seconds between them (and then sends no Content-Length)."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "text/html; charset=utf-8"),)
    delay: float = 0.0
    trickle: int = 1
    trickle_gap: float = 0.0


def gzip_bomb(size: int) -> bytes:
    """``size`` zero bytes gzipped, built a megabyte at a time (a bomb without the memory)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    parts = [packer.compress(block) for _ in range(size >> 20)]
    parts.append(packer.compress(bytes(size & ((1 << 20) - 1))))
    return b"".join([*parts, packer.flush()])


def html_page(body: str, status: int = 200) -> Reply:
    return Reply(status, body.encode("utf-8"))


def redirect(location: str, status: int = 302) -> Reply:
    return Reply(status, headers=(("Location", location),))


@dataclass
class _State:
    routes: dict[str, list[Reply]] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    served: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        state = self.server.state
        with state.lock:
            state.seen.append(self.path)
            state.headers.append({name.lower(): value for name, value in self.headers.items()})
            replies = state.routes.get(self.path, [Reply(404, b"not found")])
            index = state.served.get(self.path, 0)
            state.served[self.path] = index + 1
            state.in_flight += 1
            state.peak = max(state.peak, state.in_flight)
        try:
            self._send(replies[min(index, len(replies) - 1)], state.stopping)
        except OSError:
            pass  # the client gave up (a timeout under test): nothing to tell it
        finally:
            with state.lock:
                state.in_flight -= 1

    def _send(self, reply: Reply, stopping: threading.Event) -> None:
        if stopping.wait(reply.delay):
            return
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        if reply.trickle <= 1:
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        step = max(1, -(-len(reply.body) // max(1, reply.trickle)))
        for start in range(0, len(reply.body), step):
            if start and stopping.wait(reply.trickle_gap):
                return
            self.wfile.write(reply.body[start:start + step])
            self.wfile.flush()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests assert on the recorded requests instead."""


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, tls: ssl.SSLContext | None) -> None:
        super().__init__((host, 0), _Handler)
        self.state = _State()
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)


class LoopbackServer:
    """The running server: ``route`` scripts it, ``seen`` lists request paths in order."""

    def __init__(self, server: _Server, host: str, scheme: str) -> None:
        self._server = server
        self._host = host
        self._scheme = scheme

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/", host: str | None = None) -> str:
        return f"{self._scheme}://{host or self._host}:{self.port}{path}"

    def route(self, path: str, *replies: Reply) -> str:
        """Script ``path`` and return its URL."""
        with self._server.state.lock:
            self._server.state.routes[path] = list(replies)
        return self.url(path)

    @property
    def seen(self) -> list[str]:
        with self._server.state.lock:
            return list(self._server.state.seen)

    @property
    def headers(self) -> list[dict[str, str]]:
        """The request headers, lower-cased names, in the order of ``seen``."""
        with self._server.state.lock:
            return list(self._server.state.headers)

    @property
    def peak_in_flight(self) -> int:
        return self._server.state.peak


@contextmanager
def serving(host: str = "127.0.0.1",
            tls: ssl.SSLContext | None = None) -> Iterator[LoopbackServer]:
    """A server on ``host`` and a free port (HTTPS with ``tls``), shut down on exit."""
    server = _Server(host, tls)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield LoopbackServer(server, host, "http" if tls is None else "https")
    finally:
        server.state.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
