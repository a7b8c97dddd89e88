"""The functional core without a broker: outputs, keys, and idempotence under redelivery."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import orjson
import pytest

from service.pipeline import Pipeline, Prepared, Sink
from service.records import Origin, Outcome
from tests.conftest import SEEDS, shared_path


def _pipeline() -> Pipeline:
    return Pipeline(max_message_bytes=5_000_000, clock=lambda: datetime(2024, 1, 1, tzinfo=UTC))


def test_a_clean_article_yields_a_clean_record_and_an_internal_record_with_one_key() -> None:
    line = SEEDS.read_bytes().splitlines()[0]
    result = _pipeline().prepare(line, Origin("articles.raw", 0, 0))
    assert result.prepared is not None and result.outcome is None
    clean, internal = result.outputs
    assert (clean.sink, internal.sink) == (Sink.CLEAN, Sink.PREPARED)
    assert clean.key == internal.key == result.prepared.head.id.encode()
    assert Prepared.from_bytes(internal.value) == result.prepared


def test_redelivered_messages_get_the_same_ids_keys_and_decisions() -> None:
    pipeline = _pipeline()
    state = pipeline.new_state()
    lines = SEEDS.read_bytes().splitlines()
    first = [pipeline.prepare(line, Origin("articles.raw", 0, i)) for i, line in enumerate(lines)]
    decided = [pipeline.decide(state, r.prepared) for r in first if r.prepared]
    again = [pipeline.prepare(line, Origin("articles.raw", 0, i)) for i, line in enumerate(lines)]
    redecided = [pipeline.decide(state, r.prepared) for r in again if r.prepared]
    assert [r.outputs[0].key for r in first] == [r.outputs[0].key for r in again]
    assert [orjson.loads(r.outputs[0].value)["id"] for r in first] == [
        orjson.loads(r.outputs[0].value)["id"] for r in again]
    for one, two in zip(decided, redecided, strict=True):
        strip = [{k: v for k, v in orjson.loads(o.value).items() if k != "assigned_at"}
                 for o in one.outputs[:1]]
        assert strip == [{k: v for k, v in orjson.loads(o.value).items() if k != "assigned_at"}
                         for o in two.outputs[:1]]
    assert state.article_count() == 5


def test_dead_letters_keep_origin_and_key() -> None:
    origin = Origin("articles.raw", 2, 41, b"crawler-key")
    result = _pipeline().prepare(b"{not json", origin)
    assert result.outcome is Outcome.DEAD_LETTER
    (output,) = result.outputs
    letter = orjson.loads(output.value)
    assert output.sink is Sink.DLQ and output.key == b"crawler-key"
    assert (letter["topic"], letter["partition"], letter["offset"]) == ("articles.raw", 2, 41)
    assert letter["raw"] == "{not json" and letter["stage"] == "decode"


def test_oversized_raw_is_truncated_in_the_dead_letter() -> None:
    pipeline = Pipeline(max_message_bytes=100, clock=lambda: datetime(2024, 1, 1, tzinfo=UTC),
                        max_dead_letter_raw_bytes=50)
    letter = orjson.loads(pipeline.prepare(b"x" * 500, Origin("t", 0, 0)).outputs[0].value)
    assert letter["reason"] == "too_large"
    assert letter["raw"] == "x" * 50 and letter["raw_truncated"] is True


def test_decisions_are_the_same_from_features_read_back_from_the_internal_topic() -> None:
    """``process`` decides on in-memory features; ``run`` on the bytes of the prepared topic."""
    pipeline = _pipeline()
    with gzip.open(shared_path("data/neardup") / "dev.jsonl.gz") as handle:
        lines = handle.read().splitlines()[:300]
    in_memory, read_back = pipeline.new_state(), pipeline.new_state()
    for offset, line in enumerate(lines):
        result = pipeline.prepare(line, Origin("articles.raw", 0, offset))
        assert result.prepared is not None
        wire = Prepared.from_bytes(result.prepared.to_bytes())
        assert wire == result.prepared
        assert (in_memory.decide(result.prepared.head, result.prepared.fingerprint,
                                 result.prepared.features)
                == read_back.decide(wire.head, wire.fingerprint, wire.features))
    assert in_memory.drain_changes() == read_back.drain_changes()


def test_the_prepared_record_carries_the_articles_head_not_its_body() -> None:
    # the clean record has carried the body downstream; the stateful step reads only the head
    result = _pipeline().prepare(SEEDS.read_bytes().splitlines()[0], Origin("articles.raw", 0, 0))
    assert result.prepared is not None
    clean, internal = result.outputs
    body = orjson.loads(clean.value)["text"]
    assert len(body) > 500 and body[:200].encode() not in internal.value
    assert len(internal.value) < len(clean.value)


def test_a_prepared_record_of_the_earlier_form_with_the_whole_article_is_read() -> None:
    # a rolling upgrade leaves records of the previous version in the prepared topic
    import struct

    result = _pipeline().prepare(SEEDS.read_bytes().splitlines()[0], Origin("articles.raw", 0, 0))
    assert result.prepared is not None
    clean = orjson.loads(result.outputs[0].value)
    article = {name: clean[name] for name in ("id", "url", "canonical_url", "source", "title",
                                              "text", "lang", "published_at", "fetched_at",
                                              "word_count")}
    head = orjson.dumps({"article": article, "fingerprint": result.prepared.fingerprint})
    earlier = struct.pack("<I", len(head)) + head + result.prepared.features.to_bytes()
    assert Prepared.from_bytes(earlier) == result.prepared


@pytest.mark.parametrize("cut", [0, 3, 10, -1, -5])
def test_a_cut_prepared_record_is_an_error_not_a_wrong_decision(cut: int) -> None:
    result = _pipeline().prepare(SEEDS.read_bytes().splitlines()[0], Origin("articles.raw", 0, 0))
    assert result.prepared is not None
    value = result.prepared.to_bytes()
    with pytest.raises((ValueError, TypeError, KeyError)):
        Prepared.from_bytes(value[:cut])


def test_a_brief_without_a_body_is_clean_when_fetching_is_off_and_a_bare_url_is_not() -> None:
    title = " ".join(f"word{index}" for index in range(20))
    pipeline = _pipeline()
    brief = pipeline.prepare(orjson.dumps({"url": "https://example.com/b", "title": title}),
                             Origin("articles.raw", 0, 0))
    assert brief.prepared is not None
    assert orjson.loads(brief.outputs[0].value)["text"] == title
    bare = pipeline.prepare(orjson.dumps({"url": "https://example.com/b", "title": "Short"}),
                            Origin("articles.raw", 0, 1))
    assert bare.outcome is Outcome.DEAD_LETTER and bare.reason is not None
    assert str(bare.reason) == "no_content"


def _long_article(words: int) -> bytes:
    import random

    rng = random.Random(3)
    vocabulary = [f"word{n}" for n in range(3000)]
    paragraphs = [" ".join(rng.choice(vocabulary) for _ in range(60)).capitalize() + "."
                  for _ in range(words // 60)]
    return orjson.dumps({"id": "long-1", "url": "https://example.com/long", "title": "Long",
                         "text": "\n\n".join(paragraphs)})


def test_an_article_whose_record_would_pass_the_record_limit_is_a_too_large_dead_letter() -> None:
    raw = _long_article(40_000)  # about 330 KB of text
    pipeline = Pipeline(max_message_bytes=5_000_000, max_record_bytes=200_000,
                        clock=lambda: datetime(2024, 1, 1, tzinfo=UTC))
    result = pipeline.prepare(raw, Origin("articles.raw", 0, 9, b"k"))
    assert result.outcome is Outcome.DEAD_LETTER and result.prepared is None
    (output,) = result.outputs
    assert len(output.value) <= 200_000
    letter = orjson.loads(output.value)
    assert letter["reason"] == "too_large" and "limits.max_record_bytes" in letter["detail"]
    assert letter["raw_truncated"] is True and raw.startswith(letter["raw"].encode())
    roomy = Pipeline(max_message_bytes=5_000_000, max_record_bytes=5_000_000,
                     clock=lambda: datetime(2024, 1, 1, tzinfo=UTC))
    assert roomy.prepare(raw, Origin("articles.raw", 0, 9)).prepared is not None


@pytest.mark.parametrize("raw", [b"\x00" * 300_000, bytes(range(128, 256)) * 3000],
                         ids=["escaped", "base64"])
def test_a_dead_letter_fits_the_record_limit_however_its_raw_encodes(raw: bytes) -> None:
    """NUL escapes to six characters in JSON and base64 grows by a third: the raw kept is cut
    until the whole dead letter fits."""
    pipeline = Pipeline(max_message_bytes=100, max_dead_letter_raw_bytes=250_000,
                        max_record_bytes=200_000, clock=lambda: datetime(2024, 1, 1, tzinfo=UTC))
    (output,) = pipeline.prepare(raw, Origin("t", 0, 0)).outputs
    assert len(output.value) <= 200_000
    letter = orjson.loads(output.value)
    assert letter["reason"] == "too_large" and letter["raw_truncated"] is True
    assert len(output.value) > 50_000  # cut by halves: still most of what fits


def test_load_models_loads_the_language_model_and_tables_before_the_first_article() -> None:
    """The worker loads models before it joins its group: loading them on the first article
    held the event loop (and /healthz) for seconds; the code point tables cost it ~40 ms more."""
    from service.stages import cluster, tokens
    from service.stages.normalize import language

    built = (language._language_identifier, tokens.kind_table, tokens.space_table,
             tokens._joining_or_unspaced, cluster._class_table)
    for cached in built:
        cached.cache_clear()
    Pipeline.load_models()
    assert [cached.cache_info().currsize for cached in built] == [1] * len(built)
