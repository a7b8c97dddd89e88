"""``article-ingest process``: the same pipeline offline, files in and out."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import orjson

from bench.eval_stories import bcubed
from tests.conftest import REPO, SEEDS, shared_path

MALFORMED = [b"this is not json", b'{"title": "no url"}', b"[1, 2, 3]",
             b'{"url": "https://example.com/empty", "text": "   "}']


def _run(input_bytes: bytes, out: Path, *extra: str,
         **settings: str) -> subprocess.CompletedProcess[bytes]:
    env = {"PATH": "/usr/bin:/bin", "INGEST_FETCH__ENABLED": "false",
           **{f"INGEST_{key.upper()}": value for key, value in settings.items()}}
    return subprocess.run([sys.executable, "-m", "service", "process", "-", "--out", str(out),
                           *extra], input=input_bytes, env=env, cwd=REPO, capture_output=True,
                          timeout=120)


def _records(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_seeds_become_one_story_and_malformed_lines_dead_letters(tmp_path: Path) -> None:
    done = _run(SEEDS.read_bytes() + b"\n".join(MALFORMED) + b"\n", tmp_path)
    assert done.returncode == 0, done.stderr
    clean = _records(tmp_path / "clean.jsonl")
    clusters = _records(tmp_path / "clusters.jsonl")
    dlq = _records(tmp_path / "dlq.jsonl")
    assert len(clean) == 5 and len(clusters) == 5 and len(dlq) == 4
    assert len({event["cluster_id"] for event in clusters}) == 1
    assert [event["is_new_cluster"] for event in clusters] == [True, False, False, False, False]
    assert all(event["duplicate_kind"] is None for event in clusters)
    assert sorted(str(letter["reason"]) for letter in dlq) == [
        "invalid_json", "missing_url", "no_content", "not_an_object"]
    assert {letter["offset"] for letter in dlq} == {5, 6, 7, 8}


def test_same_input_gives_the_same_records(tmp_path: Path) -> None:
    data = SEEDS.read_bytes() + SEEDS.read_bytes()
    first, second = tmp_path / "a", tmp_path / "b"
    assert _run(data, first).returncode == 0 and _run(data, second).returncode == 0

    def stable(path: Path) -> list[dict[str, object]]:
        drop = {"processed_at", "assigned_at", "failed_at"}
        return [{k: v for k, v in record.items() if k not in drop} for record in _records(path)]

    for name in ("clean.jsonl", "clusters.jsonl", "dlq.jsonl"):
        assert stable(first / name) == stable(second / name)
    events = _records(first / "clusters.jsonl")
    # A repeated message (same id) is a redelivery, not a new article: same decision again.
    assert [(e["article_id"], e["cluster_id"], e["duplicate_of"]) for e in events[5:]] == [
        (e["article_id"], e["cluster_id"], e["duplicate_of"]) for e in events[:5]]


def test_the_end_of_the_input_settles_the_stories(tmp_path: Path) -> None:
    folder = shared_path("data/stories")
    data = gzip.decompress((folder / "dev.jsonl.gz").read_bytes())
    labels = orjson.loads((folder / "dev.labels.json").read_bytes())
    settled, online = tmp_path / "settled", tmp_path / "online"
    assert _run(data, settled).returncode == 0
    assert _run(data, online, stories__settle_passes="0").returncode == 0
    with_settling = _records(settled / "clusters.jsonl")
    without = _records(online / "clusters.jsonl")
    # the same decisions while the input flows, then the moves of the settled state
    assert with_settling[:len(without)] == [
        {**event, "assigned_at": with_settling[at]["assigned_at"]}
        for at, event in enumerate(without)]
    tail = with_settling[len(without):]
    assert tail and all(event["reason"] == "reassigned" for event in tail)

    def f1(events: list[dict[str, object]]) -> float:
        latest = {str(event["article_id"]): str(event["cluster_id"]) for event in events}
        return bcubed(latest, {item: str(labels[item]["event"]) for item in latest})[2]

    assert f1(with_settling) > f1(without) + 0.005


def test_missing_input_file_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "service", "process", str(tmp_path / "none"),
                           "--out", str(tmp_path)], cwd=REPO, capture_output=True, timeout=60)
    assert done.returncode == 2
    assert b"input" in done.stderr
