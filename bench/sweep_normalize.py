"""Score values of one named constant of the normalize stage on the extraction dev sets.

    python -m bench.sweep_normalize text.THRESHOLD 0.4 0.5 0.6 [--split extraction-text]
        [--folds 5] [--shared ../shared]

For each value the constant is set on its module (``service.stages.normalize.<module>``) and the
whole normalize stage runs over the split (default: the whole-visible-text pages, which the text
extractor reads; ``lines.*`` constants are shared with the HTML extractor, so sweep those on
``extraction`` and ``extraction-wcxb`` as well). Printed per split: "F1 all; mean, worst" of
site-grouped folds (a value that lifts the whole set but drops the worst fold fits a few sites),
then the seed labels it breaks. Every named constant of text.py cites the figures this prints.

The line model's WEIGHTS were fitted (bench/train_text_lines.py) with the current values of the
constants its features read; a swept value is scored with those weights, not refitted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from statistics import fmean
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.eval_extraction import (  # noqa: E402
    DEFAULT_SHARED,
    SPLITS,
    load_pages,
    mean_score,
    run_ours,
    seed_failures,
    site_folds,
)

PACKAGE = "service.stages.normalize"


def _clear_caches(modules: list[ModuleType]) -> None:
    """Memoized line signals were computed with the old value."""
    for module in modules:
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()


def sweep(target: str, values: list[str], splits: list[str], folds: int, shared: Path) -> None:
    module_name, _, name = target.rpartition(".")
    module = importlib.import_module(f"{PACKAGE}.{module_name}")
    original = getattr(module, name)
    modules = [importlib.import_module(f"{PACKAGE}.{m}") for m in ("text", "lines", "memory")]
    pages = load_pages(shared, splits)
    for raw in values:
        value = type(original)(raw)
        setattr(module, name, value)
        _clear_caches(modules)
        outcomes = run_ours(pages)
        parts = []
        for split in splits:
            chosen = [i for i, page in enumerate(pages) if page.split == split]
            groups = site_folds([pages[i] for i in chosen], folds)
            fold_f1 = [mean_score([outcomes[chosen[i]] for i in group]).f1 for group in groups]
            whole = mean_score([outcomes[i] for i in chosen]).f1
            parts.append(f"{split} {whole:.4f}; {fmean(fold_f1):.4f}, {min(fold_f1):.4f}")
        broken = len(seed_failures(shared))
        print(f"{target}={value!r}: " + " | ".join(parts) + f" | seeds broken {broken}",
              flush=True)
    setattr(module, name, original)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", help="module.NAME under service.stages.normalize, "
                                       "e.g. text.THRESHOLD")
    parser.add_argument("values", nargs="+")
    parser.add_argument("--split", choices=SPLITS, action="append")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    args = parser.parse_args()
    sweep(args.target, args.values, args.split or ["extraction-text"], args.folds, args.shared)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
