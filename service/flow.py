"""Batch handling shared by ``run`` and ``process``: decode, fetch what needs fetching, prepare.

Fetches of one batch run concurrently (bounded by the fetcher's limits); the CPU stages then run
in input order, so the output order, and every stateful decision, follows the input order.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from service.deadline import DeadlineExceeded, cpu_deadline
from service.pipeline import Pipeline, Result
from service.records import Origin, RawArticle, Reason, Rejection
from service.stages.decode import needs_fetch
from service.timefmt import iso_utc

if TYPE_CHECKING:
    from service.edges.fetch import FetchedPage, Fetcher


async def prepare_batch(pipeline: Pipeline, fetcher: Fetcher | None,
                        messages: Sequence[tuple[bytes | None, Origin]],
                        deadline_s: float = 0.0) -> list[Result]:
    """Results in input order; each message's CPU stages get ``deadline_s`` (0: no deadline)."""
    decoded: list[RawArticle | Rejection] = [pipeline.decode(value) for value, _ in messages]
    if fetcher is not None:
        wanted = [i for i, raw in enumerate(decoded)
                  if isinstance(raw, RawArticle) and needs_fetch(raw)]
        pages = await asyncio.gather(*(fetcher.fetch(_url(decoded[i])) for i in wanted))
        fetched_at = iso_utc(pipeline.clock())
        for index, page in zip(wanted, pages, strict=True):
            decoded[index] = _with_page(decoded[index], page, fetched_at)
    results = []
    for (value, origin), raw in zip(messages, decoded, strict=True):
        results.append(_prepare_within(pipeline, value, origin, raw, deadline_s))
        await asyncio.sleep(0)  # let heartbeats, acks and /healthz run between articles
    return results


def _prepare_within(pipeline: Pipeline, value: bytes | None, origin: Origin,
                    raw: RawArticle | Rejection, deadline_s: float) -> Result:
    try:
        with cpu_deadline(deadline_s):
            return pipeline.prepare(value, origin, raw)
    except DeadlineExceeded:
        detail = f"processing took longer than limits.message_deadline_s ({deadline_s} s)"
        return pipeline.reject(Rejection(Reason.DEADLINE_EXCEEDED, detail, "normalize"),
                               origin, value)


def _url(raw: RawArticle | Rejection) -> str:
    assert isinstance(raw, RawArticle)
    return raw.url


def _with_page(raw: RawArticle | Rejection, page: FetchedPage | Rejection,
               fetched_at: str) -> RawArticle | Rejection:
    """The fetched page becomes the body, its final address (after redirects) the ``url``, and
    the fetch time the ``fetched_at`` unless the crawler gave one."""
    if isinstance(raw, Rejection):
        return raw
    if isinstance(page, Rejection):
        return page
    return dataclasses.replace(raw, url=page.final_url, html=page.html,
                               fetched_at=raw.fetched_at or fetched_at)
