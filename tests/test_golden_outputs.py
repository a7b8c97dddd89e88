"""The offline pipeline still emits the golden records (see tests/golden_outputs.py)."""

from __future__ import annotations

from tests.golden_outputs import differences


def test_process_emits_the_golden_records() -> None:
    found = differences()
    hint = "outputs changed (if on purpose: python -m tests.golden_outputs --write)"
    assert not found, "\n".join([hint, *found])
