"""Duplicate and story-cluster state of one shard, with its changelog.

``StoryState`` is what the pipeline talks to; ``StorySettings`` its tunables (``[stories]``).
The modules behind it (``store``, ``decisions``, ``refine``, ``changelog``, ``codec``) are its
parts, see ``service.state.stories``.
"""

from service.state.settings import StorySettings
from service.state.stories import StoryState

__all__ = ["StorySettings", "StoryState"]
