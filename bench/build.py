"""The build a benchmark measures: by default the compiled one the container image ships.

``setup.py`` compiles the per-article core with mypyc when ``ARTICLE_INGEST_COMPILE=1``; a pure
checkout runs the same source interpreted. ``compiled_tree`` builds that wheel once per source
state (keyed by a hash of what the build reads) under ``bench/.cache/`` and lays it out as a tree
to run from: the compiled ``service`` package, with ``bench`` and ``tests`` linked from this
checkout, so ``python -m service``, ``python -m bench...`` and ``python -m tests...`` started in
it import the compiled modules.

    python -m bench.build        # build (or find) the tree and print its path
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
# What the wheel is built from besides service/ (whose default.toml links config/'s): a change
# to any of them is a new build.
_INPUTS = ("setup.py", "pyproject.toml")


class BuildError(RuntimeError):
    """The compiled build could not be made (no compiler, no index to fetch mypy from...)."""


def source_key() -> str:
    """A hash of every file the build reads."""
    digest = hashlib.sha256()
    files = sorted(p for p in (ROOT / "service").rglob("*") if p.is_file()
                   and "__pycache__" not in p.parts and p.suffix != ".so")
    for path in [*(ROOT / name for name in _INPUTS), *files]:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def compiled_tree() -> Path:
    """The tree of the compiled build of this checkout, built when not cached."""
    tree = CACHE / f"compiled-{source_key()}"
    if (tree / "service").is_dir():
        return tree
    CACHE.mkdir(parents=True, exist_ok=True)
    for stale in CACHE.glob("compiled-*"):  # builds of earlier source states
        shutil.rmtree(stale, ignore_errors=True)
    # setuptools builds in ./build and packs whatever lies there: a module an earlier build
    # compiled and this one does not would ship in the wheel, shadowing its source.
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as work:
        wheels, staged = Path(work) / "wheels", Path(work) / "tree"
        env = {**os.environ, "ARTICLE_INGEST_COMPILE": "1"}
        _pip(["wheel", "--no-deps", "-w", str(wheels), str(ROOT)], work, env)
        _pip(["install", "--no-deps", "--target", str(staged), *map(str, wheels.glob("*.whl"))],
             work, env)
        if not is_compiled(staged / "service"):
            raise BuildError("the wheel holds no compiled modules")
        for name in ("bench", "tests"):
            (staged / name).symlink_to(ROOT / name)
        try:
            staged.rename(tree)
        except OSError:  # another process built the same state meanwhile
            if not is_compiled(tree / "service"):
                raise
    return tree


def _pip(arguments: list[str], cwd: str, env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "-q", *arguments], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise BuildError(f"pip {arguments[0]} failed: {(done.stderr or done.stdout)[-2000:]}")


def is_compiled(package: Path) -> bool:
    """Whether the ``service`` package at ``package`` holds compiled modules."""
    return any((package / "stages").glob("*.so"))


if __name__ == "__main__":
    print(compiled_tree())
