"""The shipped JSON Schemas: well formed, printed by the CLI, and met by what the pipeline emits.

Every record of the golden run (tests/golden_outputs.py) and every record the Kafka integration
tests read (tests/harness.py read_topic) is checked too."""

from __future__ import annotations

import gzip
import subprocess
import sys
import tomllib
from datetime import UTC, datetime

import orjson
import pytest
from jsonschema import Draft202012Validator

from service.contracts import BY_RECORD_SCHEMA, SCHEMA_NAMES, schema, schema_text
from service.pipeline import Pipeline, Sink
from service.records import Origin, RawArticle
from tests.conftest import REPO, SEEDS
from tests.golden_outputs import INPUT
from tests.schemas import check_record, validator

NOW = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_each_schema_is_a_valid_2020_12_schema_named_after_its_record(name: str) -> None:
    loaded = schema(name)
    Draft202012Validator.check_schema(loaded)
    assert loaded["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert loaded["title"] == f"article.{name}/1"
    if name != "raw":
        assert BY_RECORD_SCHEMA[loaded["properties"]["schema"]["const"]] == name


def test_the_schemas_ship_in_the_package() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "schemas/*.json" in project["tool"]["setuptools"]["package-data"]["service"]


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_the_cli_prints_each_schema(name: str) -> None:
    done = subprocess.run([sys.executable, "-m", "service", "schema", name], capture_output=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout) == schema(name)
    assert done.stdout.decode() == schema_text(name)


def test_the_cli_refuses_an_unknown_schema_with_exit_2() -> None:
    done = subprocess.run([sys.executable, "-m", "service", "schema", "article.clean/1"],
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 2 and done.stdout == b""
    assert b"invalid choice" in done.stderr and b"clean" in done.stderr


def test_records_of_the_seeds_and_of_bad_messages_validate() -> None:
    pipeline = Pipeline(max_message_bytes=5_000_000, clock=lambda: NOW)
    state = pipeline.new_state()
    lines = [*SEEDS.read_bytes().splitlines(), b"not json", b'{"url": "notaurl"}',
             b'{"url": "https://example.com/x", "text": "too short"}', bytes(range(256))]
    emitted = []
    for offset, line in enumerate(lines):
        result = pipeline.prepare(line, Origin("articles.raw", 0, offset, b"k"))
        emitted += [o for o in result.outputs if o.sink is not Sink.PREPARED]
        if result.prepared is not None:
            emitted += pipeline.decide(state, result.prepared).outputs
    emitted += pipeline.settle(state).outputs
    assert {o.sink for o in emitted} == {Sink.CLEAN, Sink.CLUSTERS, Sink.DLQ}
    for output in emitted:
        check_record(orjson.loads(output.value))


def test_a_renamed_retyped_or_undescribed_field_fails_the_check() -> None:
    pipeline = Pipeline(max_message_bytes=5_000_000, clock=lambda: NOW)
    clean = orjson.loads(pipeline.prepare(SEEDS.read_bytes().splitlines()[0],
                                          Origin("t", 0, 0)).outputs[0].value)
    check_record(clean)
    renamed = {("published" if k == "published_at" else k): v for k, v in clean.items()}
    for broken in (renamed, {**clean, "word_count": "12"}, {**clean, "extra": 1},
                   {**clean, "published_at": "2018-05-31"}):
        with pytest.raises(AssertionError):
            check_record(broken)


def test_every_raw_message_decode_accepts_meets_the_raw_schema() -> None:
    pipeline = Pipeline(max_message_bytes=5_000_000, clock=lambda: NOW)
    raw = validator("raw")
    lines = gzip.decompress(INPUT.read_bytes()).splitlines()
    accepted = [line for line in lines if isinstance(pipeline.decode(line), RawArticle)]
    assert len(accepted) > 700
    for line in accepted:
        assert raw.is_valid(orjson.loads(line)), line[:200]
    for refused in ({"text": "no url"}, {"url": 5}, {"url": "notaurl"}, ["url"]):
        assert not raw.is_valid(refused)
