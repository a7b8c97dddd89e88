"""Reports in eleven languages and scripts through the offline ``process`` path: each becomes a
clean record with its language and a sensible word count, an edited copy is flagged as a
duplicate of its original, and a report of another event starts a story of its own."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from service.app import build_pipeline, process_file
from service.config import load_config
from service.records import Origin
from service.stages import tokens
from service.stages.cluster import DocumentFrequencies, cosine, weigh
from service.state.stories import StorySettings
from tests.multilingual import (
    EDITED,
    FURNITURE,
    OTHER_EVENTS,
    REPORTS,
    REWRITES,
    Report,
    event_of,
    page_html,
    page_text,
)

ALL = REPORTS + EDITED + OTHER_EVENTS + REWRITES
# The reports were written at 60 to 120 words (or the equivalent); a word count far outside that
# means words are miscounted for the script (Chinese counted as 1 word per space-free run, or
# as one word per character).
SENSIBLE_WORDS = (50, 150)


def _process(messages: list[bytes], out: Path) -> dict[str, list[dict[str, Any]]]:
    config = load_config(env={"INGEST_FETCH__ENABLED": "false"})
    source = io.BytesIO(b"".join(message + b"\n" for message in messages))
    asyncio.run(process_file(config, source, "languages", out))
    return {sink: [orjson.loads(line) for line in (out / f"{sink}.jsonl").read_bytes().splitlines()]
            for sink in ("clean", "clusters", "dlq")}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    return _process([report.message() for report in ALL], tmp_path_factory.mktemp("languages"))


def _last_events(outputs: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    return {event["article_id"]: event for event in outputs["clusters"]}


def test_the_reports_cover_eleven_languages_and_their_scripts() -> None:
    assert len({report.lang for report in REPORTS}) >= 11
    assert {"zh", "ja", "th", "ar", "hi", "tr", "de", "el", "ru", "lt", "ko"} <= {
        report.lang for report in REPORTS}
    assert "İ" in next(report.text for report in REPORTS if report.lang == "tr")


@pytest.mark.parametrize("report", ALL, ids=[report.key for report in ALL])
def test_every_report_is_a_clean_record_with_its_language(
        outputs: dict[str, list[dict[str, Any]]], report: Report) -> None:
    assert outputs["dlq"] == []
    (record,) = (record for record in outputs["clean"] if record["id"] == report.key)
    assert record["lang"] == report.lang
    assert SENSIBLE_WORDS[0] <= record["word_count"] <= SENSIBLE_WORDS[1]
    # the whole report is the body: nothing of it was taken for page furniture
    assert record["text"].split() == report.text.split()


@pytest.mark.parametrize("report", [r for r in REPORTS if not tokens.has_unspaced(r.text)],
                         ids=lambda report: report.key)
def test_a_word_of_a_spaced_script_is_a_whitespace_separated_word(
        outputs: dict[str, list[dict[str, Any]]], report: Report) -> None:
    (record,) = (record for record in outputs["clean"] if record["id"] == report.key)
    assert record["word_count"] == len([token for token in report.text.split()
                                        if any(char.isalnum() for char in token)])


@pytest.mark.parametrize("copy", EDITED, ids=[copy.key for copy in EDITED])
def test_an_edited_copy_is_a_duplicate_of_its_original(
        outputs: dict[str, list[dict[str, Any]]], copy: Report) -> None:
    original = event_of(copy.key)
    events = _last_events(outputs)
    assert events[copy.key]["duplicate_of"] == original
    assert events[copy.key]["cluster_id"] == events[original]["cluster_id"]


@pytest.mark.parametrize("other", OTHER_EVENTS, ids=[other.key for other in OTHER_EVENTS])
def test_a_report_of_another_event_starts_its_own_story(
        outputs: dict[str, list[dict[str, Any]]], other: Report) -> None:
    events = _last_events(outputs)
    story = events[other.key]["cluster_id"]
    assert events[other.key]["duplicate_of"] is None
    assert [key for key, event in events.items() if event["cluster_id"] == story] == [other.key]


def test_each_story_holds_one_event(outputs: dict[str, list[dict[str, Any]]]) -> None:
    """Reports of different events never share a story, floods beside floods included."""
    stories: dict[str, set[str]] = {}
    for key, event in _last_events(outputs).items():
        stories.setdefault(event["cluster_id"], set()).add(event_of(key))
    assert all(len(events) == 1 for events in stories.values())


@pytest.mark.parametrize("rewrite", REWRITES, ids=[rewrite.key for rewrite in REWRITES])
def test_story_terms_tell_events_apart_in_unspaced_scripts(
        outputs: dict[str, list[dict[str, Any]]], rewrite: Report) -> None:
    """A report of the same event in other words is no duplicate, and its story vector (ideograph
    bigrams, Thai trigrams, weighted by the IDF with its prior) is closer to its event's report
    than to any report of another event, a flood elsewhere included."""
    assert _last_events(outputs)[rewrite.key]["duplicate_of"] is None
    pipeline = build_pipeline(load_config(env={}))
    features = {report.key: result.prepared.features for report in ALL
                if (result := pipeline.prepare(report.message(), Origin("t", 0, 0))).prepared}
    frequencies = DocumentFrequencies(StorySettings().prior_documents)
    for feature in features.values():
        frequencies.add(feature.terms)
    vectors = {key: weigh(feature.terms, feature.counts.astype(np.float64), frequencies,
                          StorySettings().article_terms) for key, feature in features.items()}
    similar = {key: cosine(vectors[rewrite.key], vector) for key, vector in vectors.items()}
    event = event_of(rewrite.key)
    own = similar[event]
    others = {key: value for key, value in similar.items() if event_of(key) != event}
    assert own > 2 * max(others.values()), (own, max(others.items(), key=lambda item: item[1]))


@pytest.mark.parametrize("report", [r for r in REPORTS if r.lang in FURNITURE],
                         ids=lambda report: report.key)
def test_page_furniture_around_a_report_is_dropped_and_the_body_kept_whole(
        tmp_path: Path, report: Report) -> None:
    """The line model reads sentences in scripts without spaces, and in Thai, which writes no
    full stop; the HTML path finds the same body."""
    outputs = _process([report.message(text=page_text(report)),
                        report.message(html=page_html(report))], tmp_path)
    assert outputs["dlq"] == []
    for record in outputs["clean"]:
        assert record["text"].split() == report.text.split()
        assert record["lang"] == report.lang
