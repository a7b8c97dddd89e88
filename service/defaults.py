"""The shipped defaults: every setting's default is written once, in ``config/default.toml``
(shipped in the package as ``service/default.toml``), beside the comment that says what it does
and how a tuned value was measured. The settings dataclasses (``service.config``,
``NormalizeSettings``, ``StorySettings``) take their defaults from it, one section each.

A leaf module (it imports nothing of the service), so every layer may read it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

PATH = Path(__file__).with_name("default.toml")
_SECTIONS: dict[str, dict[str, Any]] = tomllib.loads(PATH.read_text(encoding="utf-8"))


def section(name: str) -> dict[str, Any]:
    """The shipped defaults of ``[name]``, by key (a key missing here fails at import)."""
    return _SECTIONS[name]
