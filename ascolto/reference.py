"""The configuration reference, generated from the settings models.

`ascolto config reference` prints it and the documentation site is built with it
(docs/hooks/generated.py), so every setting is documented with its type, default and
description, and the documentation cannot fall behind the code.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ascolto.settings import ENV_PREFIX, Settings, SourceSettings
from listeners.registry import registry


def settings_reference() -> str:
    """Markdown tables: one per settings table, then one per listener kind."""
    parts = [
        "Environment variables override the file: `ASCOLTO_<TABLE>_<KEY>` "
        "(e.g. `ASCOLTO_DATABASE_URL`, `ASCOLTO_LOG_FORMAT`).",
        "",
    ]
    for name, field in Settings.model_fields.items():
        model = _model_of(field)
        if model is None:
            parts += [f"### `{name}`", "", _describe(field), ""]
            parts += [f"Environment: `{ENV_PREFIX}{name.upper()}`.", ""]
            continue
        if name == "sources":
            continue
        header = f"### `[[{name}]]`" if _is_list(field) else f"### `[{name}]`"
        parts += [header, "", _describe(field), "", *_table(model), ""]
    parts += [
        "### `[[sources]]`",
        "",
        _describe(Settings.model_fields["sources"]),
        "",
        "Keys every source has:",
        "",
        *_table(SourceSettings),
        "",
    ]
    common = set(SourceSettings.model_fields)
    for kind, cls in sorted(registry().items()):
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        parts += [f"#### kind `{kind}`", "", doc, ""]
        parts += [*_table(cls.Options, skip=common), ""]
    return "\n".join(parts).rstrip() + "\n"


def _model_of(field: FieldInfo) -> type[BaseModel] | None:
    annotation = field.annotation
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _is_list(field: FieldInfo) -> bool:
    return getattr(field.annotation, "__origin__", None) is list


def _describe(field: FieldInfo) -> str:
    return field.description or ""


def _table(model: type[BaseModel], skip: set[str] | None = None) -> list[str]:
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        if skip and name in skip:
            continue
        rows.append(
            f"| `{name}` | {_type_name(field)} | {_default(field)} | {field.description or ''} |"
        )
    return rows


def _type_name(field: FieldInfo) -> str:
    text = str(field.annotation).replace("typing.", "")
    for noise in ("<class '", "'>"):
        text = text.replace(noise, "")
    # Validated strings (addresses, names) read as plain `str` in the reference.
    text = re.sub(r"Annotated\[(\w+), [^\]]*\]", r"\1", text)
    if text.startswith("Literal["):
        text = "one of " + text.removeprefix("Literal[").removesuffix("]").replace("'", "`")
    return text.replace("|", "or")


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return ""
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return ""
    return f"`{json.dumps(value)}`"
