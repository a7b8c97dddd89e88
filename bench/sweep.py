"""Score values of one ``[stories]`` setting the way held-out data scores them.

The held-out story and duplicate sets are other ECB+ topics, fed alone. So besides the whole
development set, each value is scored on topic-grouped folds: the reports of about 1/K of the
topics streamed on their own, as an unseen set would arrive. A value is better only if the mean
*and* the worst fold hold; a whole-set gain with a falling worst fold is fitting.
Every tuned value in config/default.toml cites the command and the figures this prints.
Usage: python -m bench.sweep join_threshold 0.18 0.22 0.26 [--with KEY=VALUE ...] [--orders 4]
       [--folds 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
from collections.abc import Mapping
from pathlib import Path
from statistics import fmean
from typing import Any

import orjson

from bench.eval_neardup import duplicate_scores
from bench.eval_stories import DATA, bcubed, last_events, load
from service.state.stories import StorySettings


def topic_of(item: str) -> str:
    """The ECB+ topic of a report id such as ``ecb-10_13ecbplus`` or ``nd-10_13ecbplus``."""
    return item.split("-", 1)[1].split("_", 1)[0]


def topic_folds(raws: list[dict[str, Any]], folds: int) -> list[list[dict[str, Any]]]:
    """The reports split into ``folds`` groups of whole topics (topics dealt round-robin)."""
    topics = sorted({topic_of(str(raw["id"])) for raw in raws}, key=int)
    fold_of = {topic: index % folds for index, topic in enumerate(topics)}
    grouped: list[list[dict[str, Any]]] = [[] for _ in range(folds)]
    for raw in raws:
        grouped[fold_of[topic_of(str(raw["id"]))]].append(raw)
    return grouped


def orders_of(raws: list[dict[str, Any]], orders: int) -> list[list[dict[str, Any]]]:
    """File order and shuffles 1..orders-1: arrival order moves story figures by about 0.02."""
    return [raws] + [random.Random(seed).sample(raws, len(raws))
                           for seed in range(1, orders)]


def story_f1(raws: list[dict[str, Any]], gold: Mapping[str, str],
             settings: StorySettings, orders: int) -> float:
    """BCubed F1 once settled, the mean over arrival orders."""
    scores = []
    for order in orders_of(raws, orders):
        latest = last_events(order, settings)
        predicted = {str(raw["id"]): latest[str(raw["id"])].cluster_id for raw in order}
        scores.append(bcubed(predicted, {item: gold[item] for item in predicted})[2])
    return fmean(scores)


def duplicate_f1(raws: list[dict[str, Any]], labels: Mapping[str, Mapping[str, Any]],
                 settings: StorySettings) -> float:
    """F1 of the duplicate flags in file order (duplicates hardly depend on arrival order)."""
    return duplicate_scores(raws, labels, last_events(raws, settings))["f1"]


def settings_with(base: StorySettings, key: str, value: str) -> StorySettings:
    """``base`` with one field replaced, the value parsed as that field's type."""
    if key not in {field.name for field in dataclasses.fields(StorySettings)}:
        raise SystemExit(f"unknown [stories] key: {key}")
    return dataclasses.replace(base, **{key: type(getattr(base, key))(value)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("key", help="a field of [stories], e.g. join_threshold")
    parser.add_argument("values", nargs="+")
    parser.add_argument("--orders", type=int, default=4, help="arrival orders per set")
    parser.add_argument("--folds", type=int, default=5, help="topic-grouped folds")
    parser.add_argument("--with", dest="fixed", action="append", default=[], metavar="KEY=VALUE",
                        help="another [stories] setting held at a value for the whole sweep")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args(argv)
    base = StorySettings()
    for pair in args.fixed:
        key, _, value = pair.partition("=")
        base = settings_with(base, key, value)
    stories = load(args.data / "stories" / "dev.jsonl.gz")
    gold = {item: str(label["event"]) for item, label in
            orjson.loads((args.data / "stories" / "dev.labels.json").read_bytes()).items()}
    copies = load(args.data / "neardup" / "dev.jsonl.gz")
    families = orjson.loads((args.data / "neardup" / "dev.labels.json").read_bytes())
    print(f"{args.key}: stories BCubed F1 (all; topic folds mean, worst) | "
          f"duplicates F1 (all; topic folds mean, worst); {args.orders} orders, {args.folds} folds")
    for value in args.values:
        settings = settings_with(base, args.key, value)
        story_folds = [story_f1(fold, gold, settings, args.orders)
                       for fold in topic_folds(stories, args.folds)]
        copy_folds = [duplicate_f1(fold, families, settings)
                      for fold in topic_folds(copies, args.folds)]
        print(f"  {value:>8}: stories {story_f1(stories, gold, settings, args.orders):.3f}; "
              f"{fmean(story_folds):.3f}, {min(story_folds):.3f} | "
              f"duplicates {duplicate_f1(copies, families, settings):.4f}; "
              f"{fmean(copy_folds):.4f}, {min(copy_folds):.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
