"""Settings of the language the web app, staff e-mails and alerts speak."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Language = Literal["en", "it"]


class LanguageSettings(BaseModel):
    """`[language]`: what people see before they choose a language of their own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Language = Field(
        default="en",
        description="The language of the web app for a person who chose none and whose "
        "browser asks for none ascolto speaks, of staff e-mails and alerts, and of the "
        "command line when neither --lang nor ASCOLTO_LANG chooses one.",
    )
