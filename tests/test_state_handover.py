"""State shards survive their owner: a new owner restores the changelog and decides the same way."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from bench.harness import ServiceProcess
from service.edges.broker import EmbeddedBroker
from tests.conftest import SEEDS
from tests.harness import publish, read_topic

pytestmark = pytest.mark.integration


def test_a_new_owner_restores_the_shard_and_continues_the_same_clusters(
        broker: EmbeddedBroker, tmp_path: Path) -> None:
    seeds = SEEDS.read_bytes().splitlines()
    first = ServiceProcess(broker.bootstrap, tmp_path, group="handover")
    try:
        first.wait_ready()
        publish(broker.bootstrap, "articles.raw", seeds[:3])
        read_topic(broker.bootstrap, "articles.clusters", expect=3, settle_s=0.2)
        assert first.stop() == 0
    finally:
        first.kill()

    copy = orjson.loads(seeds[0])
    copy["url"] = "https://mirror.example.net/wire/lavrov-kim"  # same body, another address
    second = ServiceProcess(broker.bootstrap, tmp_path, group="handover")
    try:
        second.wait_ready()
        assert "state restored" in second.logs()
        publish(broker.bootstrap, "articles.raw", [*seeds[3:], orjson.dumps(copy)])
        events = read_topic(broker.bootstrap, "articles.clusters", expect=6)
        latest = {event["article_id"]: event for _, event in events}
        assert len(latest) == 6
        originals = [event for event in latest.values() if event["duplicate_kind"] is None]
        assert len(originals) == 5
        assert len({event["cluster_id"] for event in latest.values()}) == 1
        (duplicate,) = [event for event in latest.values() if event["duplicate_kind"]]
        # The text model reads the URL too, so the copy's body may differ by a line: near or exact.
        assert duplicate["duplicate_kind"] in ("exact", "near")
        first_id = next(record["id"] for _, record in
                        read_topic(broker.bootstrap, "articles.clean", expect=6)
                        if record["url"] == orjson.loads(seeds[0])["url"])
        assert duplicate["duplicate_of"] == first_id
        assert second.stop() == 0
    finally:
        second.kill()
