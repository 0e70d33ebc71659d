"""Documentation stays true to the code."""

from __future__ import annotations

import tomllib
from pathlib import Path

from ascolto.reference import END, START, settings_reference
from ascolto.settings import Settings, SourceSettings
from listeners.registry import registry

ROOT = Path(__file__).resolve().parent.parent


def test_readme_reference_matches_settings_model():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    embedded = readme.split(START, 1)[1].split(END, 1)[0].strip()
    assert embedded == settings_reference().strip(), "run ./dev docs to refresh README.md"


def _fields(model):
    for name, field in model.model_fields.items():
        yield name, field
        annotation = field.annotation
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            if hasattr(candidate, "model_fields"):
                yield from _fields(candidate)


def test_every_setting_has_a_description():
    models = [Settings, SourceSettings, *(cls.Options for cls in registry().values())]
    missing = [
        f"{model.__name__}.{name}"
        for model in models
        for name, field in _fields(model)
        if not field.description
    ]
    assert not missing


def test_every_listener_kind_is_documented():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for kind in registry():
        assert f"kind `{kind}`" in readme


def test_shipped_settings_file_is_valid(monkeypatch):
    monkeypatch.chdir(ROOT)
    from ascolto.settings import load_settings

    settings = load_settings(ROOT / "settings.toml")
    data = tomllib.loads((ROOT / "settings.toml").read_text(encoding="utf-8"))
    assert settings.database.url == data["database"]["url"]
