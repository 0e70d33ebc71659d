"""Defect detection's settings: `[defects]`, validated into the detector's `DefectConfig`."""

from __future__ import annotations

from dataclasses import replace

from pydantic import Field, model_validator

from classify.defects.config import DefectConfig
from storage.settings import Section

_DEFECTS = DefectConfig()


class DefectSettings(Section):
    enabled: bool = Field(
        True,
        description="Look for defect clusters of products in their watch window in `ascolto "
        "run`, right after each classification run that stored labels.",
    )
    interval: int = Field(
        600,
        ge=10,
        description="Seconds between two scheduled detection runs, besides the runs that "
        "follow classification.",
    )
    similarity: float = Field(
        _DEFECTS.similarity,
        gt=0,
        le=1,
        description="Mean cosine similarity to a cluster's members at which a complaint "
        "joins it (tuned for the default encoder).",
    )
    merge_similarity: float = Field(
        _DEFECTS.merge_similarity,
        gt=0,
        le=1,
        description="Two clusters of one product whose members are this similar on average "
        "become one.",
    )
    related_similarity: float = Field(
        _DEFECTS.related_similarity,
        gt=0,
        le=1,
        description="A cluster that alerted takes in complaints and clusters of its product "
        "this similar to it (at most `similarity`; when not set, it follows a lower "
        "`similarity`): one fault found in pieces gives one alert that grows.",
    )
    min_size: int = Field(
        _DEFECTS.min_size,
        ge=1,
        description="Members a cluster needs for its first alert (each author counted at "
        "most `max_posts_per_author` times).",
    )
    min_authors: int = Field(
        _DEFECTS.min_authors,
        ge=1,
        description="Distinct authors a cluster needs for its first alert: one angry person "
        "is not an outbreak.",
    )
    escalation_factors: list[float] = Field(
        list(_DEFECTS.escalation_factors),
        min_length=1,
        description="Escalation levels: level n needs this list's n-th factor times "
        "`min_size` and `min_authors`; one alert per cluster and level.",
    )
    max_posts_per_author: int = Field(
        _DEFECTS.max_posts_per_author,
        ge=1,
        description="Posts of one author counted towards a cluster's size and rate.",
    )
    window_hours: float = Field(
        _DEFECTS.window_hours,
        gt=0,
        description="Recent window, in hours, for a cluster's rate and growth.",
    )
    background_share: float = Field(
        _DEFECTS.background_share,
        gt=0,
        le=1,
        description="Share of a product's complaints one ordinary theme is assumed to hold.",
    )
    rate_factor: float = Field(
        _DEFECTS.rate_factor,
        gt=0,
        description="A cluster alerts only when its recent members exceed this many times "
        "what an ordinary theme of the product, or its own earlier pace, would give.",
    )
    min_recent: int = Field(
        _DEFECTS.min_recent,
        ge=1,
        description="Members a cluster needs in the recent window to alert (at most "
        "`min_size`): a theme reaching the size over weeks is not an outbreak.",
    )
    growth_factor: float = Field(
        _DEFECTS.growth_factor,
        gt=0,
        description="A cluster is `growing` when its recent window holds this many times "
        "the window before.",
    )
    resolve_after_days: float = Field(
        _DEFECTS.resolve_after_days,
        gt=0,
        description="A cluster with no new complaint for this many days becomes `resolved`; "
        "it re-opens with the next one.",
    )
    forget_after_days: float = Field(
        _DEFECTS.forget_after_days,
        gt=0,
        description="Small clusters that never alerted and stay quiet this many days are "
        "forgotten.",
    )
    dismissed_factor: float = Field(
        _DEFECTS.dismissed_factor,
        ge=1,
        description="A dismissed cluster alerts again only once it is this many times its "
        "size when dismissed.",
    )

    @model_validator(mode="after")
    def _valid_config(self) -> DefectSettings:
        self.config()
        return self

    def config(self) -> DefectConfig:
        """These settings as the detector's configuration."""
        values = self.model_dump(exclude={"enabled", "interval"})
        values["escalation_factors"] = tuple(self.escalation_factors)
        if "related_similarity" not in self.model_fields_set:
            # A lowered `similarity` alone must not make the default contradict it.
            values["related_similarity"] = min(self.related_similarity, self.similarity)
        return replace(_DEFECTS, **values)
