"""The service end to end on a real broker (Tansu over TCP), read back with confluent-kafka."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from bench.harness import ServiceProcess
from service.config import internal_topic
from service.edges.broker import EmbeddedBroker
from tests.conftest import REPO, SEEDS, shared_path
from tests.harness import publish, read_topic, synthetic_articles, wait_for_topic

pytestmark = pytest.mark.integration

MALFORMED = [b"this is not json", b'{"title": "no url here", "text": "body"}',
             bytes(range(256)) * 3]


def test_samples_and_malformed_messages_flow_to_all_three_topics(
        broker: EmbeddedBroker, tmp_path: Path) -> None:
    service = ServiceProcess(broker.bootstrap, tmp_path)
    try:
        service.wait_ready()
        seeds = SEEDS.read_bytes().splitlines()
        publish(broker.bootstrap, "articles.raw", [*seeds, *MALFORMED])

        clean = read_topic(broker.bootstrap, "articles.clean", expect=5)
        clusters = read_topic(broker.bootstrap, "articles.clusters", expect=5)
        dlq = read_topic(broker.bootstrap, "articles.dlq", expect=3)

        assert len(clean) == 5
        assert {record["schema"] for _, record in clean} == {"article.clean/1"}
        assert all(key == record["id"].encode() for key, record in clean)
        assert all(len(record["fingerprint"]["content"]) == 32 for _, record in clean)
        assert len(clusters) == 5
        assert len({event["cluster_id"] for _, event in clusters}) == 1
        assert {event["article_id"] for _, event in clusters} == {r["id"] for _, r in clean}
        assert all(event["duplicate_of"] is None for _, event in clusters)
        assert sorted(letter["reason"] for _, letter in dlq) == [
            "invalid_json", "invalid_json", "missing_url"]
        binary = next(letter for _, letter in dlq if letter.get("raw_encoding") == "base64")
        assert binary["topic"] == "articles.raw" and binary["offset"] >= 0

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if service.metric("ingest_articles_total", outcome="dead_letter") == 3:
                break
            time.sleep(0.3)
        assert service.metric("ingest_articles_total", outcome="dead_letter") == 3
        consumed = service.metric("ingest_messages_consumed_total", topic="articles.raw")
        assert consumed is not None and consumed >= 8
        assert service.metric("ingest_clusters_active") == 1
        text = service.get("/metrics")[1]
        assert "ingest_processing_seconds_bucket" in text
        assert "ingest_consumer_lag{" in text or service.metric("ingest_ready") == 1

        started = time.monotonic()
        assert service.stop(signal.SIGTERM) == 0
        assert time.monotonic() - started < 20
    finally:
        service.kill()


def test_two_workers_in_one_group_share_the_partitions(
        broker: EmbeddedBroker, tmp_path: Path) -> None:
    first = ServiceProcess(broker.bootstrap, tmp_path, group="pair")
    second = ServiceProcess(broker.bootstrap, tmp_path, group="pair")
    try:
        first.wait_ready()
        second.wait_ready()
        messages = synthetic_articles(120)
        publish(broker.bootstrap, "articles.raw", messages)
        clean = read_topic(broker.bootstrap, "articles.clean", expect=120, timeout_s=60)
        assert {record["id"] for _, record in clean} == {f"syn-7-{i}" for i in range(120)}
        events = read_topic(broker.bootstrap, "articles.clusters", expect=120, timeout_s=60)
        assert {event["article_id"] for _, event in events} >= {f"syn-7-{i}" for i in range(120)}
        shares = [w.metric("ingest_messages_consumed_total", topic="articles.raw") or 0
                  for w in (first, second)]
        assert all(share > 0 for share in shares), shares
        assert sum(shares) >= 120
        # Split by work (kafka.state_shard_load 0.2): the shard's owner holds 5 of the 12 raw
        # partitions and the other worker 7. Lag gauges name the partitions each one holds.
        deadline = time.monotonic() + 20
        while True:
            held = [_held(w) for w in (first, second)]
            split = sorted((len(raw), shards) for raw, shards in held)
            if split == [(5, 1), (7, 0)] or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        assert split == [(5, 1), (7, 0)], held
        assert sorted(p for raw, _ in held for p in raw) == list(range(12))
        assert first.stop() == 0 and second.stop() == 0
    finally:
        first.kill()
        second.kill()


def _held(worker: ServiceProcess) -> tuple[list[int], int]:
    """The raw partitions a worker holds, and how many state shards."""
    raw = [p for p in range(12)
           if worker.metric("ingest_consumer_lag", partition=str(p), topic="articles.raw")
           is not None]
    shards = worker.metric("ingest_consumer_lag", partition="0",
                           topic=internal_topic("pair", "prepared")) is not None
    return raw, int(shards)


def test_a_restarted_worker_loses_nothing(broker: EmbeddedBroker, tmp_path: Path) -> None:
    messages = synthetic_articles(200, seed=11)
    service = ServiceProcess(broker.bootstrap, tmp_path, group="restart")
    try:
        service.wait_ready()
        publish(broker.bootstrap, "articles.raw", messages[:100])
        read_topic(broker.bootstrap, "articles.clean", expect=100, settle_s=0.2)
        assert service.stop() == 0
    finally:
        service.kill()
    publish(broker.bootstrap, "articles.raw", messages[100:])
    again = ServiceProcess(broker.bootstrap, tmp_path, group="restart")
    try:
        again.wait_ready()
        clean = read_topic(broker.bootstrap, "articles.clean", expect=200, timeout_s=60)
        ids = [record["id"] for _, record in clean]
        assert set(ids) == {f"syn-11-{i}" for i in range(200)}
        assert len(ids) == 200, "a clean shutdown commits everything: no redelivery"
        events = read_topic(broker.bootstrap, "articles.clusters", expect=200, timeout_s=60)
        latest = {event["article_id"]: event for _, event in events}
        assert len(latest) == 200
        assert again.stop() == 0
    finally:
        again.kill()


def test_embedded_broker_mode_starts_and_stops_its_own_broker(tmp_path: Path) -> None:
    from service.edges.broker import free_port

    port = free_port()
    service = ServiceProcess("", tmp_path, **{"kafka__embedded_port": str(port)})
    try:
        service.wait_ready(timeout_s=40)
        wait_for_topic(f"127.0.0.1:{port}", "articles.raw")
        publish(f"127.0.0.1:{port}", "articles.raw", SEEDS.read_bytes().splitlines())
        clean = read_topic(f"127.0.0.1:{port}", "articles.clean", expect=5)
        assert len(clean) == 5
        assert service.stop() == 0
        assert "embedded broker stopped" in service.logs()
        with pytest.raises(OSError):
            import socket
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
    finally:
        service.kill()


def test_records_are_plain_json_objects_readable_by_any_client(
        broker: EmbeddedBroker, tmp_path: Path) -> None:
    service = ServiceProcess(broker.bootstrap, tmp_path)
    try:
        service.wait_ready()
        publish(broker.bootstrap, "articles.raw", SEEDS.read_bytes().splitlines()[:1])
        ((key, record),) = read_topic(broker.bootstrap, "articles.clean", expect=1)
        assert orjson.loads(orjson.dumps(record)) == record
        assert key is not None and record["id"] == key.decode()
        assert os.environ.get("INGEST_KAFKA__BOOTSTRAP_SERVERS") is None
    finally:
        service.stop()


def test_replay_command_publishes_each_line_keyed_by_id_or_url(
        broker: EmbeddedBroker, tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import REPO

    source = tmp_path / "raw.jsonl"
    source.write_bytes(SEEDS.read_bytes() + b"\n\n" + b'{"id": "x1", "url": "u"}\n')
    env = {"PATH": "/usr/bin:/bin", "INGEST_KAFKA__BOOTSTRAP_SERVERS": broker.bootstrap}
    done = subprocess.run([sys.executable, "-m", "service", "replay", str(source), "--topic",
                           "replayed"], env=env, cwd=REPO, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stderr.splitlines()[-1]) == {"sent": 6}
    records = read_topic(broker.bootstrap, "replayed", expect=6, settle_s=0.5)
    assert len(records) == 6
    keys = {key for key, _ in records}
    assert b"x1" in keys
    assert {orjson.loads(line)["url"].encode() for line in SEEDS.read_bytes().splitlines()} <= keys


def test_a_paused_feed_settles_its_shard_as_the_end_of_a_process_input_does(
        broker: EmbeddedBroker, tmp_path: Path) -> None:
    lines = gzip.decompress(shared_path("data/stories/dev.jsonl.gz").read_bytes()).splitlines()
    data = b"\n".join(lines[:300]) + b"\n"
    offline = tmp_path / "offline"
    subprocess.run([sys.executable, "-m", "service", "process", "-", "--out", str(offline)],
                   input=data, cwd=REPO, check=True, timeout=120,
                   env={"PATH": "/usr/bin:/bin", "INGEST_FETCH__ENABLED": "false"})
    expected = [orjson.loads(line)
                for line in (offline / "clusters.jsonl").read_bytes().splitlines()]
    assert any(event.get("reason") == "reassigned" for event in expected)
    # own topics of one partition: the shard decides in file order, as ``process`` does
    topics = {f"topics__{name}": f"settle.{name}"
              for name in ("raw", "clean", "clusters", "dlq", "prepared", "state")}
    service = ServiceProcess(broker.bootstrap, tmp_path, group="settle", fetch__enabled="false",
                             kafka__topic_partitions="1", kafka__settle_idle_ms="1000", **topics)
    try:
        service.wait_ready()
        publish(broker.bootstrap, "settle.raw", lines[:300])
        events = read_topic(broker.bootstrap, "settle.clusters", expect=len(expected),
                            timeout_s=120, settle_s=2.0)
        settled = [orjson.loads(line) for line in service.logs().splitlines()
                   if '"shard settled"' in line]
        assert settled and settled[0]["moved"] > 0
        assert len(events) == len(expected)
        assert ({event["article_id"]: event["cluster_id"] for _, event in events}
                == {event["article_id"]: event["cluster_id"] for event in expected})
        assert service.stop() == 0
    finally:
        service.kill()


def test_a_slow_host_holds_up_neither_its_own_batch_nor_the_text_beside_it(
        broker: EmbeddedBroker, tmp_path: Path) -> None:
    """Twelve URL-only messages to a host that drips a byte a second, then a text article, all
    in one partition (one poll): every fetch ends by fetch.total_timeout_s, slot wait included,
    and the text article's clean record does not wait for them."""
    from tests.fetch_server import Reply, serving

    topics = {f"topics__{name}": f"slow.{name}"
              for name in ("raw", "clean", "clusters", "dlq", "prepared", "state")}
    with serving() as host:
        drip = Reply(body=b"<html><body>" + b"x" * 40 + b"</body></html>", trickle=60,
                     trickle_gap=1.0)
        urls = [host.route(f"/slow/{i}", drip) for i in range(12)]
        service = ServiceProcess(broker.bootstrap, tmp_path, group="slow",
                                 kafka__topic_partitions="1", fetch__total_timeout_s="3",
                                 fetch__allow_private_networks="true", **topics)
        try:
            service.wait_ready()
            text = synthetic_articles(1, seed=5)
            published = time.monotonic()
            publish(broker.bootstrap, "slow.raw",
                    [*(orjson.dumps({"url": url}) for url in urls), *text])
            clean = read_topic(broker.bootstrap, "slow.clean", expect=1, timeout_s=5,
                               settle_s=0)
            assert [record["id"] for _, record in clean] == ["syn-5-0"]
            assert time.monotonic() - published < 5
            left = 15 - (time.monotonic() - published)
            dlq = read_topic(broker.bootstrap, "slow.dlq", expect=12, timeout_s=left, settle_s=0)
            assert time.monotonic() - published < 15
            assert len(dlq) == 12
            assert {letter["reason"] for _, letter in dlq} == {"fetch_failed"}
            assert all("3s in total" in letter["detail"] for _, letter in dlq)
            # SIGTERM with fetches under way: they are abandoned (redelivered), not waited for.
            seen = len(host.seen)
            publish(broker.bootstrap, "slow.raw", [orjson.dumps({"url": urls[0]})])
            deadline = time.monotonic() + 10
            while len(host.seen) == seen and time.monotonic() < deadline:
                time.sleep(0.05)
            assert service.stop() == 0
            assert "fetches abandoned" in service.logs()
        finally:
            service.kill()


def test_an_article_too_large_for_a_record_is_a_dead_letter_and_the_partition_flows_on(
        broker: EmbeddedBroker, tmp_path: Path) -> None:
    from tests.test_pipeline import _long_article

    topics = {f"topics__{name}": f"big.{name}"
              for name in ("raw", "clean", "clusters", "dlq", "prepared", "state")}
    service = ServiceProcess(broker.bootstrap, tmp_path, group="big", fetch__enabled="false",
                             kafka__topic_partitions="1", limits__max_record_bytes="200000",
                             **topics)
    try:
        service.wait_ready()
        publish(broker.bootstrap, "big.raw", [_long_article(40_000), *synthetic_articles(1)])
        clean = read_topic(broker.bootstrap, "big.clean", expect=1, timeout_s=30, settle_s=0.5)
        dlq = read_topic(broker.bootstrap, "big.dlq", expect=1, timeout_s=30, settle_s=0.5)
        assert [record["id"] for _, record in clean] == ["syn-7-0"]
        assert [(letter["reason"], letter["offset"]) for _, letter in dlq] == [("too_large", 0)]
        assert service.stop() == 0
    finally:
        service.kill()


def test_a_record_the_producer_refuses_as_too_large_becomes_a_dead_letter(
        broker: EmbeddedBroker) -> None:
    """The producer's max_request_size below a record (the pipeline's cap set higher than the
    broker takes): no retrying forever, a too_large dead letter stands in for the message."""
    import asyncio

    from service.app import build_pipeline
    from service.config import load_config
    from service.edges.http import Health
    from service.metrics import Metrics
    from service.records import Origin
    from service.runtime.worker import Worker

    config = load_config(env={"INGEST_KAFKA__BOOTSTRAP_SERVERS": broker.bootstrap,
                              "INGEST_LIMITS__MAX_RECORD_BYTES": "50000",
                              "INGEST_TOPICS__DLQ": "refused.dlq"})
    metrics = Metrics()

    async def go() -> None:
        worker = Worker(config, build_pipeline(config), metrics, Health())
        await worker.producer.start()
        try:
            send = await worker.delivery.send("refused.clean", None, b"k", b"x" * 100_000,
                                              Origin("refused.raw", 0, 7, b"k"), b'{"url": "u"}')
            await asyncio.wait_for(worker.delivery.deliver(send), 20)
        finally:
            await worker.producer.stop()

    asyncio.run(asyncio.wait_for(go(), 40))
    ((key, letter),) = read_topic(broker.bootstrap, "refused.dlq", expect=1, timeout_s=20,
                                  settle_s=0.2)
    assert key == b"k" and letter["reason"] == "too_large" and letter["offset"] == 7
    assert letter["raw"] == '{"url": "u"}' and "refused.clean" in letter["detail"]
    assert metrics.dead_letters.labels("too_large")._value.get() == 1


def test_sigterm_during_a_group_join_leaves_the_group_and_exits_0(
        broker: EmbeddedBroker, tmp_path: Path) -> None:
    """A member that stops polling holds every rebalance until its poll interval runs out; a
    worker joining meanwhile and sent SIGTERM must not wait for that join (it exited 1 with
    "shutdown grace exceeded" and an unclosed consumer): it leaves the group and exits 0."""
    from confluent_kafka import Consumer

    first = ServiceProcess(broker.bootstrap, tmp_path, group="join")
    holder = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "join",
                       "session.timeout.ms": 30000, "max.poll.interval.ms": 60000,
                       "partition.assignment.strategy": "roundrobin"})
    second = None
    try:
        first.wait_ready(timeout_s=60)
        holder.subscribe(["articles.raw"])
        for _ in range(30):  # it joins, then polls no more
            holder.poll(0.2)
        second = ServiceProcess(broker.bootstrap, tmp_path, group="join",
                                service__shutdown_grace_s="4")
        deadline = time.monotonic() + 30
        while "partitions revoked" not in second.logs() and time.monotonic() < deadline:
            time.sleep(0.1)  # its join has begun
        time.sleep(0.5)
        started = time.monotonic()
        assert second.stop(signal.SIGTERM, timeout_s=10) == 0, second.logs()[-2000:]
        assert time.monotonic() - started < 4
        logs = second.logs()
        assert "Unclosed" not in logs and "grace exceeded" not in logs
        assert "leaving the group failed" not in logs
    finally:
        holder.close()
        first.kill()
        if second is not None:
            second.kill()
