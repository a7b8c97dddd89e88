"""How long a shard takes to restore from its changelog: how long a partition move or a rolling
upgrade leaves it not ready.

Fills one ``StoryState`` (default settings, a window long enough that no article leaves it)
with the synthetic feed of ``bench/bench_state.py``, keeps the latest value of each changelog
key (what a fully compacted topic holds), writes those records to one partition of a topic on
the given broker, then times what the service's restore does: read the partition from the
start with aiokafka (batches of 5,000) and rebuild a new state from them. Restore time
grows with the articles, so the figure at 1M articles is the measured time scaled by
1M / articles, and is labelled extrapolated unless 1M articles were restored.

Usage: python -m bench.bench_restore --bootstrap HOST:PORT [--articles N]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from aiokafka import AIOKafkaConsumer, TopicPartition
from confluent_kafka import Producer

from bench.bench_state import Feed, _prepared
from service.state.settings import StorySettings
from service.state.stories import StoryState

MILLION = 1_000_000
Entry = tuple[bytes, bytes | None]


def compacted(articles: int, settings: StorySettings) -> tuple[StoryState, dict[bytes, bytes]]:
    """A state holding ``articles`` and the latest value of each of its changelog keys."""
    state = StoryState(settings)
    latest: dict[bytes, bytes] = {}

    def drain() -> None:
        for key, value in state.drain_changes():
            if value is None:
                latest.pop(key, None)
            else:
                latest[key] = value

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        for done, (article, fp, features) in enumerate(
                _prepared(Feed().articles(articles), articles, settings.term_weights, pool), 1):
            state.decide(article, fp, features)
            if done % 5000 == 0:
                drain()
    drain()
    return state, latest


def write(bootstrap: str, topic: str, entries: dict[bytes, bytes]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20,
                         "message.max.bytes": 16_000_000, "queue.buffering.max.kbytes": 1_048_576,
                         "enable.idempotence": False})
    for key, value in entries.items():
        while True:
            try:
                producer.produce(topic, value, key=key, partition=0)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    if producer.flush(120) != 0:
        raise RuntimeError(f"could not write the changelog to {topic}")


async def read(bootstrap: str, topic: str) -> list[Entry]:
    """Every entry of partition 0, as the service's restore reads its changelog partition."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                              group_id=None)
    await reader.start()
    try:
        tp = TopicPartition(topic, 0)
        reader.assign([tp])
        await reader.seek_to_beginning(tp)
        end = (await reader.end_offsets([tp]))[tp]
        entries: list[Entry] = []
        while await reader.position(tp) < end:
            records = await reader.getmany(tp, timeout_ms=1000, max_records=5000)
            entries.extend((m.key, m.value) for m in records.get(tp, []) if m.key is not None)
        return entries
    finally:
        await reader.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--articles", type=int, default=MILLION)
    parser.add_argument("--topic", default=f"bench-restore-{time.time_ns()}")
    args = parser.parse_args(argv)
    settings = dataclasses.replace(StorySettings(), window_hours=24 * 365,
                                   retention_hours=24 * 365)
    started = time.perf_counter()
    original, entries = compacted(args.articles, settings)
    size = sum(len(k) + len(v) for k, v in entries.items())
    print(f"{args.articles:,} articles: {len(entries):,} compacted changelog records "
          f"({size / 1e6:,.0f} MB), built in {time.perf_counter() - started:.0f} s", flush=True)
    write(args.bootstrap, args.topic, entries)
    del entries
    started = time.perf_counter()
    read_back = asyncio.run(read(args.bootstrap, args.topic))
    read_s = time.perf_counter() - started
    restored = StoryState(settings)
    restored.restore(read_back)
    total_s = time.perf_counter() - started
    if restored.article_count() != original.article_count():
        raise RuntimeError(f"restored {restored.article_count()} articles of "
                           f"{original.article_count()}")
    per_1m = total_s * MILLION / args.articles
    label = "measured" if args.articles >= MILLION else f"extrapolated from {args.articles:,}"
    print(f"restore: read {read_s:.2f} s + rebuild {total_s - read_s:.2f} s = {total_s:.2f} s; "
          f"at 1,000,000 articles {per_1m:.1f} s ({label})", flush=True)
    print("RESULT " + json.dumps({"restore_s": round(total_s, 3), "restore_articles": args.articles,
                                  "restore_s_per_1m": round(per_1m, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
