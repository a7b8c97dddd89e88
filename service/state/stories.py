"""Duplicate and story-cluster decisions of one shard, and the changelog that restores them.

``StoryState.decide`` takes articles in arrival order and answers, for each, whether it copies
an earlier article (exact: same content hash; near: MinHash/LSH, see ``service.stages.dedup``)
and which story it belongs to (TF-IDF centroids found through a term index, see
``service.stages.cluster``). Each decision also revisits the recent articles of the stories
around it and moves those that now fit another story better, re-emitting them.

The parts, by who owns the data: ``store`` holds the arrays and the only code that writes
them; ``decisions`` (duplicate, join, admit, merge) and ``refine`` (refinement, settling) are
functions over the store; ``changelog`` drains what changed and restores a store from it.

Memory stays bounded: articles live in a ring of ``max_articles`` slots and leave it after
``retention_hours`` of event time; stories go dormant (and are dropped) after ``window_hours``
without a new article. Event time is ``published_at``, else ``fetched_at``, else the latest
event time seen.

Scaling out: one ``StoryState`` is the whole state of one shard. Stateless workers prepare
(normalize, fingerprint) and route each article to a shard by a key that keeps comparable
articles together; the shard's partition of the internal prepared topic and of the compacted
changelog topic are owned by one worker at a time, which restores this state from the
changelog before it consumes.
"""

from __future__ import annotations

from collections.abc import Iterable

from service.records import Article, ArticleHead, Assignment, Fingerprint
from service.stages.features import StoryFeatures, story_features
from service.state import decisions, refine
from service.state.changelog import Changelog, Entry
from service.state.settings import StorySettings
from service.state.store import Store

__all__ = ["StorySettings", "StoryState"]


class StoryState:
    """One shard's state: a store, the changelog that mirrors it, and a settle under way."""

    def __init__(self, settings: StorySettings | None = None) -> None:
        self.settings = settings if settings is not None else StorySettings()
        self._store = Store(self.settings)
        self._changelog = Changelog()
        self._settling: refine.Settling | None = None

    def active_clusters(self) -> int:
        return len(self._store.live)

    def article_count(self) -> int:
        return self._store.article_count()

    def decide(self, article: Article | ArticleHead, fp: Fingerprint,
               features: StoryFeatures | None = None) -> list[Assignment]:
        """This article's assignment first, then re-emitted assignments of articles it moved.

        ``features`` are computed here from a whole ``Article`` when the caller (an evaluation,
        a test) has none; the pipeline passes an article's head with its features."""
        again = decisions.redelivered(self._store, article.id)
        if again is not None:
            return [again]
        if features is None:
            if not isinstance(article, Article):
                raise TypeError("an article head is decided with its story features")
            features = story_features(article, self.settings.term_weights)
        self._settling = None  # the stories change: a settle under way starts afresh
        return decisions.decide(self._store, article, fp, features)

    @property
    def settling(self) -> bool:
        """Whether a settle run in slices (``settle(budget)``) has more to do."""
        return self._settling is not None

    def settle(self, budget: int | None = None) -> list[Assignment]:
        """Hindsight (see ``refine.settle``): with a ``budget``, one call reconsiders at most
        that many articles and the next call goes on from there, so a worker can settle
        between polls; a decision in between starts the next settle afresh."""
        before = self._settling
        moved, self._settling = refine.settle(self._store, self._settling, budget)
        if moved or before is not None or self._settling is not None:
            self._changelog.settled(budget)
        return moved

    def drain_changes(self) -> list[Entry]:
        """Changelog records since the last drain, for a compacted topic (None = tombstone)."""
        return self._changelog.drain(self._store)

    @property
    def left_out(self) -> int:
        """Entries the last restore left out: those past the last whole drain with no entry
        missing before it (see ``Changelog``)."""
        return self._changelog.left_out

    def restore(self, entries: Iterable[Entry]) -> int:
        """Rebuild from a changelog read from the start, and run again the settles it
        recorded since its newest entry; how many entries it retired (see
        ``Changelog.restore``)."""
        self._store, self._changelog = Store(self.settings), Changelog()
        self._settling = None
        retired = self._changelog.restore(self._store, entries)
        for budget in self._changelog.settles:
            _, self._settling = refine.settle(self._store, self._settling,
                                              None if budget < 0 else budget)
        return retired
