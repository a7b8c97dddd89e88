"""Batch handling shared by ``run`` and ``process``: decode, fetch what needs fetching, prepare.

Fetches of one batch run concurrently (bounded by the fetcher's limits); the CPU stages then run
in input order, so the output order, and every stateful decision, follows the input order. The
pieces are separate so the Kafka worker can prepare the messages that need no fetch at once and
the URL-only ones when their pages arrive.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

from service.deadline import CpuDeadline, DeadlineExceeded
from service.edges.fetch import FetchedPage, Fetcher
from service.pipeline import Pipeline, Result
from service.records import Origin, RawArticle, Reason, Rejection
from service.stages.decode import needs_fetch
from service.timefmt import iso_utc

Message = tuple[bytes | None, Origin]


async def prepare_batch(pipeline: Pipeline, fetcher: Fetcher | None,
                        messages: Sequence[Message], deadline_s: float = 0.0) -> list[Result]:
    """Results in input order; each message's CPU stages get ``deadline_s`` (0: no deadline)."""
    decoded = decode_batch(pipeline, messages)
    if fetcher is not None:
        await fetch_pages(pipeline, fetcher, decoded, wanting_fetch(decoded))
    return await prepare_decoded(pipeline, messages, decoded, deadline_s)


def decode_batch(pipeline: Pipeline, messages: Sequence[Message]) -> list[RawArticle | Rejection]:
    return [pipeline.decode(value) for value, _ in messages]


def wanting_fetch(decoded: Sequence[RawArticle | Rejection]) -> list[int]:
    """Indexes of the messages whose body must be fetched (URL-only)."""
    return [i for i, raw in enumerate(decoded) if isinstance(raw, RawArticle) and needs_fetch(raw)]


async def fetch_pages(pipeline: Pipeline, fetcher: Fetcher,
                      decoded: list[RawArticle | Rejection], wanted: Sequence[int]) -> None:
    """Fetch the pages of ``decoded[i]`` for ``i`` in ``wanted`` concurrently, in place."""
    pages = await asyncio.gather(*(fetcher.fetch(_url(decoded[i])) for i in wanted))
    fetched_at = iso_utc(pipeline.clock())
    for index, page in zip(wanted, pages, strict=True):
        decoded[index] = _with_page(decoded[index], page, fetched_at)


async def prepare_decoded(pipeline: Pipeline, messages: Sequence[Message],
                          decoded: Sequence[RawArticle | Rejection],
                          deadline_s: float) -> list[Result]:
    """The CPU stages of decoded (and fetched) messages, in input order."""
    results = []
    for (value, origin), raw in zip(messages, decoded, strict=True):
        results.append(_prepare_within(pipeline, value, origin, raw, deadline_s))
        await asyncio.sleep(0)  # let heartbeats, acks and /healthz run between articles
    return results


def _prepare_within(pipeline: Pipeline, value: bytes | None, origin: Origin,
                    raw: RawArticle | Rejection, deadline_s: float) -> Result:
    try:
        with CpuDeadline(deadline_s):
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
