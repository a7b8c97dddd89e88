"""The run-reading of sorted arrays the stages and the state share, against ``np.unique``."""

import numpy as np
import pytest

from service.stages.runs import run_lengths, run_opens


@pytest.mark.parametrize("size", [0, 1, 2, 7, 100, 5000])
def test_runs_give_what_np_unique_gives(size: int) -> None:
    rng = np.random.default_rng(size)
    values = np.sort(rng.integers(0, max(1, size // 3), size=size))
    unique, first, counts = np.unique(values, return_index=True, return_counts=True)
    opens = run_opens(values)
    starts = opens.nonzero()[0]
    assert opens.dtype == np.bool_ and len(opens) == size
    assert values[opens].tolist() == unique.tolist()
    assert starts.tolist() == first.tolist()
    assert run_lengths(starts, size).tolist() == counts.tolist()


def test_a_grouped_array_need_not_be_ascending() -> None:
    grouped = np.array([5, 5, 1, 9, 9, 9])
    starts = run_opens(grouped).nonzero()[0]
    assert starts.tolist() == [0, 2, 3]
    assert run_lengths(starts, len(grouped)).tolist() == [2, 1, 3]
