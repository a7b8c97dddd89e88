"""The values that flow through the pipeline and the JSON records it emits.

Stages exchange these frozen dataclasses; only the functions at the bottom turn them into the
wire format (the ``article.clean/1``, ``article.cluster/1`` and ``article.dlq/1`` records that
downstream consumers read), so the records' field names live in exactly one place.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

CLEAN_SCHEMA = "article.clean/1"
CLUSTER_SCHEMA = "article.cluster/1"
DLQ_SCHEMA = "article.dlq/1"


class Reason(StrEnum):
    """Stable dead-letter codes: consumers alert and route on them, so never rename one."""

    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    INVALID_FIELD = "invalid_field"
    MISSING_URL = "missing_url"
    TOO_LARGE = "too_large"
    NO_CONTENT = "no_content"
    FETCH_FAILED = "fetch_failed"
    FETCH_BLOCKED = "fetch_blocked"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    INTERNAL_ERROR = "internal_error"


class Outcome(StrEnum):
    CLEAN = "clean"
    DUPLICATE = "duplicate"
    DEAD_LETTER = "dead_letter"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a raw message was read: kept on dead letters so operators can find the original."""

    topic: str
    partition: int
    offset: int
    key: bytes | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a message cannot become a clean record; becomes a dead letter."""

    reason: Reason
    detail: str
    stage: str


@dataclass(frozen=True, slots=True)
class RawArticle:
    """A validated raw message. Dates are already ISO 8601 UTC (or None when absent/unusable);
    ``unparsed`` names the fields that were given but could not be read."""

    url: str
    id: str | None = None
    source: str | None = None
    title: str | None = None
    published_at: str | None = None
    fetched_at: str | None = None
    lang: str | None = None
    html: str | None = None
    text: str | None = None
    unparsed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Article:
    """A normalized article: the body and metadata downstream consumers rely on."""

    id: str
    url: str
    canonical_url: str
    source: str
    title: str
    text: str
    lang: str
    published_at: str | None
    fetched_at: str | None
    word_count: int


@dataclass(frozen=True, slots=True)
class ArticleHead:
    """What the stateful step reads of an article: its id, its language (which names its state
    shard) and its event times. The prepared record carries this much and not the article, whose
    body and metadata the clean record has already carried downstream."""

    id: str
    lang: str
    published_at: str | None
    fetched_at: str | None

    @classmethod
    def of(cls, article: Article) -> ArticleHead:
        return cls(article.id, article.lang, article.published_at, article.fetched_at)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """``content``: 128-bit hash of the body (32 hex); ``simhash``: 64-bit (16 hex)."""

    content: str
    simhash: str


@dataclass(frozen=True, slots=True)
class Assignment:
    """One article's cluster membership; ``reason`` is set when a merge or split moved it."""

    article_id: str
    cluster_id: str
    is_new_cluster: bool
    similarity: float
    duplicate_of: str | None
    duplicate_kind: str | None
    cluster_size: int
    reason: str | None = None


def clean_record(article: Article, fingerprint: Fingerprint, processed_at: str) -> dict[str, Any]:
    return {
        "schema": CLEAN_SCHEMA,
        "id": article.id,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "source": article.source,
        "title": article.title,
        "text": article.text,
        "lang": article.lang,
        "published_at": article.published_at,
        "fetched_at": article.fetched_at,
        "processed_at": processed_at,
        "word_count": article.word_count,
        "fingerprint": {"content": fingerprint.content, "simhash": fingerprint.simhash},
    }


def cluster_event(assignment: Assignment, assigned_at: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "schema": CLUSTER_SCHEMA,
        "article_id": assignment.article_id,
        "cluster_id": assignment.cluster_id,
        "is_new_cluster": assignment.is_new_cluster,
        "similarity": round(assignment.similarity, 4),
        "duplicate_of": assignment.duplicate_of,
        "duplicate_kind": assignment.duplicate_kind,
        "cluster_size": assignment.cluster_size,
        "assigned_at": assigned_at,
    }
    if assignment.reason is not None:
        event["reason"] = assignment.reason
    return event


def dead_letter(rejection: Rejection, origin: Origin, raw: bytes, failed_at: str,
                raw_limit: int) -> dict[str, Any]:
    """``raw`` keeps the original bytes, cut to ``raw_limit`` (then ``raw_truncated``) so that a
    dead letter always fits the broker's record size limit."""
    letter: dict[str, Any] = {
        "schema": DLQ_SCHEMA,
        "reason": str(rejection.reason),
        "detail": rejection.detail,
        "stage": rejection.stage,
        "topic": origin.topic,
        "partition": origin.partition,
        "offset": origin.offset,
        "failed_at": failed_at,
    }
    if len(raw) > raw_limit:
        raw = raw[:raw_limit]
        letter["raw_truncated"] = True
    try:
        letter["raw"] = raw.decode("utf-8")
    except UnicodeDecodeError:
        letter["raw"] = base64.b64encode(raw).decode("ascii")
        letter["raw_encoding"] = "base64"
    return letter
