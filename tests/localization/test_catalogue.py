"""Every English string of the pages, e-mails and messages has an Italian translation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from ascolto.localization import catalogue_path

ROOT = Path(__file__).resolve().parents[2]
# The same map as babel.cfg: Python code, the command line's help texts and the templates.
METHODS = [
    ("ascolto/cli/main.py", "ascolto.cli.catalogue:extract"),
    ("ascolto/**.py", "python"),
    ("ascolto/web/templates/**.html", "jinja2"),
    ("ascolto/defects/alert_templates/**.j2", "jinja2"),
]
OPTIONS = {
    "ascolto/web/templates/**.html": {"extensions": "jinja2.ext.i18n"},
    "ascolto/defects/alert_templates/**.j2": {"extensions": "jinja2.ext.i18n"},
}
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "N_": None,
}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


Found = tuple[str, str | tuple[str, str], str | None]


def extracted() -> Iterator[Found]:
    """(where, message id, context) for every marked string in the code and the templates."""
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT, METHODS, OPTIONS, keywords=KEYWORDS
    ):
        yield f"{filename}:{lineno}", message, context


def test_the_catalogue_parses_as_italian() -> None:
    catalogue = italian()
    assert str(catalogue.locale) == "it"
    assert catalogue.num_plurals >= 2


def untranslated(catalogue: Catalog, found: list[Found]) -> list[str]:
    """What the Italian catalogue lacks for the `found` strings: missing, fuzzy or empty."""
    problems = []
    for where, message, context in found:
        key = message[0] if isinstance(message, tuple) else message
        entry = catalogue.get(key, context)
        if entry is None:
            problems.append(f"{where}: no Italian for {key!r}")
        elif entry.fuzzy:
            problems.append(f"{where}: the Italian for {key!r} is marked fuzzy")
        elif not entry.string or (isinstance(entry.string, tuple) and not all(entry.string)):
            problems.append(f"{where}: the Italian for {key!r} is empty")
    return problems


def italian() -> Catalog:
    with catalogue_path("it").open("rb") as po:
        return read_po(po, locale="it")


def test_every_marked_string_has_a_confirmed_italian_translation() -> None:
    found = list(extracted())
    assert len(found) > 300, "extraction found too little: is babel.cfg's map still right?"
    problems = untranslated(italian(), found)
    assert not problems, "\n".join(problems) + "\n(run pybabel extract/update, then translate)"


def test_translations_keep_every_placeholder() -> None:
    for entry in italian():
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == wanted, (entry.id, string)


@pytest.mark.parametrize("state", ["fuzzy", "empty", "missing"])
def test_the_check_catches_an_untranslated_string(state: str) -> None:
    catalogue = italian()
    found: list[Found] = [("base.html:1", "Review queue", None)]
    assert untranslated(catalogue, found) == []
    entry = catalogue.get("Review queue")
    assert entry is not None
    if state == "fuzzy":
        entry.flags.add("fuzzy")
    elif state == "empty":
        entry.string = ""
    else:
        catalogue.delete("Review queue")
    assert len(untranslated(catalogue, found)) == 1


def test_templates_translate_only_literals_with_underscore() -> None:
    """`_()` returns Markup for autoescaping's sake, so on data (a reason, a message) it would
    let markup through: templates translate data with `word()`, which escapes."""
    call_on_data = re.compile(r"(?<![\w.])_\(\s*[^\"'\s]")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for folder in ("ascolto/web/templates", "ascolto/defects/alert_templates")
        for path in sorted((ROOT / folder).rglob("*.*"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if call_on_data.search(line)
    ]
    assert not offenders, "\n".join(offenders)


def test_the_command_lines_help_texts_are_extracted() -> None:
    """Typer reads help from docstrings and `help=`, which `_()` cannot mark: the extractor
    that babel.cfg names for main.py reads them from the commands themselves."""
    from ascolto.cli.catalogue import help_texts

    texts = help_texts()
    assert len(texts) > 150
    assert "Give a user another role." in texts  # a docstring
    assert "Print the version." in texts  # an option's help=
    found = {message for _where, message, _context in extracted()}
    assert not [text for text in texts if text not in found]
