"""The compiled build (setup.py with ``ARTICLE_INGEST_COMPILE=1``, what the container image ships)
emits what the source emits.

mypyc compiles the same typed source, but it also enforces the annotations at run time and binds
calls within a module early, so a compiled module can fail where the interpreted one passes. The
golden outputs (tests/golden_outputs.py: every kind of input, a ring that evicts) are run from
the compiled build's tree, in their own process, after the checks of its C kernels (setup.py's
``KERNELS``) against the NumPy paths a pure checkout runs."""

from __future__ import annotations

import subprocess
import sys

from bench.build import compiled_tree, is_compiled

_CHECK = """
import sys
import service.stages.normalize.text, service.state.decisions
assert all(m.__file__.endswith(".so") for m in (service.stages.normalize.text,
                                                  service.state.decisions)), "not compiled"
from tests.test_kernels import check_kernels
check_kernels()
from tests.golden_outputs import main
sys.exit(main())
"""


def test_the_compiled_build_emits_the_golden_records() -> None:
    tree = compiled_tree()  # built once per source state (cached under bench/.cache)
    assert is_compiled(tree / "service")
    done = subprocess.run([sys.executable, "-c", _CHECK], cwd=tree, capture_output=True,
                          text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
