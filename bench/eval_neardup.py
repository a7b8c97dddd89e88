"""Duplicate flags on ../shared/data/neardup: precision, recall and F1, as ABOUT.md scores them.

A report is a duplicate when an earlier report of its family arrived; a flag is right when
``duplicate_of`` points into the report's family. Reports whose family is ``ambiguous_with``
another are not scored. Decisions come from the last cluster event per article.
Usage: python -m bench.eval_neardup [DATA_DIR]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from bench.eval_stories import DATA, last_events, load
from service.records import Assignment


def duplicate_scores(raws: list[dict[str, Any]], labels: Mapping[str, Mapping[str, Any]],
                     latest: Mapping[str, Assignment]) -> dict[str, float]:
    seen: set[str] = set()
    true_positive = false_positive = false_negative = 0
    for raw in raws:
        item = str(raw["id"])
        label = labels[item]
        family = label["family"]
        should = family in seen
        seen.add(family)
        if label.get("ambiguous_with"):
            continue
        event = latest[item]
        flagged = event.duplicate_of is not None
        right = event.duplicate_of is not None and labels[event.duplicate_of]["family"] == family
        if should and right:
            true_positive += 1
        else:
            false_positive += flagged
            false_negative += should
    precision = true_positive / max(1, true_positive + false_positive)
    recall = true_positive / max(1, true_positive + false_negative)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": true_positive,
            "fp": false_positive, "fn": false_negative}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=DATA / "neardup")
    args = parser.parse_args(argv)
    raws = load(args.data / "dev.jsonl.gz")
    labels = orjson.loads((args.data / "dev.labels.json").read_bytes())
    scores = duplicate_scores(raws, labels, last_events(raws))
    print(f"duplicates: P {scores['precision']:.4f} R {scores['recall']:.4f} "
          f"F1 {scores['f1']:.4f}  (tp {scores['tp']:.0f} fp {scores['fp']:.0f} "
          f"fn {scores['fn']:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
