"""The routing both runners share: where each record of a message goes, and a shard's step.

A raw message's stateless step yields records for the clean and dead-letter sinks and, for an
article, one prepared record addressed to the state shard of its language. ``process``, and a
worker of ``run`` that owns that shard, hand the prepared article to the shard's state at once;
otherwise ``run`` sends the record through the shard's partition of ``topics.prepared`` and the
partition's owner decides its bytes with ``decide_record``. A prepared record reads back as the
article it was written from, so every path emits the same records for the same input
(tests/test_local_decisions.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import xxhash

from service.pipeline import Output, Pipeline, Prepared, Result, Sink
from service.records import Origin, Reason, Rejection
from service.state.stories import StoryState


def shard_for(lang: str, shards: int) -> int:
    """The state shard of an article: by language, so one story's reports share a shard."""
    return xxhash.xxh3_64_intdigest(lang.encode()) % shards


@dataclass(frozen=True, slots=True)
class Routed:
    """One record and its state shard (prepared records only; None: the sink picks by key)."""

    output: Output
    shard: int | None = None


def route(result: Result, shards: int) -> list[Routed]:
    """The records of a raw message's ``result``, its prepared record addressed to its shard."""
    lang = result.prepared.head.lang if result.prepared is not None else None
    return [Routed(output, shard_for(lang, shards)
                   if output.sink is Sink.PREPARED and lang is not None else None)
            for output in result.outputs]


def decide_record(pipeline: Pipeline, state: StoryState, value: bytes | None,
                  origin: Origin) -> Result:
    """A shard's step for one prepared record: its decisions, or an internal_error dead letter
    when the record cannot be read (written by another version, or damaged)."""
    try:
        prepared = Prepared.from_bytes(value or b"")
    except (ValueError, TypeError, KeyError) as exc:
        rejection = Rejection(Reason.INTERNAL_ERROR, f"unreadable internal record: {exc}",
                              "cluster")
        return pipeline.reject(rejection, origin, value)
    return pipeline.decide(state, prepared)
