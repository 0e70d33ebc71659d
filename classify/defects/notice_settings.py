"""`[defect_notices]`: how often a product team hears about its defect clusters."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DefectNoticeSettings(BaseModel):
    """Notifications of defect alerts: deduplicated per cluster, rate-limited per product."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_hours_per_product: float = Field(
        4.0,
        ge=0,
        le=24 * 14,
        description="Hours at least between two notifications about one product's clusters; "
        "an alert raised meanwhile is sent when they have passed (only its cluster's "
        "highest level, saying what changed since the last notice).",
    )
