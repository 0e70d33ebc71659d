"""Documentation stays true to the code: the site builds strictly from what the code says."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

from ascolto.settings import Settings, SourceSettings
from listeners.registry import registry

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation site, built in strict mode as CI builds it."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr}"
    return out


def _page(site: Path, name: str) -> str:
    return (site / name / "index.html").read_text(encoding="utf-8")


def _hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs/hooks/generated.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_page_is_built_with_no_marker_left(site: Path):
    pages = list(site.rglob("index.html"))
    assert len(pages) > 20
    for page in pages:
        text = page.read_text(encoding="utf-8")
        # Markers shown as examples inside code are fine; anywhere else one was not expanded.
        prose = re.sub(r"<(pre|code)[^>]*>.*?</\1>", "", text, flags=re.DOTALL)
        assert "{{" not in prose, f"{page.relative_to(site)} has an unexpanded marker"


def test_configuration_reference_is_generated_from_the_settings(site: Path):
    page = _page(site, "reference/configuration")
    for name in Settings.model_fields:
        assert f"<code>{name}</code>" in page or f"[{name}]" in page, name
    for kind in registry():
        assert f"kind <code>{kind}</code>" in page, kind


def test_cli_reference_lists_every_command(site: Path):
    import typer

    from ascolto.cli import app

    page = _page(site, "reference/cli")
    root = typer.main.get_command(app)
    context = typer.Context(root, info_name="ascolto")
    for name in root.list_commands(context):
        command = root.get_command(context, name)
        if command is not None and not command.hidden:
            assert f"<code>ascolto {name}</code>" in page, name
    assert "<code>ascolto users add</code>" in page


def test_figures_come_from_the_benchmark_results(site: Path):
    import json

    drafts = json.loads((ROOT / "benchmarks/results/drafts.json").read_text(encoding="utf-8"))
    page = _page(site, "benchmarks")
    assert f"{drafts['drafts_per_second']:.0f} drafts/s" in page


def test_a_figure_that_does_not_exist_fails_the_build():
    from mkdocs.exceptions import PluginError

    hooks = _hooks()
    text = 'x {{ figure("drafts.json", "drafts_per_second", ".0f") }} y'
    assert re.fullmatch(r"x \d+ y", hooks.expand(text, "page.md"))
    with pytest.raises(PluginError, match="no 'no_such_key'"):
        hooks.expand('{{ figure("drafts.json", "no_such_key") }}', "page.md")
    with pytest.raises(PluginError, match="no such results file"):
        hooks.expand('{{ figure("nope.json", "x") }}', "page.md")
    with pytest.raises(PluginError, match="not allowed"):
        hooks.expand('{{ fmt(__import__("os").getcwd()) }}', "page.md")
    # Examples in code stay as written.
    example = '`{{ figure("nope.json", "x") }}`'
    assert hooks.expand(example, "page.md") == example


def test_readme_quotes_no_measured_figure():
    """Figures live in the site, generated from benchmarks/results/; the README links there."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    prose = re.sub(r"```.*?```|`[^`]*`|<[^>]*>|\([^)]*\)", "", readme, flags=re.DOTALL)
    figure = re.compile(
        r"(?<![\d.])0\.\d+|\d[\d,.]*\s?(?:%|ms\b|MB\b|GB\b|/s\b|x\b|times\b)|\d+ \w+/s\b",
        re.IGNORECASE,
    )
    assert not figure.findall(prose)


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


def test_shipped_settings_file_is_valid(monkeypatch):
    monkeypatch.chdir(ROOT)
    from ascolto.settings import load_settings

    settings = load_settings(ROOT / "settings.toml")
    data = tomllib.loads((ROOT / "settings.toml").read_text(encoding="utf-8"))
    assert settings.database.url == data["database"]["url"]
