"""Extraction quality on the labeled dev data, scored as ../shared/data/ABOUT.md describes.

Per page: precision and recall of the clean text's 4-word shingles (``\\w+`` tokens, counted with
multiplicity) against the gold body; both averaged over pages; F1 from the two means.

By default every development set (Zyte HTML, WCXB HTML, whole-visible-text) is scored for
article-ingest and, in the same run, trafilatura (default and precision mode; outputs cached in
bench/.cache), with the pages lost (article-ingest: a no_content dead letter; trafilatura: no
output), pages per CPU second of both on the same HTML pages, and with ``--cv K`` the HTML pages
in K folds grouped by site (mean and worst fold). Also checks the seed labels.

    python bench/eval_extraction.py [--shared ../shared] [--cv 5] [--worst N]
    python bench/eval_extraction.py --extractor resiliparse --split extraction   # one extractor
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from service.records import Article, RawArticle  # noqa: E402
from service.stages.normalize import FurnitureMemory, normalize  # noqa: E402
from service.stages.normalize.urls import registered_domain  # noqa: E402

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


def _site(url: str) -> str:
    return registered_domain(url) or url


@dataclass(frozen=True, slots=True)
class Page:
    """One labeled page of a development set."""

    split: str
    message: dict[str, str]
    gold: str

    @property
    def site(self) -> str:
        return _site(self.message["url"])


def load_pages(shared: Path, splits: list[str]) -> list[Page]:
    pages: list[Page] = []
    for split in splits:
        folder = shared / "data" / split
        gold = {row["id"]: row["body"] for row in read_jsonl(folder / "dev.gold.jsonl.gz")}
        pages += [Page(split, message, gold[message["id"]])
                  for message in read_jsonl(folder / "dev.jsonl.gz")]
    return pages


@dataclass(frozen=True, slots=True)
class Outcome:
    """One extractor's result on one page: precision, recall, whether nothing came out, CPU s."""

    precision: float
    recall: float
    lost: bool
    seconds: float


def mean_score(outcomes: list[Outcome]) -> Score:
    count = max(1, len(outcomes))
    return Score(sum(o.precision for o in outcomes) / count,
                 sum(o.recall for o in outcomes) / count, len(outcomes))


def _score(text: str, page: Page, seconds: float) -> Outcome:
    precision, recall = page_scores(text, page.gold)
    return Outcome(precision, recall, not text.strip(), seconds)


def run_ours(pages: list[Page]) -> list[Outcome]:
    """article-ingest's full normalize stage per page; ``lost``: a rejection (dead letter)."""
    extractor = normalize_extractor()
    extractor(pages[0].message)  # warm lazy loads outside the timing
    outcomes: list[Outcome] = []
    for page in pages:
        started = time.process_time()
        text = extractor(page.message)
        outcomes.append(_score(text, page, time.process_time() - started))
    return outcomes


CACHE = ROOT / "bench" / ".cache"


def run_trafilatura(pages: list[Page], precision: bool) -> list[Outcome]:
    """trafilatura's outputs, cached in bench/.cache by version, mode and page content (its
    speed is measured separately, see ``speed``)."""
    import trafilatura

    extract = trafilatura_extractor(precision)
    mode = "precision" if precision else "default"
    path = CACHE / f"trafilatura-{trafilatura.__version__}-{mode}.json.gz"
    cache: dict[str, str] = {}
    if path.exists():
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            cache = json.load(handle)
    outcomes: list[Outcome] = []
    fresh = False
    for page in pages:
        key = hashlib.sha1(
            (page.message["url"] + "\0" + _as_html(page.message)).encode("utf-8")).hexdigest()
        if key not in cache:
            cache[key], fresh = extract(page.message), True
        outcomes.append(_score(cache[key], page, 0.0))
    if fresh:
        CACHE.mkdir(exist_ok=True)
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            json.dump(cache, handle)
    return outcomes


def speed(pages: list[Page], ours: list[Outcome], sample: int) -> tuple[float, float]:
    """Pages per CPU second of article-ingest (from this run's timings) and of
    ``trafilatura.extract`` (default mode, timed now, uncached) over the same HTML pages: every
    ``len/sample``-th HTML page of the run."""
    import trafilatura

    indices = [i for i, page in enumerate(pages) if page.message.get("html")]
    indices = indices[:: max(1, len(indices) // max(1, sample))]
    trafilatura.extract(pages[indices[0]].message["html"])  # warm outside the timing
    started = time.process_time()
    for i in indices:
        trafilatura.extract(pages[i].message["html"], url=pages[i].message["url"],
                            include_comments=False)
    theirs = time.process_time() - started
    mine = sum(ours[i].seconds for i in indices)
    return len(indices) / max(mine, 1e-9), len(indices) / max(theirs, 1e-9)


def site_folds(pages: list[Page], folds: int) -> list[list[int]]:
    """Page indices in ``folds`` groups; every site's pages in one group. Sites are dealt
    largest first to the smallest group, in an order fixed by a hash of the site name."""
    by_site: dict[str, list[int]] = {}
    for i, page in enumerate(pages):
        by_site.setdefault(page.site, []).append(i)
    order = sorted(by_site, key=lambda s: (-len(by_site[s]),
                                           hashlib.sha1(s.encode("utf-8")).hexdigest()))
    groups: list[list[int]] = [[] for _ in range(folds)]
    for site in order:
        min(groups, key=len).extend(by_site[site])
    return [sorted(group) for group in groups]


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


HTML_SPLITS = ["extraction", "extraction-wcxb"]
SPLITS = [*HTML_SPLITS, "extraction-text"]


def _line(name: str, outcomes: list[Outcome]) -> str:
    score = mean_score(outcomes)
    lost = sum(o.lost for o in outcomes)
    return (f"{name:22s} F1 {score.f1:.4f} (P {score.precision:.4f} R {score.recall:.4f}) "
            f"lost {lost}/{len(outcomes)} ({lost / max(1, len(outcomes)):.1%})")


def report(shared: Path, splits: list[str], folds: int, worst: int, speed_pages: int) -> None:
    """Every split beside trafilatura, speed, and (``folds`` > 1) site-grouped folds."""
    pages = load_pages(shared, splits)
    ours = run_ours(pages)
    theirs = {"trafilatura": run_trafilatura(pages, False),
              "trafilatura-precision": run_trafilatura(pages, True)}
    for split in splits:
        chosen = [i for i, page in enumerate(pages) if page.split == split]
        print(f"{split} ({len(chosen)} pages)")
        print("  " + _line("article-ingest", [ours[i] for i in chosen]))
        for name, outcomes in theirs.items():
            print("  " + _line(name, [outcomes[i] for i in chosen]))
        for i in sorted(chosen, key=lambda i: mean_score([ours[i]]).f1)[:worst]:
            o = ours[i]
            print(f"    F1 {mean_score([o]).f1:.2f} P {o.precision:.2f} R {o.recall:.2f} "
                  f"{pages[i].message['url']}")
    html_pages = [i for i, page in enumerate(pages) if page.split in HTML_SPLITS]
    if html_pages:
        mine, trafilatura_rate = speed([pages[i] for i in html_pages],
                                       [ours[i] for i in html_pages], speed_pages)
        print(f"speed (CPU, same HTML pages): article-ingest {mine:.1f} pages/s, "
              f"trafilatura.extract {trafilatura_rate:.1f} pages/s, "
              f"ratio {mine / trafilatura_rate:.2f}")
    if folds > 1 and html_pages:
        cross_validate([pages[i] for i in html_pages], [ours[i] for i in html_pages],
                       {name: [o[i] for i in html_pages] for name, o in theirs.items()}, folds)


def cross_validate(pages: list[Page], ours: list[Outcome],
                   theirs: dict[str, list[Outcome]], folds: int) -> None:
    """F1 per site-grouped fold of the HTML pages, mean and worst, beside trafilatura's."""
    groups = site_folds(pages, folds)
    table: dict[str, list[float]] = {"article-ingest": [], **{name: [] for name in theirs}}
    for group in groups:
        table["article-ingest"].append(mean_score([ours[i] for i in group]).f1)
        for name, outcomes in theirs.items():
            table[name].append(mean_score([outcomes[i] for i in group]).f1)
    print(f"site-grouped {folds}-fold CV over {len(pages)} HTML pages "
          f"(fold sizes {', '.join(str(len(g)) for g in groups)})")
    for name, scores in table.items():
        print(f"  {name:22s} mean F1 {sum(scores) / len(scores):.4f} worst {min(scores):.4f} "
              f"folds {' '.join(f'{s:.4f}' for s in scores)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--extractor", choices=sorted(EXTRACTORS),
                        help="score just this extractor (no comparison, speed or folds)")
    parser.add_argument("--worst", type=int, default=0, help="list the N worst pages per split")
    parser.add_argument("--split", choices=SPLITS, action="append")
    parser.add_argument("--cv", type=int, default=0, metavar="K",
                        help="also K folds of the HTML pages grouped by site")
    parser.add_argument("--speed-pages", type=int, default=120,
                        help="HTML pages timed for the speed ratio")
    args = parser.parse_args()
    splits = args.split or SPLITS
    if args.extractor:
        for split in splits:
            score, worst = evaluate(args.shared / "data" / split, EXTRACTORS[args.extractor](),
                                    args.worst)
            print(f"{split:16s} {args.extractor}: precision {score.precision:.4f} "
                  f"recall {score.recall:.4f} F1 {score.f1:.4f} ({score.pages} pages)")
            for f1, url, precision, recall in worst:
                print(f"    F1 {f1:.2f} P {precision:.2f} R {recall:.2f} {url}")
        return 0
    report(args.shared, splits, args.cv, args.worst, args.speed_pages)
    failures = seed_failures(args.shared)
    print(f"seeds: {'all labels pass' if not failures else f'{len(failures)} failures'}")
    for failure in failures:
        print(f"    {failure}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
