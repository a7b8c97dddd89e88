"""HTTP endpoints and lag arithmetic, without a broker."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from service.edges.http import Health, HttpServer
from service.edges.kafka import consumer_lag
from service.metrics import LabelledHistogram, Metrics
from service.runtime.routing import shard_for


def test_readyz_follows_health_and_healthz_always_answers() -> None:
    health = Health()
    server = HttpServer("127.0.0.1", 0, Metrics(), health)
    assert server.respond("GET", "/healthz")[0] == 200
    status, _, body = server.respond("GET", "/readyz")
    assert status == 503 and b"starting" in body
    health.set_ready(True)
    assert server.respond("GET", "/readyz")[0] == 200
    assert server.respond("GET", "/nope")[0] == 404
    assert server.respond("POST", "/metrics")[0] == 405


def test_readyz_names_a_standing_problem_while_connected_and_clears_with_it() -> None:
    health = Health()
    server = HttpServer("127.0.0.1", 0, Metrics(), health)
    health.set_ready(True)
    health.report("topics", "topics missing: articles.raw")
    health.report("commit", "offset commits failing: UnknownTopicOrPartitionError")
    status, _, body = server.respond("GET", "/readyz")
    assert status == 503
    assert body == (b"not ready: topics missing: articles.raw; offset commits failing: "
                    b"UnknownTopicOrPartitionError\n")
    health.report("topics")
    health.report("commit")
    assert server.respond("GET", "/readyz")[0] == 200


def test_metrics_expose_the_spec_names() -> None:
    metrics = Metrics()
    metrics.messages_consumed.labels("articles.raw").inc()
    metrics.articles.labels("dead_letter").inc()
    metrics.articles_by_outcome("dead_letter").inc()  # the same series, memoized
    metrics.consumer_lag.labels("articles.raw", "0").set(3)
    metrics.processing_seconds.observe("normalize", 0.01)
    metrics.produced_to("articles.clean").inc()
    _, kind, body = HttpServer("127.0.0.1", 0, metrics, Health()).respond("GET", "/metrics")
    text = body.decode()
    assert kind.startswith("text/plain")
    for line in ('ingest_messages_consumed_total{topic="articles.raw"} 1.0',
                 'ingest_articles_total{outcome="dead_letter"} 2.0',
                 'ingest_records_produced_total{topic="articles.clean"} 1.0',
                 'ingest_consumer_lag{partition="0",topic="articles.raw"} 3.0',
                 'ingest_processing_seconds_bucket{le="0.025",stage="normalize"} 1.0',
                 "ingest_clusters_active 0.0", "ingest_ready 0.0", "process_start_time_seconds"):
        assert line in text


def test_a_labelled_histogram_is_exposed_as_prometheus_clients_histogram() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    buckets = (0.001, 0.01, 0.1, 1.0)
    fast = LabelledHistogram("stage_seconds", "Time per stage.", "stage", buckets, ours)
    reference = Histogram("stage_seconds", "Time per stage.", ["stage"], buckets=buckets,
                          registry=theirs)
    for stage, amount in [("decode", 0.0005), ("decode", 0.001), ("normalize", 0.02),
                          ("normalize", 3.0), ("decode", 0.1000001), ("settle", 0.0)]:
        fast.observe(stage, amount)
        reference.labels(stage).observe(amount)
    unlabelled = LabelledHistogram("delay_seconds", "Delay.", None, buckets, ours)
    unlabelled_reference = Histogram("delay_seconds", "Delay.", buckets=buckets, registry=theirs)
    for amount in (0.002, 5.0):
        unlabelled.observe("", amount)
        unlabelled_reference.observe(amount)
    assert generate_latest(ours) == generate_latest(theirs)
    assert b'stage_seconds_bucket{le="0.001",stage="decode"} 2.0' in generate_latest(ours)
    assert b'delay_seconds_bucket{le="+Inf"} 2.0' in generate_latest(ours)


@pytest.mark.parametrize(("end", "position", "lag"),
                         [(10, 4, 6), (10, 10, 0), (7, 9, 0), (0, 0, 0)])
def test_lag_is_never_negative(end: int, position: int, lag: int) -> None:
    assert consumer_lag(end, position) == lag


def test_shards_are_stable_and_in_range() -> None:
    assert shard_for("en", 1) == 0
    assert {shard_for(lang, 4) for lang in ("en", "de", "fr", "ru", "es", "it")} <= set(range(4))
    assert shard_for("en", 4) == shard_for("en", 4)


def test_server_answers_over_tcp() -> None:
    async def scenario() -> bytes:
        server = HttpServer("127.0.0.1", 0, Metrics(), Health(ready=True))
        await server.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            data = await asyncio.wait_for(reader.read(), 5)
            writer.close()
            return data
        finally:
            await server.stop()

    response = asyncio.run(scenario())
    assert response.startswith(b"HTTP/1.1 200 OK") and response.endswith(b"ready\n")
