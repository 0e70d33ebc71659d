"""`ascolto model`: the model card of the configured classifier.

What the heads were trained on, how they were tuned and calibrated (validation figures from
their card), and, in a source checkout, the held-out figures of the last benchmark run next
to the published results and the simple baselines.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ascolto.localization import gettext as _
from ascolto.localization import number

ROOT = Path(__file__).resolve().parents[2]
BENCHMARK = ROOT / "benchmarks" / "results" / "classify.json"
# What a benchmark figure is compared with, in the order the table shows them.
COMPARED = ("ours", "published", "lexicon", "vader", "majority")


def card_of(settings: Any) -> tuple[dict[str, Any], Path]:
    """The heads' card of the configured classifier and where the heads are."""
    from classify.classifying import classifier_settings
    from classify.encoders import build_encoder
    from classify.head_set import CARD, default_head_dir

    options = classifier_settings(settings)
    folder = options.head_dir
    if folder is None:
        encoder = build_encoder(options.encoder, options.model, options.threads)
        folder = default_head_dir(encoder.version)
    path = folder / CARD
    if not path.exists():
        raise FileNotFoundError(_("no model card at %(path)s", path=path))
    return json.loads(path.read_text(encoding="utf-8")), folder


def head_rows(card: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(head, trained on, chosen by, validation and calibration) per head of the card."""
    data = card.get("data", {})
    rows = []
    for name, head in card.get("heads", {}).items():
        chosen = head.get("chosen") or {k: head[k] for k in ("chosen_C",) if k in head}
        calibration = head.get("calibration") or {}
        figures = []
        for key in ("val_f1", "cv_f1_per_label", "cv_f1_per_label_combined", "per_set"):
            value = head.get(key) or (chosen.get(key) if isinstance(chosen, dict) else None)
            if isinstance(value, dict):
                figures += [f"{k} {v:.3f}" for k, v in value.items() if isinstance(v, float)]
        if "val_ece" in calibration:
            figures.append(
                f"ECE {calibration.get('val_ece_before', float('nan')):.3f}"
                f" → {calibration['val_ece']:.3f}"
            )
        if "threshold" in head:
            figures.append(f"threshold {head['threshold']:.2f}")
        source = str(data.get(name) or data.get(name.split("_")[0]) or "")
        how = ", ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in (chosen or {}).items()
            if not isinstance(v, dict | list)
        )
        rows.append((name, source, how, "; ".join(figures)))
    return rows


def benchmark_rows(results: dict[str, Any]) -> list[tuple[str, dict[str, float]]]:
    """(figure, {ours, published, baselines...}) for every compared figure of the results."""
    found: list[tuple[str, dict[str, float]]] = []

    def walk(prefix: str, node: Any) -> None:
        if not isinstance(node, dict):
            return
        if "ours" in node and isinstance(node["ours"], int | float):
            found.append(
                (
                    prefix,
                    {k: float(node[k]) for k in COMPARED if isinstance(node.get(k), int | float)},
                )
            )
            return
        for key, value in node.items():
            walk(f"{prefix}.{key}" if prefix else key, value)

    walk("", results)
    return found


def model_command(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the card (and figures) as JSON.")
    ] = False,
) -> None:
    """Show what the classifier was trained on and how well it does, per set and language."""
    from ascolto.cli.common import err, out
    from ascolto.settings import get_settings

    try:
        card, folder = card_of(get_settings())
    except FileNotFoundError as exc:
        err.print("[red]" + _("error:") + "[/] " + escape(str(exc)))
        raise typer.Exit(2) from None
    results = json.loads(BENCHMARK.read_text(encoding="utf-8")) if BENCHMARK.exists() else None
    if as_json:
        json.dump({"card": card, "heads": str(folder), "benchmark": results}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    out.print(
        escape(
            _(
                "encoder %(encoder)s · heads %(heads)s (trained %(trained)s) · %(folder)s",
                encoder=card.get("encoder"),
                heads=card.get("heads_version"),
                trained=card.get("trained_on"),
                folder=folder,
            )
        ),
        highlight=False,
    )
    table = Table(title=_("Heads: training, tuning, validation"))
    for column in (_("head"), _("trained on"), _("chosen"), _("validation")):
        table.add_column(column, overflow="fold")
    for row in head_rows(card):
        table.add_row(*(escape(cell) for cell in row))
    out.print(table)
    if results is None:
        out.print(_("held-out figures: run benchmarks/classify.py in a source checkout"))
        return
    if results.get("model_version") and str(card.get("heads_version")) not in str(
        results["model_version"]
    ):
        out.print(
            escape(
                _(
                    "note: the figures below are of %(model)s, not these heads",
                    model=results["model_version"],
                )
            ),
            highlight=False,
        )
    bench = Table(title=_("Held-out test figures (%(date)s)", date=results.get("date", "?")))
    bench.add_column(_("figure"), overflow="fold")
    for column in COMPARED:
        bench.add_column(column, justify="right")
    for name, values in benchmark_rows(results):
        bench.add_row(
            escape(name), *(number(values[c], 3) if c in values else "" for c in COMPARED)
        )
    out.print(bench)
