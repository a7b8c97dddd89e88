"""Shared fixtures: a real Tansu broker on a free loopback port, paths to the samples."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.edges.broker import EmbeddedBroker, free_port

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ARTICLE_INGEST_SHARED", REPO.parent / "shared"))
SEEDS = REPO / "service" / "samples" / "seeds.jsonl"


def shared_path(relative: str) -> Path:
    """A file under ../shared, or a skip that says why (the dev data lives outside the repo)."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"development data not found at {path}")
    return path


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    """A fresh Tansu broker for one test, stopped (by its own pid) afterwards."""
    with EmbeddedBroker(free_port()) as running:
        yield running
