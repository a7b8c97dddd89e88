"""Golden outputs: the offline ``process`` path over a fixed input, compared record for record.

A refactor must not change what the service emits. This runs ``tests/golden/input.jsonl.gz``
(committed: seeds, near-duplicate and story reports, crawler texts, HTML pages, malformed lines)
through ``process`` twice, with the default settings and with a ring small enough to evict, and
compares every clean, cluster and dead-letter record to ``tests/golden/*.jsonl``, byte for byte
but for wall-clock timestamps, after checking each against its shipped JSON Schema. When outputs
change on purpose, regenerate and commit them:

    python -m tests.golden_outputs --write
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import io
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import orjson

from service.app import process_file
from service.config import load_config
from tests.schemas import check_record

GOLDEN = Path(__file__).resolve().parent / "golden"
INPUT = GOLDEN / "input.jsonl.gz"
_WALL_CLOCK = ("processed_at", "assigned_at", "failed_at", "fetched_at")


@dataclass(frozen=True)
class Case:
    """One run of the input: its settings (as environment overrides) and the sinks it keeps."""

    name: str
    env: dict[str, str]
    sinks: tuple[str, ...]


CASES = (
    Case("default", {}, ("clean", "clusters", "dlq")),
    # 300 slots for 700-odd articles: eviction of articles and stories while deciding
    Case("small_ring", {"INGEST_STORIES__MAX_ARTICLES": "300"}, ("clusters",)),
)


def _stable(line: bytes) -> bytes:
    """The record, checked against its shipped schema, with its wall-clock timestamps blanked
    (present, but not compared)."""
    record = orjson.loads(line)
    check_record(record)
    for key in _WALL_CLOCK:
        if key in record:
            record[key] = "<wall clock>"
    return orjson.dumps(record)


def run_case(case: Case) -> dict[str, bytes]:
    """Each kept sink's records, one stable JSON object a line."""
    config = load_config(env={"INGEST_FETCH__ENABLED": "false", **case.env})
    source = io.BytesIO(gzip.decompress(INPUT.read_bytes()))
    with tempfile.TemporaryDirectory() as out:
        asyncio.run(process_file(config, source, "golden", Path(out)))
        return {sink: b"".join(_stable(line) + b"\n"
                               for line in (Path(out) / f"{sink}.jsonl").read_bytes().splitlines())
                for sink in case.sinks}


def golden_path(case: Case, sink: str) -> Path:
    return GOLDEN / f"{case.name}.{sink}.jsonl"


def differences() -> list[str]:
    """One line per sink whose records differ from the golden file (empty: all equal)."""
    found = []
    for case in CASES:
        for sink, produced in run_case(case).items():
            path = golden_path(case, sink)
            expected = path.read_bytes() if path.exists() else b""
            if produced != expected:
                found.append(f"{path.name}: {_first_difference(expected, produced)}")
    return found


def _first_difference(expected: bytes, produced: bytes) -> str:
    old, new = expected.splitlines(), produced.splitlines()
    for number, (before, after) in enumerate(zip(old, new, strict=False), start=1):
        if before != after:
            return (f"line {number} differs:\n  golden:   {before[:300]!r}\n"
                    f"  produced: {after[:300]!r}")
    return f"{len(old)} golden records, {len(new)} produced"


def write() -> None:
    for case in CASES:
        for sink, produced in run_case(case).items():
            golden_path(case, sink).write_bytes(produced)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="regenerate tests/golden/*.jsonl")
    if parser.parse_args().write:
        write()
        return 0
    found = differences()
    for line in found:
        sys.stderr.write(line + "\n")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
