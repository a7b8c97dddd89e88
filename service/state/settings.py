"""Tunables of duplicate detection and story clustering (config section ``[stories]``)."""

from __future__ import annotations

from dataclasses import dataclass

from service.stages.features import TermWeights


@dataclass(frozen=True)
class StorySettings:
    """Tunables of duplicate detection and story clustering (config section ``[stories]``)."""

    window_hours: float = 72.0
    retention_hours: float = 168.0
    max_articles: int = 1_000_000
    join_threshold: float = 0.22
    young_story_vectors: int = 3
    young_story_link: float = 0.19
    merge_threshold: float = 0.55
    absorb_threshold: float = 0.30
    near_jaccard: float = 0.5
    near_containment: float = 0.8
    near_min_shingles: int = 10
    prior_documents: float = 20.0
    title_weight: float = 3.0
    name_weight: float = 1.0
    number_weight: float = 8.0
    article_terms: int = 128
    story_terms: int = 256
    index_terms: int = 12
    query_terms: int = 16
    postings_read: int = 32
    candidates: int = 8
    frequency_snapshot_every: int = 5000
    refine_stories: int = 3
    refine_members: int = 16
    refine_floor: float = 0.20
    refine_margin: float = 0.0
    refine_horizon: int = 20_000
    settle_passes: int = 3

    @property
    def term_weights(self) -> TermWeights:
        return TermWeights(self.title_weight, self.name_weight, self.number_weight)

    @property
    def keeps_vectors(self) -> bool:
        """Whether recent article vectors are kept (refinement and young stories read them)."""
        return self.refine_stories >= 2 or self.young_story_vectors > 0
