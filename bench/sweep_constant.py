"""Score values of a module-level constant that code reads when it is imported (array sizes,
hash seeds: ``dedup.PERMUTATIONS``), which setting it at run time would not reach.

    python -m bench.sweep_constant service/stages/dedup.py ROWS 2 4 --with PERMUTATIONS=64 \
        -- python -m bench.eval_neardup

For each value, ``service/`` and ``bench/`` are copied to a temporary directory, the line
``NAME = ...`` of FILE is rewritten to ``NAME = VALUE``, and the command runs there (so it
imports the copy); its last output line (or the first holding --line TEXT) is printed after the
value. Commands run from the repository root, as ``python -m bench.<tool>``. FILE may be
``service/default.toml`` too (the copy is a file, not the link), for a setting's effect on a
figure of a bench tool.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_with(file: str, values: dict[str, str], command: list[str], line: str = "") -> str:
    """The last line ``command`` prints (the first holding ``line``, if given) with each
    ``name = value`` of ``values`` in ``file``."""
    with tempfile.TemporaryDirectory(prefix="sweep-") as work:
        for folder in ("service", "bench"):
            shutil.copytree(ROOT / folder, Path(work) / folder,
                            ignore=shutil.ignore_patterns("__pycache__", ".cache"))
        target = Path(work) / file
        source = target.read_text(encoding="utf-8")
        for name, value in values.items():
            pattern = re.compile(rf"^{re.escape(name)} = .*$", re.MULTILINE)
            if len(pattern.findall(source)) != 1:
                raise SystemExit(f"{file}: expected one line '{name} = ...'")
            source = pattern.sub(f"{name} = {value}", source)
        target.write_text(source, encoding="utf-8")
        done = subprocess.run(command, cwd=work, capture_output=True, text=True, check=False)
        lines = (done.stdout.strip() or done.stderr.strip() or "(no output)").splitlines()
        if done.returncode != 0:
            return f"failed: {lines[-1]}"
        return next((text for text in lines if line in text), "(no such line)") if line \
            else lines[-1]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    at = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="a module under service/, e.g. service/stages/dedup.py")
    parser.add_argument("name")
    parser.add_argument("values", nargs="+")
    parser.add_argument("--with", dest="held", action="append", default=[], metavar="NAME=VALUE",
                        help="another constant of FILE held at a value for the whole sweep")
    parser.add_argument("--line", default="", metavar="TEXT",
                        help="print the first output line holding TEXT (default: the last)")
    args = parser.parse_args(argv[:at])
    held = dict(item.split("=", 1) for item in args.held)
    command = argv[at + 1:]
    if not command:
        parser.error("give the command that prints the figure after --")
    if command[0] == "python":
        command[0] = sys.executable
    for value in args.values:
        line = run_with(args.file, {**held, args.name: value}, command, args.line)
        print(f"{args.name}={value}: {line}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
