"""Batch handling shared by ``run`` and ``process``: decode, fetch what needs fetching, prepare.

Fetches of one batch run concurrently (bounded by the fetcher's limits); the CPU stages then run
in input order, so the output order, and every stateful decision, follows the input order.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from service.pipeline import Pipeline, Result
from service.records import Origin, RawArticle, Rejection
from service.stages.decode import needs_fetch
from service.timefmt import iso_utc

if TYPE_CHECKING:
    from service.edges.fetch import FetchedPage, Fetcher


async def prepare_batch(pipeline: Pipeline, fetcher: Fetcher | None,
                        messages: Sequence[tuple[bytes | None, Origin]]) -> list[Result]:
    decoded: list[RawArticle | Rejection] = [pipeline.decode(value) for value, _ in messages]
    if fetcher is not None:
        wanted = [i for i, raw in enumerate(decoded)
                  if isinstance(raw, RawArticle) and needs_fetch(raw)]
        pages = await asyncio.gather(*(fetcher.fetch(_url(decoded[i])) for i in wanted))
        fetched_at = iso_utc(pipeline.clock())
        for index, page in zip(wanted, pages, strict=True):
            decoded[index] = _with_page(decoded[index], page, fetched_at)
    return [pipeline.prepare(value, origin, raw)
            for (value, origin), raw in zip(messages, decoded, strict=True)]


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
