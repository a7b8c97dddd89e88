"""The routing `run` and `process` share: a prepared article to its shard, a shard's step."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from service.pipeline import Pipeline, Sink
from service.records import Origin, Outcome
from service.runtime.routing import decide_record, route, shard_for
from tests.conftest import SEEDS


def _pipeline() -> Pipeline:
    return Pipeline(max_message_bytes=5_000_000, clock=lambda: datetime(2024, 1, 1, tzinfo=UTC))


def test_the_prepared_record_goes_to_its_languages_shard_and_the_rest_by_key() -> None:
    result = _pipeline().prepare(SEEDS.read_bytes().splitlines()[0], Origin("raw", 0, 0))
    assert result.prepared is not None
    lang = result.prepared.head.lang
    for shards in (1, 4, 7):
        routed = {r.output.sink: r.shard for r in route(result, shards)}
        assert routed == {Sink.CLEAN: None, Sink.PREPARED: shard_for(lang, shards)}
        assert 0 <= shard_for(lang, shards) < shards


def test_a_dead_letter_is_routed_by_key_only() -> None:
    result = _pipeline().prepare(b"not json", Origin("raw", 0, 3))
    assert [(r.output.sink, r.shard) for r in route(result, 4)] == [(Sink.DLQ, None)]


def test_a_shard_decides_the_bytes_of_a_prepared_record() -> None:
    pipeline = _pipeline()
    state = pipeline.new_state()
    results = [pipeline.prepare(line, Origin("raw", 0, i))
               for i, line in enumerate(SEEDS.read_bytes().splitlines())]
    decided = [decide_record(pipeline, state, r.output.value, Origin("prepared", 0, i))
               for i, result in enumerate(results) for r in route(result, 1) if r.shard == 0]
    assert [d.outcome for d in decided] == [Outcome.CLEAN] * len(results)
    events = [orjson.loads(d.outputs[0].value) for d in decided]
    assert len({event["cluster_id"] for event in events}) == 1


def test_an_unreadable_prepared_record_is_an_internal_error_dead_letter() -> None:
    pipeline = _pipeline()
    result = decide_record(pipeline, pipeline.new_state(), b"\x00\x00garbage",
                           Origin("prepared", 2, 9, b"k"))
    (letter,) = result.outputs
    record = orjson.loads(letter.value)
    assert result.outcome is Outcome.DEAD_LETTER and letter.key == b"k"
    assert (record["reason"], record["partition"], record["offset"]) == ("internal_error", 2, 9)
