"""The serial table answers as a dict of lists would, through collisions, deletions and growth."""

from __future__ import annotations

import random

import numpy as np

from service.state.serials import SerialTable


def _table(key_of_serial: dict[int, int]) -> SerialTable:
    """A table reading keys from ``key_of_serial``, as the store's columns are read."""
    return SerialTable(key_of_serial.__getitem__, lambda serials: np.array(
        [key_of_serial[s] for s in serials.tolist()], dtype=np.uint64))


def _held(table: SerialTable, model: dict[int, set[int]]) -> None:
    for key, serials in model.items():
        assert sorted(table.serials(key)) == sorted(serials)
    assert table.count == sum(len(serials) for serials in model.values())


def test_adds_and_removes_answer_as_a_dict_of_lists() -> None:
    rng = random.Random(5)
    # few homes (keys that differ only above bit 12 share them) and repeated keys
    keys = [rng.randrange(64) | rng.randrange(4) << 40 for _ in range(40)] + [2**64 - 1]
    key_of_serial: dict[int, int] = {}
    table, model = _table(key_of_serial), {key: set[int]() for key in keys}
    for serial in range(3000):
        key = key_of_serial[serial] = rng.choice(keys)
        table.add(key, serial)
        model[key].add(serial)
        if serial % 3 == 0:
            gone_key = rng.choice([k for k, held in model.items() if held])
            gone = rng.choice(sorted(model[gone_key]))
            assert table.remove(gone_key, gone)
            model[gone_key].discard(gone)
        if serial % 300 == 0:
            _held(table, model)
    _held(table, model)
    assert table.serials(12345) == []
    held_key = next(key for key, held in model.items() if held)
    key_of_serial[10**6] = held_key
    assert not table.remove(held_key, 10**6)  # not held: nothing changes
    _held(table, model)


def test_many_added_at_once_answer_as_added_one_by_one() -> None:
    rng = np.random.default_rng(3)
    keys = rng.integers(0, 2**64, size=5000, dtype=np.uint64)
    keys[::5] = keys[1]  # a key held many times
    key_of_serial = dict(enumerate(keys.tolist())) | {99_999: 7}
    one_by_one, at_once = _table(key_of_serial), _table(key_of_serial)
    at_once.add(7, 99_999)
    one_by_one.add(7, 99_999)
    for serial, key in enumerate(keys.tolist()):
        one_by_one.add(key, serial)
    at_once.add_many(np.arange(5000, dtype=np.int64))
    for key in [7, *keys[:50].tolist()]:
        assert sorted(at_once.serials(key)) == sorted(one_by_one.serials(key))
    assert at_once.count == one_by_one.count == 5001
