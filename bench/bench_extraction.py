"""Extraction speed: pages per second on one core, ours versus trafilatura.extract.

Both run over the same HTML pages in the same process, one after the other, each pass timed
with ``time.perf_counter``; the ratio is ours / trafilatura (above 1 means we are faster).

    python bench/bench_extraction.py [--shared ../shared] [--pages 90] [--rounds 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.eval_extraction import DEFAULT_SHARED, read_jsonl  # noqa: E402
from service.records import RawArticle  # noqa: E402
from service.stages.normalize import FurnitureMemory, normalize  # noqa: E402

Item = TypeVar("Item")


def pages_per_second(pages: Sequence[Item], run: Callable[[Item], object], rounds: int) -> float:
    """Items of ``pages`` handled a second by ``run``, the best of ``rounds`` passes."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for page in pages:
            run(page)
        best = min(best, time.perf_counter() - started)
    return len(pages) / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--pages", type=int, default=90)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    pages = list(read_jsonl(args.shared / "data" / "extraction" / "dev.jsonl.gz"))[: args.pages]
    memory = FurnitureMemory()

    def ours(page: dict[str, str]) -> object:
        return normalize(RawArticle(url=page["url"], html=page["html"]), memory)

    import trafilatura

    def theirs(page: dict[str, str]) -> object:
        return trafilatura.extract(page["html"], url=page["url"], include_comments=False)

    ours(pages[0])  # warm lazy loads (public-suffix list, language model) outside the timing
    theirs(pages[0])
    rate_ours = pages_per_second(pages, ours, args.rounds)
    rate_theirs = pages_per_second(pages, theirs, args.rounds)
    print(f"{len(pages)} pages, best of {args.rounds} rounds, one core")
    print(f"normalize (full stage)   {rate_ours:7.1f} pages/s")
    print(f"trafilatura.extract      {rate_theirs:7.1f} pages/s")
    print(f"ratio normalize/trafilatura {rate_ours / rate_theirs:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
