"""Timestamps: every date the service emits is ISO 8601 UTC with a ``Z``; inputs vary."""

from __future__ import annotations

from datetime import UTC, date, datetime

# Dates outside this range are treated as absent: they are typos or sentinel values, and an
# event time far from now would wrongly expire or revive story clusters.
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def iso_utc(moment: datetime) -> str:
    """``2018-05-31T18:00:00Z`` (milliseconds only when present)."""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(value: object) -> datetime | None:
    """An aware UTC datetime from ISO 8601 text or epoch seconds; None when unusable."""
    moment: datetime | None = None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            moment = datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, str):
        moment = _parse_text(value.strip())
    if moment is None or not (_EARLIEST <= moment < _LATEST):
        return None
    return moment


def _parse_text(text: str) -> datetime | None:
    if not text or len(text) > 64:
        return None
    if text.replace(".", "", 1).isdigit():
        return parse_timestamp(float(text))
    candidate = text[:-1] + "+00:00" if text[-1] in "Zz" else text
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        try:
            day = date.fromisoformat(text[:10])
        except ValueError:
            return None
        moment = datetime(day.year, day.month, day.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def normalize_timestamp(value: object) -> str | None:
    """``parse_timestamp`` rendered back as ISO 8601 UTC, or None."""
    moment = parse_timestamp(value)
    return None if moment is None else iso_utc(moment)
