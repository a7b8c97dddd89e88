"""Decode: every malformed raw message gets a stable reason; hints are normalized."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from service.records import RawArticle, Reason, Rejection
from service.stages.decode import decode, needs_fetch

LIMIT = 10_000
NOW = datetime(2024, 6, 1, tzinfo=UTC)


def test_minimal_message_needs_only_a_url() -> None:
    raw = decode(b'{"url": "https://example.com/a"}', LIMIT, NOW)
    assert isinstance(raw, RawArticle)
    assert raw.url == "https://example.com/a"
    assert needs_fetch(raw)


def test_hints_are_kept_and_dates_normalized_to_utc() -> None:
    raw = decode(orjson.dumps({
        "url": "https://example.com/a", "id": 42, "title": " T ", "text": "body",
        "published_at": "2018-05-31T20:00:00+02:00", "fetched_at": 1527789600, "extra": [1],
    }), LIMIT, NOW)
    assert isinstance(raw, RawArticle)
    assert raw.id == "42"
    assert raw.title == "T"
    assert raw.published_at == "2018-05-31T18:00:00Z"
    assert raw.fetched_at == "2018-05-31T18:00:00Z"
    assert not needs_fetch(raw)


@pytest.mark.parametrize("stamp", ["last tuesday", "1989-12-31T23:59:59Z", "2024-06-03T00:00:00Z",
                                   "06/05/2018", 0, "\u00b2"])
def test_an_unreadable_or_absurd_date_hint_is_dropped_and_named(stamp: object) -> None:
    raw = decode(orjson.dumps({"url": "https://e.org/u", "text": "t", "published_at": stamp,
                               "fetched_at": "2024-06-01T12:00:00Z"}), LIMIT, NOW)
    assert isinstance(raw, RawArticle) and raw.published_at is None
    assert raw.unparsed == ("published_at",)
    assert raw.fetched_at == "2024-06-01T12:00:00Z"


def test_a_blank_date_hint_is_absent_not_unparsed() -> None:
    raw = decode(b'{"url": "https://e.org/u", "published_at": " "}', LIMIT, NOW)
    assert isinstance(raw, RawArticle) and raw.published_at is None and raw.unparsed == ()


@pytest.mark.parametrize("url", ["notaurl", "/relative/path", "//example.com/a", "ftp://e.org/a",
                                 "mailto:a@example.com", "javascript:alert(1)", "http://",
                                 "https://exa mple.com/", "http://example.com:99999/",
                                 "https://[::zz]/a"])
def test_a_url_that_is_not_absolute_http_is_an_invalid_field(url: str) -> None:
    result = decode(orjson.dumps({"url": url, "text": "body"}), LIMIT, NOW)
    assert isinstance(result, Rejection) and result.reason is Reason.INVALID_FIELD
    assert "'url'" in result.detail


@pytest.mark.parametrize(("value", "reason"), [
    (None, Reason.INVALID_JSON),
    (b"not json at all", Reason.INVALID_JSON),
    (b"\xff\xfe\x00garbage", Reason.INVALID_JSON),
    (b'["url"]', Reason.NOT_AN_OBJECT),
    (b'"https://example.com"', Reason.NOT_AN_OBJECT),
    (b'{"text": "no url"}', Reason.MISSING_URL),
    (b'{"url": "   "}', Reason.MISSING_URL),
    (b'{"url": 5}', Reason.INVALID_FIELD),
    (b'{"url": "https://e.org/u", "html": 5}', Reason.INVALID_FIELD),
    (b'{"url": "https://e.org/u", "title": {"a": 1}}', Reason.INVALID_FIELD),
    (b'{"url": "https://e.org/u", "id": true}', Reason.INVALID_FIELD),
    (b'{"url": "https://e.org/u", "published_at": [2018]}', Reason.INVALID_FIELD),
    (b'{"url": "' + b"x" * 5000 + b'"}', Reason.INVALID_FIELD),
    (b'{"url": "https://e.org/u", "text": "' + b"x" * LIMIT + b'"}', Reason.TOO_LARGE),
])
def test_malformed_messages_are_rejected_with_a_reason(value: bytes | None, reason: Reason) -> None:
    result = decode(value, LIMIT, NOW)
    assert isinstance(result, Rejection)
    assert result.reason is reason
    assert result.stage == "decode"
    assert result.detail and "\n" not in result.detail


@pytest.mark.parametrize("unsafe", ["a\x00b", "\x1b[31mred\x1b[0m", "line\nbreak", "tab\there",
                                    "del\x7f", "c1\x9bx", "rtl\u202eevil", "sep\u2028x",
                                    "zero\u200bwidth"])
def test_an_id_with_control_or_format_characters_is_an_invalid_field(unsafe: str) -> None:
    result = decode(orjson.dumps({"id": unsafe, "url": "https://example.com/a", "text": "t"}),
                    1000, NOW)
    assert isinstance(result, Rejection) and result.reason is Reason.INVALID_FIELD
    assert "'id'" in result.detail and "U+" in result.detail
    assert unsafe not in result.detail


@pytest.mark.parametrize("safe", ["abc-123", "Zürich/2024", "新闻-7", "  padded  ", "a b"])
def test_printable_ids_pass(safe: str) -> None:
    result = decode(orjson.dumps({"id": safe, "url": "https://example.com/a"}), 1000, NOW)
    assert isinstance(result, RawArticle) and result.id == safe.strip()
