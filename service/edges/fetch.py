"""TEMPORARY placeholder written by the lead so end-to-end tests can import; the fetch engineer
replaces this whole file (overwrite it freely)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.records import Reason, Rejection


@dataclass(frozen=True)
class FetchedPage:
    final_url: str
    html: str


class Fetcher:
    def __init__(self, config: Any, metrics: Any) -> None:
        self.config = config

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def fetch(self, url: str) -> FetchedPage | Rejection:
        return Rejection(Reason.FETCH_FAILED, "fetching is not implemented yet", "fetch")
