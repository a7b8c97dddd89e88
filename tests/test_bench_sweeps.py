"""The sweep tools that the tuned values' comments cite: a swept value reaches the code."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench import sweep_constant, sweep_normalize
from service.stages.normalize import text


def test_a_constant_read_at_import_is_rewritten_in_a_copy() -> None:
    show = [sys.executable, "-c", "from service.stages import dedup; "
            "print(dedup.PERMUTATIONS, dedup.BANDS)"]
    assert sweep_constant.run_with("service/stages/dedup.py", {"PERMUTATIONS": "64"}, show) \
        == "64 21"
    with pytest.raises(SystemExit, match="NO_SUCH"):
        sweep_constant.run_with("service/stages/dedup.py", {"NO_SUCH": "1"}, show)


def test_a_swept_text_constant_is_restored(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float] = []
    monkeypatch.setattr(sweep_normalize, "load_pages", lambda shared, splits: [])
    monkeypatch.setattr(sweep_normalize, "run_ours", lambda pages: seen.append(text.THRESHOLD))
    monkeypatch.setattr(sweep_normalize, "seed_failures", lambda shared: [])
    monkeypatch.setattr(sweep_normalize, "site_folds", lambda pages, folds: [])
    sweep_normalize.sweep("text.THRESHOLD", ["0.25", "0.75"], [], 5, tmp_path)
    assert seen == [0.25, 0.75] and text.THRESHOLD == 0.5
    assert "text.THRESHOLD=0.75" in capsys.readouterr().out
