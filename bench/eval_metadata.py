"""Metadata from HTML pages against the WCXB development gold, beside trafilatura in the same run.

For each page the service's normalize stage runs as ``process`` would (the page's ``html`` and
``url``, no crawler hints); trafilatura's ``extract_metadata`` reads the same HTML. Scored:

* title: the emitted title equals the gold title, whitespace collapsed (exact match);
* day (UTC): the first ten characters of the emitted date equal the gold day, over the pages
  whose gold has one. We emit UTC instants, the gold and trafilatura the page's local day, so
* day (any zone) also counts our instant (one with a time) when it falls in the gold day in some
  zone (UTC-12 to UTC+14): the same moment, written in another zone;
* dated: pages given any date; wrong: a date on another day (any zone for us);
* lang: the share of pages given a language code.

A page the service refuses (``no_content``) emits nothing: it counts as a miss in the first
table (all pages); the second scores both readers on the pages the service emits. With
``--folds K`` the day (UTC) is also scored per site-grouped fold (as ``eval_extraction --cv``
deals them), ours minus trafilatura's: the pages are about one per site, so a fold is how
pages of sites never seen would judge a change.

    python bench/eval_metadata.py [--shared ../shared] [--show N] [--folds K]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.eval_extraction import site_folds  # noqa: E402
from service.records import Article, RawArticle  # noqa: E402
from service.stages.normalize import FurnitureMemory, normalize  # noqa: E402
from service.stages.normalize.urls import registered_domain  # noqa: E402

DEFAULT_SHARED = ROOT.parent / "shared"
OURS = "article-ingest normalize"


@dataclass(frozen=True)
class Meta:
    title: str | None
    published: str | None
    lang: str | None
    emitted: bool = True


@dataclass(frozen=True)
class Page:
    id: str
    url: str
    html: str
    title: str
    published: str | None

    @property
    def site(self) -> str:
        return registered_domain(self.url) or self.url


Reader = Callable[[Page], Meta]


def load(shared: Path) -> list[Page]:
    folder = shared / "data" / "extraction-wcxb"
    with gzip.open(folder / "dev.gold.jsonl.gz", "rt") as lines:
        gold = {g["id"]: g for g in map(json.loads, lines)}
    with gzip.open(folder / "dev.jsonl.gz", "rt") as lines:
        return [Page(m["id"], m["url"], m["html"], gold[m["id"]].get("title") or "",
                     gold[m["id"]].get("published") or None) for m in map(json.loads, lines)]


def ours() -> Reader:
    memory = FurnitureMemory()

    def read(page: Page) -> Meta:
        article = normalize(RawArticle(url=page.url, id=page.id, html=page.html), memory)
        if not isinstance(article, Article):
            return Meta(None, None, None, emitted=False)  # a no_content dead letter
        return Meta(article.title or None, article.published_at, article.lang or None)

    return read


def trafilatura_metadata() -> Reader:
    from trafilatura import extract_metadata

    def read(page: Page) -> Meta:
        found = extract_metadata(page.html, default_url=page.url)
        return Meta(found.title, found.date, found.language)

    return read


def same_title(emitted: str | None, gold: str) -> bool:
    return emitted is not None and " ".join(emitted.split()) == " ".join(gold.split())


def same_day_in_some_zone(emitted: str, gold_day: str) -> bool:
    """``emitted`` is on ``gold_day`` as written, or (an instant with a time) is a moment of that
    day in some zone from UTC-12 to UTC+14."""
    if emitted[:10] == gold_day:
        return True
    if len(emitted) <= 10 or emitted.endswith("T00:00:00Z"):
        return False  # a day without a time (a written date, the URL's day): that day only
    moment = datetime.fromisoformat(emitted.replace("Z", "+00:00")).replace(tzinfo=None)
    start = datetime.fromisoformat(gold_day)
    return start - timedelta(hours=14) <= moment < start + timedelta(hours=36)


@dataclass
class Tally:
    pages: int = 0
    titles: int = 0
    dated: int = 0  # pages whose gold has a day
    day_utc: int = 0
    day_any: int = 0
    day_filled: int = 0
    lang_filled: int = 0

    def add(self, page: Page, meta: Meta) -> None:
        self.pages += 1
        self.titles += same_title(meta.title, page.title)
        self.lang_filled += bool(meta.lang and meta.lang != "und")
        if page.published:
            self.dated += 1
            if meta.published is not None:
                self.day_filled += 1
                self.day_utc += meta.published[:10] == page.published
                self.day_any += same_day_in_some_zone(meta.published, page.published)

    def row(self, name: str, seconds: float | None) -> str:
        dated = max(self.dated, 1)
        speed = f"{self.pages / seconds:8.1f}" if seconds else f"{'':8}"
        return (f"{name:30} {self.titles / self.pages:7.3f} {self.day_utc / dated:7.3f} "
                f"{self.day_any / dated:7.3f} {self.day_filled / dated:7.3f} "
                f"{(self.day_filled - self.day_any) / dated:7.3f} "
                f"{self.lang_filled / self.pages:7.3f} {speed}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--show", type=int, default=0,
                        help="print this many of our title and date misses")
    parser.add_argument("--folds", type=int, default=0, metavar="K",
                        help="also score the day (UTC) per site-grouped fold, ours minus theirs")
    args = parser.parse_args()
    pages = load(args.shared)
    readers = {OURS: ours(), "trafilatura extract_metadata": trafilatura_metadata()}
    everywhere = {name: Tally() for name in readers}
    where_emitted = {name: Tally() for name in readers}
    seconds = dict.fromkeys(readers, 0.0)
    misses: list[str] = []
    read_by: dict[str, list[Meta]] = {name: [] for name in readers}
    for page in pages:
        metas = {}
        for name, read in readers.items():
            started = time.process_time()
            metas[name] = read(page)
            seconds[name] += time.process_time() - started
            everywhere[name].add(page, metas[name])
            read_by[name].append(metas[name])
        if metas[OURS].emitted:
            for name, meta in metas.items():
                where_emitted[name].add(page, meta)
        mine = metas[OURS]
        if len(misses) < args.show and mine.emitted:
            if not same_title(mine.title, page.title):
                misses.append(f"title {page.id}: {mine.title!r} | gold {page.title!r}")
            if page.published and not (mine.published and same_day_in_some_zone(
                    mine.published, page.published)):
                misses.append(f"date  {page.id}: {mine.published} | gold {page.published}")
    header = (f"{'reader':30} {'title':>7} {'day UTC':>7} {'day any':>7} {'dated':>7} "
              f"{'wrong':>7} {'lang':>7} {'pages/s':>8}")
    emitted = where_emitted[OURS].pages
    print(f"WCXB dev: {len(pages)} pages, {everywhere[OURS].dated} with a gold publish day; "
          f"the service emits {emitted} ({len(pages) - emitted} no_content)")
    print(f"all {len(pages)} pages (a page we refuse is a miss for us)\n{header}")
    for name, tally in everywhere.items():
        print(tally.row(name, seconds[name]))
    print(f"the {emitted} pages the service emits\n{header}")
    for name, tally in where_emitted.items():
        print(tally.row(name, None))
    for line in misses:
        print(line)
    if args.folds > 1:
        print_folds(pages, read_by, args.folds)
    return 0


def print_folds(pages: list[Page], read_by: dict[str, list[Meta]], folds: int) -> None:
    """Day (UTC) per site-grouped fold of all pages, ours minus each other reader's."""
    groups = site_folds(pages, folds)  # type: ignore[arg-type]  # needs only .site
    days: dict[str, list[float]] = {}
    for name, metas in read_by.items():
        for group in groups:
            tally = Tally()
            for i in group:
                tally.add(pages[i], metas[i])
            days.setdefault(name, []).append(tally.day_utc / max(tally.dated, 1))
    print(f"day UTC per site-grouped fold ({folds} folds of "
          f"{', '.join(str(len(g)) for g in groups)} pages)")
    for name, scores in days.items():
        print(f"  {name:30} {' '.join(f'{s:.3f}' for s in scores)}")
    for name, scores in days.items():
        if name != OURS:
            margins = [mine - theirs for mine, theirs in zip(days[OURS], scores, strict=True)]
            print(f"  ours minus {name}: {' '.join(f'{m:+.3f}' for m in margins)}; mean "
                  f"{sum(margins) / len(margins):+.3f}, worst {min(margins):+.3f}")


if __name__ == "__main__":
    raise SystemExit(main())
