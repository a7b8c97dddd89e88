"""Memory of a worker that owns a state shard, as the window fills: the data behind the pod limits.

Builds what ``article-ingest run`` holds (every module imported, the pipeline with its models
loaded, as the worker loads them before it joins its group, and one shard's ``StoryState`` with
the default settings, but a story window long enough that no article leaves
it, so ``stories.max_articles`` is what binds) and streams the synthetic feed of
``bench/bench_state.py`` into it (fingerprints and features computed in another process, as
the stateless step is). At each checkpoint it reads the process's peak resident memory
(VmHWM), then fits ``base + per_100k * articles / 100k`` by least squares: the sizing formula.
The duplicate index's band table grows with the articles until it reaches the size the ring's
capacity sets (``dedup.band_rows``), so only checkpoints past that point are fitted: before it
memory grows faster than the line that projects to a full window.

Usage: python -m bench.bench_memory [--articles N] [--write]
  --write records the figures in deploy/sizing.json, which tests/test_deploy.py holds the
  shipped pod limits (deploy/k8s, docker-compose) against.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from bench.bench_state import Feed, _prepared, rss_mb
from service.app import build_pipeline
from service.config import Config
from service.metrics import Metrics
from service.stages import dedup
from service.state.stories import StoryState

SIZING = Path(__file__).resolve().parent.parent / "deploy" / "sizing.json"
HEADROOM = 1.25  # pod limit over the projected peak at the configured max_articles


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares ``(base_mb, mb_per_100k_articles)`` through (articles, MB) points."""
    xs = [articles / 100_000 for articles, _ in points]
    ys = [mb for _, mb in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return mean_y - slope * mean_x, slope


def projected_mb(sizing: dict[str, float], articles: int) -> float:
    """Peak memory of a shard owner holding ``articles`` in its window."""
    return sizing["base_mb"] + sizing["per_100k_articles_mb"] * articles / 100_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=300_000,
                        help="articles streamed into the window (checkpoints every fifth)")
    parser.add_argument("--write", action="store_true", help="record deploy/sizing.json")
    args = parser.parse_args(argv)
    config = Config()
    default_cap = config.stories.max_articles
    stories = dataclasses.replace(config.stories, window_hours=24 * 365,
                                  retention_hours=24 * 365)
    pipeline = build_pipeline(dataclasses.replace(config, stories=stories), Metrics())
    pipeline.load_models()  # the language model: about 130 MB resident, more while it loads
    state: StoryState = pipeline.new_state()
    idle = rss_mb()
    print(f"imports, pipeline with its models and an empty shard: {idle:,.0f} MB", flush=True)
    step = max(1, args.articles // 5)
    points: list[tuple[int, float]] = []
    started = time.perf_counter()
    done = 0
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        feed = Feed().articles(args.articles)
        for article, fp, features in _prepared(feed, args.articles, stories.term_weights, pool):
            state.decide(article, fp, features)
            done += 1
            if done % 5000 == 0:
                state.drain_changes()
            if done % step == 0:
                points.append((done, rss_mb()))
                print(f"{done:>9,} articles in window: peak RSS {points[-1][1]:,.0f} MB "
                      f"({time.perf_counter() - started:.0f} s)", flush=True)
    full_table = dedup.band_rows(default_cap, default_cap)
    fitted = [(a, mb) for a, mb in points if dedup.band_rows(a, default_cap) == full_table]
    if len(fitted) < 2:
        parser.error("too few checkpoints past the band table's full size: more --articles")
    print(f"fitted: the {len(fitted)} checkpoints with the band table at its full size")
    base, per_100k = fit(fitted)
    sizing = {"base_mb": round(base, 1), "per_100k_articles_mb": round(per_100k, 1)}
    peak = projected_mb(sizing, default_cap)
    print(f"fit: {base:,.0f} MB + {per_100k:,.1f} MB per 100k articles in the window")
    print(f"projected peak at stories.max_articles = {default_cap:,}: {peak:,.0f} MB; "
          f"limit with {HEADROOM}x headroom: {peak * HEADROOM:,.0f} MB")
    if args.write:
        record = {
            **sizing,
            "idle_mb": round(idle, 1),
            "points": [{"articles": a, "peak_rss_mb": round(mb, 1)} for a, mb in points],
            "fitted_from_articles": fitted[0][0],
            "max_articles": default_cap,
            "projected_peak_mb": round(peak),
            "headroom": HEADROOM,
            "command": f"python -m bench.bench_memory --articles {args.articles} --write",
            "measured": datetime.now(UTC).strftime("%Y-%m-%d"),
        }
        SIZING.write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {SIZING}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
