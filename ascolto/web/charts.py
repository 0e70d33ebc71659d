"""Charts drawn on the server as inline SVG: no script, no CDN, readable without colour.

Each series has a fill pattern (solid, stripes, dots, cross-hatch...) as well as a colour,
the legend repeats the pattern beside the name, every bar and point has a <title> with its
figures, and each chart comes with its numbers as a table for screen readers. Only SVG
presentation attributes are used (no style attributes), so the strict CSP holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from ascolto.localization import gettext

# Okabe-Ito hues, darkened where needed so each stands out at 3:1 or more against the white
# background (WCAG 1.4.11); each series also has its own pattern, so colour is never alone.
PALETTE = ("#0072B2", "#B35C00", "#00785A", "#A64D8A", "#3A6FA6", "#C2410C", "#6B6B00", "#6E6E6E")
BACKGROUND = "#FFFFFF"
# Gridlines: light enough to stay behind the data, dark enough to be seen (3:1).
GRID = "#8A8A8A"
# No text in a chart is drawn smaller than this many pixels at its natural size.
FONT_SIZE = 12
PATTERNS = ("solid", "stripes", "dots", "cross", "back", "grid", "wave", "sparse")
MARKERS = ("circle", "square", "triangle", "diamond")


@dataclass(frozen=True)
class Series:
    """One named series of values, one per x position."""

    name: str
    values: Sequence[float]


def _pattern(uid: str, index: int) -> tuple[str, str]:
    """A <pattern> definition and the fill that uses it, for series number `index`."""
    colour = PALETTE[index % len(PALETTE)]
    kind = PATTERNS[index % len(PATTERNS)]
    pid = f"{uid}-p{index}"
    marks = {
        "solid": "",
        "stripes": '<path d="M0,6 L6,0" stroke="#fff" stroke-width="1.5"/>',
        "dots": '<circle cx="3" cy="3" r="1.3" fill="#fff"/>',
        "cross": '<path d="M0,6 L6,0 M0,0 L6,6" stroke="#fff" stroke-width="1"/>',
        "back": '<path d="M0,0 L6,6" stroke="#fff" stroke-width="1.5"/>',
        "grid": '<path d="M3,0 L3,6 M0,3 L6,3" stroke="#fff" stroke-width="1"/>',
        "wave": '<path d="M0,4 Q1.5,1 3,4 T6,4" fill="none" stroke="#000" stroke-width="0.8"/>',
        "sparse": '<circle cx="3" cy="3" r="0.8" fill="#000"/>',
    }[kind]
    definition = (
        f'<pattern id="{pid}" width="6" height="6" patternUnits="userSpaceOnUse">'
        f'<rect width="6" height="6" fill="{colour}"/>{marks}</pattern>'
    )
    return definition, f"url(#{pid})"


def _axis_max(total: float) -> float:
    """A round number at or above `total` for the top of the y axis."""
    if total <= 0:
        return 4.0
    if total <= 20:
        # Small counts: a multiple of 4, so the five ticks are whole numbers.
        return float(-(-int(total + 0.999) // 4) * 4)
    step = 1.0
    while step * 10 < total:
        step *= 10
    for factor in (1, 2, 2.5, 5, 10):
        if step * factor >= total:
            return step * factor
    return step * 10


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def stacked_bars(
    uid: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    width: int = 760,
    height: int = 220,
    unknown: Sequence[str] = (),
    marks: Sequence[str] = (),
) -> Markup:
    """Bars per x label, stacked by series, with a legend and a y axis.

    `unknown[i]`, when not empty, says why column i is not known (sources down): the
    column is shaded and titled so, never drawn as a calm zero. `marks[i]`, when not
    empty, draws a labelled vertical line before column i (a launch, a new batch).
    """
    left, right, top, bottom = 44, 8, 10, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    peak = _axis_max(max(totals, default=0))
    slot = plot_w / max(len(labels), 1)
    bar_w = max(2.0, slot * 0.75)
    defs, fills = (
        zip(*(_pattern(uid, i) for i in range(len(series))), strict=True) if series else ((), ())
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{width}" height="{height + 22 * ((len(series) + 3) // 4)}" '
        f'viewBox="0 0 {width} {height + 22 * ((len(series) + 3) // 4)}" '
        f'aria-labelledby="{uid}-title"><title id="{uid}-title">{escape(title)}</title>',
        f"<defs>{''.join(defs)}</defs>",
    ]
    for tick in range(5):
        value = peak * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="0.5"/>'
            f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end" font-size="{FONT_SIZE}">'
            f"{_number(value)}</text>"
        )
    for i, why in enumerate(unknown[: len(labels)]):
        if why:
            parts.append(
                f'<rect class="unknown" x="{left + i * slot:.1f}" y="{top}" '
                f'width="{slot:.1f}" height="{plot_h}" fill="#bbb" fill-opacity="0.45" '
                f'stroke="none"><title>{escape(labels[i])}: unknown ({escape(why)})</title>'
                f"</rect>"
            )
    for i, mark in enumerate(marks[: len(labels)]):
        if mark:
            x = left + i * slot
            parts.append(
                f'<line class="mark" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" '
                f'y2="{top + plot_h}" stroke="#b00" stroke-dasharray="3 2">'
                f"<title>{escape(mark)}</title></line>"
                f'<text x="{x + 2:.1f}" y="{top + 9}" font-size="9" fill="#b00">'
                f"{escape(mark)}</text>"
            )
    every = max(1, len(labels) // 10)
    for i, label in enumerate(labels):
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h
        for s, fill in zip(series, fills, strict=True):
            value = s.values[i]
            if value <= 0:
                continue
            h = plot_h * value / peak
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{fill}" stroke="#333" stroke-width="0.4">'
                f"<title>{escape(label)}: {escape(s.name)} {_number(value)}</title></rect>"
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
                f'font-size="{FONT_SIZE}">{escape(label)}</text>'
            )
    parts.append(_legend(series, fills, top + plot_h + 22, left))
    parts.append("</svg>")
    return _boxed(parts, title)


def _boxed(parts: list[str], title: str) -> Markup:
    """The chart in a box that scrolls sideways on a screen narrower than the chart, and
    so can take keyboard focus (to scroll it with the arrow keys)."""
    opening = f'<div class="chart-box" role="region" tabindex="0" aria-label="{escape(title)}">'
    return Markup(opening + "".join(parts) + "</div>")  # noqa: S704


def _legend(series: Sequence[Series], fills: Sequence[str], y0: float, x0: float) -> str:
    parts = []
    for i, (s, fill) in enumerate(zip(series, fills, strict=True)):
        x = x0 + (i % 4) * 170
        y = y0 + (i // 4) * 20
        parts.append(
            f'<rect x="{x}" y="{y}" width="14" height="14" fill="{fill}" stroke="#333" '
            f'stroke-width="0.5"/><text x="{x + 19}" y="{y + 11}" font-size="{FONT_SIZE}">'
            f"{escape(s.name)} ({_number(sum(s.values))})</text>"
        )
    return "".join(parts)


def line_chart(
    uid: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    width: int = 560,
    height: int = 180,
) -> Markup:
    """Lines with a distinct marker shape per series and the last value written at the end."""
    left, right, top, bottom = 40, 120, 10, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _axis_max(max((max(s.values, default=0) for s in series), default=0))
    step = plot_w / max(len(labels) - 1, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="{uid}-title">'
        f'<title id="{uid}-title">{escape(title)}</title>'
    ]
    for tick in range(3):
        value = peak * tick / 2
        y = top + plot_h - plot_h * tick / 2
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}" '
            f'stroke-width="0.5"/><text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end" '
            f'font-size="{FONT_SIZE}">{_number(value)}</text>'
        )
    for index in (0, len(labels) - 1) if labels else ():
        parts.append(
            f'<text x="{left + index * step:.1f}" y="{height - 6}" text-anchor="middle" '
            f'font-size="{FONT_SIZE}">{escape(labels[index])}</text>'
        )
    for n, s in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        dash = ("", ' stroke-dasharray="6 3"', ' stroke-dasharray="2 2"')[n % 3]
        points = [
            (left + i * step, top + plot_h - plot_h * v / peak) for i, v in enumerate(s.values)
        ]
        if points:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'
            )
        for (x, y), label, value in zip(points, labels, s.values, strict=False):
            parts.append(_marker(MARKERS[n % len(MARKERS)], x, y, colour))
            parts.append(f"<title>{escape(label)}: {escape(s.name)} {_number(value)}</title>")
        if points:
            x, y = points[-1]
            parts.append(
                f'<text x="{x + 8:.1f}" y="{y + 4:.1f}" font-size="{FONT_SIZE}">'
                f"{escape(s.name)} {_number(s.values[-1])}</text>"
            )
    parts.append("</svg>")
    return _boxed(parts, title)


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "square":
        return f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="{colour}"/>'
    if kind == "triangle":
        corners = f"M{x:.1f},{y - 4:.1f} L{x + 4:.1f},{y + 3:.1f} L{x - 4:.1f},{y + 3:.1f} Z"
        return f'<path d="{corners}" fill="{colour}"/>'
    if kind == "diamond":
        corners = (
            f"M{x:.1f},{y - 4:.1f} L{x + 4:.1f},{y:.1f} L{x:.1f},{y + 4:.1f} L{x - 4:.1f},{y:.1f} Z"
        )
        return f'<path d="{corners}" fill="{colour}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>'


def target_bars(
    uid: str, rows: Sequence[tuple[str, float | None]], *, target: float, unit: str, title: str
) -> Markup:
    """Horizontal bars (e.g. median and 90th percentile) against a dashed target line, each
    bar labelled with its value and "within" / "over" target in words."""
    width, row_h, left = 560, 30, 130
    known = [v for _, v in rows if v is not None]
    peak = _axis_max(max([*known, target]) * 1.1)
    scale = (width - left - 120) / peak
    height = row_h * len(rows) + 26
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="{uid}-title">'
        f'<title id="{uid}-title">{escape(title)}</title>'
    ]
    for i, (name, value) in enumerate(rows):
        y = 6 + i * row_h
        parts.append(f'<text x="0" y="{y + 15}" font-size="{FONT_SIZE}">{escape(name)}</text>')
        if value is None:
            nothing = escape(gettext("no data yet"))
            parts.append(f'<text x="{left}" y="{y + 15}" font-size="{FONT_SIZE}">{nothing}</text>')
            continue
        over = value > target
        fill = PALETTE[5] if over else PALETTE[2]
        pattern = ' stroke="#000" stroke-width="1.5" stroke-dasharray="4 2"' if over else ""
        words = gettext("over target") if over else gettext("within target")
        parts.append(
            f'<rect x="{left}" y="{y}" width="{max(1.0, value * scale):.1f}" height="20" '
            f'fill="{fill}"{pattern}/><text x="{left + value * scale + 6:.1f}" y="{y + 15}" '
            f'font-size="{FONT_SIZE}">{_number(value)} {escape(unit)} ({escape(words)})</text>'
        )
    x = left + target * scale
    target_words = escape(gettext("target"))
    parts.append(
        f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{height - 18}" stroke="#000" '
        f'stroke-width="1.5" stroke-dasharray="5 3"/><text x="{x:.1f}" y="{height - 4}" '
        f'text-anchor="middle" font-size="{FONT_SIZE}">'
        f"{target_words} {_number(target)} {escape(unit)}</text>"
    )
    parts.append("</svg>")
    return _boxed(parts, title)


def day_series(
    days: Sequence[date], counts: Mapping[tuple[date, str], int], groups: Sequence[str]
) -> list[Series]:
    """One series per group over `days` from a (day, group) -> count mapping."""
    return [Series(g, [counts.get((d, g), 0) for d in days]) for g in groups]
