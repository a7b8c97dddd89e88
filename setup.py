"""The build: pure Python by default; with ``ARTICLE_INGEST_COMPILE=1`` the per-article core is
compiled to C extensions by mypyc, as black and mypy ship theirs (the container image does so).

The compiled modules are the same typed source, so one code base serves both builds and the
pure one stays what a developer edits and debugs; ``tests/test_compiled.py`` checks that both
emit the same records."""

import os

from setuptools import setup

# The modules every article passes through (``python -m bench.bench_text`` spends its time
# there). Left out: settings (dataclasses read through their class), records (frozen dataclasses
# that cross process pools: a compiled one does not unpickle), language (its identifier subclasses
# py3langid's, which mypyc cannot), and the edges and runtime (I/O bound) but for the partitioner,
# which hashes every record's key.
COMPILED = [
    "service/pipeline.py",
    "service/timefmt.py",
    "service/edges/partitioner.py",
    "service/runtime/routing.py",
    "service/stages/cluster.py",
    "service/stages/decode.py",
    "service/stages/dedup.py",
    "service/stages/features.py",
    "service/stages/fingerprint.py",
    "service/stages/runs.py",
    "service/stages/tokens.py",
    "service/stages/normalize/html.py",
    "service/stages/normalize/lines.py",
    "service/stages/normalize/memory.py",
    "service/stages/normalize/metadata.py",
    "service/stages/normalize/repair.py",
    "service/stages/normalize/text.py",
    "service/stages/normalize/urls.py",
    "service/state/codec.py",
    "service/state/decisions.py",
    "service/state/refine.py",
    "service/state/serials.py",
    "service/state/store.py",
    "service/state/stories.py",
]


# Kernels written in C, where a loop over bytes and table rows is the whole work and mypyc's
# boxed integers and NumPy's temporaries cost more than it: each has its NumPy or Python path
# beside it that a pure checkout runs, and tests/test_compiled.py checks that both give the same
# results. service/stages/kernels.py loads them.
KERNELS = {"service.stages._units": "service/stages/_units.c",
           "service.stages._bands": "service/stages/_bands.c",
           "service.stages._terms": "service/stages/_terms.c",
           "service.stages.normalize._langscore": "service/stages/normalize/_langscore.c"}
KERNEL_HEADER = "service/stages/_buffers.h"  # what they share


def compiled_modules() -> list[object]:
    if os.environ.get("ARTICLE_INGEST_COMPILE", "0") != "1":
        return []
    from mypyc.build import mypycify
    from setuptools import Extension

    kernels = [Extension(name, [source], depends=[KERNEL_HEADER], extra_compile_args=["-O3"])
               for name, source in KERNELS.items()]
    return [*mypycify(COMPILED, opt_level="3", group_name="article_ingest"), *kernels]


setup(ext_modules=compiled_modules())
