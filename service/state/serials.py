"""A map from 64-bit keys to article serials in one numpy array.

The store finds an article by its id and the first article with some content through it. A dict
costs about 90 bytes an entry there (its slot and a Python int for each key and serial); this
table holds only serials, 8 bytes a slot at a load of at most one half, and grows by doubling
with the articles it holds. A serial's key is read back from the store's columns (``key_of``),
which hold it anyway.

Linear probing without wrap-around: a key is looked for from its home slot (its low bits) up to
the first empty slot, and a tail of spare slots past the last home takes what spills over, so
deleting (backward shift) and rebuilding (sorted by home) need no modular arithmetic. Keys may
repeat (ids are hashed): the caller tells matches apart by the serials.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
_MIN_HOMES = 1024
_EMPTY = -1


class SerialTable:
    """Serials by 64-bit key, several per key allowed; each serial held at most once."""

    def __init__(self, key_of: Callable[[int], int], keys_of: Callable[[I64], U64]) -> None:
        """``key_of``: a held serial's key; ``keys_of``: the same for an array of them."""
        self._key_of, self._keys_of = key_of, keys_of
        self.count = 0
        self._allocate(_MIN_HOMES)

    def _allocate(self, homes: int) -> None:
        self._mask = homes - 1
        self._serials: I64 = np.full(homes + max(64, homes >> 6), _EMPTY, dtype=np.int64)

    def serials(self, key: int) -> list[int]:
        """Serials held under ``key``, in no particular order."""
        serials, key_of = self._serials, self._key_of
        at = key & self._mask
        found = []
        while (serial := int(serials[at])) != _EMPTY:
            if key_of(serial) == key:
                found.append(serial)
            at += 1
        return found

    def add(self, key: int, serial: int) -> None:
        if 2 * (self.count + 1) > self._mask + 1:
            self._rebuild(2 * (self._mask + 1))
        serials = self._serials
        at = key & self._mask
        while at < len(serials) and serials[at] != _EMPTY:
            at += 1
        if at == len(serials):  # spilled past the tail: more homes
            self._rebuild(2 * (self._mask + 1))
            self.add(key, serial)
            return
        serials[at] = serial
        self.count += 1

    def add_many(self, serials: I64) -> None:
        """``add`` of each serial (under its key, ``keys_of``), at once: a restore."""
        serials = np.concatenate((self._serials[self._serials != _EMPTY], serials))
        homes = self._mask + 1
        while 2 * len(serials) > homes:
            homes *= 2
        self._place(serials, homes)

    def remove(self, key: int, serial: int) -> bool:
        """Forget ``serial`` if it is held (``key``: its key), shifting back the entries it
        displaced; whether it was held."""
        serials, key_of = self._serials, self._key_of
        at = key & self._mask
        while (held := int(serials[at])) != serial:
            if held == _EMPTY:
                return False
            at += 1
        hole, at = at, at + 1
        while (moving := int(serials[at])) != _EMPTY:
            if key_of(moving) & self._mask <= hole:  # its home is at or before the hole
                serials[hole] = moving
                hole = at
            at += 1
        serials[hole] = _EMPTY
        self.count -= 1
        return True

    def _rebuild(self, homes: int) -> None:
        self._place(self._serials[self._serials != _EMPTY], homes)

    def _place(self, serials: I64, homes: int) -> None:
        """Fill a table of ``homes`` home slots with these serials at once: sorted by home,
        each goes to its home or just past the slot of the one before it."""
        keys = self._keys_of(serials)
        while True:
            self._allocate(homes)
            home = (keys & np.uint64(self._mask)).astype(np.int64)
            order = np.argsort(home, kind="stable")
            home = home[order]
            rank = np.arange(len(home))
            at = np.maximum.accumulate(home - rank) + rank if len(home) else home
            if not len(at) or at[-1] < len(self._serials):
                break
            homes *= 2
        self._serials[at] = serials[order]
        self.count = len(serials)
