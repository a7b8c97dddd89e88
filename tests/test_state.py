"""StoryState: idempotent decisions, exact restore from the changelog, bounded memory."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import orjson
import pytest

from bench.bench_state import Feed
from bench.eval_stories import as_article, bcubed, load
from service.records import Article, Assignment
from service.stages import dedup
from service.stages.features import FEATURES_VERSION
from service.stages.fingerprint import fingerprint
from service.state import codec
from service.state.store import Store
from service.state.stories import StorySettings, StoryState
from tests.conftest import shared_path

SMALL = StorySettings(max_articles=2048, frequency_snapshot_every=150)
# Settings under which the dev stream merges stories; refinement (its own test) is off so that
# every re-emission is a merge.
MERGING = replace(SMALL, max_articles=4096, number_weight=2.0, refine_stories=0)

Changelog = list[tuple[bytes, bytes | None]]


def _stream(count: int, seed: int = 3) -> list[Article]:
    return list(Feed(seed=seed, vocabulary=3000).articles(count))


def _run(state: StoryState, articles: Iterable[Article],
         changelog: Changelog | None = None, drain_every: int = 7) -> list[Assignment]:
    emitted: list[Assignment] = []
    for number, article in enumerate(articles, 1):
        emitted.extend(state.decide(article, fingerprint(article.text)))
        if changelog is not None and number % drain_every == 0:
            changelog.extend(state.drain_changes())
    if changelog is not None:
        changelog.extend(state.drain_changes())
    return emitted


def _entries(changelog: Changelog) -> list[bytes]:
    """The article entries in a changelog's block records, in the order written."""
    return [entry for key, value in changelog
            if value is not None and key.startswith(codec.BLOCK_PREFIX)
            for entry in codec.decode_block(value)]


def _compacted(changelog: Changelog) -> Changelog:
    """What a compacted topic may keep: the last record of each key (tombstones dropped)."""
    latest = dict(changelog)
    return [(key, value) for key, value in latest.items() if value is not None]


def test_a_redelivered_article_gets_the_same_decision_and_changes_nothing() -> None:
    state = StoryState(SMALL)
    articles = _stream(60)
    first = _run(state, articles)
    state.drain_changes()
    clusters, count = state.active_clusters(), state.article_count()
    again = state.decide(articles[10], fingerprint(articles[10].text))
    assert again == [next(a for a in first if a.article_id == articles[10].id)]
    assert (state.active_clusters(), state.article_count()) == (clusters, count)
    assert state.drain_changes() == []


@pytest.mark.parametrize("cut", [1, 57, 150, 151, 233])
@pytest.mark.parametrize("compact", [False, True])
def test_restore_then_the_rest_of_the_stream_decides_like_an_uninterrupted_run(
        cut: int, compact: bool) -> None:
    articles = _stream(400)
    uninterrupted = _run(StoryState(SMALL), articles)
    changelog: Changelog = []
    before = _run(StoryState(SMALL), articles[:cut], changelog)
    restored = StoryState(SMALL)
    restored.restore(_compacted(changelog) if compact else changelog)
    after = _run(restored, articles[cut:])
    assert before + after == uninterrupted
    assert any(a.duplicate_kind == "near" for a in after)
    # redeliveries of what was decided before the restart are answered from restored state
    assert restored.decide(articles[0], fingerprint(articles[0].text))[0] == uninterrupted[0]


def _retire_check(older: Changelog, articles: list[Article]) -> None:
    """A changelog restore cannot read: the shard starts empty, decides like a fresh one, and
    its first drain tombstones every old key; a restore after compaction sees only the new."""
    restored = StoryState(SMALL)
    assert restored.restore(older) == len(older)
    assert (restored.active_clusters(), restored.article_count()) == (0, 0)
    assert _run(restored, articles[60:]) == _run(StoryState(SMALL), articles[60:])
    retired = restored.drain_changes()
    assert {key for key, _ in older} <= {key for key, value in retired if value is None}
    again = StoryState(SMALL)
    assert again.restore(_compacted(older + retired)) == 0
    assert again.article_count() == restored.article_count() == 60


def test_a_changelog_of_other_story_features_is_retired_not_restored() -> None:
    articles = _stream(120)
    changelog: Changelog = []
    _run(StoryState(SMALL), articles[:60], changelog)
    # the same log as a build of FEATURES_VERSION 3 wrote it
    older = [(key, value if not key.startswith(codec.BLOCK_PREFIX) else codec.encode_block(
        [(3).to_bytes(4, "little") + entry[4:] for entry in codec.decode_block(value)]))
        for key, value in _compacted(changelog) if value is not None]
    _retire_check(older, articles)


def test_a_changelog_of_the_older_layout_is_retired_not_restored() -> None:
    """Before one entry per article: a key per article, story, terms and vector, and counters."""
    articles = _stream(120)
    older: Changelog = [(b"m", orjson.dumps({"features": 4, "next_article": 60})),
                        (b"a/some-article", b"\0" * 300), (b"c/0000000000000001", b"\0" * 80),
                        (b"d/0000", b"\0" * 8)]
    _retire_check(older, articles)


def test_a_changelog_with_untagged_snapshots_is_retired_not_restored() -> None:
    """Before two tagged snapshot copies (``s/``): one untagged copy under ``f/<chunk>``,
    which restore cannot tell whole from cut short."""
    articles = _stream(120)
    changelog: Changelog = []
    _run(StoryState(SMALL), articles[:60], changelog)
    older = [(key, value) for key, value in _compacted(changelog)
             if key.startswith(codec.BLOCK_PREFIX)] + [(b"f/0000", b"\0" * 40)]
    _retire_check(older, articles)


@pytest.mark.parametrize(("cut", "horizon"), [(470, 20_000), (230, 20_000), (470, 64)])
def test_restore_replays_merges_reassignments_and_expiry_on_real_reports(
        cut: int, horizon: int) -> None:
    folder = shared_path("data/stories")
    raws = load(folder / "dev.jsonl.gz")
    articles = [replace(as_article(raw), published_at=f"2026-01-{1 + n // 40:02d}T00:00:00Z")
                for n, raw in enumerate(raws)]
    # Settings under which this stream merges stories: the mechanics are what is tested here.
    # A short refine_horizon makes the ring of kept vectors wrap (and tombstone) mid-stream.
    settings = replace(SMALL, window_hours=96.0, retention_hours=120.0, merge_threshold=0.45,
                       number_weight=2.0, refine_horizon=horizon)
    uninterrupted = _run(StoryState(settings), articles)
    assert any(a.reason == "merged" for a in uninterrupted)
    assert any(a.reason == "reassigned" for a in uninterrupted[cut:])
    changelog: Changelog = []
    before = _run(StoryState(settings), articles[:cut], changelog, drain_every=13)
    restored = StoryState(settings)
    restored.restore(_compacted(changelog))
    assert before + _run(restored, articles[cut:]) == uninterrupted


def test_dormant_stories_and_old_articles_are_expired() -> None:
    settings = replace(SMALL, max_articles=100, window_hours=1.0, retention_hours=2.0)
    state = StoryState(settings)
    articles = _stream(300)  # half a second apart: 150 s in all
    _run(state, articles[:150])
    assert state.article_count() <= 100
    late = replace(articles[150], published_at="2026-01-01T05:00:00Z")
    state.decide(late, fingerprint(late.text))
    assert state.article_count() == 1 and state.active_clusters() == 1
    # the changelog retires them with no tombstone: slots are overwritten, drops carried
    assert all(value is not None for _, value in state.drain_changes())


def test_a_merge_re_emits_every_article_that_moved() -> None:
    folder = shared_path("data/stories")
    raws = load(folder / "dev.jsonl.gz")
    state = StoryState(MERGING)
    latest: dict[str, Assignment] = {}
    merges = 0
    for raw in raws:
        article = as_article(raw)
        first, *moved = state.decide(article, fingerprint(article.text))
        latest[first.article_id] = first
        assert len({assignment.article_id for assignment in moved}) == len(moved)
        for assignment in moved:
            merges += 1
            assert assignment.reason == "merged" and assignment.article_id in latest
            assert assignment.cluster_id == first.cluster_id
            latest[assignment.article_id] = assignment
    assert merges > 0
    sizes: dict[str, int] = {}
    for assignment in latest.values():
        sizes[assignment.cluster_id] = sizes.get(assignment.cluster_id, 0) + 1
    assert len(sizes) == state.active_clusters()


@pytest.mark.parametrize("refine_floor", [0.0, 1.0])
def test_a_story_merges_only_with_stories_the_joining_article_reaches(refine_floor: float) -> None:
    # with a floor no article reaches, no candidate is checked for a merge
    raws = load(shared_path("data/stories") / "dev.jsonl.gz")
    state = StoryState(replace(MERGING, refine_floor=refine_floor))
    merged = 0
    for raw in raws:
        article = as_article(raw)
        decided = state.decide(article, fingerprint(article.text))
        merged += sum(assignment.reason == "merged" for assignment in decided)
    assert (merged > 0) is (refine_floor == 0.0)


def _last_events(settings: StorySettings, raws: list[dict[str, object]]) -> dict[str, Assignment]:
    state = StoryState(settings)
    latest: dict[str, Assignment] = {}
    for raw in raws:
        article = as_article(raw)
        first, *others = state.decide(article, fingerprint(article.text))
        for assignment in others:
            assert assignment.article_id in latest and assignment.reason in ("merged",
                                                                             "reassigned")
        latest.update((assignment.article_id, assignment) for assignment in (first, *others))
    # the latest event per article is the state's own membership: one cluster id per story
    assert len({a.cluster_id for a in latest.values()}) == state.active_clusters()
    return latest


def test_refinement_moves_articles_to_the_story_they_fit_better() -> None:
    raws = load(shared_path("data/stories") / "dev.jsonl.gz")
    labels = orjson.loads((shared_path("data/stories") / "dev.labels.json").read_bytes())
    gold = {key: value["event"] for key, value in labels.items()}
    settings = replace(SMALL, max_articles=4096)
    refined = _last_events(settings, raws)
    plain = _last_events(replace(settings, refine_stories=0), raws)
    assert any(a.reason == "reassigned" for a in refined.values())
    assert not any(a.reason == "reassigned" for a in plain.values())
    f1_refined = bcubed({k: a.cluster_id for k, a in refined.items()}, gold)[2]
    f1_plain = bcubed({k: a.cluster_id for k, a in plain.items()}, gold)[2]
    assert f1_refined > f1_plain + 0.005


def _plain(article_id: str, *groups: str) -> Article:
    """An article of lower-case words drawn from the named groups (no names, no numbers)."""
    text = " ".join(f"{group}{index}" for group in groups for index in range(6))
    return Article(id=article_id, url=f"https://example.test/{article_id}",
                   canonical_url=f"https://example.test/{article_id}", source="example.test",
                   title="", text=text, lang="en", published_at=None, fetched_at=None,
                   word_count=len(text.split()))


@pytest.mark.parametrize("young_story_vectors", [3, 0])
def test_a_young_story_takes_only_articles_close_to_each_of_its_own(
        young_story_vectors: int) -> None:
    # b shares half its words with a1 and none with a2: close enough to their centroid
    # (cosine 0.26), but a young story links every member, and b is far from a2
    # (every term indexed and queried, so that retrieval does not decide)
    state = StoryState(replace(SMALL, young_story_vectors=young_story_vectors, index_terms=64,
                               query_terms=64))
    a1, a2, b = (_plain("a1", "alpha", "beta"), _plain("a2", "alpha", "gamma"),
                 _plain("b", "beta", "delta"))
    story = state.decide(a1, fingerprint(a1.text))[0].cluster_id
    assert state.decide(a2, fingerprint(a2.text))[0].cluster_id == story
    joined = state.decide(b, fingerprint(b.text))[0]
    assert (joined.cluster_id == story) is (young_story_vectors == 0)


def test_the_changelog_writes_an_entry_per_article_a_record_per_block_and_rare_snapshots() -> None:
    changelog: Changelog = []
    _run(StoryState(SMALL), _stream(400), changelog, drain_every=10)
    records = [k for k, _ in changelog if k.startswith(codec.BLOCK_PREFIX)]
    snapshots = [k for k, _ in changelog if k.startswith(codec.FREQUENCY_PREFIX)]
    assert all(v is not None for _, v in changelog)
    values = _entries(changelog)
    assert [codec.counters_of(v).features for v in values] == [FEATURES_VERSION] * 400
    assert sorted(codec.decode_entries(values).heads["serial"].tolist()) == list(range(400))
    # a record per drain, and one more where a drain crosses into the next block of slots
    assert len(records) == 400 // 10 + sum(1 for start in range(0, 400, codec.BLOCK_SLOTS)
                                           if start % 10)
    assert len(snapshots) == 32 * (400 // SMALL.frequency_snapshot_every)
    # an entry but the stories a drain carried: columns, signature, terms, vector
    plain = codec.decode_entries(values).heads["carried"] == 0
    assert plain.any() and max(len(v) for v, no in zip(values, plain, strict=True) if no) < 4000
    newest = codec.counters_of(values[-1])
    assert (newest.next_article, newest.df_serial) == (400, 299)


def _cuts(settings: StorySettings, articles: list[Article], cuts: Iterable[int],
          drain_every: int = 7) -> None:
    """Restored at each cut (from the compacted changelog), the rest decides as uninterrupted."""
    uninterrupted = _run(StoryState(settings), articles)
    for cut in cuts:
        changelog: Changelog = []
        before = _run(StoryState(settings), articles[:cut], changelog, drain_every)
        restored = StoryState(settings)
        restored.restore(_compacted(changelog))
        assert before + _run(restored, articles[cut:]) == uninterrupted, cut


@pytest.mark.parametrize("drain_every", [1, 7, 40])
def test_restore_is_exact_across_ring_wrap_around_and_stories_that_outlive_their_entries(
        drain_every: int) -> None:
    """A ring of 64 slots wraps many times over 600 articles; stories live far longer than
    their articles stay (the window is long), so their states are carried again as the
    entries that held them are overwritten; snapshots come every 64 articles at most."""
    settings = replace(SMALL, max_articles=64, refine_horizon=32)
    articles = _stream(600)
    state = StoryState(settings)
    _run(state, articles)
    assert state.active_clusters() > 0
    _cuts(settings, articles, [63, 64, 65, 200, 333, 511], drain_every)


def test_a_restored_store_holds_what_the_live_one_held() -> None:
    """A restore puts articles, first decisions, kept vectors and members back in batches; each
    column must equal what the live store built one article at a time (ring wrapped twice)."""
    settings = replace(SMALL, max_articles=256, refine_horizon=48)
    changelog: Changelog = []
    live = StoryState(settings)
    _run(live, _stream(700), changelog)
    held, restored = live._store, _restored(settings, changelog)._store
    serials = range(held.oldest, held.next_article)
    assert (restored.oldest, restored.next_article) == (held.oldest, held.next_article)
    assert [restored.first(s) for s in serials] == [held.first(s) for s in serials]
    assert any(held.first(s).duplicate_of for s in serials)  # type: ignore[union-attr]
    recent = range(held.next_article - held.horizon, held.next_article)  # older ones may go
    assert [restored.has_vector(s) for s in recent] == [held.has_vector(s) for s in recent]
    kept = [s for s in recent if held.has_vector(s)]
    assert len(kept) > 20
    for serial in kept:
        mine, theirs = restored.kept_vector(serial), held.kept_vector(serial)
        assert mine.terms.tolist() == theirs.terms.tolist()
        assert mine.weights.tolist() == theirs.weights.tolist()
    assert sorted(restored.live) == sorted(held.live)
    assert all(restored.live[s].members == held.live[s].members for s in held.live)
    assert any(len(story.members) > 1 for story in held.live.values())


def test_restore_is_exact_across_story_retirement_and_forgotten_articles() -> None:
    """A short window and retention (articles half a second apart): stories go dormant and
    articles leave by time, not by the ring; restore derives the same live set."""
    settings = replace(SMALL, window_hours=0.01, retention_hours=0.02)
    articles = _stream(500)
    _cuts(settings, articles, [100, 149, 150, 151, 300, 451])


def _restored(settings: StorySettings, changelog: Changelog) -> StoryState:
    restored = StoryState(settings)
    restored.restore(_compacted(changelog))
    return restored


def test_restore_is_exact_during_a_settle_and_after_it() -> None:
    """A settle's drain writes the newest entry again with the settle recorded (its changes go
    with the next decided article): a restore mid-settle runs it again and goes on where the
    original does; a restore after the next article reads the changes themselves."""
    articles, _ = _dev_stream()
    settings = replace(SMALL, max_articles=256, refine_horizon=128)
    original = StoryState(settings)
    changelog: Changelog = []
    _run(original, articles[:400], changelog)
    assert original.settle(50)
    changelog.extend(original.drain_changes())
    assert len(changelog[-1][1] or b"") < 20_000  # the settle, not its changes
    mid = _restored(settings, changelog)
    assert mid.settling and mid.active_clusters() == original.active_clusters()
    assert mid.settle(50) == original.settle(50)
    changelog.extend(original.drain_changes())
    mid.drain_changes()
    late = replace(articles[400], published_at="2000-01-01T00:00:00Z")
    assert mid.decide(late, fingerprint(late.text)) == original.decide(late, fingerprint(late.text))
    changelog.extend(original.drain_changes())
    after = _restored(settings, changelog)
    for restored in (mid, after):
        assert restored.active_clusters() == original.active_clusters()
    assert mid.settle() == after.settle() == original.settle()
    assert _run(mid, articles[401:]) == _run(after, articles[401:]) == _run(
        original, articles[401:])


def test_a_drain_that_changed_many_stories_goes_on_in_pieces() -> None:
    """One drain of 2,000 articles carries over a thousand story states: more than a record
    may hold, so they continue under piece keys, and a restore reads them back."""
    settings = replace(SMALL, max_articles=4096, frequency_snapshot_every=5000)
    articles = _stream(2400)
    changelog: Changelog = []
    state = StoryState(settings)
    _run(state, articles[:2000], changelog, drain_every=2000)
    pieces = [key for key, _ in changelog if key.startswith(codec.PIECE_PREFIX)]
    assert pieces and max(len(value or b"") for _, value in changelog) <= 300_000
    restored = _restored(settings, changelog)
    assert _run(restored, articles[2000:]) == _run(state, articles[2000:])


def _singletons(settings: StorySettings, raws: list[dict[str, object]]) -> tuple[int, int]:
    """(stories of one article at the end, re-emitted assignments) over one stream."""
    state = StoryState(settings)
    latest: dict[str, str] = {}
    moved = 0
    for raw in raws:
        article = as_article(raw)
        first, *others = state.decide(article, fingerprint(article.text))
        for assignment in (first, *others):
            latest[assignment.article_id] = assignment.cluster_id
        moved += len(others)
    sizes: dict[str, int] = {}
    for cluster_id in latest.values():
        sizes[cluster_id] = sizes.get(cluster_id, 0) + 1
    return sum(1 for size in sizes.values() if size == 1), moved


def test_a_one_article_story_is_absorbed_by_a_story_grown_close_to_it() -> None:
    raws = load(shared_path("data/stories") / "dev.jsonl.gz")
    settings = replace(SMALL, max_articles=4096)
    absorbing = _singletons(settings, raws)
    without = _singletons(replace(settings, absorb_threshold=settings.merge_threshold), raws)
    assert absorbing[1] > without[1]
    assert absorbing[0] < without[0]


def _dev_stream() -> tuple[list[Article], dict[str, str]]:
    folder = shared_path("data/stories")
    labels = orjson.loads((folder / "dev.labels.json").read_bytes())
    return ([as_article(raw) for raw in load(folder / "dev.jsonl.gz")],
            {key: value["event"] for key, value in labels.items()})


def _membership(assignments: Iterable[Assignment]) -> dict[str, str]:
    return {assignment.article_id: assignment.cluster_id for assignment in assignments}


def test_settling_moves_reports_to_the_stories_they_fit_in_hindsight() -> None:
    articles, gold = _dev_stream()
    state = StoryState(replace(SMALL, max_articles=4096))
    online = _membership(_run(state, articles))
    moved = state.settle()
    settled = {**online, **_membership(moved)}
    assert moved and all(a.reason == "reassigned" and not a.is_new_cluster for a in moved)
    # the lone reports that now reach a story join it: fewer stories, a better score
    assert len(set(settled.values())) == state.active_clusters() < len(set(online.values()))
    assert bcubed(settled, gold)[2] > bcubed(online, gold)[2] + 0.005
    assert len(state.settle()) < len(moved)  # it converges: what moved has settled


def test_settling_off_changes_nothing() -> None:
    articles, _ = _dev_stream()
    state = StoryState(replace(SMALL, max_articles=4096, settle_passes=0))
    _run(state, articles)
    state.drain_changes()
    assert state.settle() == [] and state.drain_changes() == []


def test_a_settled_shard_restored_from_its_changelog_decides_like_the_settled_original() -> None:
    articles, _ = _dev_stream()
    settings = replace(SMALL, max_articles=4096)
    original = StoryState(settings)
    changelog: Changelog = []
    _run(original, articles[:400], changelog)
    assert original.settle()
    changelog.extend(original.drain_changes())
    restored = StoryState(settings)
    restored.restore(_compacted(changelog))
    assert _run(restored, articles[400:]) == _run(original, articles[400:])
    assert restored.settle() == original.settle()


def test_settling_in_slices_ends_where_settling_at_once_does() -> None:
    articles, _ = _dev_stream()
    settings = replace(SMALL, max_articles=4096)
    at_once, sliced = StoryState(settings), StoryState(settings)
    online = _membership(_run(at_once, articles))
    _run(sliced, articles)
    whole = at_once.settle()
    assert not at_once.settling
    moved, slices = sliced.settle(budget=50), 1
    while sliced.settling:
        moved += sliced.settle(budget=50)
        slices += 1
    assert slices > len(articles) // 50  # it did stop and go on
    assert {**online, **_membership(whole)} == {**online, **_membership(moved)}
    # a decision in between starts the settle afresh: the stories it was settling changed
    sliced.settle(budget=50)
    sliced.decide(articles[0], fingerprint(articles[0].text))  # a redelivery changes nothing
    assert sliced.settling
    extra = replace(articles[1], id="late-report")
    sliced.decide(extra, fingerprint(extra.text))
    assert not sliced.settling


@pytest.mark.parametrize("max_articles", [1_000_000, 1500])
def test_the_article_ring_grows_with_the_window_and_keeps_every_live_article(
        max_articles: int) -> None:
    """Slots are allocated as the window fills (doubling, up to ``max_articles``), and growing
    moves every live article, its first decision and its lookups along."""
    store = Store(StorySettings(max_articles=max_articles))
    assert store.capacity <= 1024
    signature = np.arange(dedup.PERMUTATIONS, dtype=np.uint16)
    decisions = {}
    for serial in range(3000):
        store.advance(float(serial))
        root = serial - 1 if serial % 4 == 1 else None
        store.add_article(f"id{serial}", signature + serial, 40, root, float(serial),
                          10**18 + serial, dedup.band_keys(signature + serial), exact=False)
        decisions[serial] = Assignment(
            f"id{serial}", f"{serial:016x}", serial % 2 == 0, serial / 7,
            None if root is None else f"id{root}", None if root is None else "near", serial)
        store.set_first(serial, decisions[serial])
    assert store.capacity == min(4096, max_articles)
    assert store.article_count() == min(3000, max_articles)
    for serial in range(3000 - store.article_count(), 3000):
        assert store.serial_of(f"id{serial}") == serial
        assert store.exact_copy(10**18 + serial) == serial
        assert store.first(serial) == decisions[serial]
    assert (store.serial_of("id0") is None) == (max_articles < 3000)


def _cut_short(settings: StorySettings, articles: list[Article], cut: int, extra: int,
               landed: int) -> tuple[StoryState, StoryState, Changelog]:
    """The state after ``articles[:cut]`` drained whole (every 7), and a state restored from
    that changelog plus the first ``landed`` records of the next drain (of ``extra``
    articles; negative: all but the last ``-landed``): the process died while sending it.
    Also that drain's records."""
    changelog: Changelog = []
    state = StoryState(settings)
    _run(state, articles[:cut], changelog)
    whole = _restored(settings, changelog)
    for article in articles[cut:cut + extra]:
        state.decide(article, fingerprint(article.text))
    cut_drain = state.drain_changes()
    restored = _restored(settings, changelog + cut_drain[:landed])
    assert 0 < len(cut_drain[:landed]) < len(cut_drain)
    assert restored.left_out == len(_entries(cut_drain[:landed]))
    return whole, restored, cut_drain


@pytest.mark.parametrize(("cut", "extra", "landed"), [
    (0, 150, 1), (0, 150, -1),  # the first drain: records of three blocks
    (301, 7, 1), (301, 7, 16), (301, 7, -1),  # a snapshot's chunks
    (203, 100, 1)])  # records of two blocks
def test_a_drain_cut_short_is_left_out_and_its_articles_decide_as_uninterrupted(
        cut: int, extra: int, landed: int) -> None:
    """Before the ring wraps, what a cut drain wrote (articles, a snapshot's chunks) changes
    nothing: the restore is the last whole drain, and deciding the cut drain's articles again
    gives the uninterrupted run's decisions."""
    articles = _stream(400)
    uninterrupted = _run(StoryState(SMALL), articles)
    before = _run(StoryState(SMALL), articles[:cut])
    whole, restored, cut_drain = _cut_short(SMALL, articles, cut, extra, landed)
    if cut == 301:
        assert len(cut_drain) == 32 + 1  # a snapshot, then the articles' record
    assert restored.article_count() == whole.article_count() == cut
    assert before + _run(restored, articles[cut:]) == uninterrupted


@pytest.mark.parametrize(("cut", "extra"), [(380, 10), (300, 40)])
def test_a_drain_cut_short_after_the_ring_wrapped_forgets_nothing(cut: int, extra: int) -> None:
    """After the ring wraps, the cut drain's records went under the keys of the other lap of
    the ring, so the entries of the oldest live articles are still there: the restore is the
    last whole drain and the rest decides as uninterrupted."""
    settings = replace(SMALL, max_articles=64, refine_horizon=32)
    articles = _stream(420)
    whole, restored, cut_drain = _cut_short(settings, articles, cut, extra, -1)
    blocks = [key for key, _ in cut_drain if key.startswith(codec.BLOCK_PREFIX)]
    assert blocks[-1] == cut_drain[-1][0] and len(blocks) == 2  # two laps
    assert restored.left_out > 0
    assert restored.article_count() == whole.article_count() == 64
    assert restored.active_clusters() == whole.active_clusters()
    before = _run(StoryState(settings), articles[:cut])
    assert before + _run(restored, articles[cut:]) == _run(StoryState(settings), articles)


def test_a_drain_cut_short_leaves_the_pieces_of_the_entry_a_lap_before_whole() -> None:
    """A cut drain of 2,000 articles wrote its pieces (for the slot of the entry a ring before
    its last, which had pieces too) but not its last record: the pieces went under the other
    lap's keys, so the older entry's carried changes still read, and the rest decides as the
    state at the last whole drain does."""
    settings = replace(SMALL, max_articles=2048, frequency_snapshot_every=5000)
    articles = _stream(4100)
    changelog: Changelog = []
    state = StoryState(settings)
    _run(state, articles[:2000], changelog, drain_every=2000)
    _run(state, articles[2000:2048], changelog)
    for article in articles[2048:4048]:
        state.decide(article, fingerprint(article.text))
    cut_drain = state.drain_changes()
    pieces = [key for key, _ in cut_drain if key.startswith(codec.PIECE_PREFIX)]
    older = [key for key, _ in changelog if key.startswith(codec.PIECE_PREFIX)]
    assert pieces and older and not set(pieces) & set(older)
    restored = _restored(settings, changelog + cut_drain[:-1])
    assert restored.left_out == len(_entries(cut_drain[:-1])) > 1900
    assert restored.article_count() == 2048
    whole = _restored(settings, changelog)
    assert _run(restored, articles[2048:]) == _run(whole, articles[2048:])


@pytest.mark.parametrize("missing", [0, 150, 151, 153, 199])
def test_an_entry_missing_mid_changelog_returns_the_restore_to_the_drain_before_it(
        missing: int) -> None:
    """An entry whose send failed and was sent again after later entries landed, lost when the
    worker died before the resend did: no raw offset from its drain on was committed, so the
    restore returns to the drain before it, and the rest of the stream (redelivered) decides
    as an uninterrupted run."""
    articles = _stream(300)
    changelog: Changelog = []
    _run(StoryState(SMALL), articles[:200], changelog)  # drains of 7: heads 6, 13, ..., 195, 199
    holding = next(key for key, value in changelog if key.startswith(codec.BLOCK_PREFIX)
                   and missing in codec.decode_entries(codec.decode_block(value or b""))
                   .heads["serial"])
    damaged = [(key, value) for key, value in changelog if key != holding]
    restored = _restored(SMALL, damaged)
    back_to = missing - missing % 7  # the first article of the missing entry's drain
    assert restored.article_count() == back_to
    assert restored.left_out == len(_entries(damaged)) - back_to
    before = _run(StoryState(SMALL), articles[:back_to])
    assert before + _run(restored, articles[back_to:]) == _run(StoryState(SMALL), articles)


def test_the_records_a_restore_left_out_are_retired_before_their_articles_are_decided_again(
        ) -> None:
    """The drain after a restore tombstones the cut drain's records first, so a second restart
    later reads only the entries decided again (never two entries of one article)."""
    articles = _stream(400)
    changelog: Changelog = []
    state = StoryState(SMALL)
    _run(state, articles[:203], changelog)
    for article in articles[203:303]:
        state.decide(article, fingerprint(article.text))
    cut_drain = state.drain_changes()
    changelog += cut_drain[:-1]
    restored = _restored(SMALL, changelog)
    assert restored.left_out > 0
    before = _run(StoryState(SMALL), articles[:203])
    middle = _run(restored, articles[203:350], changelog, drain_every=11)
    left = {key for key, _ in cut_drain[:-1] if key.startswith(codec.BLOCK_PREFIX)}
    assert left <= {key for key, value in changelog if value is None}
    again = _restored(SMALL, changelog)
    assert again.left_out == 0 and again.article_count() == 350
    assert before + middle + _run(again, articles[350:]) == _run(StoryState(SMALL), articles)


def test_a_changelog_of_one_record_per_article_restores_and_is_retired_as_slots_are_taken(
        ) -> None:
    """The layout before block records (``r/<slot>``, one entry each): a restore reads it and
    goes on exactly; as new articles take their slots, their old keys get tombstones."""
    settings = replace(SMALL, max_articles=128, refine_horizon=64)
    articles = _stream(400)
    changelog: Changelog = []
    _run(StoryState(settings), articles[:200], changelog)
    older: Changelog = [(codec.RECORD_PREFIX + f"{serial % 128:x}".encode(), entry)
                        for entry in _entries(_compacted(changelog))
                        for serial in [codec.decode_entries([entry]).heads["serial"][0]]]
    older += [(key, value) for key, value in _compacted(changelog)
              if not key.startswith(codec.BLOCK_PREFIX)]
    restored = _restored(settings, older)
    assert restored.article_count() == 128 and restored.left_out == 0
    later: Changelog = []
    after = _run(restored, articles[200:400], later)
    assert after == _run(_restored(settings, changelog), articles[200:400])
    legacy = {key for key, _ in older if key.startswith(codec.RECORD_PREFIX)}
    assert legacy == {key for key, value in later if value is None}
    assert _restored(settings, older + later).article_count() == 128
