"""Chart series and gridlines stand out from the chart's background at 3:1 (WCAG 1.4.11),
and no chart text is smaller than 11 px at the chart's natural size."""

from __future__ import annotations

import re

import pytest

from ascolto.web.charts import (
    BACKGROUND,
    FONT_SIZE,
    GRID,
    PALETTE,
    Series,
    line_chart,
    stacked_bars,
    target_bars,
)


def luminance(colour: str) -> float:
    """WCAG relative luminance of a #rrggbb colour."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    lighter, darker = sorted((luminance(a), luminance(b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_contrast_formula() -> None:
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast("#767676", "#FFFFFF") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("colour", PALETTE)
def test_every_series_colour_stands_out_from_the_background(colour: str) -> None:
    assert contrast(colour, BACKGROUND) >= 3.0, colour


def test_gridlines_stand_out_from_the_background() -> None:
    assert contrast(GRID, BACKGROUND) >= 3.0


def drawn() -> list[str]:
    days = ["Dec 1", "Dec 2", "Dec 3"]
    series = [Series(f"s{i}", [i, 2 * i, 3]) for i in range(len(PALETTE) + 1)]
    return [
        str(stacked_bars("a", days, series, title="bars")),
        str(line_chart("b", days, series[:3], title="lines")),
        str(target_bars("c", [("median", 40.0), ("p90", None)], target=60, unit="min", title="t")),
    ]


def test_the_charts_draw_only_these_colours() -> None:
    """What the charts draw with is what the tests above check: no other colour sneaks in."""
    allowed = {c.upper() for c in (*PALETTE, GRID, BACKGROUND)} | {"#FFF", "#000", "#333"}
    bars, lines, targets = drawn()
    for svg in (bars, lines, targets):
        used = {c.upper() for c in re.findall(r'(?:stroke|fill)="(#[0-9a-fA-F]{3,6})"', svg)}
        assert used <= allowed, used - allowed
    assert GRID in bars
    assert GRID in lines


def test_no_chart_text_is_smaller_than_eleven_pixels() -> None:
    assert FONT_SIZE >= 11
    for svg in drawn():
        sizes = {int(size) for size in re.findall(r'font-size="(\d+)"', svg)}
        assert sizes, "no text?"
        assert min(sizes) >= 11
        # Drawn at its natural size (width and height given), a chart never shrinks text.
        assert re.search(r'<svg [^>]*width="\d+" height="\d+"', svg)
