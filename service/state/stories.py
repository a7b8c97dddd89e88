"""Duplicate and story-cluster decisions of one shard, and the changelog that restores them.

``StoryState.decide`` takes articles in arrival order and answers, for each, whether it copies
an earlier article (exact: same content hash; near: MinHash/LSH, see ``service.stages.dedup``)
and which story it belongs to (TF-IDF centroids found through a term index, see
``service.stages.cluster``). Each decision also revisits the recent articles of the stories
around it and moves those that now fit another story better (``_refine``), re-emitting them.
Articles are numbered by a serial; everything the next decision depends on is either in the
changelog or a deterministic function of it, so ``restore`` followed by the rest of a stream
gives the same assignments as an uninterrupted run.

Memory stays bounded: articles live in a ring of ``max_articles`` slots and leave it after
``retention_hours`` of event time; stories go dormant (and are dropped) after ``window_hours``
without a new article. Event time is ``published_at``, else ``fetched_at``, else the latest
event time seen.

Scaling out: one ``StoryState`` is the whole state of one shard. Stateless workers prepare
(normalize, fingerprint) and route each article to a shard by a key that keeps comparable
articles together (the lead keys by language); the shard's partition of the internal prepared
topic and of the compacted changelog topic are owned by one worker at a time, which restores
this state from the changelog before it consumes.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import orjson
import xxhash

from service.records import Article, Assignment, Fingerprint
from service.stages import cluster, dedup
from service.stages.cluster import DocumentFrequencies, TermIndex, Vector
from service.stages.features import (
    FEATURES_VERSION,
    StoryFeatures,
    TermWeights,
    story_features,
)
from service.stages.fingerprint import U64
from service.state import codec
from service.timefmt import parse_timestamp

_HOUR = 3600.0
_CHUNKS = 32


@dataclass(frozen=True)
class StorySettings:
    """Tunables of duplicate detection and story clustering (config section ``[stories]``)."""

    window_hours: float = 72.0
    retention_hours: float = 168.0
    max_articles: int = 1_000_000
    join_threshold: float = 0.22
    young_story_vectors: int = 3
    young_story_link: float = 0.19
    merge_threshold: float = 0.55
    absorb_threshold: float = 0.30
    near_jaccard: float = 0.5
    near_containment: float = 0.8
    near_min_shingles: int = 10
    prior_documents: float = 20.0
    title_weight: float = 3.0
    name_weight: float = 1.0
    number_weight: float = 8.0
    article_terms: int = 128
    story_terms: int = 256
    index_terms: int = 12
    query_terms: int = 16
    postings_read: int = 32
    candidates: int = 8
    frequency_snapshot_every: int = 5000
    refine_stories: int = 3
    refine_members: int = 16
    refine_floor: float = 0.20
    refine_margin: float = 0.0
    refine_horizon: int = 20_000
    settle_passes: int = 3

    @property
    def term_weights(self) -> TermWeights:
        return TermWeights(self.title_weight, self.name_weight, self.number_weight)

    @property
    def keeps_vectors(self) -> bool:
        """Whether recent article vectors are kept (refinement and young stories read them)."""
        return self.refine_stories >= 2 or self.young_story_vectors > 0


@dataclass(slots=True)
class _Story:
    serial: int
    founder: int
    cluster_id: str
    centroid: Vector
    last_time: float
    stamp: int
    size: int
    members: list[int] = field(default_factory=list)

    def record(self) -> codec.StoryRecord:
        return codec.StoryRecord(self.serial, self.founder, self.last_time, self.stamp,
                                 self.size, self.cluster_id, self.centroid)


@dataclass(slots=True)
class _Settling:
    """Where a settle that runs in slices stands: passes left, the next article, and whether
    the pass under way moved anything (a pass that moves nothing ends the settle)."""

    passes_left: int
    at: int
    moved: bool = False


class StoryState:
    def __init__(self, settings: StorySettings | None = None) -> None:
        self.settings = settings if settings is not None else StorySettings()
        self._reset()

    def _reset(self) -> None:
        s = self.settings
        cap = max(1, s.max_articles)
        self._cap = cap
        self._signatures = np.zeros((cap, dedup.PERMUTATIONS), dtype=np.uint32)
        self._shingles = np.zeros(cap, dtype=np.int32)
        self._roots = np.zeros(cap, dtype=np.int64)
        self._stories = np.zeros(cap, dtype=np.int64)
        self._times = np.zeros(cap, dtype=np.float64)
        self._contents = np.zeros(cap, dtype=np.uint64)
        self._ids: list[str] = [""] * cap
        self._first: list[Assignment | None] = [None] * cap
        self._serial_of: dict[str, int] = {}
        self._by_content: dict[int, int] = {}
        self._bands = dedup.BandIndex(cap)
        self._horizon = max(1, s.refine_horizon) if s.keeps_vectors else 1
        self._vector_terms = np.zeros((self._horizon, s.article_terms), dtype=np.uint32)
        self._vector_weights = np.zeros((self._horizon, s.article_terms), dtype=np.float32)
        self._vector_lengths = np.zeros(self._horizon, dtype=np.int32)
        self._vector_owner = np.full(self._horizon, -1, dtype=np.int64)
        self._columns = cluster.TermColumns()
        self._df = DocumentFrequencies(s.prior_documents)
        self._index = TermIndex(s.index_terms, s.postings_read)
        self._live: dict[int, _Story] = {}
        self._dormancy: list[tuple[float, int]] = []
        self._next_article = 0
        self._oldest = 0
        self._next_story = 0
        self._latest = 0.0
        self._df_serial = -1
        self._df_documents = 0
        self._pending_terms: list[int] = []
        self._changes: list[tuple[bytes, bytes | None]] = []
        self._dirty_articles: set[int] = set()
        self._dirty_stories: set[int] = set()
        self._settling: _Settling | None = None

    # -- queries -------------------------------------------------------------------------

    def active_clusters(self) -> int:
        return len(self._live)

    def article_count(self) -> int:
        return len(self._serial_of)

    # -- decisions -----------------------------------------------------------------------

    def decide(self, article: Article, fp: Fingerprint,
               features: StoryFeatures | None = None) -> list[Assignment]:
        """This article's assignment first, then re-emitted assignments of articles it moved.

        ``features`` are computed here when the caller (an evaluation, a test) has none."""
        known = self._serial_of.get(article.id)
        if known is not None:
            first = self._first[known % self._cap]
            assert first is not None
            return [first]
        s = self.settings
        self._settling = None  # the stories change: a settle under way starts afresh next time
        when = self._event_time(article)
        self._latest = max(self._latest, when)
        self._expire()

        serial = self._next_article
        self._next_article += 1
        slot = serial % self._cap
        if features is None:
            features = story_features(article, fp, s.term_weights)
        signature, size, terms = features.signature, features.shingles, features.terms
        counts = features.counts.astype(np.float64)
        keys = dedup.band_keys(signature)
        content = int(fp.content[:16], 16)

        root, kind, dup_similarity = self._duplicate(content, signature, keys, size)
        self._df.add(terms)
        self._pending_terms.append(serial)
        self._changes.append((codec.terms_key(serial), codec.encode_terms(terms)))

        self._signatures[slot] = signature
        self._shingles[slot] = size
        self._roots[slot] = serial if root is None else root
        self._times[slot] = when
        self._contents[slot] = content
        self._ids[slot] = article.id
        self._serial_of[article.id] = serial
        if kind != "exact" and size:
            self._by_content.setdefault(content, serial)
        self._bands.insert(keys, serial)

        story, is_new, similarity, moved = self._cluster(serial, terms, counts, root, when)
        if kind is not None:
            similarity = dup_similarity
        duplicate_of = None if root is None else self._ids[root % self._cap]
        first = Assignment(article.id, story.cluster_id, is_new, similarity, duplicate_of, kind,
                           story.size)
        self._first[slot] = first
        self._dirty_articles.add(serial)
        if len(self._pending_terms) >= s.frequency_snapshot_every:
            self._snapshot_frequencies()
        # an article moved twice in one decision (two merges, a merge then a refinement) is
        # re-emitted once, where it ended
        return [first, *{assignment.article_id: assignment for assignment in moved}.values()]

    def _event_time(self, article: Article) -> float:
        for value in (article.published_at, article.fetched_at):
            moment = parse_timestamp(value)
            if moment is not None:
                return moment.timestamp()
        return self._latest

    def _alive(self, serial: int) -> bool:
        return self._oldest <= serial < self._next_article

    def _duplicate(self, content: int, signature: dedup.U32, keys: U64,
                   size: int) -> tuple[int | None, str | None, float]:
        """(family root, kind, similarity) of the earliest live copy, or (None, None, 0)."""
        if size == 0:
            return None, None, 0.0
        exact = self._by_content.get(content)
        if exact is not None:
            return self._family(exact), "exact", 1.0
        best: tuple[float, int] | None = None
        for candidate in self._bands.candidates(keys, self._oldest):
            slot = candidate % self._cap
            jac = dedup.jaccard(signature, self._signatures[slot])
            con = dedup.containment(jac, size, int(self._shingles[slot]),
                                    self.settings.near_min_shingles)
            if jac >= self.settings.near_jaccard or con >= self.settings.near_containment:
                score = max(jac, con)
                if best is None or score > best[0]:
                    best = (score, candidate)
        if best is None:
            return None, None, 0.0
        return self._family(best[1]), "near", best[0]

    def _family(self, serial: int) -> int:
        root = int(self._roots[serial % self._cap])
        return root if self._alive(root) else serial

    # -- clustering ----------------------------------------------------------------------

    def _cluster(self, serial: int, terms: cluster.U32, counts: cluster.F64, root: int | None,
                 when: float) -> tuple[_Story, bool, float, list[Assignment]]:
        s = self.settings
        if root is not None:
            story = self._live.get(int(self._stories[root % self._cap]))
            if story is not None:
                self._join(story, serial, None, when)
                return story, False, 1.0, []
        vector = cluster.weigh(terms, counts, self._df, s.article_terms)
        self._keep_vector(serial, vector)
        found = self._index.candidates(vector, s.query_terms, s.candidates)
        values = cluster.cosines(vector, [self._live[c].centroid for c in found], self._columns)
        scored = sorted(zip(values.tolist(), found, strict=True),
                        key=lambda pair: (-pair[0], pair[1]))
        chosen = next(((value, other) for value, other in scored if value >= s.join_threshold
                       and self._admits(self._live[other], vector)), None)
        if chosen is None:
            story = self._new_story(serial, vector, when)
            return story, True, 1.0, self._refine(story, scored, serial)
        similarity, best = chosen
        story = self._live[best]
        self._join(story, serial, vector, when)
        moved: list[Assignment] = []
        merged = False
        # the centroid moved towards this article: the stories it reaches are those it neared
        others = [other for value, other in scored if other != best and value >= s.refine_floor]
        closeness = cluster.cosines(story.centroid, [self._live[o].centroid for o in others],
                                   self._columns)
        for other, value in zip(others, closeness.tolist(), strict=True):
            if other not in self._live:
                continue
            needed = self._merge_needed(story, self._live[other])
            if value < needed:
                continue
            if merged:  # an earlier merge changed the centroid: measure again
                value = cluster.cosine(story.centroid, self._live[other].centroid)
                if value < needed:
                    continue
            story, moved_now = self._merge(story, self._live[other], value, serial)
            moved.extend(moved_now)
            merged = True
        return story, False, similarity, moved + self._refine(story, scored, serial)

    def _admits(self, story: _Story, vector: Vector) -> bool:
        """Whether a young story takes this article: one of at most ``young_story_vectors``
        articles has no settled centroid, and an article close to one of them can pull the
        centroid towards a neighbouring event of the same kind (chaining). So a young story
        takes an article only when it is close to each of its articles (complete linkage)."""
        limit = self.settings.young_story_vectors
        # a story this large is no longer young even if most of it are copies: skip the scan
        if limit <= 0 or len(story.members) > 4 * limit:
            return True
        kept = [member for member in story.members if self._has_vector(member)]
        if not kept or len(kept) > limit:
            return True
        links = cluster.cosines(vector, [self._kept_vector(member) for member in kept],
                                self._columns)
        return bool(links.min() >= self.settings.young_story_link)

    def _merge_needed(self, story: _Story, other: _Story) -> float:
        """Closeness at which two stories merge. A story of one article merges more readily: its
        lone vector sits further from any centroid than a member of a grown story does, and an
        article that fell just short of joining becomes closer as the story grows around it."""
        s = self.settings
        if min(story.size, other.size) == 1:
            return min(s.absorb_threshold, s.merge_threshold)
        return s.merge_threshold

    def _refine(self, story: _Story, scored: list[tuple[float, int]],
                deciding: int) -> list[Assignment]:
        """Move recent articles around this decision to the story they now fit best.

        An article was placed against its neighbours as they were when it arrived; once they
        have grown, it may sit closer to another story than to its own without it (one local
        k-means step). Only the ``refine_stories`` stories nearest the deciding article are
        revisited, and of each its ``refine_members`` latest articles whose vectors are kept,
        so the cost per decision is bounded. Every move is re-emitted as ``reassigned``."""
        s = self.settings
        hood = [story] + [self._live[other] for value, other in scored
                          if value >= s.refine_floor and other != story.serial
                          and other in self._live]
        hood = hood[:s.refine_stories]
        if len(hood) < 2:
            return []
        serials: list[int] = []
        own: list[int] = []
        for index, neighbour in enumerate(hood):
            for serial in neighbour.members[-s.refine_members:]:
                if serial != deciding and self._has_vector(serial):
                    serials.append(serial)
                    own.append(index)
        touched = {story.serial}
        moved = self._apply(self._misplaced(serials, own, hood, alone_joins=False), touched)
        if moved:
            self._restamp(touched, deciding)
        return moved

    @property
    def settling(self) -> bool:
        """Whether a settle run in slices (``settle(budget)``) has more to do."""
        return self._settling is not None

    def settle(self, budget: int | None = None) -> list[Assignment]:
        """Decide again every article whose vector is kept, against the stories as they are now.

        Online, an article is placed against the stories as they were when it arrived; at the
        end of an input, or when the feed pauses, hindsight is available. Each article moves to
        the story it fits best if that beats its own story without it by ``refine_margin``, and
        an article alone in its story joins the story it now reaches at ``join_threshold``.
        Passes repeat (at most ``settle_passes``) until nothing moves; moves are re-emitted as
        ``reassigned``. Cost: one candidate lookup per kept article (``refine_horizon``).

        With a ``budget``, one call reconsiders at most that many articles and the next call
        goes on from there (``settling``), so a worker can settle between polls; a decision in
        between starts the next settle afresh. Passes run from the newest article back, so a
        settle cut short has revisited those placed with the least hindsight."""
        oldest = max(self._oldest, self._next_article - self._horizon)
        newest = self._next_article - 1
        run = self._settling or _Settling(self.settings.settle_passes, newest)
        left: float = budget if budget is not None else math.inf
        moved: list[Assignment] = []
        touched: set[int] = set()
        while run.passes_left > 0 and left > 0:
            if run.at < oldest:  # a pass ended
                run.passes_left = run.passes_left - 1 if run.moved else 0
                run.at, run.moved = newest, False
                continue
            now = self._reconsider(run.at, touched)
            run.moved |= bool(now)
            moved.extend(now)
            run.at -= 1
            left -= 1
        self._settling = run if run.passes_left > 0 else None
        if touched:
            self._restamp(touched | {serial for serial, story in self._live.items()
                                     if story.stamp == newest}, newest)
        return moved

    def _reconsider(self, serial: int, touched: set[int]) -> list[Assignment]:
        """Settle one article: its own story and the candidates its vector finds."""
        s = self.settings
        own = self._live.get(int(self._stories[serial % self._cap]))
        if own is None or not self._has_vector(serial):
            return []
        # hindsight is off the hot path: the lookup reads all the article's terms
        found = self._index.candidates(self._kept_vector(serial), s.article_terms, s.candidates)
        hood = [own] + [self._live[story] for story in found if story != own.serial]
        changed: set[int] = set()
        moved = self._apply(self._misplaced([serial], [0], hood, alone_joins=True), changed)
        self._reindex(changed)  # the next article's lookup sees the stories as they now are
        touched |= changed
        return moved

    def _apply(self, moves: list[tuple[int, _Story, _Story, float]],
               touched: set[int]) -> list[Assignment]:
        """Make the moves; ``touched`` collects the stories they changed."""
        moved: list[Assignment] = []
        for serial, source, target, similarity in moves:
            if source.serial in self._live and target.serial in self._live:
                moved.extend(self._move(serial, source, target, similarity))
                touched.update((source.serial, target.serial))
        return moved

    def _restamp(self, touched: set[int], deciding: int) -> None:
        """Date the changed stories to this decision and index them in (stamp, serial) order
        with the stories it already dated: the order a restore rebuilds the index in, so a
        restarted shard finds the same candidates."""
        for serial in touched:
            if serial in self._live:
                self._live[serial].stamp = deciding
        self._reindex(touched)

    def _reindex(self, stories: set[int]) -> None:
        for serial in sorted(stories):
            if serial in self._live:
                self._index.update(serial, self._live[serial].centroid)

    def _misplaced(self, serials: list[int], own: list[int], hood: list[_Story],
                   alone_joins: bool) -> list[tuple[int, _Story, _Story, float]]:
        """(article, its story, the story it fits better, its cosine there), all scored at once
        against the stories as they are (a Jacobi step: no move sees another). An article alone
        in its story moves only when ``alone_joins``, as it would have joined: at the join
        threshold."""
        s = self.settings
        if not serials:
            return []
        rows = np.array(serials) % self._horizon
        owners = np.array(own, dtype=np.intp)
        without, to_all = cluster.member_similarities(
            [neighbour.centroid for neighbour in hood], self._vector_terms[rows],
            self._vector_weights[rows], owners, self._columns)
        to_others = to_all.copy()
        to_others[np.arange(len(owners)), owners] = -1.0
        best = to_others.argmax(axis=1)
        reach = to_others[np.arange(len(owners)), best]
        gains = reach - without
        alone = without < 0
        gains[alone] = np.where(alone_joins & (reach[alone] >= s.join_threshold), 1.0, -1.0)
        picks = np.flatnonzero(gains > s.refine_margin)
        return [(serials[at], hood[owners[at]], hood[best[at]], float(to_all[at, best[at]]))
                for at in picks.tolist()]

    def _move(self, serial: int, source: _Story, target: _Story,
              similarity: float) -> list[Assignment]:
        """Move an article (and the copies that joined through it) from one story to another."""
        family = {member for member in source.members
                  if member == serial or int(self._roots[member % self._cap]) == serial}
        vector = self._kept_vector(serial)
        source.members = [member for member in source.members if member not in family]
        source.size -= len(family)
        source.centroid = cluster.remove_vector(source.centroid, vector)
        target.members = sorted(target.members + sorted(family))
        target.size += len(family)
        target.centroid = cluster.add_vectors(target.centroid, vector, self.settings.story_terms)
        target.last_time = max(target.last_time, float(self._times[serial % self._cap]))
        if source.members:
            self._touch(source)
        else:
            self._drop_story(source)
        self._touch(target)
        moved: list[Assignment] = []
        for member in sorted(family):
            slot = member % self._cap
            self._stories[slot] = target.serial
            self._dirty_articles.add(member)
            first = self._first[slot]
            if first is not None:
                moved.append(Assignment(first.article_id, target.cluster_id, False, similarity,
                                        first.duplicate_of, first.duplicate_kind, target.size,
                                        reason="reassigned"))
        return moved

    def _keep_vector(self, serial: int, vector: Vector) -> None:
        """Keep the article's vector while its story may still be refined (a ring of slots)."""
        if not self.settings.keeps_vectors:
            return
        row = serial % self._horizon
        previous = int(self._vector_owner[row])
        if previous >= 0:
            self._changes.append((codec.vector_key(previous), None))
        self._put_vector(serial, vector)
        self._changes.append((codec.vector_key(serial), codec.encode_vector(vector)))

    def _put_vector(self, serial: int, vector: Vector) -> None:
        row = serial % self._horizon
        count = len(vector.terms)
        self._vector_terms[row] = 0
        self._vector_weights[row] = 0
        self._vector_terms[row, :count] = vector.terms
        self._vector_weights[row, :count] = vector.weights
        self._vector_lengths[row] = count
        self._vector_owner[row] = serial

    def _has_vector(self, serial: int) -> bool:
        """Whether the article's own vector is in the ring (copies have none; old ones left)."""
        return bool(self._vector_owner[serial % self._horizon] == serial)

    def _kept_vector(self, serial: int) -> Vector:
        row = serial % self._horizon
        count = int(self._vector_lengths[row])
        return Vector(self._vector_terms[row, :count], self._vector_weights[row, :count],
                      1.0 if count else 0.0)

    def _new_story(self, serial: int, vector: Vector, when: float) -> _Story:
        cluster_id = xxhash.xxh3_64_hexdigest(self._ids[serial % self._cap].encode())
        story = _Story(self._next_story, serial, cluster_id, vector, when, serial, 1, [serial])
        self._next_story += 1
        self._live[story.serial] = story
        heapq.heappush(self._dormancy, (story.last_time, story.serial))
        self._stories[serial % self._cap] = story.serial
        self._index.update(story.serial, vector)
        self._touch(story)
        return story

    def _join(self, story: _Story, serial: int, vector: Vector | None, when: float) -> None:
        story.members.append(serial)
        story.size += 1
        story.stamp = serial
        self._stories[serial % self._cap] = story.serial
        if vector is not None:
            story.centroid = cluster.add_vectors(story.centroid, vector, self.settings.story_terms)
        self._index.update(story.serial, story.centroid)
        if when > story.last_time:
            story.last_time = when
        self._touch(story)

    def _merge(self, left: _Story, right: _Story, closeness: float,
               deciding: int) -> tuple[_Story, list[Assignment]]:
        """Fold the younger story into the older; re-emit the articles whose story changed."""
        keep, gone = (left, right) if left.serial < right.serial else (right, left)
        keep.centroid = cluster.add_vectors(keep.centroid, gone.centroid, self.settings.story_terms)
        keep.size += gone.size
        keep.members = sorted(keep.members + gone.members)
        keep.last_time = max(keep.last_time, gone.last_time)
        keep.stamp = max(keep.stamp, gone.stamp)
        self._drop_story(gone)
        self._index.update(keep.serial, keep.centroid)
        self._touch(keep)
        moved: list[Assignment] = []
        for serial in gone.members:
            slot = serial % self._cap
            self._stories[slot] = keep.serial
            self._dirty_articles.add(serial)
            first = self._first[slot]
            if serial == deciding or first is None:
                continue
            moved.append(Assignment(first.article_id, keep.cluster_id, False, closeness,
                                    first.duplicate_of, first.duplicate_kind, keep.size,
                                    reason="merged"))
        return keep, moved

    def _touch(self, story: _Story) -> None:
        self._dirty_stories.add(story.serial)

    def _drop_story(self, story: _Story) -> None:
        del self._live[story.serial]
        self._index.remove(story.serial)
        self._dirty_stories.discard(story.serial)
        self._changes.append((codec.story_key(story.serial), None))

    # -- expiry --------------------------------------------------------------------------

    def _expire(self) -> None:
        """Drop dormant stories and articles past retention (or beyond the ring's capacity)."""
        s = self.settings
        dormant_before = self._latest - s.window_hours * _HOUR
        while self._dormancy and self._dormancy[0][0] < dormant_before:
            _, serial = heapq.heappop(self._dormancy)
            story = self._live.get(serial)
            if story is None:
                continue
            if story.last_time < dormant_before:
                self._drop_story(story)
            else:  # updated since it was queued: queue it again at its latest time
                heapq.heappush(self._dormancy, (story.last_time, story.serial))
        retained_after = self._latest - s.retention_hours * _HOUR
        while self._oldest < self._next_article and (
                self._next_article - self._oldest >= self._cap
                or self._times[self._oldest % self._cap] < retained_after):
            self._forget(self._oldest)
            self._oldest += 1

    def _forget(self, serial: int) -> None:
        slot = serial % self._cap
        article_id = self._ids[slot]
        del self._serial_of[article_id]
        content = int(self._contents[slot])
        if self._by_content.get(content) == serial:
            del self._by_content[content]
        story = self._live.get(int(self._stories[slot]))
        if story is not None and story.members and story.members[0] == serial:
            story.members.pop(0)
        elif story is not None and serial in story.members:
            story.members.remove(serial)
        self._first[slot] = None
        self._ids[slot] = ""
        if self._has_vector(serial):
            self._vector_owner[serial % self._horizon] = -1
            self._changes.append((codec.vector_key(serial), None))
        self._dirty_articles.discard(serial)
        self._changes.append((codec.ARTICLE_PREFIX + article_id.encode(), None))

    # -- changelog -----------------------------------------------------------------------

    def _snapshot_frequencies(self) -> None:
        """Write the document frequencies whole and retire the per-article terms they cover."""
        chunk = len(self._df.counts) // _CHUNKS
        for index in range(_CHUNKS):
            part = self._df.counts[index * chunk:(index + 1) * chunk]
            self._changes.append((codec.frequency_key(index), codec.encode_counts(part)))
        self._changes.extend((codec.terms_key(serial), None) for serial in self._pending_terms)
        self._df_serial = self._next_article - 1
        self._df_documents = self._df.documents
        self._pending_terms = []

    def _meta(self) -> bytes:
        return orjson.dumps({
            "features": FEATURES_VERSION,
            "next_article": self._next_article, "oldest": self._oldest,
            "next_story": self._next_story, "latest": self._latest,
            "df_serial": self._df_serial, "df_documents": self._df_documents})

    def _article_record(self, serial: int) -> codec.ArticleRecord:
        slot = serial % self._cap
        first = self._first[slot]
        assert first is not None
        return codec.ArticleRecord(
            serial, int(self._stories[slot]), int(self._roots[slot]), float(self._times[slot]),
            int(self._shingles[slot]), int(self._contents[slot]), self._signatures[slot],
            (first.cluster_id, first.is_new_cluster, first.similarity, first.duplicate_of,
             first.duplicate_kind, first.cluster_size))

    def drain_changes(self) -> list[tuple[bytes, bytes | None]]:
        """Changelog entries since the last drain, for a compacted topic (None = tombstone)."""
        changes = self._changes
        for serial in sorted(self._dirty_articles):
            key = codec.ARTICLE_PREFIX + self._ids[serial % self._cap].encode()
            changes.append((key, self._article_record(serial).encode()))
        for serial in sorted(self._dirty_stories):
            changes.append((codec.story_key(serial), self._live[serial].record().encode()))
        if changes:
            changes.append((codec.META_KEY, self._meta()))
        self._changes, self._dirty_articles, self._dirty_stories = [], set(), set()
        return changes

    def restore(self, entries: Iterable[tuple[bytes, bytes | None]]) -> int:
        """Rebuild from a changelog read from the start (later values of a key win).

        A changelog written under another ``FEATURES_VERSION`` holds signatures and term ids
        that mean something else: the shard starts empty instead and the next drain tombstones
        those entries, so compaction retires them. Returns how many entries were retired."""
        latest: dict[bytes, bytes] = {}
        for key, value in entries:
            if value is None:
                latest.pop(key, None)
            else:
                latest[key] = value
        self._reset()
        meta = latest.get(codec.META_KEY)
        if meta is None:
            return 0
        counters = orjson.loads(meta)
        if counters.get("features", 1) != FEATURES_VERSION:  # version 1 did not record it
            self._changes.extend((key, None) for key in sorted(latest))
            return len(latest)
        self._next_article = counters["next_article"]
        self._oldest = counters["oldest"]
        self._next_story = counters["next_story"]
        self._latest = counters["latest"]
        self._df_serial = counters["df_serial"]
        self._df_documents = counters["df_documents"]
        self._restore_frequencies(latest)
        self._restore_articles(latest)
        self._restore_vectors(latest)
        self._restore_stories(latest)
        return 0

    def _restore_frequencies(self, latest: dict[bytes, bytes]) -> None:
        chunk = len(self._df.counts) // _CHUNKS
        for index in range(_CHUNKS):
            value = latest.get(codec.frequency_key(index))
            if value is not None:
                self._df.counts[index * chunk:(index + 1) * chunk] = codec.decode_counts(value)
        self._df.documents = self._df_documents
        pending = sorted(int(key[len(codec.TERMS_PREFIX):], 16) for key in latest
                         if key.startswith(codec.TERMS_PREFIX))
        for serial in pending:
            if serial > self._df_serial:
                self._df.add(codec.decode_terms(latest[codec.terms_key(serial)]))
                self._pending_terms.append(serial)

    def _restore_articles(self, latest: dict[bytes, bytes]) -> None:
        records = sorted(((codec.ArticleRecord.decode(value), key[len(codec.ARTICLE_PREFIX):])
                          for key, value in latest.items()
                          if key.startswith(codec.ARTICLE_PREFIX)),
                         key=lambda pair: pair[0].serial)
        for record, raw_id in records:
            article_id = raw_id.decode()
            slot = record.serial % self._cap
            self._signatures[slot] = record.signature
            self._shingles[slot] = record.shingles
            self._roots[slot] = record.root
            self._stories[slot] = record.story
            self._times[slot] = record.time
            self._contents[slot] = record.content
            self._ids[slot] = article_id
            self._serial_of[article_id] = record.serial
            cluster_id, is_new, similarity, duplicate_of, kind, size = record.decision
            self._first[slot] = Assignment(article_id, cluster_id, is_new, similarity,
                                           duplicate_of, kind, size)
            if kind != "exact" and record.shingles:
                self._by_content.setdefault(record.content, record.serial)
            self._bands.insert(dedup.band_keys(record.signature), record.serial)

    def _restore_vectors(self, latest: dict[bytes, bytes]) -> None:
        serials = sorted(int(key[len(codec.VECTOR_PREFIX):], 16) for key in latest
                         if key.startswith(codec.VECTOR_PREFIX))
        for serial in serials:
            if self._alive(serial) and serial >= self._next_article - self._horizon:
                self._put_vector(serial, codec.decode_vector(latest[codec.vector_key(serial)]))

    def _restore_stories(self, latest: dict[bytes, bytes]) -> None:
        records = [codec.StoryRecord.decode(value) for key, value in latest.items()
                   if key.startswith(codec.STORY_PREFIX)]
        for record in sorted(records, key=lambda r: (r.stamp, r.serial)):
            story = _Story(record.serial, record.founder, record.cluster_id, record.centroid,
                           record.last_time, record.stamp, record.size)
            self._live[story.serial] = story
            self._index.update(story.serial, story.centroid)
            heapq.heappush(self._dormancy, (story.last_time, story.serial))
        for serial in range(self._oldest, self._next_article):
            story_ = self._live.get(int(self._stories[serial % self._cap]))
            if story_ is not None and self._ids[serial % self._cap]:
                story_.members.append(serial)
