"""Timestamps: every date the service emits is ISO 8601 UTC with a ``Z``; inputs vary.

Crawlers send ISO 8601 (with or without a zone), RFC 2822 as in RSS (read by ``email.utils``),
epoch seconds (or milliseconds), and the forms people write ("May 31, 2018", "31.05.2018
18:00"). Each is read strictly: a form that could mean two days (``06/05/2018``) or a zone name
that is not unambiguous is unreadable, because a wrong date is worse than none. A time without a
zone is taken as UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache

# Dates before this are typos or sentinel values (epoch 0, 1900-01-01), not news; one far in the
# future (see ``decode``) is a typo too. Either would wrongly expire or revive story clusters.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)

# Month names: English (with its abbreviations), and as news is written in French, German,
# Spanish, Italian, Portuguese, Dutch, the Scandinavian languages, Indonesian, Turkish, Russian and
# Ukrainian (the genitive, as a date writes them), from the CLDR locale data; each also without
# its diacritics, as ASCII-only pages write them. Forms that name different months in two
# languages (Polish and Croatian "listopad") are left out: a wrong date is worse than none.
_ENGLISH_MONTHS = (
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
    ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
    ("october", "oct"), ("november", "nov"), ("december", "dec"),
)
_OTHER_MONTHS = (
    ("janvier", "janv", "januar", "jänner", "jaenner", "enero", "gennaio", "janeiro", "januari",
     "ocak", "января", "січня"),
    ("février", "fevrier", "févr", "fevr", "februar", "febrero", "febbraio", "fevereiro",
     "februari", "şubat", "subat", "февраля", "лютого"),
    ("mars", "märz", "maerz", "marz", "marzo", "março", "marco", "maart", "maret", "mart",
     "марта", "березня"),
    ("avril", "abril", "aprile", "nisan", "апреля", "квітня"),
    ("mai", "mayo", "maggio", "maio", "mei", "maj", "may\u0131s", "mayis", "мая", "травня"),
    ("juin", "juni", "junio", "giugno", "junho", "haziran", "июня", "червня"),
    ("juillet", "juil", "juli", "julio", "luglio", "julho", "temmuz", "июля", "липня"),
    ("août", "aout", "agosto", "augustus", "augusti", "agustus", "ağustos", "agustos", "августа",
     "серпня"),
    ("septembre", "septiembre", "setiembre", "settembre", "setembro", "eylül", "eylul",
     "сентября", "вересня"),
    ("octobre", "oktober", "octubre", "ottobre", "outubro", "ekim", "октября", "жовтня"),
    ("novembre", "noviembre", "novembro", "kas\u0131m", "kasim", "ноября", "листопада"),
    ("décembre", "decembre", "dezember", "diciembre", "dicembre", "dezembro", "desember",
     "aral\u0131k", "aralik", "декабря", "грудня"),
)
MONTHS = {name: number for table in (_ENGLISH_MONTHS, _OTHER_MONTHS)
          for number, names in enumerate(table, start=1) for name in names}


def _alternatives(names: list[str]) -> str:
    return "(?:" + "|".join(sorted(names, key=len, reverse=True)) + r")\.?"


# A month name in a day-first date ("31 May 2018", "31. Mai 2018"): any language's.
MONTH = _alternatives(list(MONTHS))
# A month name that opens a date ("May 31, 2018"): English writes dates so, the other languages
# day first; the shorter pattern also spares the scans that try it at every letter.
MONTH_FIRST = _alternatives([name for names in _ENGLISH_MONTHS for name in names])

# A date in Chinese, Japanese or Korean: 2018年5月31日, 2018년 5월 31일 (the day's mark after it).
CJK_DATE = r"(?P<year>\d{4})\s*[年년]\s*(?P<month>\d{1,2})\s*[月월]\s*(?P<day>\d{1,2})"

# Zone names with one meaning: RFC 2822's (which ``email.utils`` knows) and central Europe's.
# Others (IST, BST, CST outside RFC 2822's reading) name several zones: unreadable.
_ZONES = {
    "z": 0, "ut": 0, "utc": 0, "gmt": 0,
    "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
    "cet": 1, "cest": 2, "eet": 2, "eest": 3, "jst": 9,
}
# A weekday before the date, in any language ("Thursday,", "Donnerstag,", "jeudi"): one word.
_WEEKDAY = r"(?:[^\W\d_]+\.?,?\s+)?"
_OFFSET = r"[+-]\d{2}(?::?\d{2})?"
_ZONE = r"(?:\s*(?P<offset>" + _OFFSET + r")|\s*\(?(?P<zone>[a-z]{1,4})\)?)?"
_TIME = (r"(?:(?:,?\s+(?:at\s+)?|\s*-\s*|T)(?P<hour>\d{1,2})(?:[:.h](?P<minute>\d{2})"
         r"(?::(?P<second>\d{2})(?:\.\d+)?)?)?\s*(?P<ampm>[ap]\.?m\.?)?" + _ZONE + ")?")
_DATES = (
    r"(?P<month_name>" + MONTH_FIRST + r")\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})",
    r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\.?\s+(?:of\s+|de\s+)?(?P<month_name>" + MONTH
    + r"),?\s+(?:de\s+)?(?P<year>\d{4})",
    CJK_DATE + r"\s*[日일]?",
    r"(?P<day>\d{1,2})\.\s?(?P<month>\d{1,2})\.\s?(?P<year>\d{4})",  # day first wherever dotted
    r"(?P<year>\d{4})[/.](?P<month>\d{1,2})[/.](?P<day>\d{1,2})",
    r"(?P<first>\d{1,2})[/-](?P<second_part>\d{1,2})[/-](?P<year>\d{4})",  # D/M or M/D: see _day
)
_HUMAN = [re.compile(r"\s*" + _WEEKDAY + d + _TIME + r"\s*", re.IGNORECASE) for d in _DATES]
_RFC2822 = re.compile(r"(?:[a-z]{3},\s*)?\d{1,2}\s+[a-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?"
                      r"\s*(?P<zone>[+-]\d{4}|[a-z]+)?",
                      re.IGNORECASE)
_ISO_ZONE_NAME = re.compile(r"(?P<rest>\d{4}-?\d{2}-?\d{2}[T ][\d:.,]+)\s*(?P<zone>[a-z]{1,4})",
                            re.IGNORECASE)
_EPOCH = re.compile(r"\d{1,13}(?:\.\d+)?", re.ASCII)  # ASCII: '²' is a digit to str.isdigit
_EPOCH_MS = 1e11  # larger epoch values are milliseconds (seconds would be past the year 5000)


def iso_utc(moment: datetime) -> str:
    """``2018-05-31T18:00:00Z`` (milliseconds only when present), the year always in four
    digits."""
    utc = moment.astimezone(UTC)
    stamp = _second(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second)
    return f"{stamp}.{utc.microsecond // 1000:03d}Z" if utc.microsecond else f"{stamp}Z"


@lru_cache(maxsize=64)
def _second(year: int, month: int, day: int, hour: int, minute: int, second: int) -> str:
    """A second's stamp, remembered: the service stamps several records a second with the
    clock's time, and formatting six fields costs about five times the lookup."""
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"


def parse_timestamp(value: object, latest: datetime | None = None) -> datetime | None:
    """An aware UTC datetime from text or epoch seconds; None when unreadable, before 1990 or
    after ``latest``."""
    moment: datetime | None = None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        moment = _from_epoch(float(value))
    elif isinstance(value, str):
        moment = _parse_text(value.strip())
    if moment is None or moment < EARLIEST or (latest is not None and moment > latest):
        return None
    return moment


def _from_epoch(seconds: float) -> datetime | None:
    if seconds > _EPOCH_MS:
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _parse_text(text: str) -> datetime | None:
    if not text or len(text) > 64:
        return None
    if _EPOCH.fullmatch(text):
        return _from_epoch(float(text))
    if text[:4].isdecimal() and text.isascii() and (moment := _iso(text)) is not None:
        return moment
    rfc = _RFC2822.fullmatch(text)
    if rfc is not None:
        return _rfc2822(text, rfc.group("zone"))
    for pattern in _HUMAN:
        match = pattern.fullmatch(text)
        if match is not None:
            return _human(match)
    return None


def _iso(text: str) -> datetime | None:
    """ISO 8601 (``fromisoformat`` reads the extended and basic forms), or the date and time of
    it followed by a zone name (``2018-05-31 18:00 UTC``)."""
    if text[-1] == "Z" and text[10:11] == "T":
        # the form records carry (``iso_utc``), read by every stage and the worker: first
        # without the zone-name search, which would read its "Z" as a name
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass  # not ISO 8601 after all: the general reading below decides
    zone: timezone | None = None
    named = _ISO_ZONE_NAME.fullmatch(text)
    if named is not None:
        zone = _zone(None, named.group("zone"))
        if zone is None:
            return None
        text = named.group("rest")
    elif text[-1] in "Zz":
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if zone is not None:
        if moment.tzinfo is not None:
            return None  # an offset and a name
        moment = moment.replace(tzinfo=zone)
    return _as_utc(moment)


def _rfc2822(text: str, zone_name: str | None) -> datetime | None:
    """RFC 2822 as ``email.utils`` reads it, but only with a zone it reads right: it takes any
    name it does not know (CEST, IST) for UTC."""
    if zone_name and zone_name[0] not in "+-" and zone_name.lower() not in _ZONES:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if zone_name and zone_name.lower() in _ZONES and zone_name.lower() not in ("z", "ut", "utc",
                                                                              "gmt"):
        # email.utils knows the RFC's North American names; central Europe's it would zero
        moment = moment.replace(tzinfo=_zone(None, zone_name))
    return _as_utc(moment)


def _human(match: re.Match[str]) -> datetime | None:
    parts = match.groupdict()
    day = _day(parts)
    if day is None:
        return None
    hour, minute, second = (int(parts[name] or 0) for name in ("hour", "minute", "second"))
    if parts["hour"] is not None and parts["minute"] is None and parts["ampm"] is None:
        return None  # "May 31, 2018 18" is not a time
    if parts["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if parts["ampm"][0].lower() == "p" else 0)
    zone = _zone(parts["offset"], parts["zone"])
    if zone is None:
        return None
    try:
        moment = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=zone)
    except ValueError:
        return None
    return _as_utc(moment)


def _day(parts: dict[str, str | None]) -> date | None:
    """The calendar day of a human form. ``A/B/YYYY`` is day-first or month-first by region:
    read only when one of A and B cannot be a month (or they are equal)."""
    year = int(parts["year"] or 0)
    if parts.get("month_name"):
        month = MONTHS[(parts["month_name"] or "").lower().rstrip(".")]
        day = int(parts["day"] or 0)
    elif parts.get("first"):
        first, second = int(parts["first"] or 0), int(parts["second_part"] or 0)
        if first > 12 >= second:
            day, month = first, second
        elif second > 12 >= first or first == second:
            day, month = second, first
        else:
            return None
    else:
        day, month = int(parts["day"] or 0), int(parts["month"] or 0)
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _zone(offset: str | None, name: str | None) -> timezone | None:
    """The zone of an offset (``+02:00``, ``+0200``, ``+02``) or a name; UTC when neither is
    given; None for a name with no single meaning."""
    if offset:
        digits = offset[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
        if minutes >= 24 * 60:
            return None
        return timezone(timedelta(minutes=-minutes if offset[0] == "-" else minutes))
    if name:
        hours = _ZONES.get(name.lower())
        return None if hours is None else timezone(timedelta(hours=hours))
    return UTC


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def normalize_timestamp(value: object, latest: datetime | None = None) -> str | None:
    """``parse_timestamp`` rendered back as ISO 8601 UTC, or None."""
    moment = parse_timestamp(value, latest)
    return None if moment is None else iso_utc(moment)
