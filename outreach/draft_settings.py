"""Settings of how drafts read: the brand voice's emoji policy and the promised reply time."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DraftSettings(BaseModel):
    """`[drafts]`: what every drafted reply and e-mail keeps to, in every language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    emoji: bool = Field(
        False,
        description="Drafts may carry an emoji (a thank-you 🙂); off, the draft-lint flags any.",
    )
    reply_within_hours: int = Field(
        24,
        ge=1,
        le=720,
        description="When drafts promise the next contact: `we'll get back to you within 24 "
        "hours` / `entro 24 ore`. Keep it to what the team can hold.",
    )
