"""The functional core: one raw message in, the records it yields out.

Processing has two steps, as a Kafka Streams topology would:

* ``prepare`` (stateless but for the furniture memory; CPU-heavy): decode, normalize,
  fingerprint and compute the story features (MinHash, weighted terms). Runs on every worker,
  scaling with the raw topic's partitions.
* ``decide`` (stateful): duplicate detection and story clustering against ``StoryState``. Its
  state belongs to one shard; in ``run`` the shard is one partition of an internal topic, owned
  by one worker at a time and restored from a changelog.

Neither does I/O: ``run`` (Kafka) and ``process`` (files) both feed them and write what they
return, which is why they emit the same records for the same input.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from service.config import LimitsConfig
from service.records import (
    CLEAN_SCHEMA,
    CLUSTER_SCHEMA,
    DLQ_SCHEMA,
    ArticleHead,
    Assignment,
    Fingerprint,
    Origin,
    Outcome,
    RawArticle,
    Reason,
    Rejection,
    clean_record,
    cluster_event,
    dead_letter,
)
from service.stages import cluster, tokens
from service.stages.decode import FUTURE_SLACK, decode
from service.stages.features import StoryFeatures, story_features
from service.stages.fingerprint import body_hashes, fingerprint
from service.stages.normalize import FurnitureMemory, NormalizeSettings, is_brief, normalize
from service.stages.normalize.language import load_language_model
from service.state.stories import StorySettings, StoryState
from service.timefmt import iso_utc, parse_timestamp

Clock = Callable[[], datetime]
StageObserver = Callable[[str, float], None]
FieldObserver = Callable[[str], None]


class Sink(StrEnum):
    """Logical outputs; the shell maps them to configured topics (or files)."""

    CLEAN = "clean"
    CLUSTERS = "clusters"
    DLQ = "dlq"
    PREPARED = "prepared"


_SCHEMAS = {Sink.CLEAN: CLEAN_SCHEMA, Sink.CLUSTERS: CLUSTER_SCHEMA, Sink.DLQ: DLQ_SCHEMA}


def record_headers(sink: Sink) -> list[tuple[str, bytes]] | None:
    """Kafka headers of a sink's records, so consumers (Kafka Connect, Quix) route on the
    schema without parsing the value; internal records (binary or changelog) carry none."""
    schema = _SCHEMAS.get(sink)
    if schema is None:
        return None
    return [("content-type", b"application/json"), ("schema", schema.encode())]


@dataclass(frozen=True, slots=True)
class Output:
    sink: Sink
    key: bytes | None
    value: bytes


_LENGTH = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class Prepared:
    """A normalized, fingerprinted article's head and story features, on their way to the
    stateful step. On the wire: the length of a JSON head (article head, fingerprint), the head,
    then the features' binary form (arrays as JSON would cost more to write and read than to
    use)."""

    head: ArticleHead
    fingerprint: Fingerprint
    features: StoryFeatures

    def to_bytes(self) -> bytes:
        # orjson writes a dataclass as asdict would, without asdict's deep copy
        head = orjson.dumps({"head": self.head, "fingerprint": self.fingerprint})
        return _LENGTH.pack(len(head)) + head + self.features.to_bytes()

    @classmethod
    def from_bytes(cls, value: bytes) -> Prepared:
        """Inverse of ``to_bytes``; ValueError, TypeError or KeyError when it is not one. Reads
        the records of versions that carried the whole article too (``"article"``), which a
        rolling upgrade leaves in the prepared topic."""
        if len(value) < _LENGTH.size:
            raise ValueError("prepared record too short")
        (length,) = _LENGTH.unpack_from(value)
        data: dict[str, Any] = orjson.loads(value[_LENGTH.size:_LENGTH.size + length])
        features = StoryFeatures.from_bytes(value[_LENGTH.size + length:])
        head = data["head"] if "head" in data else data["article"]
        return cls(ArticleHead(head["id"], head["lang"], head["published_at"], head["fetched_at"]),
                   Fingerprint(**data["fingerprint"]), features)


@dataclass(frozen=True, slots=True)
class Result:
    """What one message became. ``outputs`` are acknowledged before its offset is committed."""

    outcome: Outcome | None
    outputs: tuple[Output, ...]
    reason: Reason | None = None
    duplicate_kind: str | None = None
    prepared: Prepared | None = None


def _ignore(stage: str, seconds: float) -> None:
    """Default observer: stage timings are optional instrumentation."""


def _ignore_field(field: str) -> None:
    """Default observer of unreadable fields: counting them is optional instrumentation."""


class Pipeline:
    def __init__(self, *, max_message_bytes: int, clock: Clock,
                 max_dead_letter_raw_bytes: int = LimitsConfig.max_dead_letter_raw_bytes,
                 max_record_bytes: int = LimitsConfig.max_record_bytes,
                 normalize: NormalizeSettings | None = None,
                 stories: StorySettings | None = None,
                 observe: StageObserver = _ignore,
                 unparsed: FieldObserver = _ignore_field) -> None:
        self.max_message_bytes = max_message_bytes
        self.max_dead_letter_raw_bytes = max_dead_letter_raw_bytes
        self.max_record_bytes = max_record_bytes
        self.clock = clock
        self.observe = observe
        self.unparsed = unparsed
        self.normalize_settings = normalize if normalize is not None else NormalizeSettings()
        self.story_settings = stories if stories is not None else StorySettings()
        self.furniture = FurnitureMemory.from_settings(self.normalize_settings)

    @staticmethod
    def load_models() -> None:
        """Load the models and tables the stages would otherwise build on first use (seconds,
        all at once)."""
        load_language_model()
        tokens.load_tables()
        cluster.load_tables()

    def new_state(self) -> StoryState:
        """Empty duplicate and cluster state for one shard."""
        return StoryState(self.story_settings)

    def decode(self, value: bytes | None) -> RawArticle | Rejection:
        started = time.perf_counter()
        decoded = decode(value, self.max_message_bytes, self.clock())
        self.observe("decode", time.perf_counter() - started)
        if isinstance(decoded, RawArticle):
            for name in decoded.unparsed:
                self.unparsed(name)
        return decoded

    def reject(self, rejection: Rejection, origin: Origin, value: bytes | None,
               raw_limit: int | None = None) -> Result:
        """A dead letter, its ``raw`` cut until the record fits ``max_record_bytes`` (escaped
        control characters or base64 make the record larger than the raw bytes it keeps)."""
        failed_at = iso_utc(self.clock())
        limit = self.max_dead_letter_raw_bytes if raw_limit is None else raw_limit
        while True:
            encoded = orjson.dumps(dead_letter(rejection, origin, value or b"", failed_at, limit))
            if len(encoded) <= self.max_record_bytes or limit == 0:
                break
            limit = min(limit, len(value or b"")) // 2
        output = Output(Sink.DLQ, origin.key, encoded)
        return Result(Outcome.DEAD_LETTER, (output,), reason=rejection.reason)

    def prepare(self, value: bytes | None, origin: Origin,
                decoded: RawArticle | Rejection | None = None) -> Result:
        """Stateless step. ``decoded`` is given when the shell already decoded (and fetched)."""
        raw = decoded if decoded is not None else self.decode(value)
        if isinstance(raw, Rejection):
            return self.reject(raw, origin, value)
        try:
            return self._prepare(raw, origin, value)
        except Exception as exc:  # a bug must cost one dead letter, not the partition
            detail = f"{type(exc).__name__}: {str(exc)[:200]}"
            return self.reject(Rejection(Reason.INTERNAL_ERROR, detail, "pipeline"), origin, value)

    def _prepare(self, raw: RawArticle, origin: Origin, value: bytes | None) -> Result:
        if raw.html is None and raw.text is None and not is_brief(raw, self.normalize_settings):
            detail = "no html or text in the message and fetching is disabled"
            return self.reject(Rejection(Reason.NO_CONTENT, detail, "fetch"), origin, value)
        started = time.perf_counter()
        article = normalize(raw, self.furniture, self.normalize_settings)
        self.observe("normalize", time.perf_counter() - started)
        if isinstance(article, Rejection):
            return self.reject(article, origin, value)
        if parse_timestamp(article.published_at, self.clock() + FUTURE_SLACK) is None and (
                article.published_at is not None):  # a page's own date from the future: a typo
            article = replace(article, published_at=None)
            self.unparsed("published_at")

        started = time.perf_counter()
        hashes = body_hashes(article.text)
        fp = fingerprint(article.text, hashes)
        self.observe("fingerprint", time.perf_counter() - started)

        started = time.perf_counter()
        prepared = Prepared(ArticleHead.of(article), fp,
                            story_features(article, self.story_settings.term_weights, hashes))
        self.observe("features", time.perf_counter() - started)

        started = time.perf_counter()
        record = clean_record(article, prepared.fingerprint, iso_utc(self.clock()))
        key = article.id.encode()
        outputs = (Output(Sink.CLEAN, key, orjson.dumps(record)),
                   Output(Sink.PREPARED, key, prepared.to_bytes()))
        self.observe("serialize", time.perf_counter() - started)
        largest = max(outputs, key=lambda output: len(output.value))
        if len(largest.value) > self.max_record_bytes:
            detail = (f"the {largest.sink} record would be {len(largest.value)} bytes, over "
                      f"limits.max_record_bytes ({self.max_record_bytes})")
            return self.reject(Rejection(Reason.TOO_LARGE, detail, "serialize"), origin, value)
        return Result(None, outputs, prepared=prepared)

    def decide(self, state: StoryState, prepared: Prepared) -> Result:
        """Stateful step: duplicate and cluster decisions, as cluster events."""
        started = time.perf_counter()
        assignments = state.decide(prepared.head, prepared.fingerprint, prepared.features)
        self.observe("cluster", time.perf_counter() - started)
        kind = assignments[0].duplicate_kind
        return Result(Outcome.DUPLICATE if kind else Outcome.CLEAN,
                      self._cluster_outputs(assignments), duplicate_kind=kind)

    def settle(self, state: StoryState, budget: int | None = None) -> Result:
        """Hindsight at the end of an input or in a pause of the feed: the cluster events of
        the articles ``StoryState.settle`` moved (no outcome: no article was consumed)."""
        started = time.perf_counter()
        assignments = state.settle(budget)
        self.observe("settle", time.perf_counter() - started)
        return Result(None, self._cluster_outputs(assignments))

    def _cluster_outputs(self, assignments: list[Assignment]) -> tuple[Output, ...]:
        now = iso_utc(self.clock())
        return tuple(Output(Sink.CLUSTERS, a.article_id.encode(),
                            orjson.dumps(cluster_event(a, now))) for a in assignments)
