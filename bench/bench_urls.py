"""URL canonicalization: our own against w3lib, courlan and url-normalize, on the contract's table
and on the development pages' real URLs, in the same run.

Correctness: the share of spellings in bench/url_spellings.py that a function maps to the same
string as their group's first spelling, the share of pairs it keeps apart, and the share of
non-http(s) addresses it refuses (a function that always answers refuses none). Speed: CPU
microseconds per URL over the development URLs (each query also carries a tracking parameter).

    python bench/bench_urls.py [--shared ../shared] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.url_spellings import APART, SAME  # noqa: E402
from service.stages.normalize.urls import canonicalize  # noqa: E402

DEFAULT_SHARED = ROOT.parent / "shared"
NOT_HTTP = ["notaurl", "/a", "ftp://example.com/a", "mailto:a@example.com", "http://",
            "https://exa mple.com/"]
Canonicalizer = Callable[[str], str | None]


def candidates() -> dict[str, Canonicalizer]:
    """Each library as its documentation suggests for deduplication (imported here: bench only)."""
    import courlan
    import url_normalize
    import w3lib.url

    def _courlan(url: str) -> str | None:
        return str(courlan.normalize_url(url, strict=True))

    return {
        "article-ingest canonicalize": canonicalize,
        "w3lib.url.canonicalize_url": w3lib.url.canonicalize_url,
        "courlan.normalize_url(strict)": _courlan,
        "url_normalize(filter_params)": lambda url: url_normalize.url_normalize(
            url, filter_params=True),
    }


def _safe(function: Canonicalizer, url: str) -> str | None:
    try:
        return function(url)
    except Exception:  # a library that raises has refused the URL
        return None


def correctness(function: Canonicalizer) -> tuple[float, float, float]:
    """(spellings joined, pairs kept apart, non-http refused), each a share."""
    spellings = [(s, group[0]) for group in SAME for s in group[1:]]
    joined = sum(1 for s, first in spellings
                 if (got := _safe(function, s)) is not None and got == _safe(function, first))
    apart = sum(1 for a, b in APART if _safe(function, a) != _safe(function, b))
    refused = sum(1 for url in NOT_HTTP if _safe(function, url) is None)
    return joined / len(spellings), apart / len(APART), refused / len(NOT_HTTP)


def dev_urls(shared: Path) -> list[str]:
    urls: list[str] = []
    for split in ("extraction-wcxb", "extraction"):
        with gzip.open(shared / "data" / split / "dev.gold.jsonl.gz", "rt") as lines:
            urls.extend(json.loads(line)["url"] for line in lines)
    return [url + ("&" if "?" in url else "?") + "utm_source=feed" for url in urls]


def microseconds_per_url(function: Canonicalizer, urls: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for url in urls:
            _safe(function, url)
        best = min(best, time.process_time() - started)
    return best / len(urls) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    urls = dev_urls(args.shared)
    print(f"{len(urls)} development URLs; table: {sum(map(len, SAME))} spellings in "
          f"{len(SAME)} groups, {len(APART)} pairs apart, {len(NOT_HTTP)} non-http")
    print(f"{'function':32} {'joined':>7} {'apart':>7} {'refused':>8} {'us/url':>8}")
    for name, function in candidates().items():
        joined, apart, refused = correctness(function)
        speed = microseconds_per_url(function, urls, args.repeat)
        print(f"{name:32} {joined:7.3f} {apart:7.3f} {refused:8.3f} {speed:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
