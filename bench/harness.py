"""The service as a real process (``article-ingest run``), for integration tests and benchmarks.

Both drive the same process the same way; every wait is bounded, and every process is stopped
by its own pid.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import service
from service.edges.broker import free_port

# The checkout whose ``service`` this process imported, where the service processes start: the
# source tree, or a compiled build's tree (``bench.build``) when the benchmark runs from one.
SERVICE_TREE = Path(service.__file__).parent.parent


class ServiceProcess:
    """``article-ingest run`` against a given broker, with its own HTTP port and log file."""

    def __init__(self, bootstrap: str, log_dir: Path, group: str = "it", **settings: str) -> None:
        self.http_port = free_port()
        self.log_path = log_dir / f"service-{self.http_port}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
        env.update({
            "INGEST_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "INGEST_KAFKA__GROUP_ID": group,
            "INGEST_KAFKA__SESSION_TIMEOUT_MS": "6000",
            "INGEST_KAFKA__HEARTBEAT_INTERVAL_MS": "1000",
            "INGEST_HTTP__HOST": "127.0.0.1",
            "INGEST_HTTP__PORT": str(self.http_port),
            "INGEST_SERVICE__LOG_LEVEL": "info",
        })
        env.update({f"INGEST_{k.upper()}": v for k, v in settings.items()})
        self._log = self.log_path.open("wb")
        command = [sys.executable, "-m", "service", "run"]
        if not bootstrap:
            command.append("--embedded-broker")
        self.process = subprocess.Popen(command, cwd=SERVICE_TREE,
                                        env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}",
                                        timeout=2) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"service exited {self.process.returncode}: {self.logs()}")
            try:
                if self.get("/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"service not ready within {timeout_s} s: {self.logs()[-3000:]}")

    def metric(self, name: str, **labels: str) -> float | None:
        """The value of one sample on /metrics, or None when absent."""
        wanted = name + ("{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
                         if labels else "")
        for line in self.get("/metrics")[1].splitlines():
            sample, _, value = line.rpartition(" ")
            if sample == wanted:
                return float(value)
        return None

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 20.0) -> int:
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
        try:
            return self.process.wait(timeout_s)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        if not self._log.closed:
            self._log.close()

    def logs(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")
