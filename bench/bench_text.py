"""CPU per text article through the pipeline alone (no Kafka): prepare, then decide the prepared
article in a shard's state, as ``process`` and a worker that owns the shard do.

``bench/run`` measures the whole service on a noisy shared machine; this isolates the
pipeline's share, in CPU time (``time.process_time``), each round on a fresh pipeline and state
so every round does the same work; the minimum of the rounds is the figure. Beside it, the
microseconds per article of each stage the pipeline times (``normalize``, ``features``,
``cluster``...: wall time inside the process, minimum of the rounds).

    python -m bench.bench_text [--count 600] [--rounds 5] [--corpus bench|dev]
    python -m bench.bench_text --against TREE [--rounds 10] ...

``bench``: ``bench.corpus.TextCorpus(7)``, the messages ``bench/run`` sends. ``dev``: the texts of
``extraction-text`` and ``stories`` in ../shared/data. ``--against TREE`` compares this tree with
another checkout (a baseline, with this file copied into its bench/): one long-lived process per
tree, rounds alternating between them, so both see the same machine; it prints both trees'
figures and the median of the paired ratios (this tree / TREE).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import orjson

import service
from bench.corpus import TextCorpus
from service.app import build_pipeline
from service.config import load_config
from service.metrics import Metrics
from service.records import Origin

ROOT = Path(__file__).resolve().parents[1]
# The tree whose ``service`` this process runs. Not ``ROOT``: a compiled tree (bench/build.py)
# links ``bench`` from its checkout, so ``ROOT`` is the checkout's interpreted source, and a
# compiled tree compared that way with itself read 13% slower than itself.
HERE = Path(service.__file__).resolve().parents[1]
DEV = ("extraction-text", "stories")
CPU = "CPU total"


def dev_messages(shared: Path) -> list[bytes]:
    """The text messages of the development splits, as sent."""
    out: list[bytes] = []
    for split in DEV:
        with gzip.open(shared / "data" / split / "dev.jsonl.gz", "rb") as handle:
            out += [orjson.dumps(orjson.loads(line)) for line in handle if line.strip()]
    return out


def round_us(values: list[bytes]) -> dict[str, float]:
    """Microseconds per article of each timed stage and of the whole (CPU), on a fresh pipeline
    and state."""
    stages: dict[str, float] = defaultdict(float)
    pipeline = build_pipeline(load_config(env={}), Metrics())

    def observe(stage: str, seconds: float) -> None:
        stages[stage] += seconds

    pipeline.observe = observe
    state = pipeline.new_state()
    started = time.process_time()
    for offset, value in enumerate(values):
        prepared = pipeline.prepare(value, Origin("raw", 0, offset)).prepared
        if prepared is not None:  # decided where it was prepared, as by the shard's owner
            pipeline.decide(state, prepared)
    stages[CPU] = time.process_time() - started
    return {stage: 1e6 * seconds / len(values) for stage, seconds in stages.items()}


def report(rounds: dict[str, list[dict[str, float]]]) -> None:
    """Per tree, the minimum over the rounds of each figure; with two trees, their ratio (the
    first's figure over the second's)."""
    trees = list(rounds)
    first = rounds[trees[0]]
    print(f"{'us per article (min of rounds)':32}" + "".join(f"{tree:>12}" for tree in trees))
    for stage in sorted(first[0], key=lambda name: -first[0][name]):
        lows = [min(r[stage] for r in rounds[tree]) for tree in trees]
        ratio = f"{lows[0] / lows[1]:8.3f}" if len(lows) == 2 and lows[1] else ""
        print(f"{stage:32}" + "".join(f"{low:12.0f}" for low in lows) + ratio)
    for tree in trees:
        cpu = sorted(r[CPU] for r in rounds[tree])
        print(f"{tree}: CPU ms per article min {cpu[0] / 1000:.3f} median "
              f"{statistics.median(cpu) / 1000:.3f} over {len(cpu)} rounds")
    if len(trees) == 2:
        paired = [a[CPU] / b[CPU] for a, b in zip(*rounds.values(), strict=True)]
        print(f"median of paired ratios ({trees[0]} / {trees[1]}): {statistics.median(paired):.3f}")


def serve(values: list[bytes]) -> None:
    """For ``--against``: a round per line read, its figures written back as JSON."""
    print("ready", flush=True)
    for _ in sys.stdin:
        print(json.dumps(round_us(values)), flush=True)


def against(tree: Path, args: argparse.Namespace) -> dict[str, list[dict[str, float]]]:
    """Rounds alternating between this tree and ``tree``, one serving process each, both on one
    core: left to the scheduler, each process may stay on the core it started on, and on a
    shared machine one core can be busier than the other for a whole comparison. (An earlier
    "13-21% slower in either order" was this harness comparing a compiled tree with the
    interpreted checkout, since fixed: see ``HERE``.)"""
    command = [sys.executable, "-m", "bench.bench_text", "--serve", "--corpus", args.corpus,
               "--count", str(args.count), "--shared", str(args.shared)]
    trees = {"this tree": HERE, "against": tree}
    processes = {name: subprocess.Popen(command, cwd=path, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True,
                                        env={**os.environ, "PYTHONPATH": str(path)})
                 for name, path in trees.items()}
    core = max(os.sched_getaffinity(0))
    try:
        for process in processes.values():
            os.sched_setaffinity(process.pid, {core})
            assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for index in range(args.rounds):
            for name in (list(trees) if index % 2 == 0 else list(trees)[::-1]):
                process = processes[name]
                assert process.stdin is not None and process.stdout is not None
                process.stdin.write("round\n")
                process.stdin.flush()
                rounds[name].append(json.loads(process.stdout.readline()))
        return rounds
    finally:
        for process in processes.values():
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--corpus", choices=("bench", "dev"), default="bench")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--against", type=Path, help="another checkout to compare with")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.against is not None:
        print(f"{args.corpus}, {args.count} text articles at most; against: {args.against}")
        report(against(args.against.resolve(), args))
        return 0
    values = (TextCorpus(7).messages(args.count) if args.corpus == "bench"
              else dev_messages(args.shared)[:args.count])
    round_us(values[:8])  # models and lazy tables load outside the timing
    if args.serve:
        serve(values)
        return 0
    print(f"{args.corpus}: {len(values)} text articles")
    report({"this tree": [round_us(values) for _ in range(args.rounds)]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
