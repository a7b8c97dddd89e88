"""The data of one shard's story state, and the only code that writes it.

Articles live in a ring of slots indexed by serial, as numpy columns (a first decision too is a
few columns, an ``Assignment`` only when read); the ring doubles with the window up to
``max_articles`` slots, and articles are found by id and by content through ``SerialTable``s.
The vectors of the recent ones live in a smaller ring of ``refine_horizon`` rows; stories in a
dict, found through a term index and retired through a heap of last event times. The decisions
(``decisions``, ``refine``) read and change this data only through the methods here, and the
changelog reads what changed since its last drain from ``Changes``: nothing else keeps a copy.
"""

from __future__ import annotations

import heapq
from array import array
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from service.records import Assignment
from service.stages import cluster, dedup
from service.stages.cluster import DocumentFrequencies, TermIndex, Vector
from service.stages.fingerprint import U64
from service.stages.runs import run_opens
from service.state.codec import Decision, PackedVectors
from service.state.serials import SerialTable
from service.state.settings import StorySettings

_HOUR = 3600.0
_MIN_SLOTS = 1024
# A first decision's duplicate kind as a code; 0: no decision yet.
_KIND_CODES: dict[str | None, int] = {None: 1, "exact": 2, "near": 3}
_KINDS: dict[int, str | None] = {code: kind for kind, code in _KIND_CODES.items()}
_U64 = 0xFFFFFFFFFFFFFFFF


@dataclass(slots=True)
class Story:
    serial: int
    founder: int
    cluster_id: str
    centroid: Vector
    last_time: float
    stamp: int
    size: int
    # serials of its live articles, ascending: 8 bytes each in an array, 40 in a list of ints
    members: array[int] = field(default_factory=lambda: array("q"))


@dataclass(slots=True)
class Changes:
    """What changed since the changelog last drained: the articles decided or moved, their
    terms and kept vectors, the stories changed and dropped (see ``changelog.Changelog``)."""

    articles: set[int] = field(default_factory=set)
    stories: set[int] = field(default_factory=set)
    terms: list[tuple[int, cluster.U32]] = field(default_factory=list)
    vectors: list[tuple[int, Vector]] = field(default_factory=list)
    dropped_stories: list[int] = field(default_factory=list)


class Store:
    """Articles, kept vectors and live stories of one shard, with their counters."""

    def __init__(self, settings: StorySettings) -> None:
        s = settings
        self.settings = settings
        self.max_articles = max(1, s.max_articles)
        self._allocate(min(self.max_articles, _MIN_SLOTS))
        self._by_id = SerialTable(self._id_key, self._id_keys)
        self._by_content = SerialTable(self._content_key, self._content_keys)
        self._bands = dedup.BandIndex(dedup.band_rows(0, self.max_articles))
        self.horizon = max(1, s.refine_horizon) if s.keeps_vectors else 1
        self.vector_terms = np.zeros((self.horizon, s.article_terms), dtype=np.uint32)
        self.vector_weights = np.zeros((self.horizon, s.article_terms), dtype=np.float32)
        self._vector_lengths = np.zeros(self.horizon, dtype=np.int32)
        self._vector_owner = np.full(self.horizon, -1, dtype=np.int64)
        self.columns = cluster.TermColumns()
        self.df = DocumentFrequencies(s.prior_documents)
        self._index = TermIndex(s.index_terms, s.postings_read)
        self.live: dict[int, Story] = {}
        self._dormancy: list[tuple[float, int]] = []
        self.next_article = 0
        self.oldest = 0
        self.next_story = 0
        self.latest = 0.0
        self.changes = Changes()

    def _allocate(self, slots: int) -> None:
        """Empty columns for a ring of ``slots`` articles; ``capacity`` is its size now."""
        self.capacity = slots
        self.signatures = np.zeros((slots, dedup.PERMUTATIONS), dtype=np.uint16)
        self.shingles = np.zeros(slots, dtype=np.int32)
        self.roots = np.zeros(slots, dtype=np.int64)
        self.stories = np.zeros(slots, dtype=np.int64)
        self.times = np.zeros(slots, dtype=np.float64)
        self.contents = np.zeros(slots, dtype=np.uint64)
        self.ids: list[str] = [""] * slots
        # the first decision: its story's id (16 hex digits) as a number, whether it started
        # the story, similarity, story size, duplicate kind code, and the id it copies
        self._first_story = np.zeros(slots, dtype=np.uint64)
        self._first_new = np.zeros(slots, dtype=np.bool_)
        self._first_similarity = np.zeros(slots, dtype=np.float64)
        self._first_size = np.zeros(slots, dtype=np.int64)
        self._first_kind = np.zeros(slots, dtype=np.int8)
        self._first_copies: list[str | None] = [None] * slots

    def _make_room(self, articles: int) -> None:
        """Grow the ring (doubling, up to ``max_articles``) until it holds ``articles`` live
        articles, moving each live article to its slot in the larger ring."""
        slots = self.capacity
        while slots < min(articles, self.max_articles):
            slots = min(2 * slots, self.max_articles)
        if slots == self.capacity:
            return
        serials = np.arange(self.oldest, self.next_article, dtype=np.int64)
        old, new = serials % self.capacity, serials % slots
        columns, ids, copies = self._columns(), self.ids, self._first_copies
        self._allocate(slots)
        for before, after in zip(columns, self._columns(), strict=True):
            after[new] = before[old]
        for was, now in zip(old.tolist(), new.tolist(), strict=True):
            self.ids[now] = ids[was]
            self._first_copies[now] = copies[was]

    def _columns(self) -> list[npt.NDArray[Any]]:
        return [self.signatures, self.shingles, self.roots, self.stories, self.times,
                self.contents, self._first_story, self._first_new, self._first_similarity,
                self._first_size, self._first_kind]

    def _id_key(self, serial: int) -> int:
        """A live article's key in the id table: its id's hash (cached by the string)."""
        return _id_hash(self.ids[serial % self.capacity])

    def _id_keys(self, serials: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
        ids = self.ids
        return np.fromiter((_id_hash(ids[slot]) for slot in (serials % self.capacity).tolist()),
                           np.uint64, len(serials))

    def _content_key(self, serial: int) -> int:
        return int(self.contents[serial % self.capacity])

    def _content_keys(self, serials: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
        return self.contents[serials % self.capacity]

    # -- articles ------------------------------------------------------------------------

    def article_count(self) -> int:
        return self._by_id.count

    def serial_of(self, article_id: str) -> int | None:
        for serial in self._by_id.serials(_id_hash(article_id)):
            if self.ids[serial % self.capacity] == article_id:
                return serial
        return None

    def alive(self, serial: int) -> bool:
        return self.oldest <= serial < self.next_article

    def family(self, serial: int) -> int:
        """The root of the article's copy family while that root is live, else the article."""
        root = int(self.roots[serial % self.capacity])
        return root if self.alive(root) else serial

    def exact_copy(self, content: int) -> int | None:
        found = self._by_content.serials(content)
        return found[0] if found else None

    def near_candidates(self, keys: U64) -> list[int]:
        return self._bands.candidates(keys, self.oldest)

    def add_article(self, article_id: str, signature: dedup.Signature, shingles: int,
                    root: int | None, when: float, content: int, keys: U64, exact: bool) -> int:
        """Put a new article in the next slot (its story is set when it joins one) and its band
        keys in the band table; its serial. ``root``: the first of its copy family, None when
        it is the first."""
        serial = self.next_article
        self.next_article += 1
        self.put_article(serial, article_id, signature, shingles, serial if root is None else root,
                         -1, when, content, exact)
        if (dedup.band_rows(self.next_article, self.max_articles) == self._bands.rows
                and self._bands.holds(serial)):
            self._bands.insert(keys, serial)
        else:
            self.index_bands()
        return serial

    def put_article(self, serial: int, article_id: str, signature: dedup.Signature, shingles: int,
                    root: int, story: int, when: float, content: int, exact: bool) -> None:
        """Fill the article's slot (``exact``: it is an exact copy, not a content's first)."""
        self._make_room(self.next_article - self.oldest)
        slot = serial % self.capacity
        self.signatures[slot] = signature
        self.shingles[slot] = shingles
        self.roots[slot] = root
        self.stories[slot] = story
        self.times[slot] = when
        self.contents[slot] = content
        self.ids[slot] = article_id
        self._by_id.add(_id_hash(article_id), serial)
        if not exact and shingles and self.exact_copy(content) is None:
            self._by_content.add(content, serial)

    def put_articles(self, serials: npt.NDArray[np.int64], article_ids: list[str],
                     signatures: dedup.Signature, shingles: npt.NDArray[np.int32],
                     roots: npt.NDArray[np.int64], stories: npt.NDArray[np.int64],
                     times: npt.NDArray[np.float64], contents: npt.NDArray[np.uint64],
                     exact: list[bool]) -> None:
        """``put_article`` for many articles, in ascending serial order, into an empty store
        (a restore)."""
        self._make_room(self.next_article - self.oldest)
        slots = serials % self.capacity
        self.signatures[slots] = signatures
        self.shingles[slots] = shingles
        self.roots[slots] = roots
        self.stories[slots] = stories
        self.times[slots] = times
        self.contents[slots] = contents
        first_of_content: dict[int, int] = {}
        for serial, slot, article_id, content, size, copy in zip(
                serials.tolist(), slots.tolist(), article_ids, contents.tolist(),
                shingles.tolist(), exact, strict=True):
            self.ids[slot] = article_id
            if not copy and size:
                first_of_content.setdefault(content, serial)
        self._by_id.add_many(serials.astype(np.int64))
        self._by_content.add_many(np.fromiter(first_of_content.values(), np.int64,
                                              len(first_of_content)))

    def index_bands(self) -> None:
        """A band table of the size ``next_article`` calls for, built from the articles in the
        ring at once: when the table grows or its serials outgrow it, and after a restore put
        the articles back."""
        self._bands = dedup.BandIndex(dedup.band_rows(self.next_article, self.max_articles),
                                      base=self.oldest)
        serials = np.array([s for s in range(self.oldest, self.next_article)
                            if self.ids[s % self.capacity]], dtype=np.int64)
        if len(serials):
            slots = serials % self.capacity
            keys = np.concatenate([dedup.band_key_rows(self.signatures[slots[at:at + 8192]])
                                   for at in range(0, len(slots), 8192)])
            self._bands.insert_many(keys, serials)

    def set_first(self, serial: int, first: Assignment) -> None:
        """The article's first decision, replayed to redeliveries of it."""
        self.put_first(serial, first)
        self.changes.articles.add(serial)

    def put_first(self, serial: int, first: Assignment) -> None:
        """Keep the decision as columns. Its story id must be 16 hex digits (as stories'
        ids are made); the id it copies is kept as the root's own string when they are
        equal (a restore decodes a string of its own for each)."""
        slot = serial % self.capacity
        story = int(first.cluster_id, 16)
        if f"{story:016x}" != first.cluster_id:
            raise ValueError(f"story id {first.cluster_id!r} is not 16 hex digits")
        self._first_story[slot] = story
        self._first_new[slot] = first.is_new_cluster
        self._first_similarity[slot] = first.similarity
        self._first_size[slot] = first.cluster_size
        self._first_kind[slot] = _KIND_CODES[first.duplicate_kind]
        copied = first.duplicate_of
        self._first_copies[slot] = None if copied is None else self._copied_id(slot, copied)

    def put_firsts(self, serials: npt.NDArray[np.int64], decisions: list[Decision]) -> None:
        """``put_first`` for the articles ``put_articles`` put back (a restore: the story ids
        were checked when the decisions were made)."""
        if not decisions:
            return
        slots = serials % self.capacity
        stories, new, similarities, copies, kinds, sizes = zip(*decisions, strict=True)
        self._first_story[slots] = np.array([int(story, 16) for story in stories],
                                            dtype=np.uint64)
        self._first_new[slots] = new
        self._first_similarity[slots] = similarities
        self._first_size[slots] = sizes
        self._first_kind[slots] = [_KIND_CODES[kind] for kind in kinds]
        for slot, copied in zip(slots.tolist(), copies, strict=True):
            self._first_copies[slot] = None if copied is None else self._copied_id(slot, copied)

    def _copied_id(self, slot: int, copied: str) -> str:
        """The id an article copies, as its root's own string when they are equal (a restore
        decodes a string of its own for each)."""
        root = int(self.roots[slot])
        if self.alive(root) and self.ids[root % self.capacity] == copied:
            return self.ids[root % self.capacity]
        return copied

    def first(self, serial: int) -> Assignment | None:
        """The article's first decision (None while it is being decided)."""
        slot = serial % self.capacity
        kind = int(self._first_kind[slot])
        if kind == 0:
            return None
        return Assignment(self.ids[slot], f"{int(self._first_story[slot]):016x}",
                          bool(self._first_new[slot]), float(self._first_similarity[slot]),
                          self._first_copies[slot], _KINDS[kind], int(self._first_size[slot]))

    def assign(self, serial: int, story: int) -> None:
        self.stories[serial % self.capacity] = story
        self.changes.articles.add(serial)

    def gather_members(self) -> None:
        """Fill the live stories' members from the articles' stories (a restore)."""
        serials = np.arange(self.oldest, self.next_article, dtype=np.int64)
        if not len(serials):
            return
        stories = self.stories[serials % self.capacity]
        order = np.argsort(stories, kind="stable")  # each story's members stay ascending
        grouped = stories[order]
        starts = run_opens(grouped).nonzero()[0]
        for members, story in zip(np.split(serials[order], starts[1:]),
                                  grouped[starts].tolist(), strict=True):
            if story in self.live:
                self.live[story].members.frombytes(members.tobytes())

    def story_of(self, serial: int) -> Story | None:
        return self.live.get(int(self.stories[serial % self.capacity]))

    # -- kept vectors --------------------------------------------------------------------

    def keep_vector(self, serial: int, vector: Vector) -> None:
        """Keep the article's vector while its story may still be refined (a ring of rows)."""
        if not self.settings.keeps_vectors:
            return
        self.put_vector(serial, vector)
        self.changes.vectors.append((serial, vector))

    def put_vector(self, serial: int, vector: Vector) -> None:
        row = serial % self.horizon
        count = len(vector.terms)
        self.vector_terms[row] = 0
        self.vector_weights[row] = 0
        self.vector_terms[row, :count] = vector.terms
        self.vector_weights[row, :count] = vector.weights
        self._vector_lengths[row] = count
        self._vector_owner[row] = serial

    def put_vectors(self, serials: npt.NDArray[np.int64], vectors: PackedVectors) -> None:
        """``put_vector`` for the vectors of distinct rows at once (a restore)."""
        rows = serials % self.horizon
        self.vector_terms[rows] = 0
        self.vector_weights[rows] = 0
        self.vector_terms[rows[vectors.owners], vectors.positions] = vectors.terms
        self.vector_weights[rows[vectors.owners], vectors.positions] = vectors.weights
        self._vector_lengths[rows] = vectors.lengths
        self._vector_owner[rows] = serials

    def has_vector(self, serial: int) -> bool:
        """Whether the article's own vector is in the ring (copies have none; old ones left)."""
        return bool(self._vector_owner[serial % self.horizon] == serial)

    def kept_vector(self, serial: int) -> Vector:
        row = serial % self.horizon
        count = int(self._vector_lengths[row])
        return Vector(self.vector_terms[row, :count], self.vector_weights[row, :count],
                      1.0 if count else 0.0)

    # -- stories -------------------------------------------------------------------------

    def new_story(self, founder: int, cluster_id: str, centroid: Vector, when: float) -> Story:
        story = Story(self.next_story, founder, cluster_id, centroid, when, founder, 1,
                      array("q", [founder]))
        self.next_story += 1
        self.put_story(story)
        self.assign(founder, story.serial)
        self.touch(story)
        return story

    def put_story(self, story: Story) -> None:
        self.live[story.serial] = story
        heapq.heappush(self._dormancy, (story.last_time, story.serial))
        self._index.update(story.serial, story.centroid)

    def story_candidates(self, vector: Vector, query_terms: int, limit: int) -> list[int]:
        return self._index.candidates(vector, query_terms, limit)

    def reindex(self, stories: set[int]) -> None:
        """Index the changed stories again, in serial order (the order a restore keeps)."""
        for serial in sorted(stories):
            if serial in self.live:
                self._index.update(serial, self.live[serial].centroid)

    def touch(self, story: Story) -> None:
        self.changes.stories.add(story.serial)

    def drop_story(self, story: Story) -> None:
        del self.live[story.serial]
        self._index.remove(story.serial)
        self.changes.stories.discard(story.serial)
        self.changes.dropped_stories.append(story.serial)

    # -- expiry --------------------------------------------------------------------------

    def advance(self, when: float) -> None:
        """Event time moved on: drop dormant stories and articles past retention (or beyond
        the ring's capacity)."""
        s = self.settings
        self.latest = max(self.latest, when)
        dormant_before = self.latest - s.window_hours * _HOUR
        while self._dormancy and self._dormancy[0][0] < dormant_before:
            _, serial = heapq.heappop(self._dormancy)
            story = self.live.get(serial)
            if story is None:
                continue
            if story.last_time < dormant_before:
                self.drop_story(story)
            else:  # updated since it was queued: queue it again at its latest time
                heapq.heappush(self._dormancy, (story.last_time, story.serial))
        retained_after = self.latest - s.retention_hours * _HOUR
        while self.oldest < self.next_article and (
                self.next_article - self.oldest >= self.max_articles
                or self.times[self.oldest % self.capacity] < retained_after):
            self._forget(self.oldest)
            self.oldest += 1

    def _forget(self, serial: int) -> None:
        slot = serial % self.capacity
        article_id = self.ids[slot]
        self._by_id.remove(_id_hash(article_id), serial)
        # the content table holds one serial a content, its first: gone if it is this one
        self._by_content.remove(int(self.contents[slot]), serial)
        story = self.live.get(int(self.stories[slot]))
        if story is not None and story.members and story.members[0] == serial:
            story.members.pop(0)
        elif story is not None and serial in story.members:
            story.members.remove(serial)
        self._first_kind[slot] = 0
        self._first_copies[slot] = None
        self.ids[slot] = ""
        if self.has_vector(serial):
            self._vector_owner[serial % self.horizon] = -1
        self.changes.articles.discard(serial)


def _id_hash(article_id: str) -> int:
    """An id's key in the id table: its hash (cached by the string; this process only, as the
    table is) as an unsigned 64-bit number."""
    return hash(article_id) & _U64
