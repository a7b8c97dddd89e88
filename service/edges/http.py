"""``/metrics``, ``/healthz`` and ``/readyz`` on a tiny asyncio HTTP/1.1 server.

Served from the service's own event loop on purpose: if the loop is stuck, ``/healthz`` stops
answering and the orchestrator restarts the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.metrics import Metrics

log = logging.getLogger("service.health")

_MAX_REQUEST_LINE = 8192
_READ_TIMEOUT_S = 5.0


@dataclass
class Health:
    """Readiness as the Kafka edge reports it: connected and holding partitions (``ready``),
    with no standing problem (``problems``: topics missing, commits failing), so /readyz says
    what is wrong even while the connection looks fine."""

    ready: bool = False
    why_not: str = "starting"
    problems: dict[str, str] = field(default_factory=dict)

    def set_ready(self, ready: bool, why_not: str = "") -> None:
        if ready != self.ready:  # transitions only: the probes call this every few seconds
            if ready:
                log.info("ready")
            else:
                log.info("not ready", extra={"reason": why_not})
        self.ready = ready
        self.why_not = "" if ready else why_not

    def report(self, problem: str, detail: str = "") -> None:
        """Raise (with a ``detail``) or clear (without) one standing problem."""
        if detail:
            self.problems[problem] = detail
        else:
            self.problems.pop(problem, None)

    @property
    def serving(self) -> bool:
        return self.ready and not self.problems

    @property
    def status(self) -> str:
        """Why not serving: the standing problems, else the connection's state."""
        return "; ".join(self.problems.values()) or self.why_not


class HttpServer:
    def __init__(self, host: str, port: int, metrics: Metrics, health: Health) -> None:
        self.host = host
        self.port = port
        self.metrics = metrics
        self.health = health
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        sockets = self._server.sockets
        if self.port == 0 and sockets:
            self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None

    def respond(self, method: str, path: str) -> tuple[int, str, bytes]:
        """Status, content type and body for one request (pure, so tests call it directly)."""
        path = path.split("?", 1)[0]
        if method not in ("GET", "HEAD"):
            return 405, "text/plain", b"method not allowed\n"
        if path == "/metrics":
            self.metrics.ready.set(1 if self.health.serving else 0)
            return 200, CONTENT_TYPE_LATEST, generate_latest(self.metrics.registry)
        if path == "/healthz":
            return 200, "text/plain", b"ok\n"
        if path == "/readyz":
            if self.health.serving:
                return 200, "text/plain", b"ready\n"
            return 503, "text/plain", f"not ready: {self.health.status}\n".encode()
        return 404, "text/plain", b"not found\n"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), _READ_TIMEOUT_S)
            if not line or len(line) > _MAX_REQUEST_LINE:
                return
            parts = line.decode("latin-1").split()
            while True:  # drain headers; bodies are not accepted
                header = await asyncio.wait_for(reader.readline(), _READ_TIMEOUT_S)
                if header in (b"\r\n", b"\n", b""):
                    break
            if len(parts) < 2:
                status, kind, body = 400, "text/plain", b"bad request\n"
            else:
                status, kind, body = self.respond(parts[0], parts[1])
            reason = {200: "OK", 400: "Bad Request", 404: "Not Found",
                      405: "Method Not Allowed", 503: "Service Unavailable"}[status]
            head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
            writer.write(head if parts and parts[0] == "HEAD" else head + body)
            await writer.drain()
        except (TimeoutError, ConnectionError, UnicodeDecodeError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
