"""Log hygiene: the Kafka client's retry storms are summarized, not repeated ten times a second."""

from __future__ import annotations

import logging

from service.logs import RepeatLimit


def _record(name: str, template: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, template, args, None)


def test_one_record_per_template_passes_each_period_with_the_count_held_back() -> None:
    now = [0.0]
    limit = RepeatLimit(every_s=30.0, clock=lambda: now[0])
    template = "OffsetCommit failed for group %s on partition %s"
    passed = []
    for step in range(100):  # ten a second for ten seconds
        now[0] = step / 10
        passed.append(limit.filter(_record("aiokafka.consumer.group_coordinator", template,
                                           "g", step)))
    assert passed.count(True) == 1
    now[0] = 31.0
    summary = _record("aiokafka.consumer.group_coordinator", template, "g", 100)
    assert limit.filter(summary) and summary.repeated == 99  # type: ignore[attr-defined]
    assert limit.filter(_record("aiokafka", "another message %s", 1))


def test_our_own_records_are_never_held_back() -> None:
    limit = RepeatLimit(every_s=30.0, clock=lambda: 0.0)
    assert all(limit.filter(_record("service.kafka", "commit failed")) for _ in range(5))
