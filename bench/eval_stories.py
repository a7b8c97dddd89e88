"""Story clusters on ../shared/data/stories: BCubed precision/recall/F1 and pairwise F1.

Scored as ../shared/data/ABOUT.md says: from the last cluster event per article, against the
gold events, after the state settled at the end of the stream as ``process`` does (the figure
before settling is printed as "online"). The raw ``text`` stands in for the normalized body.
Arrival order moves the figure by about 0.02 either way, so compare settings on the mean of
many orders (``--orders 12``: file order and shuffles 1-11).
Usage: python -m bench.eval_stories [DATA_DIR] [--shuffle SEED ...] [--orders N]
"""

from __future__ import annotations

import argparse
import gzip
import random
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from service.records import Article, Assignment
from service.stages.fingerprint import fingerprint
from service.state.stories import StorySettings, StoryState

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def load(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rb") as handle:
        return [orjson.loads(line) for line in handle if line.strip()]


def as_article(raw: Mapping[str, Any]) -> Article:
    """The raw message as an article, its text taken as the body (eval before normalize)."""
    text = str(raw.get("text") or "")
    return Article(id=str(raw["id"]), url=str(raw["url"]), canonical_url=str(raw["url"]),
                   source="", title=str(raw.get("title") or ""), text=text,
                   lang=str(raw.get("lang") or "en"), published_at=raw.get("published_at"),
                   fetched_at=raw.get("fetched_at"), word_count=len(text.split()))


def last_events(raws: Iterable[Mapping[str, Any]],
                settings: StorySettings | None = None) -> dict[str, Assignment]:
    """The last assignment of each article, the state settled at the end as ``process`` does."""
    return _events(raws, settings)[1]


def _events(raws: Iterable[Mapping[str, Any]], settings: StorySettings | None
            ) -> tuple[dict[str, Assignment], dict[str, Assignment]]:
    """Last assignments when the stream ends (online) and after the state settled."""
    state = StoryState(settings)
    latest: dict[str, Assignment] = {}
    for raw in raws:
        article = as_article(raw)
        for assignment in state.decide(article, fingerprint(article.text)):
            latest[assignment.article_id] = assignment
    online = dict(latest)
    latest.update((assignment.article_id, assignment) for assignment in state.settle())
    return online, latest


def bcubed(predicted: Mapping[str, str], gold: Mapping[str, str]) -> tuple[float, float, float]:
    clusters: dict[str, set[str]] = defaultdict(set)
    events: dict[str, set[str]] = defaultdict(set)
    for item in predicted:
        clusters[predicted[item]].add(item)
        events[gold[item]].add(item)
    precision = recall = 0.0
    for item in predicted:
        shared = len(clusters[predicted[item]] & events[gold[item]])
        precision += shared / len(clusters[predicted[item]])
        recall += shared / len(events[gold[item]])
    precision /= len(predicted)
    recall /= len(predicted)
    return precision, recall, 2 * precision * recall / (precision + recall)


def pairwise_f1(predicted: Mapping[str, str], gold: Mapping[str, str]) -> float:
    def pairs(labels: Mapping[str, str]) -> set[tuple[str, str]]:
        groups: dict[str, list[str]] = defaultdict(list)
        for item, label in labels.items():
            groups[label].append(item)
        return {(a, b) for members in groups.values() for a in members for b in members if a < b}
    found, true = pairs(predicted), pairs(gold)
    hits = len(found & true)
    if not hits:
        return 0.0
    precision, recall = hits / len(found), hits / len(true)
    return 2 * precision * recall / (precision + recall)


def score(raws: list[dict[str, Any]], gold: Mapping[str, str],
          settings: StorySettings | None = None) -> tuple[float, float, float, float, int, float]:
    """BCubed P, R, F1, pairwise F1 and cluster count once settled; BCubed F1 online."""
    online, latest = _events(raws, settings)
    predicted = {item: latest[item].cluster_id for item in gold}
    p, r, f = bcubed(predicted, gold)
    online_f1 = bcubed({item: online[item].cluster_id for item in gold}, gold)[2]
    return p, r, f, pairwise_f1(predicted, gold), len(set(predicted.values())), online_f1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=DATA / "stories")
    parser.add_argument("--shuffle", type=int, nargs="*", default=[],
                        help="also score these random arrival orders")
    parser.add_argument("--orders", type=int, default=0,
                        help="score file order and shuffles 1..N-1, and their mean")
    args = parser.parse_args(argv)
    raws = load(args.data / "dev.jsonl.gz")
    labels = orjson.loads((args.data / "dev.labels.json").read_bytes())
    gold = {item: str(label["event"]) for item, label in labels.items()}
    orders: list[tuple[str, list[dict[str, Any]]]] = [("file order", raws)]
    orders += [(f"shuffle {seed}", random.Random(seed).sample(raws, len(raws)))
               for seed in [*args.shuffle, *range(1, args.orders)]]
    f1s, online_f1s = [], []
    for name, order in orders:
        p, r, f, pair, count, online = score(order, gold)
        f1s.append(f)
        online_f1s.append(online)
        print(f"{name}: BCubed P {p:.3f} R {r:.3f} F1 {f:.3f}  pairwise F1 {pair:.3f}  "
              f"clusters {count} (gold {len(set(gold.values()))})  online F1 {online:.3f}")
    if len(f1s) > 1:
        print(f"mean BCubed F1 over {len(f1s)} orders: {sum(f1s) / len(f1s):.3f} "
              f"(min {min(f1s):.3f}, max {max(f1s):.3f}); "
              f"online, before settling: {sum(online_f1s) / len(online_f1s):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
