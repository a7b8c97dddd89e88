"""Decode: raw Kafka bytes to a validated ``RawArticle``, or the reason they cannot be one.

Only ``url`` is required. Hints with the wrong JSON type are rejected (``invalid_field``) rather
than guessed at, because ``id`` decides output keys; so is an ``id`` carrying control or format
characters (NUL, ANSI escapes, bidi overrides, line separators), which would pass into Kafka keys
and clean records and from there into someone's logs; so is a ``url`` that is not an absolute
http(s) URL, which could name no page and no source. A date hint that cannot be read, or is
absurd (before 1990, or more than a day after ``now``), is dropped and named in ``unparsed``: a
crawler's date is advisory, and a missing date is better than a wrong one.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from typing import Any

import orjson

from service.records import RawArticle, Reason, Rejection
from service.stages.normalize.urls import canonicalize
from service.timefmt import normalize_timestamp

STAGE = "decode"
MAX_URL_CHARS = 4096
MAX_HINT_CHARS = 2048
_TEXT_FIELDS = ("source", "title", "lang")
_BODY_FIELDS = ("html", "text")
_DATE_FIELDS = ("published_at", "fetched_at")
# Control, format, line- and paragraph-separator characters: invisible or terminal-active.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Zl", "Zp"})
# A date this far past the processing clock is a typo, not an embargo or a skewed clock.
FUTURE_SLACK = timedelta(days=1)


def _reject(reason: Reason, detail: str) -> Rejection:
    return Rejection(reason, detail, STAGE)


def _optional_str(message: dict[str, Any], name: str, limit: int | None) -> str | Rejection | None:
    value = message.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        kind = type(value).__name__
        return _reject(Reason.INVALID_FIELD, f"'{name}' must be a string, got {kind}")
    if limit is not None and len(value) > limit:
        return _reject(Reason.INVALID_FIELD, f"'{name}' is longer than {limit} characters")
    return value


def decode(value: bytes | None, max_bytes: int, now: datetime) -> RawArticle | Rejection:
    """Parse and validate one raw message; never raises. ``now`` bounds dates in the future."""
    if value is None:
        return _reject(Reason.INVALID_JSON, "empty message (null value)")
    if len(value) > max_bytes:
        return _reject(Reason.TOO_LARGE, f"message is {len(value)} bytes, limit {max_bytes}")
    try:
        message = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return _reject(Reason.INVALID_JSON, f"not JSON: {str(exc)[:200]}")
    if not isinstance(message, dict):
        kind = type(message).__name__
        return _reject(Reason.NOT_AN_OBJECT, f"expected a JSON object, got {kind}")
    url = message.get("url")
    if url is None or (isinstance(url, str) and not url.strip()):
        return _reject(Reason.MISSING_URL, "the required field 'url' is missing or empty")
    if not isinstance(url, str):
        return _reject(Reason.INVALID_FIELD, f"'url' must be a string, got {type(url).__name__}")
    if len(url) > MAX_URL_CHARS:
        return _reject(Reason.INVALID_FIELD, f"'url' is longer than {MAX_URL_CHARS} characters")
    if canonicalize(url) is None:
        return _reject(Reason.INVALID_FIELD,
                       f"'url' is not an absolute http(s) URL: {url.strip()[:200]!r}")

    fields: dict[str, Any] = {"url": url.strip()}
    raw_id = message.get("id")
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    checked = _optional_str({"id": raw_id}, "id", MAX_HINT_CHARS)
    if isinstance(checked, Rejection):
        return checked
    fields["id"] = checked.strip() or None if checked else None
    if fields["id"] is not None and (bad := _first_unprintable(fields["id"])) is not None:
        return _reject(Reason.INVALID_FIELD,
                       f"'id' contains the unprintable character U+{ord(fields['id'][bad]):04X} "
                       f"at {bad}")
    for name in _TEXT_FIELDS:
        hint = _optional_str(message, name, MAX_HINT_CHARS)
        if isinstance(hint, Rejection):
            return hint
        fields[name] = hint.strip() or None if hint else None
    for name in _BODY_FIELDS:
        body = _optional_str(message, name, None)
        if isinstance(body, Rejection):
            return body
        fields[name] = body
    unparsed = []
    for name in _DATE_FIELDS:
        stamp = message.get(name)
        if stamp is not None and not isinstance(stamp, (str, int, float)):
            return _reject(Reason.INVALID_FIELD,
                           f"'{name}' must be date text or epoch seconds")
        fields[name] = normalize_timestamp(stamp, now + FUTURE_SLACK)
        if fields[name] is None and stamp is not None and str(stamp).strip():
            unparsed.append(name)
    return RawArticle(**fields, unparsed=tuple(unparsed))


def _first_unprintable(text: str) -> int | None:
    if text.isprintable():  # one scan: every category in _UNPRINTABLE is unprintable
        return None
    return next((at for at, char in enumerate(text)
                 if unicodedata.category(char) in _UNPRINTABLE), None)


def needs_fetch(raw: RawArticle) -> bool:
    """A message that carries no body at all: its URL is the content."""
    return raw.html is None and raw.text is None
