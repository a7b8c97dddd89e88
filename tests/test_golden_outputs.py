"""The offline pipeline still emits the golden records (see tests/golden_outputs.py), on this CPU
and as it would on an older one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.golden_outputs import differences

_ROOT = Path(__file__).resolve().parent.parent
# What numpy dispatches above its x86-64-v2 baseline (AVX2, FMA, AVX-512), and OpenBLAS's kernel
# for a CPU without them: the outputs must not depend on which instruction set ran the sums.
_OLDER_CPU = {"NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
              "OPENBLAS_CORETYPE": "Nehalem"}


def test_process_emits_the_golden_records() -> None:
    found = differences()
    hint = "outputs changed (if on purpose: python -m tests.golden_outputs --write)"
    assert not found, "\n".join([hint, *found])


def test_the_golden_records_do_not_depend_on_the_cpus_instruction_set() -> None:
    done = subprocess.run([sys.executable, "-m", "tests.golden_outputs"], cwd=_ROOT,
                          env={**os.environ, **_OLDER_CPU}, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
