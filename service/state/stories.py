"""Duplicate and story-cluster decisions (first version: exact duplicates only)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from service.records import Article, Assignment, Fingerprint


@dataclass(frozen=True)
class StorySettings:
    window_hours: float = 72.0


class StoryState:
    def __init__(self, settings: StorySettings | None = None) -> None:
        self.settings = settings if settings is not None else StorySettings()
        self._decided: dict[str, Assignment] = {}
        self._by_content: dict[str, str] = {}
        self._changes: list[tuple[bytes, bytes | None]] = []

    def decide(self, article: Article, fp: Fingerprint) -> list[Assignment]:
        known = self._decided.get(article.id)
        if known is not None:
            return [known]
        original = self._by_content.get(fp.content)
        if original is not None:
            first = self._decided[original]
            assignment = Assignment(article.id, first.cluster_id, False, 1.0, original, "exact",
                                    first.cluster_size + 1)
        else:
            self._by_content[fp.content] = article.id
            assignment = Assignment(article.id, article.id, True, 1.0, None, None, 1)
        self._decided[article.id] = assignment
        self._changes.append((article.id.encode(), orjson.dumps(
            [assignment.cluster_id, assignment.duplicate_of, fp.content])))
        return [assignment]

    def active_clusters(self) -> int:
        return len(self._by_content)

    def article_count(self) -> int:
        return len(self._decided)

    def drain_changes(self) -> list[tuple[bytes, bytes | None]]:
        changes, self._changes = self._changes, []
        return changes

    def restore(self, entries: Iterable[tuple[bytes, bytes | None]]) -> None:
        for _key, _value in entries:
            pass
