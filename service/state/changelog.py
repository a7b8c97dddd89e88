"""The changelog of one shard: what changed in the ``Store`` as compacted-topic entries, and the
store rebuilt from them.

Everything a decision depends on is either in the changelog or a deterministic function of it,
so ``restore`` followed by the rest of a stream gives the same assignments as an uninterrupted
run. Record layouts are in ``codec``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import orjson

from service.records import Assignment
from service.stages.features import FEATURES_VERSION
from service.state import codec
from service.state.store import Store, Story

_CHUNKS = 32
Entry = tuple[bytes, bytes | None]


class Changelog:
    """Drains a store's changes; keeps what only the changelog needs (the document-frequency
    snapshot's bookkeeping, tombstones of a retired changelog)."""

    def __init__(self) -> None:
        self._pending_terms: list[int] = []
        self._df_serial = -1
        self._df_documents = 0
        self._retired: list[bytes] = []

    def drain(self, store: Store) -> list[Entry]:
        """Changelog entries since the last drain (None = tombstone). Per key they come in the
        order they happened: a key is written before it is retired, and an article id that
        left and came back is retired before it is written again."""
        changes, store.changes = store.changes, type(store.changes)()
        entries: list[Entry] = [(key, None) for key in self._retired]
        self._retired = []
        for serial, terms in changes.terms:
            entries.append((codec.terms_key(serial), codec.encode_terms(terms)))
            self._pending_terms.append(serial)
        entries.extend((codec.vector_key(serial), codec.encode_vector(vector))
                       for serial, vector in changes.vectors)
        if len(self._pending_terms) >= store.settings.frequency_snapshot_every:
            entries.extend(self._snapshot_frequencies(store))
        entries.extend((codec.vector_key(serial), None) for serial in changes.dropped_vectors)
        entries.extend((codec.ARTICLE_PREFIX + article_id.encode(), None)
                       for article_id in changes.forgotten)
        entries.extend((codec.story_key(serial), None) for serial in changes.dropped_stories)
        for serial in sorted(changes.articles):
            key = codec.ARTICLE_PREFIX + store.ids[serial % store.capacity].encode()
            entries.append((key, _article_record(store, serial).encode()))
        for serial in sorted(changes.stories):
            entries.append((codec.story_key(serial), _story_record(store.live[serial]).encode()))
        if entries:
            entries.append((codec.META_KEY, self._meta(store)))
        return entries

    def _snapshot_frequencies(self, store: Store) -> list[Entry]:
        """The document frequencies whole, and the retirement of the per-article terms."""
        counts = store.df.counts
        chunk = len(counts) // _CHUNKS
        entries: list[Entry] = [
            (codec.frequency_key(index), codec.encode_counts(counts[index * chunk:
                                                                    (index + 1) * chunk]))
            for index in range(_CHUNKS)]
        entries.extend((codec.terms_key(serial), None) for serial in self._pending_terms)
        self._df_serial = store.next_article - 1
        self._df_documents = store.df.documents
        self._pending_terms = []
        return entries

    def _meta(self, store: Store) -> bytes:
        return orjson.dumps({
            "features": FEATURES_VERSION,
            "next_article": store.next_article, "oldest": store.oldest,
            "next_story": store.next_story, "latest": store.latest,
            "df_serial": self._df_serial, "df_documents": self._df_documents})

    def restore(self, store: Store, entries: Iterable[Entry]) -> int:
        """Fill a new store (this changelog new too) from a changelog read from the start
        (later values of a key win).

        A changelog written under another ``FEATURES_VERSION`` holds signatures and term ids
        that mean something else: the store stays empty instead and the next drain tombstones
        those entries, so compaction retires them. Returns how many entries were retired."""
        latest: dict[bytes, bytes] = {}
        for key, value in entries:
            if value is None:
                latest.pop(key, None)
            else:
                latest[key] = value
        meta = latest.get(codec.META_KEY)
        if meta is None:
            return 0
        counters = orjson.loads(meta)
        if counters.get("features", 1) != FEATURES_VERSION:  # version 1 did not record it
            self._retired = sorted(latest)
            return len(latest)
        store.next_article = counters["next_article"]
        store.oldest = counters["oldest"]
        store.next_story = counters["next_story"]
        store.latest = counters["latest"]
        self._df_serial = counters["df_serial"]
        self._df_documents = counters["df_documents"]
        self._restore_frequencies(store, latest)
        _restore_articles(store, latest)
        _restore_vectors(store, latest)
        _restore_stories(store, latest)
        return 0

    def _restore_frequencies(self, store: Store, latest: dict[bytes, bytes]) -> None:
        counts = store.df.counts
        chunk = len(counts) // _CHUNKS
        for index in range(_CHUNKS):
            value = latest.get(codec.frequency_key(index))
            if value is not None:
                counts[index * chunk:(index + 1) * chunk] = codec.decode_counts(value)
        store.df.documents = self._df_documents
        pending = sorted(int(key[len(codec.TERMS_PREFIX):], 16) for key in latest
                         if key.startswith(codec.TERMS_PREFIX))
        for serial in pending:
            if serial > self._df_serial:
                store.df.add(codec.decode_terms(latest[codec.terms_key(serial)]))
                self._pending_terms.append(serial)


def _article_record(store: Store, serial: int) -> codec.ArticleRecord:
    slot = serial % store.capacity
    first = store.first(serial)
    assert first is not None
    return codec.ArticleRecord(
        serial, int(store.stories[slot]), int(store.roots[slot]), float(store.times[slot]),
        int(store.shingles[slot]), int(store.contents[slot]), store.signatures[slot],
        (first.cluster_id, first.is_new_cluster, first.similarity, first.duplicate_of,
         first.duplicate_kind, first.cluster_size))


def _story_record(story: Story) -> codec.StoryRecord:
    return codec.StoryRecord(story.serial, story.founder, story.last_time, story.stamp,
                             story.size, story.cluster_id, story.centroid)


def _restore_articles(store: Store, latest: dict[bytes, bytes]) -> None:
    found = [(key[len(codec.ARTICLE_PREFIX):].decode(), value) for key, value in latest.items()
             if key.startswith(codec.ARTICLE_PREFIX)]
    columns = codec.decode_articles([value for _, value in found])
    heads = columns.heads
    order = np.argsort(heads["serial"], kind="stable")
    ids = [found[i][0] for i in order.tolist()]
    decisions = [columns.decisions[i] for i in order.tolist()]
    heads = heads[order]
    store.put_articles(heads["serial"], ids, columns.signatures[order], heads["shingles"],
                       heads["root"], heads["story"], heads["time"], heads["content"],
                       [decision[4] == "exact" for decision in decisions])
    for serial, article_id, decision in zip(heads["serial"].tolist(), ids, decisions,
                                            strict=True):
        cluster_id, is_new, similarity, duplicate_of, kind, size = decision
        store.put_first(serial, Assignment(article_id, cluster_id, is_new, similarity,
                                           duplicate_of, kind, size))
    store.index_bands()


def _restore_vectors(store: Store, latest: dict[bytes, bytes]) -> None:
    serials = sorted(int(key[len(codec.VECTOR_PREFIX):], 16) for key in latest
                     if key.startswith(codec.VECTOR_PREFIX))
    for serial in serials:
        if store.alive(serial) and serial >= store.next_article - store.horizon:
            store.put_vector(serial, codec.decode_vector(latest[codec.vector_key(serial)]))


def _restore_stories(store: Store, latest: dict[bytes, bytes]) -> None:
    records = [codec.StoryRecord.decode(value) for key, value in latest.items()
               if key.startswith(codec.STORY_PREFIX)]
    for record in sorted(records, key=lambda r: (r.stamp, r.serial)):
        store.put_story(Story(record.serial, record.founder, record.cluster_id, record.centroid,
                              record.last_time, record.stamp, record.size))
    for serial in range(store.oldest, store.next_article):
        story = store.story_of(serial)
        if story is not None and store.ids[serial % store.capacity]:
            story.members.append(serial)
