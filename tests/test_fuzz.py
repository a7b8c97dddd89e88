"""Property-based fuzzing: whatever arrives becomes a clean record or a dead letter, quickly."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.pipeline import Pipeline, Prepared, Sink
from service.records import Origin, Outcome

LIMIT = 200_000
ORIGIN = Origin("articles.raw", 0, 0, b"k")
PER_MESSAGE_BUDGET_S = 5.0

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
field_values = (json_values | st.text(alphabet=st.characters(codec="utf-8"), max_size=300)
                | st.sampled_from(["", " ", "\x00\x01\x7f", "9" * 40, "-1e308", "2018-02-30",
                                   "javascript:alert(1)", "file:///etc/passwd", "http://[::1]/",
                                   "https://пример.рф/статья", "http://xn--e1afmkfd.xn--p1ai/"]))
messages = st.fixed_dictionaries({}, optional={
    name: field_values for name in
    ("url", "id", "html", "text", "title", "source", "published_at", "fetched_at", "lang")})


def _pipeline() -> Pipeline:
    return Pipeline(max_message_bytes=LIMIT, clock=lambda: datetime(2024, 1, 1, tzinfo=UTC))


def _check_one(pipeline: Pipeline, value: bytes) -> None:
    started = time.monotonic()
    result = pipeline.prepare(value, ORIGIN)
    if result.prepared is not None:
        state = pipeline.new_state()
        decided = pipeline.decide(state, Prepared.from_bytes(result.prepared.to_bytes()))
        assert decided.outcome in (Outcome.CLEAN, Outcome.DUPLICATE)
        assert [o.sink for o in result.outputs] == [Sink.CLEAN, Sink.PREPARED]
        record = orjson.loads(result.outputs[0].value)
        assert record["schema"] == "article.clean/1" and record["text"].strip()
    else:
        assert result.outcome is Outcome.DEAD_LETTER
        (letter,) = (orjson.loads(o.value) for o in result.outputs)
        assert letter["reason"] and letter["detail"] and "\n" not in letter["detail"]
        assert letter["raw"] is not None
    assert time.monotonic() - started < PER_MESSAGE_BUDGET_S


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes(value: bytes) -> None:
    _check_one(_pipeline(), value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages)
def test_random_fields_of_every_type(message: dict[str, object]) -> None:
    _check_one(_pipeline(), json.dumps(message).encode())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=1, max_size=3000), st.sampled_from(["html", "text"]))
def test_arbitrary_bodies(body: str, kind: str) -> None:
    _check_one(_pipeline(), orjson.dumps({"url": "https://example.com/a", kind: body}))


def test_html_bombs_cost_bounded_time() -> None:
    pipeline = _pipeline()
    bombs = [
        "<div>" * 50_000 + "deep" + "</div>" * 50_000,
        "<p>" + "&amp;" * 40_000 + "</p>",
        "<html><body>" + "<p>word " * 30_000 + "</body></html>",
        "<table>" + "<tr><td>x</td></tr>" * 10_000 + "</table>",
    ]
    for bomb in bombs:
        _check_one(pipeline, orjson.dumps({"url": "https://example.com/bomb", "html": bomb}))


def test_invalid_utf8_is_kept_as_base64() -> None:
    result = _pipeline().prepare(b'{"url": "\xff\xfe"}', ORIGIN)
    (letter,) = (orjson.loads(o.value) for o in result.outputs)
    assert letter["reason"] == "invalid_json" and letter["raw_encoding"] == "base64"


def test_a_deadline_raise_that_lands_in_a_finalizer_is_not_reported(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the timer can fire inside a __del__ or a weakref callback, where the interpreter hands the
    # raise to sys.unraisablehook; the deadline re-fires, so that raise is no error to report
    from service.deadline import CpuDeadline, DeadlineExceeded

    reported: list[sys.UnraisableHookArgs] = []
    hook = reported.append
    monkeypatch.setattr(sys, "unraisablehook", hook)

    class Finalized:
        def __init__(self, error: BaseException) -> None:
            self.error = error

        def __del__(self) -> None:
            raise self.error

    with CpuDeadline(30):
        Finalized(DeadlineExceeded())
        Finalized(ValueError("not a deadline"))
    assert [type(unraisable.exc_value) for unraisable in reported] == [ValueError]
    assert sys.unraisablehook == hook


def test_a_deadline_puts_back_the_alarm_handler_it_found() -> None:
    # it installs its own handler for the block (through the C function, not signal.signal):
    # whatever handled SIGALRM before must handle it again after, expired or not
    import signal

    from service.deadline import CpuDeadline, DeadlineExceeded

    def before(signum: int, frame: object) -> None:
        return None

    previous = signal.signal(signal.SIGALRM, before)
    try:
        with CpuDeadline(30):
            assert signal.getsignal(signal.SIGALRM) is not before
        assert signal.getsignal(signal.SIGALRM) is before
        with pytest.raises(DeadlineExceeded), CpuDeadline(0.01):
            while True:
                pass
        assert signal.getsignal(signal.SIGALRM) is before
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_a_message_over_its_deadline_becomes_a_dead_letter() -> None:
    import asyncio

    from service.runtime.flow import prepare_batch

    page = "<html><body><article>" + "".join(
        f"<p>Paragraph {i} reports that the council met {i} times to discuss plan {i}.</p>"
        for i in range(15_000)) + "</article>"
    value = orjson.dumps({"url": "https://example.com/slow", "html": page})
    pipeline = Pipeline(max_message_bytes=len(value), max_record_bytes=4 * len(value),
                        clock=lambda: datetime(2024, 1, 1, tzinfo=UTC))
    (result,) = asyncio.run(prepare_batch(pipeline, None, [(value, ORIGIN)], deadline_s=0.01))
    (letter,) = (orjson.loads(o.value) for o in result.outputs)
    assert letter["reason"] == "deadline_exceeded"
    (quick,) = asyncio.run(prepare_batch(pipeline, None, [(value, ORIGIN)], deadline_s=30))
    assert quick.prepared is not None
