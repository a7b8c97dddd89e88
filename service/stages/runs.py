"""Runs of equal values in a sorted array: where each opens and how long it is.

The stages and the state group by sorting (term ids, band hits, n-gram features, stories' members)
and then read the runs; on the article-sized arrays of the hot path these few passes cost less
than ``np.unique``'s layers."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def run_opens(ordered: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """True where a run of equal values opens in ``ordered`` (sorted, or grouped by value)."""
    opens = np.empty(len(ordered), dtype=bool)
    opens[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=opens[1:])
    return opens


def run_lengths(starts: npt.NDArray[np.intp], total: int) -> npt.NDArray[np.intp]:
    """The length of each run opening at ``starts`` in an array of ``total`` items.
    (``np.diff`` with an append costs more.)"""
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:]
    ends[-1:] = total
    lengths: npt.NDArray[np.intp] = ends - starts
    return lengths
