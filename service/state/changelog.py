"""The changelog of one shard: what changed in the ``Store`` as compacted-topic entries, and the
store rebuilt from them.

Everything a decision depends on is either in the changelog or a deterministic function of it,
so ``restore`` followed by the rest of a stream gives the same assignments as an uninterrupted
run. Record layouts are in ``codec``: one entry per decided article, a drain's entries packed
into one record per block of ring slots, keyed by the lap's parity, the block and the part.

What stays exact, and why:
- Entries are written in serial order (a drain with no new article, a settle's, writes the
  newest entry's record again with its carried changes merged in), so the entries that count
  are those of the ``max_articles`` serials up to the newest; older ones still under a key (a
  record of the lap before, or two laps before under a part this lap has not reached) are
  ignored. A record replaces only the record of its key two laps before, so no entry that
  counts is overwritten.
- A story's state is the newest one carried; a dropped story's newest is its drop, which
  outlives every older state of it (they sit in older entries, overwritten first). A live story
  whose state would be overwritten is carried again in time (``_recarry``).
- The document frequencies are the last snapshot plus the terms of the entries after it; a
  snapshot is taken before those entries could be overwritten.

A drain is cut short when the process dies while its records are sent (SIGKILL, a lost node):
the records that landed come before its last one, whose last entry alone has ``next_article``
one past its serial. A record also goes missing when its send failed and was repeated after
later records landed, and the process died before the repeat did. A restore returns to the last
whole drain with no entry missing before it (``_last_whole_drain``) and leaves the later
entries out; no raw offset from there on was committed (commits wait for acknowledgements in
order), so those messages are decided again, and the next drain tombstones the left-out
records first, so a later restore never reads them beside the new entries of their articles.
What the left-out records overwrote: no entry that counts (they are keyed by the lap's parity,
pieces too), and no snapshot it needs (snapshots alternate between two copies, so the one
named stays whole unless two snapshots were written after it, which takes
``stories.frequency_snapshot_every`` articles in flight). No story state is lost for up to an
eighth of the ring left out (states are carried again that far ahead of need; a batch is at
most ``kafka.max_poll_records``). Entries of the older layout (``r/<slot>``) are read too; one
of those a left-out entry replaced is forgotten early, as that layout did.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from service.stages.cluster import U32, Vector
from service.stages.features import FEATURES_VERSION
from service.state import codec
from service.state.store import Store, Story

_CHUNKS = 32
_KNOWN = (codec.BLOCK_PREFIX, codec.RECORD_PREFIX, codec.PIECE_PREFIX, codec.FREQUENCY_PREFIX)
Entry = tuple[bytes, bytes | None]


class Changelog:
    """Drains a store's changes; keeps what only the changelog needs: the newest entry and the
    record holding it (a settle's drain writes it again), which entry carries each live story's
    state, the document-frequency snapshot's counters, the keys to retire (of a changelog that
    cannot be restored, or left out by a restore) and the slots of entries of the older layout
    (retired as new articles take them)."""

    def __init__(self) -> None:
        self._head: codec.ArticlePart | None = None
        self._head_carried = b""
        self._head_pieces = 0
        self._settles: list[int] = []
        self._settles_written = 0
        self._carriers: dict[int, int] = {}
        self._next_scan = 0
        self._df_serial = -1
        self._df_documents = 0
        self._df_copy = 0
        self._retired: list[bytes] = []
        self._open_key = b""
        self._open_entries: list[bytes] = []
        self._open_block: tuple[int, int] | None = None
        self._next_part = 0
        self._legacy: set[int] = set()
        self.left_out = 0  # entries past the drain the last restore returned to

    @property
    def settles(self) -> tuple[int, ...]:
        """The budgets (-1: none) of the settles since the newest entry's drain: a restore runs
        them again, since a settle's changes are written only with the next decided article."""
        return tuple(self._settles)

    def settled(self, budget: int | None) -> None:
        """A settle changed the stories or its run: the next drain records it."""
        self._settles.append(-1 if budget is None else budget)

    def drain(self, store: Store) -> list[Entry]:
        """Changelog records since the last drain (None = tombstone: of a retired changelog,
        of records a restore left out, or of the older layout's entries). With no new article
        (a settle's drain) the changes wait in the store for the next one, and only the newest
        entry's record is written again, the settle added."""
        entries: list[Entry] = [(key, None) for key in self._retired]
        self._retired = []
        if not store.changes.terms:
            if self._head is not None and self._settles_written < len(self._settles):
                self._settles_written = len(self._settles)
                self._open_entries[-1] = self._head_value(store)
                entries.append((self._open_key, self._open_value()))
            return entries
        changes, store.changes = store.changes, type(store.changes)()
        terms = dict(changes.terms)
        vectors = dict(changes.vectors)
        ring = store.max_articles  # entries are keyed by the slot in the ring at its largest
        carried = codec.Carried(
            {serial: _story_record(store.live[serial]).encode() for serial in changes.stories},
            set(changes.dropped_stories),
            {serial: int(store.stories[serial % store.capacity]) for serial in changes.articles
             if serial not in terms})
        new = sorted(serial for serial in terms if store.alive(serial))
        head = max(terms)
        assert new[-1] == head, "the last article decided is live"
        if len(new) < len(terms) or head - self._df_serial >= min(
                store.settings.frequency_snapshot_every, ring):
            entries.extend(self._snapshot_frequencies(store))
        counters = self._counters(store)
        written = [(serial, codec.encode_entry(
            counters, _article_part(store, serial, terms[serial], vectors.get(serial)), b""))
            for serial in new[:-1]]
        self._head = _article_part(store, head, terms[head], vectors.get(head))
        self._recarry(store, head, carried)
        for serial in carried.stories:
            self._carriers[serial] = head
        for serial in carried.dropped:
            self._carriers.pop(serial, None)
        self._head_carried = carried.encode()
        pieces = [self._head_carried[at:at + codec.PIECE_BYTES]
                  for at in range(codec.PIECE_BYTES, len(self._head_carried), codec.PIECE_BYTES)]
        self._head_pieces = len(pieces)
        self._settles, self._settles_written = [], 0
        written.append((head, self._head_value(store)))
        records = self._records(written, ring)
        entries.extend(records[:-1])
        entries.extend((codec.piece_key(head, ring, number), codec.encode_piece(head, piece))
                       for number, piece in enumerate(pieces, 1))
        entries.append(records[-1])
        if self._legacy:
            taken = self._legacy.intersection(serial % ring for serial, _ in written)
            self._legacy -= taken
            entries.extend((codec.record_key(slot), None) for slot in sorted(taken))
        return entries

    def _head_value(self, store: Store) -> bytes:
        assert self._head is not None
        return codec.encode_entry(
            self._counters(store), self._head, self._head_carried[:codec.PIECE_BYTES],
            self._head_pieces, tuple(self._settles))

    def _records(self, written: list[tuple[int, bytes]], ring: int) -> list[Entry]:
        """A drain's entries (serial, value) as records, one per block of ring slots they fall
        in (more when one would outgrow ``codec.BLOCK_BYTES``); the last holds the newest."""
        records: list[Entry] = []
        group: list[bytes] = []
        size = 0
        block = codec.block_of(written[0][0], ring)
        for serial, value in written:
            at = codec.block_of(serial, ring)
            if group and (at != block or size + len(value) > codec.BLOCK_BYTES):
                records.append(self._record(block, group))
                group, size = [], 0
            block = at
            group.append(value)
            size += len(value)
        records.append(self._record(block, group))
        return records

    def _record(self, block: tuple[int, int], group: list[bytes]) -> Entry:
        """The next part of ``block`` in this lap (the first, for a block not written yet)."""
        part = self._next_part if block == self._open_block else 0
        self._open_block, self._next_part = block, part + 1
        self._open_key, self._open_entries = codec.block_key(*block, part), group
        return self._open_key, self._open_value()

    def _open_value(self) -> bytes:
        if self._open_key.startswith(codec.RECORD_PREFIX):  # restored from the older layout
            return self._open_entries[0]
        return codec.encode_block(self._open_entries)

    def _recarry(self, store: Store, head: int, carried: codec.Carried) -> None:
        """Carry again, in this drain's newest entry, the live stories whose state is in an
        entry that a new article overwrites before the next check (every eighth of the ring)
        or in a drain cut short after it (up to an eighth of the ring long), and forget the
        carriers of stories gone since."""
        if head < self._next_scan:
            return
        step = max(1, store.max_articles // 8)
        self._next_scan = head + step
        due = head + 2 * step - 1 - store.max_articles
        for serial, carrier in list(self._carriers.items()):
            story = store.live.get(serial)
            if story is None:
                del self._carriers[serial]
            elif carrier <= due and serial not in carried.stories:
                carried.stories[serial] = _story_record(story).encode()

    def _snapshot_frequencies(self, store: Store) -> list[Entry]:
        """The document frequencies whole, into the copy the counters do not name yet:
        restore adds the terms of later entries only."""
        counts = store.df.counts
        chunk = len(counts) // _CHUNKS
        self._df_serial = store.next_article - 1
        self._df_documents = store.df.documents
        self._df_copy = 1 - self._df_copy
        return [(codec.frequency_key(self._df_copy, index),
                 codec.encode_counts(self._df_serial, counts[index * chunk:(index + 1) * chunk]))
                for index in range(_CHUNKS)]

    def _counters(self, store: Store) -> codec.Counters:
        return codec.Counters(FEATURES_VERSION, store.next_article, store.oldest,
                              store.next_story, store.latest, self._df_serial,
                              self._df_documents)

    def restore(self, store: Store, entries: Iterable[Entry]) -> int:
        """Fill a new store (this changelog new too) from a changelog read from the start
        (later values of a key win); the caller runs ``settles`` again.

        The store is as of the last whole drain with no entry missing before it: the entries
        after it are left out (see the module docstring; ``left_out`` counts them). A
        changelog written under another ``FEATURES_VERSION`` holds signatures and term ids that
        mean something else, and one of an older layout (other keys than ``r/``, ``p/`` and
        ``s/``) cannot be read: the store stays empty instead and the next drain tombstones
        those entries, so compaction retires them. Returns how many entries were retired."""
        latest: dict[bytes, bytes] = {}
        for key, value in entries:
            if value is None:
                latest.pop(key, None)
            else:
                latest[key] = value
        records: list[bytes] = []
        owners: list[bytes] = []  # the key of each entry's record
        for key, value in latest.items():
            if key.startswith(codec.BLOCK_PREFIX):
                block = codec.decode_block(value)
                records.extend(block)
                owners.extend([key] * len(block))
            elif key.startswith(codec.RECORD_PREFIX):
                records.append(value)
                owners.append(key)
        other_layout = any(not key.startswith(_KNOWN) for key in latest)
        columns = codec.decode_entries(records)
        heads = columns.heads
        if other_layout or bool((heads["features"] != FEATURES_VERSION).any()):
            self._retired = sorted(latest)
            return len(latest)
        newest = _last_whole_drain(heads, store.max_articles)
        head = -1 if newest is None else int(heads["serial"][newest])
        self.left_out = int(np.count_nonzero(heads["serial"] > head))
        self._retire_left_out(owners, heads["serial"], head)
        if newest is None:
            return 0
        self._reopen(latest, owners[newest], records[newest])
        counters = codec.counters_of(records[newest])
        store.next_article, store.oldest = counters.next_article, counters.oldest
        store.next_story, store.latest = counters.next_story, counters.latest
        self._df_serial, self._df_documents = counters.df_serial, counters.df_documents
        counted = np.flatnonzero((heads["serial"] > head - store.max_articles)
                                 & (heads["serial"] <= head))
        counted = counted[np.argsort(heads["serial"][counted], kind="stable")]
        self._restore_frequencies(store, latest, records, columns, counted)
        blobs = {at: self._carried_of(store, latest, records[at], columns, at,
                                      owners[at].startswith(codec.RECORD_PREFIX))
                 for at in counted[heads["carried"][counted] > 0].tolist()}
        carried = [(int(heads["serial"][at]), codec.Carried.decode(blob))
                   for at, blob in blobs.items() if blob is not None]
        _restore_articles(store, records, columns, counted, carried)
        self._restore_stories(store, carried)
        self._head = codec.decode_article(records[newest])
        self._head_carried = blobs.get(newest) or b""
        self._head_pieces = int(heads["pieces"][newest])
        self._settles = list(codec.settles_of(records[newest], columns, newest))
        self._settles_written = len(self._settles)
        return 0

    def _retire_left_out(self, owners: list[bytes], serials: np.ndarray, head: int) -> None:
        """Tombstone, with the next drain, the records the restore left out (every entry past
        ``head``; a record never holds entries of two drains), so the articles decided again
        are never read beside them; keep the slots of entries of the older layout."""
        # a record's entries are in serial order: walked backwards, its first is the last put
        first = dict(zip(reversed(owners), reversed(serials.tolist()), strict=True))
        self._retired = sorted(key for key, serial in first.items() if serial > head)
        self._legacy = {int(key[len(codec.RECORD_PREFIX):], 16) for key, serial in first.items()
                        if key.startswith(codec.RECORD_PREFIX) and serial <= head}

    def _reopen(self, latest: dict[bytes, bytes], key: bytes, newest: bytes) -> None:
        """Carry on writing after the newest entry: its record is the one a settle rewrites,
        and the next part of its block follows it."""
        self._open_key = key
        if key.startswith(codec.BLOCK_PREFIX):
            self._open_block, part = codec.part_of(key)
            self._next_part = part + 1
            self._open_entries = codec.decode_block(latest[key])
        else:
            self._open_block, self._next_part, self._open_entries = None, 0, [newest]

    @staticmethod
    def _carried_of(store: Store, latest: dict[bytes, bytes], value: bytes,
                    columns: codec.EntryColumns, at: int, legacy: bool) -> bytes | None:
        """An entry's carried changes, with the pieces that continue them; None when a piece
        was written over (by a drain two laps on, or, for an entry of the older layout, one a
        lap on: either way its stories were carried again since)."""
        serial, pieces = int(columns.heads["serial"][at]), int(columns.heads["pieces"][at])
        first = columns.carried(value, at)
        try:
            return first + b"".join(
                codec.piece_of(latest.get(codec.piece_key(serial, store.max_articles, number,
                                                          legacy)), serial)
                for number in range(1, pieces + 1))
        except ValueError:
            return None

    def _restore_frequencies(self, store: Store, latest: dict[bytes, bytes],
                             records: list[bytes], columns: codec.EntryColumns,
                             counted: np.ndarray) -> None:
        counts = store.df.counts
        chunk = len(counts) // _CHUNKS
        for copy in (0, 1):
            values = [latest.get(codec.frequency_key(copy, index)) for index in range(_CHUNKS)]
            if all(value is not None and codec.tag_of(value) == self._df_serial
                   for value in values):
                self._df_copy = copy
                for index, value in enumerate(values):
                    assert value is not None
                    counts[index * chunk:(index + 1) * chunk] = codec.decode_counts(value)
        store.df.documents = self._df_documents
        for at in counted[columns.heads["serial"][counted] > self._df_serial].tolist():
            store.df.add(columns.terms(records[at], at))

    def _restore_stories(self, store: Store, carried: list[tuple[int, codec.Carried]]) -> None:
        """The newest state carried of each story, unless it is a drop (``carried``: by the
        entries that count, in serial order); members from the articles' stories."""
        newest: dict[int, tuple[bytes, int] | None] = {}
        for serial, changes in carried:
            newest.update(dict.fromkeys(changes.dropped))
            newest.update((story, (value, serial)) for story, value in changes.stories.items())
        found = [(codec.StoryRecord.decode(value), carrier)
                 for value, carrier in (state for state in newest.values() if state is not None)]
        for record, carrier in sorted(found, key=lambda pair: (pair[0].stamp, pair[0].serial)):
            store.put_story(Story(record.serial, record.founder, record.cluster_id,
                                  record.centroid, record.last_time, record.stamp, record.size))
            self._carriers[record.serial] = carrier
        store.gather_members()


def _last_whole_drain(heads: np.ndarray, ring: int) -> int | None:
    """The entry a restore returns to: the last entry of the newest drain before which no entry
    is missing but those whose slots the drains after it took (None: there is none).

    An entry goes missing when a drain is cut short, or when its send failed, was sent again
    after later entries landed and the worker died before it did; either way no raw offset
    after it was committed (commits wait for acknowledgements in order), so everything from
    that drain on is decided again."""
    serials = heads["serial"]
    whole = np.flatnonzero(heads["next_article"] == serials + 1)  # the last entries of drains
    candidates = whole[np.argsort(serials[whole])[::-1]]
    while len(candidates):
        at = int(candidates[0])
        head = int(serials[at])
        wanted = np.arange(heads["oldest"][at], head + 1)
        missing = wanted[~np.isin(wanted, serials)]
        overwritten = np.isin(missing + ring, serials) & (missing + ring > head)
        gaps = missing[~overwritten]
        if not len(gaps):
            return at
        candidates = candidates[serials[candidates] < gaps.min()]
    return None


def _article_part(store: Store, serial: int, terms: U32,
                  vector: Vector | None) -> codec.ArticlePart:
    slot = serial % store.capacity
    first = store.first(serial)
    assert first is not None
    return codec.ArticlePart(
        serial, store.ids[slot], int(store.stories[slot]), int(store.roots[slot]),
        float(store.times[slot]), int(store.shingles[slot]), int(store.contents[slot]),
        store.signatures[slot].copy(),
        (first.cluster_id, first.is_new_cluster, first.similarity, first.duplicate_of,
         first.duplicate_kind, first.cluster_size), terms, vector)


def _story_record(story: Story) -> codec.StoryRecord:
    return codec.StoryRecord(story.serial, story.founder, story.last_time, story.stamp,
                             story.size, story.cluster_id, story.centroid)


def _restore_articles(store: Store, records: list[bytes], columns: codec.EntryColumns,
                      counted: np.ndarray, carried: list[tuple[int, codec.Carried]]) -> None:
    """The live articles (every serial from ``oldest`` on has its entry, but those whose slots
    a drain cut short took: they and older ones are forgotten early), their stories as the
    newest drain moved them, and the kept vectors of the last ``refine_horizon``."""
    heads = columns.heads
    alive = counted[heads["serial"][counted] >= store.oldest]
    serials = heads["serial"][alive]
    gaps = np.flatnonzero(np.diff(serials) > 1)
    if len(gaps):
        alive = alive[gaps[-1] + 1:]
    store.oldest = int(heads["serial"][alive[0]]) if len(alive) else store.next_article
    rows = heads[alive]
    assert len(rows) == store.next_article - store.oldest, "the newest entry is a drain's last"
    stories = rows["story"].copy()
    moved: dict[int, int] = {}
    for _, changes in carried:
        moved.update(changes.moves)
    for serial, story in moved.items():
        if serial >= store.oldest:
            stories[serial - store.oldest] = story
    ids = [codec.article_id_of(records[at], int(heads["id_bytes"][at])) for at in alive.tolist()]
    decisions = columns.decisions(records, alive.tolist())
    store.put_articles(rows["serial"], ids, columns.signatures[alive], rows["shingles"],
                       rows["root"], stories, rows["time"], rows["content"],
                       [decision[4] == "exact" for decision in decisions])
    store.put_firsts(rows["serial"], decisions)
    store.index_bands()
    recent = alive[(rows["serial"] >= store.next_article - store.horizon) & (rows["vector"] > 0)]
    store.put_vectors(heads["serial"][recent], columns.vectors(records, recent.tolist()))
