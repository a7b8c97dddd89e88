"""The benchmark's inputs and parsers (bench/corpus.py, bench/run.py): no timings here.

A benchmark on a corpus of near-copies would measure the duplicate shortcut, not the pipeline,
so these check that the generated messages are valid raw articles, mostly distinct, seed-sized,
carry outlet furniture, and include the exact and near copies syndication produces.
"""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import orjson
import pytest

from bench import bench_state, bench_text, bench_tokens, peer
from bench.bench_restore import compacted
from bench.corpus import CorpusSettings, TextCorpus, html_messages
from bench.run import (
    CHANGELOG_BATCH,
    Share,
    Topology,
    latency,
    parse_metrics,
    parse_state_output,
    poll_delay,
    shard_load,
    side_by_side_rate,
    total,
    verdict,
)
from service.stages.fingerprint import words
from service.state.settings import StorySettings
from service.state.stories import StoryState

COUNT = 160


@pytest.fixture(scope="module")
def corpus() -> list[dict[str, str]]:
    return [orjson.loads(m) for m in TextCorpus(7).messages(COUNT)]


def _shingles(text: str) -> set[tuple[str, ...]]:
    tokens = words(text)
    return {tuple(tokens[i:i + 3]) for i in range(len(tokens) - 2)}


def _jaccard(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    return len(a & b) / max(1, len(a | b))


def test_messages_are_valid_raw_articles_of_seed_size(corpus: list[dict[str, str]]) -> None:
    assert len({m["id"] for m in corpus}) == COUNT
    for message in corpus:
        assert message["url"].startswith("https://")
        assert len(message["text"].split()) > 200
        assert message["title"]
    mean = sum(len(orjson.dumps(m)) for m in corpus) / COUNT
    assert 3000 < mean < 5500


def test_most_messages_are_distinct_articles(corpus: list[dict[str, str]]) -> None:
    shingles = [_shingles(m["text"]) for m in corpus]
    close = {j for i, j in itertools.combinations(range(COUNT), 2)
             if _jaccard(shingles[i], shingles[j]) > 0.6}
    assert len(close) <= COUNT * 0.15  # copies only: exact + near shares and chance
    similarities = [_jaccard(shingles[i], shingles[j])
                    for i, j in itertools.combinations(range(0, COUNT, 3), 2)]
    assert sum(similarities) / len(similarities) < 0.15


def test_exact_and_near_copies_are_included(corpus: list[dict[str, str]]) -> None:
    texts = Counter(m["text"] for m in corpus)
    assert any(n > 1 for n in texts.values()), "no exact copy"
    shingles = [_shingles(m["text"]) for m in corpus]
    near = [(i, j) for i, j in itertools.combinations(range(COUNT), 2)
            if 0.6 < _jaccard(shingles[i], shingles[j]) < 1.0]
    assert near, "no near copy"


def test_outlets_repeat_their_furniture(corpus: list[dict[str, str]]) -> None:
    by_outlet: dict[str, Counter[str]] = {}
    for message in corpus:
        lines = {line.strip() for line in message["text"].split("\n") if line.strip()}
        by_outlet.setdefault(message["url"].split("/")[2], Counter()).update(lines)
    repeated = [o for o, lines in by_outlet.items() if any(n >= 3 for n in lines.values())]
    assert len(repeated) >= len(by_outlet) // 2


def test_corpus_is_reproducible_and_seeded() -> None:
    assert TextCorpus(3).messages(20) == TextCorpus(3).messages(20)
    assert TextCorpus(3).messages(20) != TextCorpus(4).messages(20)


def test_no_copies_when_shares_are_zero() -> None:
    settings = CorpusSettings(exact_share=0.0, near_share=0.0)
    texts = [orjson.loads(m)["text"] for m in TextCorpus(5, settings).messages(60)]
    assert len(set(texts)) == 60


def test_html_messages_cycle_pages_with_fresh_ids() -> None:
    pages = [{"id": "a", "url": "https://x.test/a", "html": "<p>a</p>"},
             {"id": "b", "url": "https://x.test/b", "html": "<p>b</p>"}]
    messages = [orjson.loads(m) for m in html_messages(pages, 5)]
    assert [m["html"] for m in messages] == ["<p>a</p>", "<p>b</p>"] * 2 + ["<p>a</p>"]
    assert len({m["id"] for m in messages}) == 5


def test_metrics_parser_sums_labelled_samples() -> None:
    text = ('# HELP x\ningest_articles_total{outcome="clean"} 7.0\n'
            'ingest_articles_total{outcome="duplicate"} 2.0\n'
            'ingest_processing_seconds_sum{stage="normalize"} 1.5\nprocess_cpu_seconds_total 3\n')
    samples = parse_metrics(text)
    assert total(samples, "ingest_articles_total") == 9.0
    assert total(samples, "ingest_articles_total", outcome="duplicate") == 2.0
    assert total(samples, "ingest_processing_seconds_sum", stage="normalize") == 1.5
    assert total(samples, "process_cpu_seconds_total") == 3.0


def test_state_figures_are_read_from_result_line_or_text() -> None:
    assert parse_state_output('x\nRESULT {"state_cost_ratio": 1.2, "state_mb_per_1m": 900}\n') \
        == {"state_cost_ratio": 1.2, "state_mb_per_1m": 900}
    assert parse_state_output("state_cost_ratio: 1.4\nstate_mb_per_1m = 1500.5\n") == {
        "state_cost_ratio": 1.4, "state_mb_per_1m": 1500.5}
    lines = ("   10,000 articles in window: decide   80.0 us/article  peak RSS 120 MB\n"
             "cost 100,000 vs 10,000 at their own checkpoints, minutes apart: 1.45x\n"
             "cost ratio 100,000 vs 10,000: 1.31x (median over slices alternating with ...)\n"
             "memory extrapolated to 1,000,000 articles: 1,730 MB (+1.6 KB/article)\n")
    assert parse_state_output(lines) == {"state_cost_ratio": 1.31, "state_mb_per_1m": 1730.0}
    assert isinstance(parse_state_output("nothing here"), str)


def test_the_state_benchmarks_reference_decides_its_feeds_next_articles() -> None:
    """bench_state's 10k reference, small: filled from the feed's start, then each slice times
    the articles after those it holds."""
    bench_state._fill_reference(300)
    assert bench_state._reference is not None
    state = bench_state._reference[0]
    assert state.article_count() == 300
    assert 0.0 < bench_state._reference_slice(20) < 1.0
    assert state.article_count() == 320


def test_latency_pairs_by_key_and_ignores_unmatched() -> None:
    sent = {str(i).encode(): 1000 + i for i in range(101)}
    clean = {k: v + 10 + int(k) for k, v in sent.items()}
    clean.pop(b"0")
    cut = latency(sent, clean)
    assert cut is not None
    assert cut[0] == pytest.approx(10 + 51, abs=1)
    assert cut[1] == pytest.approx(10 + 99, abs=1)
    assert latency(sent, {}) is None


def test_the_topology_ceiling_moves_the_records_the_service_makes() -> None:
    """The no-processing run replays, per message, the records the pipeline made for it: the
    clean and prepared records (a dead letter alone for a bad message), then the shard's
    cluster events and changelog records."""
    values = [*TextCorpus(7).messages(40), b"not json"]
    topology = Topology.of(values)
    assert len(topology.stateless) == len(values)
    sinks = [[sink for sink, _ in records] for records in topology.stateless.values()]
    assert sinks[-1] == ["clean"]  # the dead letter goes to an output topic, nothing to the shard
    assert all(kinds == ["clean", "prepared"] for kinds in sinks[:-1])
    prepared = {key for key, kinds in zip(topology.stateless, sinks, strict=True)
                if "prepared" in kinds}
    assert set(topology.stateful) == prepared
    events = [orjson.loads(records[0]) for records in topology.stateful.values()]
    assert all("cluster_id" in event for event in events)
    per_message, size = topology.records()
    # clean, prepared and a cluster event each, a changelog record per drain of
    # CHANGELOG_BATCH (its entries in one record); the dead letter alone
    assert (3 * 40 + 40 // CHANGELOG_BATCH + 1) / 41 <= per_message < 3.5 and size > 100


def test_polls_close_in_on_the_end_of_a_phase() -> None:
    # half done after 0.4 s: 0.4 s to go, next look in 0.1 s; near the end, at the finest step
    assert poll_delay(500, 1000, 0.4) == pytest.approx(0.1)
    assert poll_delay(990, 1000, 4.0) == 0.05
    assert poll_delay(0, 1000, 3.0) == 0.05  # nothing done yet: no rate to go by
    assert poll_delay(10, 1000, 60.0) == 1.0  # far from the end: at most the coarsest step


def test_the_shards_load_is_read_from_an_owner_and_the_other_workers() -> None:
    # The other worker spends 2 s per raw partition; the owner 10 s on its 5 and 2 s on the
    # shard, which is 2 / (2 * 12) of cleaning all 12 partitions.
    assert shard_load([Share(12.0, 5, True), Share(14.0, 7, False)]) == pytest.approx(2 / 24)
    assert shard_load([Share(12.0, 6, True)]) is None  # nobody to compare the owner with
    assert shard_load([Share(6.0, 3, False), Share(6.0, 3, False)]) is None


def test_two_offline_processes_each_take_half_the_messages(tmp_path: Path) -> None:
    messages = TextCorpus(3).messages(24)
    assert side_by_side_rate(messages, tmp_path) > 0
    ids = [orjson.loads(line)["id"] for half in ("half-0", "half-1")
           for line in (tmp_path / half / "run" / "clean.jsonl").read_bytes().splitlines()]
    assert sorted(ids) == sorted(orjson.loads(m)["id"] for m in messages)


def test_the_peer_clusters_by_tf_idf_nearest_centroid() -> None:
    """The peer's clustering needs no extra package: reports of one event join its story,
    an unrelated report starts its own."""
    stories = peer.Stories()
    event = peer.words("The harbour bridge closed after storm damage to its cables, engineers said")
    other = peer.words("Quarterly profits at the bakery chain rose on strong bread sales")
    first, _, new = stories.assign(stories.vector(event))
    again, similarity, joined_new = stories.assign(stories.vector([*event, "tuesday"]))
    apart, _, apart_new = stories.assign(stories.vector(other))
    assert new and not joined_new and again == first and similarity >= peer.JOIN_COSINE
    assert apart_new and apart != first


def test_the_peer_says_which_of_its_packages_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peer.importlib.util, "find_spec",
                        lambda name: None if name == "rensa" else object())
    assert peer.available() == "needs rensa (the bench extra)"


def test_the_peer_flags_a_copy_and_puts_it_in_the_original_story() -> None:
    pytest.importorskip("rensa")
    pytest.importorskip("trafilatura")
    values = TextCorpus(3, CorpusSettings(exact_share=0.0, near_share=0.0)).messages(6)
    pipeline = peer.Peer()
    events = [orjson.loads(pipeline.handle(value)[1]) for value in values]
    clean, event = (orjson.loads(v) for v in pipeline.handle(values[2]))
    assert clean["duplicate_of"] == 2 and clean["text"] == orjson.loads(values[2])["text"]
    assert event["cluster_id"] == events[2]["cluster_id"] and not event["is_new_cluster"]


def test_the_restore_bench_restores_what_it_built() -> None:
    settings = StorySettings(window_hours=24 * 365, retention_hours=24 * 365)
    original, entries = compacted(120, settings)
    restored = StoryState(settings)
    restored.restore(list(entries.items()))
    assert restored.article_count() == original.article_count() == 120
    assert restored.active_clusters() == original.active_clusters()


def test_bench_tokens_times_two_paths_that_count_alike() -> None:
    from service.stages import tokens

    text = "Жуков и Σωκράτης, 2024 Łódź"
    joined = text + bench_tokens.JOINER  # takes the scan path
    assert bench_tokens._regex_word_count(text) == tokens.word_count(joined) == 5
    assert bench_tokens._regex_unit_words(text) == tokens.unit_words(joined) == 5
    assert bench_tokens.best_us(tokens.word_count, [text]) > 0


def test_bench_text_times_every_stage_of_a_round(capsys: pytest.CaptureFixture[str]) -> None:
    figures = bench_text.round_us(TextCorpus(7).messages(6))
    assert {"normalize", "features", "cluster", bench_text.CPU} <= set(figures)
    assert all(value > 0 for value in figures.values())
    bench_text.report({"one": [figures], "two": [figures]})
    assert "median of paired ratios (one / two): 1.000" in capsys.readouterr().out


def test_scale_out_meets_its_goal_at_1_7_or_within_0_1_of_the_offline_pair() -> None:
    assert verdict("scale_2proc", {"scale_2proc": 1.75, "process_scale_2proc": 1.95}) == "met"
    assert verdict("scale_2proc", {"scale_2proc": 1.43, "process_scale_2proc": 1.44}).startswith(
        "met (within 0.1")
    assert verdict("scale_2proc", {"scale_2proc": 1.43, "process_scale_2proc": 1.6}) == "NOT met"
    assert verdict("scale_2proc", {"scale_2proc": 1.43}) == "NOT met"
    assert verdict("scale_2proc", {}) == "n/a"
    # the fallback is the scale-out goal's alone; a lower-is-better goal reads its own way
    assert verdict("p99_ms", {"p99_ms": 600.0, "process_scale_2proc": 0.0}) == "NOT met"
    assert verdict("text_ms_per_article", {"text_ms_per_article": 0.9}) == "met"
