"""Faults: SIGKILL mid-stream, broker connections cut, workers leaving and joining under load.

The promise under test: every raw message ends as a clean record or a dead letter, none lost,
and every article gets its cluster decision (one process owns the shard and decides its own
articles at once, so those decisions have no prepared record to be replayed from).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.harness import ServiceProcess
from service.edges.broker import EmbeddedBroker, free_port
from tests.faultproxy import FaultProxy
from tests.harness import publish, read_topic, synthetic_articles

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _mixed_stream(valid: int, seed: int) -> tuple[list[bytes], set[str], int]:
    """Valid articles with every tenth message malformed; returns messages, ids, malformed count."""
    messages, ids, malformed = [], set(), 0
    for index, message in enumerate(synthetic_articles(valid, seed=seed)):
        messages.append(message)
        ids.add(f"syn-{seed}-{index}")
        if index % 10 == 0:
            messages.append(b"{broken json " + str(index).encode())
            malformed += 1
    return messages, ids, malformed


def _accounted(bootstrap: str, ids: set[str], malformed: int, timeout_s: float = 90.0) -> None:
    clean = read_topic(bootstrap, "articles.clean", expect=len(ids), timeout_s=timeout_s)
    assert {record["id"] for _, record in clean} == ids
    letters = read_topic(bootstrap, "articles.dlq", expect=malformed, timeout_s=timeout_s)
    positions = {(letter["partition"], letter["offset"]) for _, letter in letters}
    assert len(positions) == malformed
    assert all(letter["reason"] == "invalid_json" for _, letter in letters)
    events = read_topic(bootstrap, "articles.clusters", expect=len(ids), timeout_s=timeout_s)
    assert {event["article_id"] for _, event in events} == ids, "every article decided"


def test_sigkill_mid_stream_then_restart_accounts_for_every_message(
        broker: EmbeddedBroker, tmp_path: Path) -> None:
    messages, ids, malformed = _mixed_stream(2000, seed=21)
    publish(broker.bootstrap, "articles.raw", messages)
    service = ServiceProcess(broker.bootstrap, tmp_path, group="crash")
    try:
        service.wait_ready()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = service.metric("ingest_records_produced_total", topic="articles.clean") or 0
            if done >= 300:
                break
            time.sleep(0.05)
        assert service.stop(signal.SIGKILL) == -signal.SIGKILL
    finally:
        service.kill()
    again = ServiceProcess(broker.bootstrap, tmp_path, group="crash")
    try:
        again.wait_ready()
        _accounted(broker.bootstrap, ids, malformed)
        clean = read_topic(broker.bootstrap, "articles.clean", expect=len(ids), settle_s=0.2)
        redelivered = len(clean) - len(ids)
        assert redelivered <= 1000 + 500, "duplicates bounded by the in-flight window"
        assert again.stop() == 0
    finally:
        again.kill()


@pytest.fixture
def proxied_broker() -> Iterator[tuple[EmbeddedBroker, FaultProxy]]:
    proxy_port = free_port()
    with EmbeddedBroker(free_port(), advertised_port=proxy_port) as running:
        proxy = FaultProxy(proxy_port, running.port)
        try:
            yield running, proxy
        finally:
            proxy.close()


def test_broker_connection_cut_and_restored_loses_nothing(
        proxied_broker: tuple[EmbeddedBroker, FaultProxy], tmp_path: Path) -> None:
    _, proxy = proxied_broker
    bootstrap = f"127.0.0.1:{proxy.port}"
    messages, ids, malformed = _mixed_stream(600, seed=31)
    service = ServiceProcess(bootstrap, tmp_path, group="cut")
    try:
        service.wait_ready()
        publish(bootstrap, "articles.raw", messages[: len(messages) // 2])
        proxy.cut()
        deadline, saw_not_ready = time.monotonic() + 20, False
        while time.monotonic() < deadline and not saw_not_ready:
            with contextlib.suppress(TimeoutError):  # a loaded machine may answer late
                saw_not_ready = service.get("/readyz")[0] == 503
            time.sleep(0.2)
        assert saw_not_ready, "readiness must drop while the broker is unreachable"
        assert service.get("/healthz")[0] == 200
        time.sleep(3)
        proxy.restore()
        publish(bootstrap, "articles.raw", messages[len(messages) // 2:])
        service.wait_ready(timeout_s=60)
        _accounted(bootstrap, ids, malformed)
        assert service.stop() == 0
    finally:
        service.kill()


def test_rebalance_under_load_three_workers_one_leaves_one_joins(
        broker: EmbeddedBroker, tmp_path: Path) -> None:
    messages, ids, malformed = _mixed_stream(1500, seed=41)
    first = ServiceProcess(broker.bootstrap, tmp_path, group="trio")
    second = ServiceProcess(broker.bootstrap, tmp_path, group="trio")
    third: ServiceProcess | None = None
    feeder = threading.Thread(target=lambda: [
        publish(broker.bootstrap, "articles.raw", messages[i:i + 100])
        and time.sleep(0.1) for i in range(0, len(messages), 100)])
    try:
        first.wait_ready()
        second.wait_ready()
        feeder.start()
        time.sleep(2)
        third = ServiceProcess(broker.bootstrap, tmp_path, group="trio")
        assert first.stop() == 0
        third.wait_ready(timeout_s=60)
        feeder.join(120)
        _accounted(broker.bootstrap, ids, malformed, timeout_s=120)
        assert second.stop() == 0 and third.stop() == 0
    finally:
        for worker in (first, second, third):
            if worker is not None:
                worker.kill()


def _ensure_topics(bootstrap: str, group: str) -> None:
    import asyncio

    from service.config import load_config
    from service.edges.topics import ensure_topics

    config = load_config(env={"INGEST_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
                              "INGEST_KAFKA__GROUP_ID": group})
    asyncio.run(ensure_topics(config, create=True))


def _readiness_until(service: ServiceProcess, done: Callable[[], bool],
                     timeout_s: float) -> list[str]:
    """The distinct /readyz answers seen (polled every 0.2 s) until ``done()`` or the timeout."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not done():
        try:
            status, body = service.get("/readyz")
        except OSError:
            status, body = 0, "unreachable"
        if not seen or seen[-1] != f"{status} {body.strip()}":
            seen.append(f"{status} {body.strip()}")
        time.sleep(0.2)
    return seen


def test_a_broker_restarted_empty_gets_its_topics_back_and_work_resumes(
        broker: EmbeddedBroker, tmp_path: Path) -> None:
    service = ServiceProcess(broker.bootstrap, tmp_path, group="empty")
    try:
        service.wait_ready()
        publish(broker.bootstrap, "articles.raw", synthetic_articles(5, seed=21))
        read_topic(broker.bootstrap, "articles.clean", expect=5, timeout_s=30, settle_s=0.2)
        broker.stop()
        broker.start()
        seen = _readiness_until(service, lambda: False, timeout_s=4)
        assert any("not ready: topics missing: " in answer and "articles.raw" in answer
                   for answer in seen), seen
        service.wait_ready(timeout_s=40)
        publish(broker.bootstrap, "articles.raw", synthetic_articles(4, seed=22))
        clean = read_topic(broker.bootstrap, "articles.clean", expect=4, timeout_s=40)
        assert {record["id"] for _, record in clean} >= {f"syn-22-{i}" for i in range(4)}
        assert service.stop() == 0
        logs = service.logs()
        assert "topics recreated" in logs
        assert logs.count("OffsetCommit failed") <= 3, "commit failures are logged sparingly"
    finally:
        service.kill()


def test_a_broker_restarted_empty_without_create_topics_fails_loudly_and_sigterm_ends_it(
        broker: EmbeddedBroker, tmp_path: Path) -> None:
    """Readiness names the missing topics; SIGTERM then ends the worker within its grace; left
    alone, a second worker exits non-zero by itself with a line saying why."""
    _ensure_topics(broker.bootstrap, "gone")
    _ensure_topics(broker.bootstrap, "gone2")
    settings = {"kafka__create_topics": "false", "service__shutdown_grace_s": "3"}
    first = ServiceProcess(broker.bootstrap, tmp_path, group="gone", **settings)
    second = ServiceProcess(broker.bootstrap, tmp_path, group="gone2", **settings)
    try:
        first.wait_ready()
        second.wait_ready()
        publish(broker.bootstrap, "articles.raw", synthetic_articles(5, seed=23))
        read_topic(broker.bootstrap, "articles.clean", expect=5, timeout_s=30, settle_s=0.2)
        broker.stop()
        broker.start()
        seen = _readiness_until(first, lambda: False, timeout_s=4)
        assert any("not ready: topics missing: " in answer for answer in seen), seen
        started = time.monotonic()
        first.stop(timeout_s=10)
        assert time.monotonic() - started < 3 + 1.5, "SIGTERM ends it within the grace"
        assert second.process.wait(30) != 0
        assert "kafka.create_topics is off" in second.logs()
    finally:
        first.kill()
        second.kill()
