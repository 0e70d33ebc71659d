"""Templates: every intent, language and channel renders, in the brand's voice, safely."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ascolto.settings import BrandSettings
from outreach import rendering
from outreach.intents import INTENTS, REPLY_KINDS
from outreach.phrasing import first_name, public_handle, spoken_date
from outreach.rendering import Renderer, RenderError, clean
from outreach.voice import voice_for
from tests.factories import at

LANGUAGES = ("en", "it")
RENDERER = Renderer()

SIGN_OFF = {"en": "The Acme team", "it": "Il team Acme"}
# A phrase of each language that every template in it uses in its voice.
MARKERS = {
    "en": re.compile(r"\b(sorry|thank|thanks|we)\b", re.I),
    "it": re.compile(r"\b(ci dispiace|grazie|scriviamo|facciamo seguito)\b", re.I),
}


def expected_combos() -> set[tuple[str, str, str]]:
    combos = {
        (lang, intent, ch)
        for lang in LANGUAGES
        for intent in REPLY_KINDS
        for ch in ("public", "email")
    }
    combos |= {(lang, "follow_up", "email") for lang in LANGUAGES}
    return combos


def data(language: str, channel: str, **overrides: Any) -> dict[str, Any]:
    voice = voice_for(BrandSettings(), language)
    values: dict[str, Any] = {
        "language": language,
        "channel": channel,
        "brand": "Acme",
        "formal": False,
        "greeting": voice.greeting("Marco"),
        "sign_off": voice.sign_off,
        "signature": "",
        "name": "Marco",
        "handle": "@marco_b",
        "platform": "Reddit",
        "product": "Acme Tab 3",
        "issues": ["delivery"],
        "safety": False,
        "order": None,
        "earlier": None,
        "known_issue": False,
        "quote": "It never arrived" if channel == "email" else None,
        "posted_on": "31 October 2026" if channel == "email" else None,
        "mention_url": "https://social.example.com/p/1",
        "problem": None,
        "described": False,
        "order_known": bool(overrides.get("order")),
        "within": "within 24 hours" if language == "en" else "entro 24 ore",
        "emoji": False,
        "answer": None,
    }
    values.update(overrides)
    return values


def order(number: str | None = None, **stages: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "number": number,
        "status": "shipped",
        "placed_on": "1 November 2026",
        "shipped_on": "3 November 2026",
        "delivered_on": None,
        "returned_on": None,
        "refunded_on": None,
        "products": ["Acme Tab 3"],
    }
    values.update(stages)
    return values


def test_every_intent_has_a_template_per_language_and_channel() -> None:
    assert expected_combos() <= RENDERER.combos()
    assert set(INTENTS) <= {intent for _, intent, _ in RENDERER.combos()}


@pytest.mark.parametrize(("language", "intent", "channel"), sorted(expected_combos()))
@pytest.mark.parametrize("variant", ["known", "unknown"])
def test_each_intent_language_and_channel_renders_in_the_brand_voice(
    language: str, intent: str, channel: str, variant: str
) -> None:
    if variant == "known":
        values = data(
            language,
            channel,
            order=order("1001" if channel == "email" else None),
            earlier={"on": "2 November 2026", "channel": "manual", "count": 1},
        )
    else:
        voice = voice_for(BrandSettings(), language)
        values = data(
            language, channel, greeting=voice.greeting(None), name=None, product=None, quote=None
        )
    rendered = RENDERER.render(language, intent, channel, values)

    assert rendered.template == f"{language}/{intent}.{channel}.txt.j2"
    assert rendered.text.startswith(values["greeting"])
    assert rendered.text.rstrip().endswith(SIGN_OFF[language])
    assert MARKERS[language].search(rendered.text)
    assert "None" not in rendered.text
    assert "{" not in rendered.text
    assert "  " not in rendered.text
    assert "\n\n\n" not in rendered.text
    if variant == "known" and intent != "praise":
        assert "Acme Tab 3" in rendered.text
    if channel == "public":
        assert rendered.subject is None
        assert rendered.html is None
        assert len(rendered.text) <= 500, "public replies must fit a Mastodon post"
    else:
        assert rendered.subject
        assert rendered.html
        assert rendered.html.startswith("<!DOCTYPE html>")
        assert f'lang="{language}"' in rendered.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_formal_tone_changes_greeting_and_register(language: str) -> None:
    brand = BrandSettings(tone="formal")
    voice = voice_for(brand, language)
    values = data(language, "public", formal=True, greeting=voice.greeting("Marco"))
    text = RENDERER.render(language, "complaint_delivery", "public", values).text
    if language == "it":
        assert text.startswith("Gentile Marco,")
        assert "ci scriva in privato" in text
        assert "scrivici" not in text
    else:
        assert text.startswith("Dear Marco,")


def test_greeting_and_sign_off_come_from_settings() -> None:
    brand = BrandSettings(
        name="Acme",
        greetings={"it": "Ciao {name}!"},
        sign_offs={"it": "Giulia del team {brand}"},
        signature="Acme S.p.A. · assistenza@acme.example",
    )
    voice = voice_for(brand, "it")
    assert voice.greeting("Marco") == "Ciao Marco!"
    assert voice.greeting(None) == "Ciao,"
    assert voice.sign_off == "Giulia del team Acme"
    values = data(
        "it",
        "email",
        greeting=voice.greeting("Marco"),
        sign_off=voice.sign_off,
        signature=voice.signature,
    )
    text = RENDERER.render("it", "complaint_delivery", "email", values).text
    assert text.endswith("Giulia del team Acme\nAcme S.p.A. · assistenza@acme.example")


def test_a_greeting_with_another_placeholder_is_refused() -> None:
    with pytest.raises(ValueError, match="only placeholder allowed"):
        BrandSettings(greetings={"en": "Hi {name.__class__}"})
    with pytest.raises(ValueError, match="only placeholder allowed"):
        BrandSettings(sign_offs={"en": "{0} team"})


def test_a_missing_variable_is_an_error_never_a_gap(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "praise.public.txt.j2").write_text("Hi {{ first_name }}, thanks!\n")
    with pytest.raises(RenderError, match="first_name"):
        Renderer(tmp_path).render("en", "praise", "public", data("en", "public"))


def test_a_value_that_is_not_known_is_an_error_not_the_word_none(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "praise.public.txt.j2").write_text("Hi {{ name }}, thanks!\n")
    with pytest.raises(RenderError, match="not known"):
        Renderer(tmp_path).render("en", "praise", "public", data("en", "public", name=None))


def test_users_templates_replace_the_shipped_ones_of_the_same_name(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "praise.public.txt.j2").write_text("{{ greeting }} you made our day!\n")
    renderer = Renderer(tmp_path)
    assert renderer.render("en", "praise", "public", data("en", "public")).text == (
        "Hi Marco, you made our day!"
    )
    # The other templates are still the shipped ones.
    assert renderer.combos() == RENDERER.combos()


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ greeting.__class__.__init__.__globals__ }}",
        "{% for c in ''.__class__.__mro__ %}{{ c }}{% endfor %}",
    ],
)
def test_a_users_template_cannot_reach_python_internals(tmp_path: Path, source: str) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "praise.public.txt.j2").write_text(source)
    with pytest.raises(RenderError, match=r"SecurityError|UndefinedError"):
        Renderer(tmp_path).render("en", "praise", "public", data("en", "public"))


def test_a_users_template_cannot_change_the_data_it_is_given(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "praise.public.txt.j2").write_text("{{ issues.append('x') }}")
    with pytest.raises(RenderError, match="SecurityError"):
        Renderer(tmp_path).render("en", "praise", "public", data("en", "public"))


def test_clean_strips_control_and_invisible_characters_and_caps_length() -> None:
    assert clean("a\x00b\x1b[31mc\u202ed\u200be\ufefff\r\ng", 100) == "ab[31mcdef g"
    assert clean("x" * 50, 10) == "x" * 9 + "…"


@pytest.mark.parametrize(
    ("full", "expected"),
    [
        ("Marco Bellini", "Marco"),
        ("marco", "Marco"),
        ("D'Amico Giulia", "D'Amico"),
        ("Jean-Luc Picard", "Jean-Luc"),
        ('"><img src=x onerror=alert(1)>', None),
        ("{{ 7*7 }}", None),
        ("🚀 Rocket", None),
        ("x", None),
        ("R2D2", None),
        ("", None),
        (None, None),
    ],
)
def test_first_names_are_only_taken_from_what_looks_like_a_name(
    full: str | None, expected: str | None
) -> None:
    assert first_name(full) == expected


@pytest.mark.parametrize(
    ("handle", "platform", "expected"),
    [
        ("marco_b", "reddit", "@marco_b"),
        ("@marco_b", "reddit", "@marco_b"),
        ("marco@mastodon.social", "fediverse", "@marco@mastodon.social"),
        ("marco@example.com", "reviews", None),
        ("<script>", "reddit", None),
        ("{{7*7}}", "reddit", None),
    ],
)
def test_handles_are_shown_only_when_plain(
    handle: str, platform: str, expected: str | None
) -> None:
    assert public_handle(handle, platform) == expected


def test_dates_are_spoken_in_the_readers_language_and_time_zone() -> None:
    from zoneinfo import ZoneInfo

    late = at(hours=14)  # 2026-11-01 23:30 UTC is 00:30 on the 2nd in Rome
    assert spoken_date(late, "en", None) == "1 November 2026"
    assert spoken_date(late, "it", ZoneInfo("Europe/Rome")) == "2 novembre 2026"
    assert spoken_date(at(), "it", None) == "1° novembre 2026"
    assert spoken_date(None, "en", None) is None


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{{ range(10**9) | list }}", "range of 1000000000 items"),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "RecursionError"),
        ("{% for i in range(9999) %}{{ 'x' * 99 }}{% endfor %}", "output passed"),
        ("{{ 'x' * 10**9 }}", "repeating"),
        ("{{ 'x' | center(10**9) }}", "filter center"),
        ("{{ 'x'.ljust(10**9) }}", "str.ljust"),
        ("{{ '%0999999999d' % 1 }}", "huge width"),
        ("{{ '{:>999999999}'.format(1) }}", "huge width"),
        ("{{ [1] | batch(10**9) | list }}", "filter batch"),
        (
            "{% set n = namespace(s='x') %}{% for i in range(100) %}{% set n.s = n.s ~ n.s %}"
            "{% endfor %}{{ n.s }}",
            "a value of more than",
        ),
        ("{% macro f(s) %}{{ f(s ~ s) }}{% endmacro %}{{ f('x') }}", "a value of more than"),
        ("{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}", "longer"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
    ],
)
def test_a_users_template_is_bounded_while_it_renders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, reason: str
) -> None:
    # A shorter deadline keeps the test quick; the limits are checked while rendering runs.
    monkeypatch.setattr(rendering, "RENDER_SECONDS", 0.3)
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "praise.public.txt.j2").write_text(source)
    with pytest.raises(RenderError, match=reason):
        Renderer(tmp_path).render("en", "praise", "public", data("en", "public"))


def test_limits_leave_ordinary_templates_alone(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    source = (
        "{{ greeting }} {% for i in range(3) %}{{ i }}{% endfor %} {{ 'ab' * 3 }} "
        "{{ '{:>6}'.format('x') }} {{ 2 ** 10 }} {{ 'x' | center(5) }}"
    )
    (tmp_path / "en" / "praise.public.txt.j2").write_text(source)
    text = Renderer(tmp_path).render("en", "praise", "public", data("en", "public")).text
    assert text.endswith("012 ababab x 1024 x")
