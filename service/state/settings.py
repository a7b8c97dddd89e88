"""Tunables of duplicate detection and story clustering (config section ``[stories]``)."""

from __future__ import annotations

from dataclasses import dataclass

from service import defaults
from service.stages.features import TermWeights

_SHIPPED = defaults.section("stories")


@dataclass(frozen=True)
class StorySettings:
    """Tunables of duplicate detection and story clustering (config section ``[stories]``)."""

    window_hours: float = _SHIPPED["window_hours"]
    retention_hours: float = _SHIPPED["retention_hours"]
    max_articles: int = _SHIPPED["max_articles"]
    join_threshold: float = _SHIPPED["join_threshold"]
    young_story_vectors: int = _SHIPPED["young_story_vectors"]
    young_story_link: float = _SHIPPED["young_story_link"]
    merge_threshold: float = _SHIPPED["merge_threshold"]
    absorb_threshold: float = _SHIPPED["absorb_threshold"]
    near_jaccard: float = _SHIPPED["near_jaccard"]
    near_containment: float = _SHIPPED["near_containment"]
    near_min_shingles: int = _SHIPPED["near_min_shingles"]
    prior_documents: float = _SHIPPED["prior_documents"]
    title_weight: float = _SHIPPED["title_weight"]
    name_weight: float = _SHIPPED["name_weight"]
    number_weight: float = _SHIPPED["number_weight"]
    article_terms: int = _SHIPPED["article_terms"]
    story_terms: int = _SHIPPED["story_terms"]
    index_terms: int = _SHIPPED["index_terms"]
    query_terms: int = _SHIPPED["query_terms"]
    postings_read: int = _SHIPPED["postings_read"]
    candidates: int = _SHIPPED["candidates"]
    frequency_snapshot_every: int = _SHIPPED["frequency_snapshot_every"]
    refine_stories: int = _SHIPPED["refine_stories"]
    refine_members: int = _SHIPPED["refine_members"]
    refine_floor: float = _SHIPPED["refine_floor"]
    refine_margin: float = _SHIPPED["refine_margin"]
    refine_horizon: int = _SHIPPED["refine_horizon"]
    settle_passes: int = _SHIPPED["settle_passes"]

    @property
    def term_weights(self) -> TermWeights:
        return TermWeights(self.title_weight, self.name_weight, self.number_weight)

    @property
    def keeps_vectors(self) -> bool:
        """Whether recent article vectors are kept (refinement and young stories read them)."""
        return self.refine_stories >= 2 or self.young_story_vectors > 0
