"""Checks every emitted record against the schema it names, as shipped in the package."""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from service.contracts import BY_RECORD_SCHEMA, schema


@cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema(name))


def check_record(record: Any) -> None:
    """AssertionError unless ``record`` validates against the schema its ``schema`` field names
    and every field it carries is described there (a field we add goes in the schema too)."""
    assert isinstance(record, dict), record
    name = BY_RECORD_SCHEMA[record["schema"]]
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator(name).iter_errors(record)]
    assert not errors, f"{record['schema']}: {errors}"
    undescribed = set(record) - set(schema(name)["properties"])
    assert not undescribed, f"{record['schema']} fields missing from its schema: {undescribed}"
