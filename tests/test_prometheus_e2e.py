"""Real Prometheus (Debian's binary) scrapes the running service; its API shows the counts."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness import ServiceProcess
from service.edges.broker import EmbeddedBroker, free_port
from tests.conftest import SEEDS
from tests.harness import publish, read_topic

pytestmark = pytest.mark.integration


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator[object]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("Debian's prometheus binary is not installed (.ci/run installs it)")
    started: list[subprocess.Popen[bytes]] = []

    def start(target_port: int) -> int:
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: article-ingest\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n")
        port = free_port()
        log = (tmp_path / "prometheus.log").open("wb")
        started.append(subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT))
        return port

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _query(port: int, expr: str) -> float | None:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            result = json.load(response)["data"]["result"]
    except OSError:
        return None
    return float(result[0]["value"][1]) if result else None


def _wait_value(port: int, expr: str, want: float, timeout_s: float = 40.0) -> float | None:
    deadline, value = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        value = _query(port, expr)
        if value is not None and value >= want:
            return value
        time.sleep(0.5)
    return value


def test_prometheus_scrapes_consumed_and_produced_counts(
        broker: EmbeddedBroker, tmp_path: Path, prometheus_for: object) -> None:
    service = ServiceProcess(broker.bootstrap, tmp_path)
    try:
        service.wait_ready()
        assert callable(prometheus_for)
        prometheus_port = prometheus_for(service.http_port)
        seeds = SEEDS.read_bytes().splitlines()
        publish(broker.bootstrap, "articles.raw", [*seeds, b"not json"])
        read_topic(broker.bootstrap, "articles.clusters", expect=5)

        consumed = 'sum(ingest_messages_consumed_total{topic="articles.raw"})'
        produced = 'sum(ingest_records_produced_total{topic="articles.clean"})'
        dead = 'sum(ingest_articles_total{outcome="dead_letter"})'
        assert _wait_value(prometheus_port, consumed, 6) == 6
        assert _wait_value(prometheus_port, produced, 5) == 5
        assert _wait_value(prometheus_port, dead, 1) == 1
        assert _query(prometheus_port, 'up{job="article-ingest"}') == 1
        assert _query(prometheus_port, "ingest_ready") == 1
    finally:
        service.stop()
