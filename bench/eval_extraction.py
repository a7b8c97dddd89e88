"""Extraction quality on the labeled dev data, scored as ../shared/data/ABOUT.md describes.

Per page: precision and recall of the clean text's 4-word shingles (``\\w+`` tokens, counted with
multiplicity) against the gold body; both averaged over pages; F1 from the two means. Also checks
the seed labels (must_keep / must_drop / at_most_once, title, published_at).

    python bench/eval_extraction.py [--shared ../shared] [--extractor normalize|trafilatura|...]
                                    [--worst N]
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from service.records import Article, RawArticle  # noqa: E402
from service.stages.normalize import FurnitureMemory, normalize  # noqa: E402

DEFAULT_SHARED = ROOT.parent / "shared"
_TOKEN = re.compile(r"\w+")
Extractor = Callable[[dict[str, str]], str]


def shingles(text: str, size: int = 4) -> Counter[str]:
    tokens = _TOKEN.findall(text)
    if len(tokens) < size:
        return Counter([" ".join(tokens)] if tokens else [])
    return Counter(" ".join(tokens[i:i + size]) for i in range(len(tokens) - size + 1))


def page_scores(predicted: str, gold: str) -> tuple[float, float]:
    """(precision, recall) of one page; an empty side scores 1 only when both are empty."""
    guess, truth = shingles(predicted), shingles(gold)
    hits = sum((guess & truth).values())
    if not guess and not truth:
        return 1.0, 1.0
    precision = hits / sum(guess.values()) if guess else 0.0
    recall = hits / sum(truth.values()) if truth else 0.0
    return precision, recall


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    pages: int

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def read_jsonl(path: Path) -> Iterator[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def normalize_extractor() -> Extractor:
    memory = FurnitureMemory()

    def run(message: dict[str, str]) -> str:
        raw = RawArticle(url=message["url"], id=message.get("id"), html=message.get("html"),
                         text=message.get("text"), title=message.get("title"))
        result = normalize(raw, memory)
        return result.text if isinstance(result, Article) else ""
    return run


def _as_html(message: dict[str, str]) -> str:
    """The page, or text input as one <p> per line, for extractors that only read HTML."""
    if message.get("html"):
        return message["html"]
    lines = (message.get("text") or "").split("\n")
    return "<html><body>" + "".join(f"<p>{html.escape(line)}</p>" for line in lines) + \
        "</body></html>"


def trafilatura_extractor(precision: bool) -> Extractor:
    import trafilatura  # only needed for comparisons

    def run(message: dict[str, str]) -> str:
        return trafilatura.extract(_as_html(message), include_comments=False,
                                   favor_precision=precision, url=message["url"]) or ""
    return run


def resiliparse_extractor() -> Extractor:
    from resiliparse.extract.html2text import extract_plain_text  # only needed for comparisons

    def run(message: dict[str, str]) -> str:
        if message.get("html"):
            return str(extract_plain_text(message["html"], main_content=True))
        return message.get("text") or ""
    return run


def justext_extractor() -> Extractor:
    import justext  # only needed for comparisons

    stoplist = justext.get_stoplist("English")

    def run(message: dict[str, str]) -> str:
        paragraphs = justext.justext(_as_html(message).encode("utf-8"), stoplist)
        return "\n\n".join(p.text for p in paragraphs if not p.is_boilerplate)
    return run


def passthrough_extractor() -> Extractor:
    return lambda message: message.get("text") or message.get("html") or ""


EXTRACTORS: dict[str, Callable[[], Extractor]] = {
    "normalize": normalize_extractor,
    "trafilatura": lambda: trafilatura_extractor(False),
    "trafilatura-precision": lambda: trafilatura_extractor(True),
    "passthrough": passthrough_extractor,
    "resiliparse": resiliparse_extractor,
    "justext": justext_extractor,
}


def evaluate(folder: Path, extractor: Extractor,
             worst: int = 0) -> tuple[Score, list[tuple[float, str, float, float]]]:
    gold = {row["id"]: row["body"] for row in read_jsonl(folder / "dev.gold.jsonl.gz")}
    rows: list[tuple[float, str, float, float]] = []
    for message in read_jsonl(folder / "dev.jsonl.gz"):
        precision, recall = page_scores(extractor(message), gold[message["id"]])
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append((f1, message["url"], precision, recall))
    score = Score(sum(r[2] for r in rows) / len(rows), sum(r[3] for r in rows) / len(rows),
                  len(rows))
    return score, sorted(rows)[:worst]


def _folded(text: str) -> str:
    table = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
    return " ".join(text.translate(table).split())


def seed_failures(shared: Path) -> list[str]:
    """Every seed label the current normalize breaks, as readable lines (empty = all pass)."""
    labels = json.loads((shared / "samples" / "seeds.labels.json").read_text("utf-8"))
    messages = [json.loads(line) for line in
                (shared / "samples" / "seeds.jsonl").read_text("utf-8").splitlines() if line]
    names = sorted(labels["articles"])
    memory = FurnitureMemory()
    failures: list[str] = []
    for name, message in zip(names, messages, strict=True):
        label = labels["articles"][name]
        raw = RawArticle(**{k: v for k, v in message.items() if k in RawArticle.__slots__})
        result = normalize(raw, memory)
        if not isinstance(result, Article):
            failures.append(f"{name}: rejected ({result.detail})")
            continue
        body = _folded(result.text)
        failures += [f"{name}: lost {p!r}" for p in label["must_keep"] if _folded(p) not in body]
        failures += [f"{name}: kept {p!r}" for p in label["must_drop"] if _folded(p) in body]
        failures += [f"{name}: repeated {p!r}" for p in label.get("at_most_once", [])
                     if body.count(_folded(p)) > 1]
        if label.get("title") and _folded(result.title) != _folded(label["title"]):
            failures.append(f"{name}: title {result.title!r} != {label['title']!r}")
        wanted = label.get("published_at")
        if wanted and not (result.published_at or "").startswith(wanted):
            failures.append(f"{name}: published_at {result.published_at} != {wanted}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--extractor", choices=sorted(EXTRACTORS), default="normalize")
    parser.add_argument("--worst", type=int, default=0, help="list the N worst pages per split")
    parser.add_argument("--split", choices=["extraction", "extraction-text"], action="append")
    args = parser.parse_args()
    for split in args.split or ["extraction", "extraction-text"]:
        score, worst = evaluate(args.shared / "data" / split, EXTRACTORS[args.extractor](),
                                args.worst)
        print(f"{split:16s} {args.extractor}: precision {score.precision:.3f} "
              f"recall {score.recall:.3f} F1 {score.f1:.3f} ({score.pages} pages)")
        for f1, url, precision, recall in worst:
            print(f"    F1 {f1:.2f} P {precision:.2f} R {recall:.2f} {url}")
    if args.extractor == "normalize":
        failures = seed_failures(args.shared)
        print(f"seeds: {'all labels pass' if not failures else f'{len(failures)} failures'}")
        for failure in failures:
            print(f"    {failure}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
