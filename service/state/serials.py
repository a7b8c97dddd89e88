"""A map from 64-bit keys to article serials in two numpy arrays.

The store finds an article by its id and the first article with some content through it. A dict
costs about 90 bytes an entry there (its slot and a Python int for each key and serial); this
table costs 16 bytes a slot at a load of at most one half, and grows by doubling with the
articles it holds.

Linear probing without wrap-around: a key is looked for from its home slot (its low bits) up to
the first empty slot, and a tail of spare slots past the last home takes what spills over, so
deleting (backward shift) and rebuilding (sorted by home) need no modular arithmetic. Keys may
repeat (ids are hashed): the caller tells matches apart by the serials.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_MIN_HOMES = 1024
_EMPTY = -1


class SerialTable:
    """Serials by 64-bit key, several per key allowed."""

    def __init__(self, homes: int = _MIN_HOMES) -> None:
        self.count = 0
        self._allocate(homes)

    def _allocate(self, homes: int) -> None:
        self._mask = homes - 1
        tail = max(64, homes >> 6)
        self._keys: npt.NDArray[np.uint64] = np.zeros(homes + tail, dtype=np.uint64)
        self._serials: npt.NDArray[np.int64] = np.full(homes + tail, _EMPTY, dtype=np.int64)

    def serials(self, key: int) -> list[int]:
        """Serials held under ``key``, in no particular order."""
        keys, serials = self._keys, self._serials
        at = key & self._mask
        found = []
        while (serial := int(serials[at])) != _EMPTY:
            if int(keys[at]) == key:
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
        self._keys[at] = key
        serials[at] = serial
        self.count += 1

    def add_many(self, keys: npt.NDArray[np.uint64], serials: npt.NDArray[np.int64]) -> None:
        """``add`` of each pair, at once (a restore)."""
        held = self._serials != _EMPTY
        keys = np.concatenate((self._keys[held], keys))
        serials = np.concatenate((self._serials[held], serials))
        homes = self._mask + 1
        while 2 * len(keys) > homes:
            homes *= 2
        self._place(keys, serials, homes)

    def remove(self, key: int, serial: int) -> None:
        """Forget the pair (it must be held), shifting back the entries it displaced."""
        keys, serials = self._keys, self._serials
        at = key & self._mask
        while int(serials[at]) != serial or int(keys[at]) != key:
            at += 1
        hole, at = at, at + 1
        while (moving := int(serials[at])) != _EMPTY:
            if int(keys[at]) & self._mask <= hole:  # its home is at or before the hole
                keys[hole], serials[hole] = keys[at], moving
                hole = at
            at += 1
        serials[hole] = _EMPTY
        self.count -= 1

    def _rebuild(self, homes: int) -> None:
        held = self._serials != _EMPTY
        self._place(self._keys[held], self._serials[held], homes)

    def _place(self, keys: npt.NDArray[np.uint64], serials: npt.NDArray[np.int64],
               homes: int) -> None:
        """Fill a table of ``homes`` home slots with these pairs at once: sorted by home, each
        goes to its home or just past the slot of the one before it."""
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
        self._keys[at] = keys[order]
        self._serials[at] = serials[order]
        self.count = len(keys)
