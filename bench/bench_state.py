"""Cost of duplicate detection and story clustering as the window fills, and its memory.

Streams synthetic articles through one ``StoryState``: stories of 1-30 reports that share a
few names, places and figures and draw the rest of their words from a Zipf-distributed common
vocabulary; three stories in ten are siblings of a recent one (another event of its kind); about
one in ten articles is a lightly edited copy of an earlier one; event time advances so stories
go dormant as a real feed's do. At each checkpoint (10k, 100k, 1M articles in the window) it
times a batch of decisions (CPU time, median over slices), reports resident memory, and times
settling the state (what a pause in the feed costs). The cost ratio compares the last
checkpoint with a 10k-article state that the helper process holds, timed in slices that
alternate with the last checkpoint's: a shared machine's speed drifts over the minutes between
checkpoints, and the ratio should measure the state's size, not the drift.
Usage: python -m bench.bench_state [--quick]   (--quick stops at 100k and extrapolates to 1M)
"""

from __future__ import annotations

import argparse
import gc
import itertools
import multiprocessing
import random
import resource
import statistics
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import astuple
from datetime import UTC, datetime, timedelta
from pathlib import Path

from service.records import Article, Fingerprint
from service.stages import dedup
from service.stages.features import StoryFeatures, TermWeights, story_features
from service.stages.fingerprint import body_hashes, fingerprint
from service.state.stories import StorySettings, StoryState

_START = datetime(2026, 1, 1, tzinfo=UTC)
_SETTINGS = StorySettings(max_articles=1_000_000, window_hours=24 * 30, retention_hours=24 * 30)
_CHUNK = 1000
_SLICE = 250  # decisions per timed slice at a checkpoint
_VECTOR_TERM_BYTES = 8  # a kept vector's term id and weight (service.state.store)
Prepared = tuple[Fingerprint, bytes]  # the features as StoryFeatures.to_bytes


class Feed:
    """A deterministic synthetic news feed (see the module docstring)."""

    def __init__(self, seed: int = 7, vocabulary: int = 50_000) -> None:
        self.rng = random.Random(seed)
        self.common = [f"word{i}" for i in range(vocabulary)]
        self.cumulative = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(vocabulary)))
        self.serial = 0
        self.recent: list[Article] = []
        self.stories: list[list[str]] = []

    def _story_terms(self) -> list[str]:
        """Three names, two places, three figures; three stories in ten are a sibling of a
        recent one (another event of its kind: its first name and its places, as with two
        acquisitions by one company), so that stories have near neighbours as in real feeds."""
        rng = self.rng
        names = [f"Name{rng.randrange(10**7)} Surname{rng.randrange(10**7)}" for _ in range(3)]
        places = [f"Place{rng.randrange(10**6)}" for _ in range(2)]
        if self.stories and rng.random() < 0.3:
            sibling = rng.choice(self.stories)
            names[0], places = sibling[0], sibling[3:5]
        terms = names + places + [str(rng.randrange(2, 10_000)) for _ in range(3)]
        self.stories = [*self.stories[-49:], terms]
        return terms

    def _report(self, terms: list[str]) -> str:
        rng = self.rng
        sentences = []
        for _ in range(rng.randrange(8, 20)):
            words = rng.choices(self.common, cum_weights=self.cumulative,
                                k=rng.randrange(10, 22))
            words.insert(rng.randrange(len(words)), rng.choice(terms))
            sentence = " ".join(words)
            sentences.append(sentence[0].upper() + sentence[1:] + ".")
        return " ".join(sentences)

    def articles(self, count: int) -> Iterator[Article]:
        rng = self.rng
        while count > 0:
            terms = self._story_terms()
            for _ in range(min(count, rng.choice((1, 1, 2, 3, 5, 8, 13, 30)))):
                self.serial += 1
                when = _START + timedelta(seconds=self.serial * 0.5)
                if self.recent and rng.random() < 0.1:
                    words = rng.choice(self.recent).text.split()
                    words[rng.randrange(len(words))] = "edited"
                    text = " ".join(words)
                else:
                    text = self._report(terms)
                article = Article(f"a{self.serial}", f"https://x.test/{self.serial}", "", "x.test",
                                  f"{terms[0]} in {terms[3]}", text, "en",
                                  when.strftime("%Y-%m-%dT%H:%M:%SZ"), None, len(text.split()))
                self.recent = [*self.recent[-99:], article]
                count -= 1
                yield article


def current_rss_mb() -> float:
    """Resident memory of this process now (VmRSS): what the state holds, without the passing
    peak of a band table rebuild, which does not grow with the articles."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return rss_mb()


def rss_mb() -> float:
    """Peak resident memory of this process. VmHWM, not ru_maxrss: Linux carries ru_maxrss over
    fork and exec, so a child of a big parent (bench/run) would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _prepared(articles: Iterator[Article], count: int, weights: TermWeights,
              pool: Executor) -> Iterator[tuple[Article, Fingerprint, StoryFeatures]]:
    """The next ``count`` articles with their fingerprints and features, computed a chunk ahead
    in another process: filling the window is not what is timed, and it is most of the run.

    Weights and features cross the process boundary as plain values: the compiled build's
    frozen dataclasses (setup.py) do not unpickle."""
    def submit(size: int) -> tuple[list[Article], Future[list[Prepared]]]:
        chunk = list(itertools.islice(articles, size))
        return chunk, pool.submit(_prepare, chunk, astuple(weights))

    left = count
    ahead = submit(min(_CHUNK, left))
    left -= len(ahead[0])
    while ahead[0]:
        chunk, future = ahead
        ahead = submit(min(_CHUNK, left))
        left -= len(ahead[0])
        for article, (fp, features) in zip(chunk, future.result(), strict=True):
            yield article, fp, StoryFeatures.from_bytes(features)


def _prepare(articles: list[Article], weights: tuple[float, float, float]) -> list[Prepared]:
    prepared = []
    term_weights = TermWeights(*weights)
    for article in articles:
        hashes = body_hashes(article.text)
        prepared.append((fingerprint(article.text, hashes),
                         story_features(article, term_weights, hashes).to_bytes()))
    return prepared


def _timed(state: StoryState, batch: list[Article]) -> tuple[list[float], float]:
    """CPU seconds of each decision of ``batch`` (this thread's: the decision runs on it alone),
    and the wall seconds of them all.

    Each decision follows its article's stateless work, as in the service, whose shard takes a
    few prepared records at a time between the stateless work of its own partitions. (Timed
    back to back instead, decisions at 10k cost 218 us, not ~350: the small state stays in
    cache, which the service's shard does not get.)"""
    cpu: list[float] = []
    wall = 0.0
    for article in batch:
        hashes = body_hashes(article.text)
        fp = fingerprint(article.text, hashes)
        features = story_features(article, state.settings.term_weights, hashes)
        started, started_cpu = time.perf_counter(), time.thread_time()
        state.decide(article, fp, features)
        cpu.append(time.thread_time() - started_cpu)
        wall += time.perf_counter() - started
    return cpu, wall


# The helper process's 10k-article state and its feed: the reference the last checkpoint's
# slices alternate with.
_reference: tuple[StoryState, Iterator[Article]] | None = None


def _fill_reference(count: int) -> None:
    """Fill the helper process's reference state with the feed's first ``count`` articles."""
    global _reference
    state, articles = StoryState(_SETTINGS), Feed().articles(10**9)
    _timed(state, list(itertools.islice(articles, count)))  # the times are not read
    state.drain_changes()
    gc.collect()
    _reference = state, articles


def _reference_slice(size: int) -> float:
    """Mean CPU seconds of ``size`` decisions in the reference state (its next articles)."""
    assert _reference is not None, "the reference state was not filled"
    state, articles = _reference
    cpu, _ = _timed(state, list(itertools.islice(articles, size)))
    state.drain_changes()
    return statistics.fmean(cpu)


def _checkpoint(state: StoryState, articles: Iterator[Article], checkpoint: int, done: int,
                size: int, costs: dict[int, float], memory: dict[int, float],
                resident: dict[int, float], paired: dict[int, float],
                reference: Executor | None = None) -> int:
    """Time ``size`` decisions and one settle at this fill; the articles decided so far.

    The cost is CPU time per decision as the median over slices of ``_SLICE`` decisions: on a
    shared machine, wall time also counts what the other processes got of the cores, and one
    slice's burst of that should not be read as cost. Wall time is printed beside it. With
    ``reference`` (the helper process holding the reference state), a slice there follows each
    slice here, and ``paired[checkpoint]`` is the median of the slices' ratios."""
    settings = state.settings
    batch = [next(articles) for _ in range(size)]
    gc.collect()
    cpu: list[float] = []
    wall = 0.0
    references: list[float] = []
    for at in range(0, size, _SLICE):
        took, waited = _timed(state, batch[at:at + _SLICE])
        cpu += took
        wall += waited
        if reference is not None:
            references.append(reference.submit(_reference_slice, _SLICE).result())
    slices = [statistics.fmean(cpu[at:at + _SLICE]) for at in range(0, size, _SLICE)]
    costs[checkpoint] = statistics.median(slices) * 1e6
    if references:
        paired[checkpoint] = statistics.median(
            mine / theirs for mine, theirs in zip(slices, references, strict=True))
        print(f"  the reference state's slices between these: "
              f"{statistics.median(references) * 1e6:.1f} us/article CPU", flush=True)
    done += size
    state.drain_changes()
    memory[checkpoint] = rss_mb()
    resident[checkpoint] = current_rss_mb()
    started = time.perf_counter()
    moved = len(state.settle())
    settled = time.perf_counter() - started
    state.drain_changes()
    print(f"{checkpoint:>9,} articles in window: decide {costs[checkpoint]:7.1f} us/article CPU "
          f"({wall / size * 1e6:.1f} wall)  stories active {state.active_clusters():,}  "
          f"peak RSS {memory[checkpoint]:,.0f} MB (now {resident[checkpoint]:,.0f})  settle "
          f"(last {settings.refine_horizon:,} articles) {settled:.1f} s, {moved} moved",
          flush=True)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="stop at 100k, extrapolate to 1M")
    parser.add_argument("--batch", type=int, default=2000, help="decisions timed per checkpoint")
    args = parser.parse_args(argv)
    checkpoints = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    settings = _SETTINGS
    state, feed = StoryState(settings), Feed()
    articles = feed.articles(checkpoints[-1] + args.batch)
    done = 0
    costs: dict[int, float] = {}
    memory: dict[int, float] = {}
    resident: dict[int, float] = {}
    paired: dict[int, float] = {}  # the last checkpoint's, against the reference state
    first, last = checkpoints[0], checkpoints[-1]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(_fill_reference, first)  # ahead of the chunks this process fills with
        for checkpoint in checkpoints:
            for article, fp, features in _prepared(articles, checkpoint - done,
                                                    settings.term_weights, pool):
                state.decide(article, fp, features)
                done += 1
                if done % 5000 == 0:
                    state.drain_changes()
            done = _checkpoint(state, articles, checkpoint, done, args.batch, costs, memory,
                               resident, paired, pool if checkpoint == last else None)
    print(f"cost {last:,} vs {first:,} at their own checkpoints, minutes apart: "
          f"{costs[last] / costs[first]:.2f}x")
    print(f"cost ratio {last:,} vs {first:,}: {paired[last]:.2f}x (median over slices "
          f"alternating with the {first:,}-article reference state's)")
    if args.quick:
        # Fixed allocations (the DF counters) are in place by the first checkpoint. Two tables
        # fill up to a cap instead: the band table doubles with the articles, and the ring of
        # kept vectors fills a row per article up to refine_horizon rows (past the first
        # checkpoint). Their own sizes are taken out of the growth per article and put back at
        # their sizes for 1M (each checkpoint holds the checkpoint's articles and its timed
        # batch). The growth is read from resident memory now, not the peak: a table rebuild
        # just before a checkpoint peaks once.
        def capped_mb(articles: int) -> float:
            rows = dedup.band_rows(articles, settings.max_articles)
            vectors = min(articles, settings.refine_horizon) if settings.keeps_vectors else 0
            return (rows * dedup.WAYS * dedup.ENTRY_BYTES
                    + vectors * settings.article_terms * _VECTOR_TERM_BYTES) / 2**20

        held = {c: c + args.batch for c in checkpoints}
        per_article = ((resident[last] - capped_mb(held[last]))
                       - (resident[first] - capped_mb(held[first]))) / (last - first)
        projected = (resident[last] + per_article * (1_000_000 - last)
                     + capped_mb(1_000_000) - capped_mb(held[last]))
        print(f"memory extrapolated to 1,000,000 articles: {projected:,.0f} MB "
              f"({per_article * 1024:.2f} KB per additional article, band table and kept "
              f"vectors {capped_mb(held[first]):,.0f} -> {capped_mb(1_000_000):,.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
