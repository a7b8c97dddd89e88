"""The periodic throughput line: what the worker did since the last one, from its own metrics.

An operator tailing the logs sees progress without a Prometheus; ``summarize`` reads the
counters every ``service.summary_interval_s`` and ``summary_fields`` (pure) turns two readings
into one log line's fields.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from prometheus_client import Counter, Gauge

from service.metrics import Metrics

log = logging.getLogger("service.summary")


def _sum(metric: Counter | Gauge, label: str | None = None) -> dict[str, float]:
    """A metric's samples summed, by one label's value (or all under "")."""
    totals: dict[str, float] = {}
    for family in metric.collect():
        for sample in family.samples:
            if sample.name.endswith(("_created", "_bucket")):
                continue
            key = sample.labels.get(label, "") if label else ""
            totals[key] = totals.get(key, 0.0) + sample.value
    return totals


def reading(metrics: Metrics) -> dict[str, float]:
    """The counters and gauges the summary line reports, now."""
    outcomes = _sum(metrics.articles, "outcome")
    return {
        "consumed": sum(_sum(metrics.messages_consumed).values()),
        "produced": sum(_sum(metrics.records_produced).values()),
        "clean": outcomes.get("clean", 0.0),
        "duplicate": outcomes.get("duplicate", 0.0),
        "dead_letter": outcomes.get("dead_letter", 0.0),
        "lag": sum(_sum(metrics.consumer_lag).values()),
        "in_flight": sum(_sum(metrics.in_flight).values()),
        "state_articles": sum(_sum(metrics.state_articles).values()),
        "clusters_active": sum(_sum(metrics.clusters_active).values()),
    }


_GAUGES = ("lag", "in_flight", "state_articles", "clusters_active")


def summary_fields(before: Mapping[str, float], after: Mapping[str, float],
                   seconds: float) -> dict[str, float | int]:
    """Counts in the interval, the consumption rate, and the gauges as they are now."""
    fields: dict[str, float | int] = {
        name: int(after[name] - before[name]) for name in after if name not in _GAUGES}
    fields["consumed_per_s"] = round(fields["consumed"] / seconds, 1) if seconds > 0 else 0.0
    fields.update({name: int(after[name]) for name in _GAUGES})
    fields["interval_s"] = round(seconds, 1)
    return fields


async def summarize(metrics: Metrics, interval_s: float) -> None:
    """Log one summary line every ``interval_s`` until cancelled (0: never)."""
    if interval_s <= 0:
        return
    loop = asyncio.get_running_loop()
    before, since = reading(metrics), loop.time()
    while True:
        await asyncio.sleep(interval_s)
        after, now = reading(metrics), loop.time()
        log.info("summary", extra=summary_fields(before, after, now - since))
        before, since = after, now
