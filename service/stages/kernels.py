"""The compiled build's C kernels (setup.py's ``KERNELS``), or None in a pure checkout.

A kernel does what a NumPy path beside it does, where on an article's few hundred values the
NumPy calls' fixed costs, temporaries or out-of-cache table reads are most of the work. The
stages call the kernel when it is built and their NumPy path otherwise; tests/test_compiled.py
holds the two to the same results."""

from __future__ import annotations

import importlib
from types import ModuleType


def _built(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:  # a pure checkout: not built
        return None


# A text's unit kinds and runs, unit, string and shingle hashes, MinHash and SimHash, a line's
# character counts, title-casing and an ASCII line's word signals (``_units.c``): tokens,
# fingerprint, dedup and normalize's lines.
units = _built("service.stages._units")
# The LSH band keys and table lookup (``_bands.c``): dedup.band_keys, BandIndex.candidates.
bands = _built("service.stages._bands")
# An article's terms and sparse term vectors (``_terms.c``): name and number spans, name units
# and names' terms, and the ids gathered from an article's parts for cluster.term_counts, the
# strongest terms for cluster.strongest, unit vectors for cluster.weigh, dot products for
# cluster.cosines, sums by term for cluster.term_sums, votes for cluster.TermIndex.candidates,
# document frequencies for cluster.DocumentFrequencies.add.
terms = _built("service.stages._terms")
# The language model's walk and scores (``normalize/_langscore.c``): normalize.language.
langscore = _built("service.stages.normalize._langscore")
