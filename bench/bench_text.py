"""CPU per text article through the pipeline alone (no Kafka): prepare, then decide the prepared
record's bytes in a shard's state, as ``process`` and the worker do.

``bench/run`` measures the whole service on a noisy shared machine; this isolates the
pipeline's share, in CPU time (``time.process_time``), each round on a fresh pipeline and state
so every round does the same work; the minimum of the rounds is the figure.

    python -m bench.bench_text [--count 600] [--rounds 5] [--corpus bench|dev]

``bench``: ``bench.corpus.TextCorpus(7)``, the messages ``bench/run`` sends. ``dev``: the texts of
``extraction-text`` and ``stories`` in ../shared/data. To compare two trees, run it from each in
turn (``cd TREE && python -m bench.bench_text``), interleaved, and compare the minima.
"""

from __future__ import annotations

import argparse
import gzip
import time
from pathlib import Path

import orjson

from bench.corpus import TextCorpus
from service.app import build_pipeline
from service.config import load_config
from service.metrics import Metrics
from service.pipeline import Sink
from service.records import Origin
from service.runtime.routing import decide_record

ROOT = Path(__file__).resolve().parents[1]
DEV = ("extraction-text", "stories")


def dev_messages(shared: Path) -> list[bytes]:
    """The text messages of the development splits, as sent."""
    out: list[bytes] = []
    for split in DEV:
        with gzip.open(shared / "data" / split / "dev.jsonl.gz", "rb") as handle:
            out += [orjson.dumps(orjson.loads(line)) for line in handle if line.strip()]
    return out


def seconds(values: list[bytes]) -> float:
    """CPU seconds to prepare and decide ``values`` on a fresh pipeline and state."""
    pipeline = build_pipeline(load_config(env={}), Metrics())
    state = pipeline.new_state()
    started = time.process_time()
    for offset, value in enumerate(values):
        origin = Origin("raw", 0, offset)
        for output in pipeline.prepare(value, origin).outputs:
            if output.sink is Sink.PREPARED:
                decide_record(pipeline, state, output.value, origin)
    return time.process_time() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--corpus", choices=("bench", "dev"), default="bench")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    values = (TextCorpus(7).messages(args.count) if args.corpus == "bench"
              else dev_messages(args.shared)[:args.count])
    seconds(values[:8])  # models and lazy tables load outside the timing
    timings = sorted(seconds(values) for _ in range(args.rounds))
    print(f"{args.corpus}: {len(values)} text articles, CPU ms per article over "
          f"{args.rounds} rounds: min {1000 * timings[0] / len(values):.3f} "
          f"median {1000 * timings[len(timings) // 2] / len(values):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
