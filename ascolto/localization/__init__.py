"""Italian and English through Babel message catalogues, one language per request or command.

The English text is the message id; Italian comes from `locale/it/LC_MESSAGES/messages.po`,
read at first use (no compile step, so a checkout or an editable install works as it is).
The language in force is a context variable: the web app sets it for each request, staff
e-mails for each recipient, the command line once at start-up, so templates and Python code
all just call `gettext`.
"""

from __future__ import annotations

import contextvars
import gettext as stdlib_gettext
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.dates import format_date, format_datetime, format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
# The first is the language of the message ids themselves.
LANGUAGES = ("en", "it")
LANGUAGE_NAMES = {"en": "English", "it": "Italiano"}
# What a figure nobody measured shows (an en dash, as the pages always did).
UNKNOWN = "\u2013"

_language: contextvars.ContextVar[str] = contextvars.ContextVar("language", default="en")


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> stdlib_gettext.NullTranslations:
    """The translations into `language`; English (the message ids) needs none."""
    path = catalogue_path(language)
    if language == LANGUAGES[0] or not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalogue = read_po(po, locale=language)
    compiled = BytesIO()
    # Fuzzy entries are a translator's guess: shown in English until someone confirms them.
    write_mo(compiled, catalogue, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def current_language() -> str:
    """The language of the request or command being served."""
    return _language.get()


@contextmanager
def use_language(language: str) -> Iterator[None]:
    """Speak `language` inside the block (an unknown one falls back to English)."""
    token = _language.set(language if language in LANGUAGES else LANGUAGES[0])
    try:
        yield
    finally:
        _language.reset(token)


def set_language(language: str) -> None:
    """Speak `language` from here to the end of the current task (a web request)."""
    _language.set(language if language in LANGUAGES else LANGUAGES[0])


def gettext(message: str, /, **values: object) -> str:
    """`message` in the current language, with `%(name)s` placeholders filled from `values`."""
    text = translations(current_language()).gettext(message)
    return text % values if values else text


def pgettext(context: str, message: str, /, **values: object) -> str:
    """`message` as meant in `context` (the same English word may need another Italian one:
    "active" is a campaign's "attiva" but a user's "attivo")."""
    text = translations(current_language()).pgettext(context, message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, /, **values: object) -> str:
    """The singular or plural form for `n` in the current language; `%(num)s` is `n`."""
    text = translations(current_language()).ngettext(singular, plural, n)
    return text % {"num": n, **values}


_ = gettext


def N_(message: str) -> str:
    """Mark `message` for the catalogue where it is defined; translate it where it is shown."""
    return message


def negotiate(chosen: str | None, accept_language: str | None, default: str) -> str:
    """The person's own choice, else the first language of their browser we speak, else the
    default the administrator set."""
    if chosen in LANGUAGES:
        return chosen
    wanted = []
    for part in (accept_language or "").split(","):
        tag, _sep, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        if tag and tag != "*" and weight > 0:
            wanted.append((weight, tag.strip()))
    # sorted() keeps the browser's order among equal weights.
    ordered = [tag for _weight, tag in sorted(wanted, key=lambda pair: -pair[0])]
    found = negotiate_locale(ordered, LANGUAGES, sep="-")
    if found is None:
        # it-IT and en-GB: negotiate on the language alone.
        found = negotiate_locale([tag.split("-")[0] for tag in ordered], LANGUAGES, sep="-")
    return found or (default if default in LANGUAGES else LANGUAGES[0])


def terminal_language(default: str, environ: Mapping[str, str] | None = None) -> str:
    """The command line's language: the POSIX locale (LC_ALL, else LC_MESSAGES, else LANG)
    when it is one we speak, such as it_IT.UTF-8; else the administrator's default."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            primary = value.split(".")[0].split("_")[0].split("-")[0].lower()
            return primary if primary in LANGUAGES else (default if default in LANGUAGES else "en")
    return default if default in LANGUAGES else LANGUAGES[0]


def language_of(tag: str | None) -> str | None:
    """The language we speak that a tag or POSIX locale names (it, it-IT, it_IT.UTF-8 → it),
    else None (C, POSIX, a language we do not speak, nothing)."""
    primary = (tag or "").strip().split(".")[0].split("@")[0].replace("-", "_").split("_")[0]
    return primary.lower() if primary.lower() in LANGUAGES else None


def command_line_language(
    chosen: str | None, configured: str | None, environ: Mapping[str, str] | None = None
) -> str:
    """The language of a command: the one asked for (`--lang`, `ASCOLTO_LANG`), else the
    `[language] default` an administrator set, else the POSIX locale, else English.

    The settings file beats the locale because a server's locale is usually whatever its
    image shipped with, while the settings say what the team chose."""
    # An unknown choice is refused by the caller, in the language found without it.
    if language_of(chosen) is not None:
        return language_of(chosen) or LANGUAGES[0]
    if configured in LANGUAGES:
        return configured
    return terminal_language(LANGUAGES[0], environ)


def _locale() -> Locale:
    return Locale.parse(current_language())


def when(value: datetime | None, *, seconds: bool = False) -> str:
    """A UTC moment as the current language writes it (5 dic 2026, 14:03 / Dec 5, 2026, 14:03)."""
    if value is None:
        return UNKNOWN
    # Day and clock apart: Babel's combined patterns put a 12-hour clock in English.
    on = format_date(value, "medium", locale=_locale())
    clock = format_datetime(value, "HH:mm:ss" if seconds else "HH:mm", locale=_locale())
    return f"{on}, {clock}"


def day(value: date | datetime | None) -> str:
    """A date as the current language writes it (5 dic 2026 / Dec 5, 2026)."""
    if value is None:
        return UNKNOWN
    return format_date(value, "medium", locale=_locale())


def short_day(value: date) -> str:
    """A day and month for chart axes (5 dic / Dec 5)."""
    return format_skeleton("MMMd", value, locale=_locale())


def number(value: float | int | Decimal | str | None, digits: int | None = None) -> str:
    """A number with the current language's separators (1.234,5 / 1,234.5); a value that
    is no number (a word such as "unknown") is shown as it is."""
    if value is None:
        return UNKNOWN
    if isinstance(value, str) or not isinstance(value, int | float | Decimal):
        return str(value)
    if digits is None:
        return format_decimal(value, locale=_locale())
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=_locale())


def money(value: float | int | Decimal | None, currency: str | None) -> str:
    """An amount in `currency` as the current language writes it (329,00 € / €329.00)."""
    if value is None:
        return UNKNOWN
    if not currency:
        return number(value, 2)
    try:
        return format_currency(value, currency.upper(), locale=_locale())
    except (ValueError, KeyError):
        return f"{number(value, 2)} {currency}"


def percent(value: float | int | None, digits: int = 0) -> str:
    """A share given in percent points (42.5 → 42,5 % / 42.5%)."""
    if value is None:
        return UNKNOWN
    pattern = "#,##0" + ("." + "#" * digits if digits else "") + "%"
    return format_percent(float(value) / 100, format=pattern, locale=_locale())
