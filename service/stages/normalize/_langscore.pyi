"""The compiled build's language scoring kernel (_langscore.c)."""

import numpy as np

def score(scores: np.ndarray, text: bytes, window: int, moves: np.ndarray, rows: np.ndarray,
          emits: np.ndarray, table: np.ndarray, priors: np.ndarray) -> int: ...
