"""Fit the line model of service/stages/normalize/text.py on the extraction-text dev split.

A line is labelled body when most of its 4-word shingles (or, for a short line, its whole token
sequence) occur in the gold body. The model is an L2-regularised logistic regression over
``text.FEATURES``, fitted by Newton's method with lines weighted by their word count (the metric
counts words). Cross-validation by page reports the extraction F1 the fitted weights would give
on pages they were not fitted on; the final weights (fitted on every page) are printed ready to
paste into text.py.

    python bench/train_text_lines.py [--shared ../shared] [--folds 5] [--l2 1.0] [--write]

``--write`` replaces the WEIGHTS and BIAS of text.py with the fitted values.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.eval_extraction import DEFAULT_SHARED, page_scores, read_jsonl, shingles  # noqa: E402
from service.stages.normalize import text  # noqa: E402
from service.stages.normalize.repair import repair  # noqa: E402
from service.stages.normalize.urls import url_words  # noqa: E402

# Words for labelling lines against the gold body: plain \w runs, as the model was first fitted
# with (the service's own tokenizer, service/stages/tokens.py, is not what the gold was cut by).
_WORDS = re.compile(r"\w+")


@dataclass
class Page:
    items: list[text.Line]
    rows: np.ndarray
    labels: np.ndarray
    gold: str


def _label(line: str, gold_shingles: set[str], gold_tokens: str) -> float:
    tokens = _WORDS.findall(line)
    if len(tokens) >= 4:
        mine = shingles(line)
        return 1.0 if sum(c for s, c in mine.items() if s in gold_shingles) * 2 >= sum(
            mine.values()) else 0.0
    return 1.0 if tokens and f" {' '.join(tokens)} " in gold_tokens else 0.0


def load(shared: Path) -> list[Page]:
    folder = shared / "data" / "extraction-text"
    gold = {row["id"]: row["body"] for row in read_jsonl(folder / "dev.gold.jsonl.gz")}
    pages: list[Page] = []
    for message in read_jsonl(folder / "dev.jsonl.gz"):
        body = gold[message["id"]]
        gold_shingles = set(shingles(body))
        gold_tokens = f" {' '.join(_WORDS.findall(body))} "
        title = message.get("title")
        items, _learned, features = text.analyse(
            text.split_lines(repair(message["text"])), set(), title, url_words(message["url"]))
        if not items:
            continue
        rows = np.array(features)
        labels = np.array([_label(item.text, gold_shingles, gold_tokens) for item in items])
        pages.append(Page(items, rows, labels, body))
    return pages


def fit(pages: list[Page], l2: float) -> tuple[np.ndarray, float]:
    """Weights and bias of the logistic model (Newton's method, word-count weighted)."""
    x = np.vstack([p.rows for p in pages])
    y = np.concatenate([p.labels for p in pages])
    weight = np.concatenate([[min(item.words, 100) for item in p.items] for p in pages])
    weight = weight / weight.mean()
    x1 = np.hstack([x, np.ones((len(x), 1))])
    beta = np.zeros(x1.shape[1])
    penalty = np.full(x1.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x1 @ beta, -30, 30)))
        gradient = x1.T @ (weight * (p - y)) + penalty * beta
        hessian = (x1 * (weight * p * (1 - p))[:, None]).T @ x1 + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-7:
            break
    return beta[:-1], float(beta[-1])


def score(pages: list[Page], weights: np.ndarray, bias: float) -> tuple[float, float]:
    """Mean precision and recall of the extraction these weights give on ``pages``."""
    saved = text.WEIGHTS, text.BIAS
    text.WEIGHTS, text.BIAS = tuple(float(w) for w in weights), bias
    try:
        results = [page_scores("\n\n".join(text.select(
            p.items, set(), text.probabilities(p.rows.tolist()), p.rows[:, text.SHARE].tolist())),
            p.gold) for p in pages]
    finally:
        text.WEIGHTS, text.BIAS = saved
    return (sum(r[0] for r in results) / len(results), sum(r[1] for r in results) / len(results))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--write", action="store_true", help="update text.py's weights")
    args = parser.parse_args()
    pages = load(args.shared)
    precisions: list[float] = []
    recalls: list[float] = []
    for fold in range(args.folds):
        train = [p for i, p in enumerate(pages) if i % args.folds != fold]
        test = [p for i, p in enumerate(pages) if i % args.folds == fold]
        weights, bias = fit(train, args.l2)
        precision, recall = score(test, weights, bias)
        precisions += [precision] * len(test)
        recalls += [recall] * len(test)
    precision, recall = float(np.mean(precisions)), float(np.mean(recalls))
    print(f"{args.folds}-fold cross-validated: precision {precision:.3f} recall {recall:.3f} "
          f"F1 {2 * precision * recall / (precision + recall):.3f}")
    weights, bias = fit(pages, args.l2)
    precision, recall = score(pages, weights, bias)
    print(f"fitted on all {len(pages)} pages: precision {precision:.3f} recall {recall:.3f} "
          f"F1 {2 * precision * recall / (precision + recall):.3f}")
    block = "WEIGHTS: tuple[float, ...] = (\n" + "".join(
        f"    {value:.4f},  # {name}\n" for name, value in zip(text.FEATURES, weights, strict=True)
    ) + f")\nBIAS = {bias:.4f}\n"
    print(block, end="")
    if args.write:
        module = Path(text.__file__)
        source = module.read_text("utf-8")
        pattern = r"WEIGHTS: tuple\[float, \.\.\.\] = \(\n.*?\)\nBIAS = [-0-9.]+\n"
        updated = re.sub(pattern, lambda _: block, source, count=1, flags=re.DOTALL)
        module.write_text(updated, "utf-8")
        print(f"written to {module}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
