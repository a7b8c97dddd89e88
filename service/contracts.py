"""The JSON Schemas (2020-12) of every topic's records, shipped in the package.

``service/schemas/<name>.json``: ``raw`` (what crawlers send), ``clean`` (``article.clean/1``),
``cluster`` (``article.cluster/1``) and ``dlq`` (``article.dlq/1``). Within a version, fields
may be added, never renamed, retyped or removed (docs/schemas.md).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import orjson

from service.records import CLEAN_SCHEMA, CLUSTER_SCHEMA, DLQ_SCHEMA

SCHEMA_NAMES = ("raw", "clean", "cluster", "dlq")
# The name each record carries in its "schema" field (and Kafka header), to its schema file.
BY_RECORD_SCHEMA = {CLEAN_SCHEMA: "clean", CLUSTER_SCHEMA: "cluster", DLQ_SCHEMA: "dlq"}


def schema_text(name: str) -> str:
    """The schema file of ``name`` (one of ``SCHEMA_NAMES``) as shipped; KeyError otherwise."""
    if name not in SCHEMA_NAMES:
        raise KeyError(name)
    return (resources.files("service") / "schemas" / f"{name}.json").read_text("utf-8")


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads(schema_text(name))
    return loaded
