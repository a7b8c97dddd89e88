"""``process``: the pipeline over a JSONL file, writing the records ``run`` would produce.

The runner is the Kafka worker's topology without the broker: the same batch flow, the same
routing (``service.runtime.routing``), one story state per shard. Prepared records go straight
to their shard's state instead of through ``topics.prepared``; when the input ends, each shard
settles (the hindsight a worker applies when its feed pauses).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from service.config import Config, ConfigError
from service.edges.fetch import Fetcher
from service.pipeline import Output, Pipeline, Sink
from service.records import Origin
from service.runtime.flow import Message, prepare_batch
from service.runtime.routing import route
from service.state.stories import StoryState

# Messages fetched and prepared together; fetches of a batch run concurrently.
_FILE_BATCH = 64


def jsonl_lines(source: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines with their 0-based line numbers (a file's offsets, for dead letters)."""
    for number, line in enumerate(source):
        line = line.rstrip(b"\r\n")
        if line.strip():
            yield number, line


class _Outputs:
    """The clean, clusters and dlq files of one run, and how many records each got."""

    def __init__(self, out_dir: Path) -> None:
        self.files: dict[Sink, BinaryIO] = {}
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            for sink in (Sink.CLEAN, Sink.CLUSTERS, Sink.DLQ):
                self.files[sink] = (out_dir / f"{sink.value}.jsonl").open("wb")
        except OSError as exc:
            self.close()
            raise ConfigError("--out", f"cannot write to {out_dir}: "
                                       f"{exc.strerror or exc}") from exc
        self.counts = {"consumed": 0, **{sink.value: 0 for sink in self.files}}

    def write(self, outputs: tuple[Output, ...]) -> None:
        for output in outputs:
            self.files[output.sink].write(output.value + b"\n")
            self.counts[output.sink.value] += 1

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()


async def process_file(config: Config, pipeline: Pipeline, fetcher: Fetcher | None,
                       source: BinaryIO, name: str, out_dir: Path) -> dict[str, int]:
    """Raw JSONL in (offsets: line numbers in ``name``), clean/clusters/dlq JSONL out; the
    count of messages consumed and of records per sink."""
    outputs = _Outputs(out_dir)
    shards: dict[int, StoryState] = {}
    try:
        batch: list[Message] = []
        for offset, line in jsonl_lines(source):
            batch.append((line, Origin(name, 0, offset)))
            if len(batch) >= _FILE_BATCH:
                await _process_batch(config, pipeline, fetcher, shards, batch, outputs)
                batch = []
        if batch:
            await _process_batch(config, pipeline, fetcher, shards, batch, outputs)
        for shard in sorted(shards):  # the input ended: hindsight
            outputs.write(pipeline.settle(shards[shard]).outputs)
    finally:
        outputs.close()
    return outputs.counts


async def _process_batch(config: Config, pipeline: Pipeline, fetcher: Fetcher | None,
                         shards: dict[int, StoryState], batch: list[Message],
                         outputs: _Outputs) -> None:
    results = await prepare_batch(pipeline, fetcher, batch, config.limits.message_deadline_s)
    for result in results:
        for routed in route(result, config.kafka.state_shards):
            if routed.shard is None or result.prepared is None:  # a prepared article has one
                outputs.write((routed.output,))
                continue
            state = shards.get(routed.shard)
            if state is None:
                state = shards[routed.shard] = pipeline.new_state()
            outputs.write(pipeline.decide(state, result.prepared).outputs)
    outputs.counts["consumed"] += len(batch)
