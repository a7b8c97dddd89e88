"""Pure processing stages, in pipeline order: decode, normalize, fingerprint, features, dedup,
cluster (``tokens`` is the word splitter they share, ``runs`` the run-reading of sorted
arrays they and the state share, ``kernels`` the compiled build's C loops that some of them
call in place of their NumPy paths).

Each stage is a module, and its module is its public surface: several are named after their
entry function (``decode.decode``, ``normalize.normalize``, ``fingerprint.fingerprint``), so the
package re-exports modules rather than functions, which would shadow them.
"""

__all__ = ["cluster", "decode", "dedup", "features", "fingerprint", "normalize", "runs", "tokens"]
