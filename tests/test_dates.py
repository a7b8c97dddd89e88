"""Dates as crawlers and pages spell them, each to the right UTC instant or to null."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from service.pipeline import Pipeline
from service.records import Origin, RawArticle
from service.stages.decode import FUTURE_SLACK
from service.stages.normalize.metadata import text_date
from service.timefmt import iso_utc, normalize_timestamp, parse_timestamp

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
INSTANT = "2018-05-31T18:00:00Z"
DAY = "2018-05-31T00:00:00Z"

SPELLINGS = [
    # RFC 2822, as RSS carries it (email.utils)
    ("Thu, 31 May 2018 18:00:00 GMT", INSTANT),
    ("Thu, 31 May 2018 18:00:00 +0000", INSTANT),
    ("Thu, 31 May 2018 20:00:00 +0200", INSTANT),
    ("Thu, 31 May 2018 14:00:00 EDT", INSTANT),
    ("Thu, 31 May 2018 13:00:00 EST", "2018-05-31T18:00:00Z"),
    ("Thu, 31 May 2018 11:00:00 PDT", INSTANT),
    ("Thu, 31 May 2018 18:00:00 -0000", INSTANT),
    ("31 May 2018 18:00 +0000", INSTANT),
    ("Thu, 31 May 18 18:00:00 GMT", INSTANT),
    ("Thu, 31 May 2018 20:00:00 CEST", INSTANT),
    ("Thu,31 May 2018 18:00:00 UT", INSTANT),
    # ISO 8601 with and without a zone (a time without one is UTC)
    ("2018-05-31T18:00:00Z", INSTANT),
    ("2018-05-31T18:00:00z", INSTANT),
    ("2018-05-31T20:00:00+02:00", INSTANT),
    ("2018-05-31T13:00:00-05:00", INSTANT),
    ("2018-05-31T20:00:00+0200", INSTANT),
    ("2018-05-31T20:00:00+02", INSTANT),
    ("2018-05-31T18:00:00", INSTANT),
    ("2018-05-31 18:00:00", INSTANT),
    ("2018-05-31T18:00", INSTANT),
    ("2018-05-31T18:00:00.000Z", INSTANT),
    ("2018-05-31T18:00:00.250Z", "2018-05-31T18:00:00.250Z"),
    ("2018-05-31T18:00:00.123456789Z", "2018-05-31T18:00:00.123Z"),
    ("20180531T180000Z", INSTANT),
    ("2018-05-31T18:00Z", INSTANT),
    ("2018-05-31T18Z", INSTANT),
    ("2018-05-31T18:00:00,5Z", "2018-05-31T18:00:00.500Z"),
    ("2018-W22-4T18:00:00Z", INSTANT),  # ISO week date: Thursday of week 22
    ("2018-05-31", DAY),
    ("2018-05-31 18:00 UTC", INSTANT),
    ("2018-05-31 20:00:00 +02:00", INSTANT),
    ("  2018-05-31T18:00:00Z\n", INSTANT),
    # what people write
    ("May 31, 2018", DAY),
    ("May 31 2018", DAY),
    ("31 May 2018", DAY),
    ("31st May 2018", DAY),
    ("31 of May, 2018", DAY),
    ("Thursday, May 31, 2018", DAY),
    ("Thursday, May 31, 2018 at 2:00 PM EDT", INSTANT),
    ("May 31, 2018 6:00 p.m.", INSTANT),
    ("May 31, 2018, 6pm GMT", INSTANT),
    ("Thursday 31 May 2018 18.00 BST", None),  # BST: British Summer or Bangladesh Standard
    ("31 May 2018, 18:00 GMT", INSTANT),
    ("Sept. 3, 2018", "2018-09-03T00:00:00Z"),
    ("DECEMBER 1, 2019 09:30", "2019-12-01T09:30:00Z"),
    ("31.05.2018 18:00", INSTANT),
    ("31.05.2018", DAY),
    ("31. 05. 2018", DAY),
    ("1.6.2018 20:00 +02:00", "2018-06-01T18:00:00Z"),
    ("2018/05/31", DAY),
    ("2018.05.31 18:00", INSTANT),
    ("05/31/2018", DAY),  # month first: 31 is no month
    ("31/05/2018 18:00", INSTANT),  # day first
    ("31-05-2018", DAY),
    ("05/05/2018", "2018-05-05T00:00:00Z"),
    # other languages' month names (the genitive where a date writes it), and the CJK form
    ("31 mai 2018", DAY),
    ("31. Mai 2018 18:00", INSTANT),
    ("31 de mayo de 2018", DAY),
    ("31 maggio 2018", DAY),
    ("31 de maio de 2018", DAY),
    ("31 mei 2018", DAY),
    ("31 мая 2018", DAY),
    ("31 травня 2018", DAY),
    ("31 May\u0131s 2018", DAY),
    ("3 d\u00e9cembre 2018", "2018-12-03T00:00:00Z"),
    ("2018\u5e745\u670831\u65e5", DAY),
    ("2018\ub144 5\uc6d4 31\uc77c", DAY),
    ("Donnerstag, 31. Mai 2018, 18:00", INSTANT),
    ("jeudi 31 mai 2018", DAY),
    # epoch seconds and milliseconds, as numbers or text
    (1527789600, INSTANT),
    (1527789600.25, "2018-05-31T18:00:00.250Z"),
    ("1527789600", INSTANT),
    (1527789600000, INSTANT),
    # unreadable, ambiguous or absurd: null, never a guess
    ("06/05/2018", None),  # 6 May or June 5
    ("Thu, 31 May 2018 18:00:00 IST", None),  # India, Israel or Ireland
    ("Thu, 31 May 2018 18:00:00 XYZ", None),  # email.utils would read UTC
    ("2018-05-31 18:00 IST", None),
    ("last tuesday", None),
    ("yesterday", None),
    ("May 32, 2018", None),
    ("2018-02-30", None),
    ("31 May 2018 25:00", None),
    ("May 31, 2018 18", None),
    ("13 pm May 31, 2018", None),
    ("0000-00-00 00:00:00", None),
    ("1970-01-01T00:00:00Z", None),
    ("1989-12-31T23:59:59Z", None),
    (0, None),
    (-1, None),
    ("2024-06-01T12:00:01Z", None),  # after the latest allowed
    ("2999-01-01", None),
    ("", None),
    ("31.05.18", None),
    ("2018-05-31T18:00:00+25:00", None),
    (True, None),
    (float("nan"), None),
    (float("inf"), None),
    ("2018-05-31T18:00:00+02:00Z", None),  # an offset, then a zone
    ("2018-05-31T25:00:00Z", None),
    ("2018-05-31T18:00:00UTZ", None),
    ("1527789600²", None),
    ("²", None),
    ("x" * 100, None),
]


@pytest.mark.parametrize(("spelling", "expected"), SPELLINGS)
def test_each_spelling_reads_as_its_utc_instant_or_null(spelling: object,
                                                        expected: str | None) -> None:
    assert normalize_timestamp(spelling, NOW) == expected


def test_every_moment_reads_back_from_the_form_records_carry() -> None:
    """``iso_utc``'s form, which each stage and the worker parse again, has a shorter path:
    it must read each moment exactly as written, to the millisecond it keeps."""
    rng = random.Random(7)
    for _ in range(20_000):
        moment = datetime.fromtimestamp(rng.uniform(631_152_000, 4_102_444_800), tz=UTC)
        moment = moment.replace(microsecond=0 if rng.random() < 0.5
                                else moment.microsecond // 1000 * 1000)
        written = iso_utc(moment)
        assert parse_timestamp(written) == moment, written
        assert normalize_timestamp(written) == written


def test_iso_utc_writes_utc_with_four_digit_years_and_milliseconds_when_present() -> None:
    plus_five = timezone(timedelta(hours=5))
    assert iso_utc(datetime(2018, 6, 1, 2, 30, tzinfo=plus_five)) == "2018-05-31T21:30:00Z"
    assert iso_utc(datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0999-01-02T03:04:05Z"
    assert iso_utc(datetime(2018, 5, 31, 18, 0, 0, 123_999, tzinfo=UTC)) == \
        "2018-05-31T18:00:00.123Z"
    # under a millisecond is still a fraction written, as 000
    assert iso_utc(datetime(2018, 5, 31, 18, 0, 0, 999, tzinfo=UTC)) == "2018-05-31T18:00:00.000Z"
    # the same second twice (its stamp remembered), then the next one
    assert iso_utc(datetime(2018, 5, 31, 18, 0, 0, 5_000, tzinfo=UTC)) == \
        "2018-05-31T18:00:00.005Z"
    assert iso_utc(datetime(2018, 5, 31, 18, 0, 1, tzinfo=UTC)) == "2018-05-31T18:00:01Z"


def test_the_table_covers_enough_real_spellings() -> None:
    readable = [s for s, expected in SPELLINGS if expected is not None]
    assert len(readable) >= 30 and len(SPELLINGS) - len(readable) >= 15


@pytest.mark.parametrize("text", ["\u00b2", "1\u00b2", "\u2075\u2070", "12\u00b3.5", "\u2460"])
def test_digits_that_are_not_decimal_are_unreadable_not_a_crash(text: str) -> None:
    # str.isdigit accepts superscripts and circled digits, which float() refuses
    assert parse_timestamp(text) is None


def test_decode_reads_a_day_ahead_of_its_clock_but_not_beyond() -> None:
    latest = NOW + FUTURE_SLACK
    assert normalize_timestamp("2024-06-02T11:00:00Z", latest) == "2024-06-02T11:00:00Z"
    assert normalize_timestamp("2024-06-02T13:00:00Z", latest) is None


def test_the_pipeline_reports_each_unreadable_date_field_for_its_counter() -> None:
    seen: list[str] = []
    pipeline = Pipeline(max_message_bytes=10_000, clock=lambda: NOW, unparsed=seen.append)
    raw = pipeline.decode(b'{"url": "https://e.org/a", "published_at": "31/31/2018", '
                          b'"fetched_at": "2018-05-31T18:00:00Z"}')
    assert isinstance(raw, RawArticle) and raw.fetched_at == INSTANT
    assert seen == ["published_at"]
    pipeline.decode(b'{"url": "https://e.org/a", "fetched_at": "soon"}')
    assert seen == ["published_at", "fetched_at"]


def test_a_page_that_dates_itself_in_the_future_gets_no_date() -> None:
    seen: list[str] = []
    pipeline = Pipeline(max_message_bytes=100_000, clock=lambda: NOW, unparsed=seen.append)
    body = "<p>" + " ".join(["A sentence of the report that goes on for a while."] * 12) + "</p>"

    def published(meta: str) -> object:
        page = f"<html><head>{meta}</head><body><h1>A headline here</h1>{body}</body></html>"
        result = pipeline.prepare(orjson.dumps({"url": "https://e.org/a", "html": page}),
                                  Origin("t", 0, 0))
        assert result.prepared is not None
        return result.prepared.head.published_at

    assert published('<meta name="pubdate" content="2024-05-31T18:00:00Z">') == \
        "2024-05-31T18:00:00Z"
    assert seen == []
    assert published('<meta name="pubdate" content="2031-05-31T18:00:00Z">') is None
    assert seen == ["published_at"]


@pytest.mark.parametrize(("line", "expected"), [
    ("publiziert am 31. Mai 2018", DAY),
    ("Texte : Jeanne Martin \u00b7 31 mai 2018", DAY),
    ("\u0422\u0435\u043a\u0441\u0442: 31 \u043c\u0430\u044f 2018", DAY),
    ("Publicado el 31 de mayo de 2018", DAY),
    ("\u53d1\u5e03\u65f6\u95f4\uff1a2018\u5e745\u670831\u65e5", DAY),
    ("The Mars 2018 mission", None),
])
def test_a_dateline_in_another_language_is_read(line: str, expected: str | None) -> None:
    assert text_date(line) == expected
