"""MkDocs hooks: every figure and reference in the site is generated while it builds.

A page asks for generated text with a marker such as
`{{ figure("classify.json", "complaints.ours.macro_f1", ".3f") }}`. Figures come from the
benchmarks' results (`benchmarks/results/*.json`) and the shipped heads' cards, the
configuration reference from the settings models and the CLI reference from the command
tree, so none of them can go stale: a missing file, key or command fails the build.
"""

from __future__ import annotations

import ast
import json
import operator
import re
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"

# The hooks document the code beside them, not whatever copy is installed.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --- figures ---------------------------------------------------------------------------


@cache
def _json(file: str) -> Any:
    # "classify.json" is a benchmark result; a path with a folder is relative to the repository.
    path = ROOT / file if "/" in file else RESULTS / file
    if not path.is_file():
        raise ValueError(f"no such results file: {path.relative_to(ROOT)}")
    return json.loads(path.read_text(encoding="utf-8"))


def value(file: str, path: str | list[str | int]) -> Any:
    """The value at `path` (dotted, list items by position) in a results file."""
    node = _json(file)
    keys = path.split(".") if isinstance(path, str) else path
    for key in keys:
        if isinstance(node, list):
            node = node[int(key)]
        elif isinstance(node, dict) and key in node:
            node = node[key]
        else:
            raise ValueError(f"{file} has no {path!r} (stopped at {key!r})")
    return node


def fmt(number: Any, spec: str = "") -> str:
    """A number written with a format spec: ".3f", ",.0f", ".1%" …; `None` reads as a dash."""
    if number is None:
        return "\u2013"  # an en dash, as in the tables: nothing was measured
    if isinstance(number, bool):
        return "yes" if number else "no"
    if isinstance(number, bool) or not isinstance(number, int | float):
        if spec:
            raise ValueError(f"{number!r} is not a number, cannot format it as {spec!r}")
        return str(number)
    return format(number, spec)


def figure(file: str, path: str | list[str | int], spec: str = "") -> str:
    """One figure from a results file, formatted."""
    return fmt(value(file, path), spec)


def measured(file: str) -> str:
    """When and where a results file was measured, for the caption under its figures."""
    data = _json(file)
    when = str(data.get("date") or data.get("when") or "an unrecorded date")[:10]
    machine = data.get("machine", "")
    if isinstance(machine, dict):
        machine = f"{machine.get('cpus', '?')} cores, Python {machine.get('python', '?')}"
    where = f" on {machine}" if machine else ""
    return f"Measured {when}{where} (`benchmarks/results/{file}`)."


# --- references ------------------------------------------------------------------------


def settings_reference() -> str:
    """Every setting with its type, default and description, from the settings models."""
    from ascolto.reference import settings_reference as generate

    return generate()


def cli_reference() -> str:
    """Every command of the `ascolto` command line with its arguments and options."""
    import typer

    from ascolto.cli import app

    root = typer.main.get_command(app)
    context = typer.Context(root, info_name="ascolto")
    return "\n".join(_command_sections(root, context, level=3)).rstrip() + "\n"


def _command_sections(command: Any, context: Any, level: int) -> Iterator[str]:
    import typer

    for name in command.list_commands(context):
        sub = command.get_command(context, name)
        if sub is None or sub.hidden:
            continue
        sub_context = typer.Context(sub, info_name=name, parent=context)
        path = sub_context.command_path
        yield f"{'#' * level} `{path}`"
        yield ""
        help_text = (sub.help or "").strip()
        if help_text:
            yield _unwrap(help_text)
            yield ""
        if hasattr(sub, "list_commands"):
            yield from _command_sections(sub, sub_context, level + 1)
            continue
        # Usage names arguments `{name}`; the reference writes them as NAME, as --help does.
        pieces = re.sub(
            r"\{(\w+)\}",
            lambda m: m.group(1).upper(),
            " ".join(sub.collect_usage_pieces(sub_context)),
        )
        yield "```"
        yield f"{path} {pieces}".rstrip()
        yield "```"
        yield ""
        rows = list(_parameter_rows(sub, sub_context))
        if rows:
            yield "| argument or option | description |"
            yield "|---|---|"
            yield from rows
            yield ""


def _parameter_rows(command: Any, context: Any) -> Iterator[str]:
    for param in command.get_params(context):
        record = None if getattr(param, "hidden", False) else param.get_help_record(context)
        if record is None or record[0] == "--help":
            continue
        yield f"| `{record[0]}` | {_cell(record[1])} |"


def _unwrap(text: str) -> str:
    # Click keeps docstring line breaks; paragraphs are what Markdown needs.
    paragraphs = re.split(r"\n\s*\n", text.replace("\b\n", ""))
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def _cell(text: str) -> str:
    # One line, and `<id>` in help text is text, not an HTML tag.
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;")


# --- the model card --------------------------------------------------------------------


def heads_card(folder: str) -> str:
    """What the shipped heads in `classify/shipped/<folder>` were trained on and scored."""
    card = _json(f"classify/shipped/{folder}/card.json")
    lines = [
        f"Encoder `{card['encoder']}`, heads version `{card['heads_version']}`, "
        f"trained {card['trained_on'][:10]} with seed {card['seed']}.",
        "",
        "| head | trained on | chosen settings | validation score |",
        "|---|---|---|---|",
    ]
    data = card.get("data", {})
    for name, head in card.get("heads", {}).items():
        chosen = head.get("chosen") or {"C": head.get("chosen_C")}
        settings = ", ".join(
            f"{k} = {v}" for k, v in chosen.items() if not k.startswith(("val", "cv"))
        )
        scores = {k: v for k, v in chosen.items() if k.startswith(("val", "cv"))}
        if not scores and _chosen_cv(head) is not None:
            scores[f"cv macro-F1, {head.get('cv_folds')} folds"] = _chosen_cv(head)
        score_text = ", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in scores.items())
        source = data.get(name) or f"as for `{name.split('_')[0]}`"
        lines.append(
            f"| `{name}` | {_cell(source)} ({head.get('n_train', '?')} texts) | "
            f"{_cell(settings)} | {score_text} |"
        )
    lines += ["", f"Not used for training: {data.get('not_used', 'not recorded')}."]
    return "\n".join(lines) + "\n"


def encoders_table() -> str:
    """Every shipped encoder's heads side by side, from their cards' validation scores."""
    default = str(value("classify.json", "model_version")).split("+heads:")[0]
    lines = [
        "| encoder | sentiment, validation macro-recall (English) "
        "| sentiment, validation macro-F1 (Italian head) | complaint, CV macro-F1 "
        "| issue types, CV macro-F1 |",
        "|---|---:|---:|---:|---:|",
    ]
    for path in sorted((ROOT / "classify" / "shipped").glob("*/card.json")):
        card = json.loads(path.read_text(encoding="utf-8"))
        heads = card.get("heads", {})
        name = f"`{card['encoder']}`" + (" (**default**)" if card["encoder"] == default else "")
        cells = [
            heads.get("sentiment", {}).get("chosen", {}).get("val_en_macro_recall"),
            heads.get("sentiment_it", {}).get("chosen", {}).get("val_it_macro_f1"),
            _chosen_cv(heads.get("complaint", {})),
            _chosen_cv(heads.get("issues", {})),
        ]
        lines.append(f"| {name} | " + " | ".join(fmt(c, ".3f") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def kind_errors_table() -> str:
    """Per kind of post, over every hand-made mention set's test split: how often the
    complaint flag and the sentiment were wrong in each language, with one wrong example."""
    hand = value("classify.json", "hand_made")
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    for block in hand.values():
        for lang in ("it", "en"):
            for kind, figures in block.get(lang, {}).get("errors_by_kind", {}).items():
                total = totals.setdefault(
                    (kind, lang), {"n": 0, "complaint_wrong": 0, "sentiment_wrong": 0, "ex": []}
                )
                for key in ("n", "complaint_wrong", "sentiment_wrong"):
                    total[key] += figures[key]
                total["ex"].extend(figures["examples"])
    lines = [
        "| kind of post | language | posts | complaint flag wrong | sentiment wrong "
        "| for example |",
        "|---|---|---:|---:|---:|---|",
    ]
    for (kind, lang), t in sorted(
        totals.items(), key=lambda item: (-item[1]["complaint_wrong"] / item[1]["n"], item[0])
    ):
        example = ""
        if t["ex"]:
            ex = t["ex"][0]
            said = "complaint" if ex["ours"]["complaint"] else "no complaint"
            example = f"{_cell(ex['text'][:140])} → {said}, {ex['ours']['sentiment']}"
        lines.append(
            f"| {kind} | {lang} | {t['n']} | {t['complaint_wrong'] / t['n']:.0%} "
            f"| {t['sentiment_wrong'] / t['n']:.0%} | {example} |"
        )
    return "\n".join(lines)


def calibration_table(folder: str) -> str:
    """Expected calibration error of the care-mixed sentiment and complaint probabilities per
    language, before and after the scaling of the heads in `classify/shipped/<folder>`."""
    card = _json(f"classify/shipped/{folder}/card.json")["heads"]
    lines = [
        "| task | language | ECE before | ECE after | scaling |",
        "|---|---|---:|---:|---|",
    ]
    for name, task, key in (
        ("care_sentiment", "sentiment", "temperature"),
        ("care_complaint", "complaint", "platt"),
    ):
        for lang, figures in card[name].get("calibration", {}).items():
            scaling = figures[key]
            shown = (
                f"temperature {scaling:.2f}"
                if key == "temperature"
                else f"Platt {scaling[0]:.2f}, {scaling[1]:+.2f}"
            )
            who = "other" if lang == "*" else lang
            lines.append(
                f"| {task} | {who} | {figures['ece_before']:.3f} | {figures['ece_after']:.3f} "
                f"| {shown} |"
            )
    return "\n".join(lines)


def care_table() -> str:
    """Customer-care text (hand-made sets and public care sets, test splits): ascolto, its
    general heads without the care heads, and the baselines, from `classify.json`."""
    lines = [
        "| set (test split) | language | measure | texts | ascolto | general heads only "
        "| VADER | majority | target |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]

    def row(name: str, lang: str, measure: str, n: Any, node: dict[str, Any], target: Any) -> None:
        cells = [node.get(k) for k in ("ours", "general_heads_only", "vader", "majority")]
        lines.append(
            f"| {name} | {lang} | {measure} | {fmt(n, ',')} | "
            + " | ".join(fmt(c, ".3f") for c in cells)
            + f" | {fmt(target, '.2f')} |"
        )

    hand = value("classify.json", "hand_made")
    for key, name in (
        ("care_mentions", "care mentions"),
        ("care_mentions_more", "care mentions II"),
        ("care_mentions_hard", "hard cases (dev shares their situations)"),
    ):
        if key not in hand:
            continue
        care = hand[key].get("target", {})
        for lang in ("it", "en"):
            block = hand[key][lang]
            for task, measure, figures, target in (
                ("sentiment", "sentiment accuracy", "accuracy", "sentiment_accuracy"),
                ("complaint", "complaint F1", "f1", "complaint_f1"),
            ):
                node = block[task]
                row(name, lang, measure, node["n"], node[figures], care.get(target))
    for key, name in (("brand_stream", "brand stream"), ("brand_stream_more", "brand stream II")):
        if key not in hand:
            continue
        stream = hand[key].get("target", {})
        for lang in ("it", "en"):
            block = hand[key][lang]["complaint"]
            for measure, target in (
                ("precision", "complaint_precision"),
                ("recall", "complaint_recall"),
            ):
                node = {"ours": block["ours"][measure]}
                for other in ("general_heads_only", "vader"):
                    if other in block:
                        node[other] = block[other][measure]
                row(name, lang, f"complaint {measure}", block["n"], node, stream.get(target))
    for name, label in (
        ("italian_reviews", "Italian reviews"),
        ("english_reviews", "English reviews"),
    ):
        block = hand[name]
        row(
            label,
            block["lang"],
            "polarity accuracy (1-2 vs 4-5 stars)",
            block["n"],
            block["polarity_accuracy"],
            block.get("target_polarity_accuracy"),
        )
    for lang, block in hand.get("review_sentences", {}).items():
        for part, node in block["polarity_accuracy"].items():
            target = block.get("target_hotel_polarity_accuracy") if part == "hotel" else None
            what = "all domains" if part == "all" else part
            row("review sentences", lang, f"polarity accuracy ({what})", node["n"], node, target)
    sets = value("classify.json", "care_sets")
    block = sets["it_public_service_tweets"]
    row(
        "Italian tweets to public services",
        "it",
        "sentiment macro-F1",
        block["sentiment"]["n"],
        block["sentiment"]["macro_f1"],
        block.get("target_macro_f1"),
    )
    for name in ("x_fincorp", "cesamard_aspect"):
        block = sets[name]
        row(
            name,
            block["lang"],
            "complaint F1",
            block["complaint"]["n"],
            block["complaint"]["f1"],
            block.get("target_complaint_f1"),
        )
    return "\n".join(lines) + "\n"


def _chosen_cv(head: dict[str, Any]) -> float | None:
    for row in head.get("grid", []):
        # A head scored by another measure (urgency: micro-F1) has no macro-F1 to show.
        if row.get("C") == head.get("chosen_C") and "cv_macro_f1" in row:
            return float(row["cv_macro_f1"])
    return None


# --- markers ---------------------------------------------------------------------------

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "figure": figure,
    "value": value,
    "fmt": fmt,
    "measured": measured,
    "settings_reference": settings_reference,
    "cli_reference": cli_reference,
    "heads_card": heads_card,
    "encoders_table": encoders_table,
    "care_table": care_table,
    "calibration_table": calibration_table,
    "kind_errors_table": kind_errors_table,
}
MARKER = re.compile(r"\{\{\s*((?:" + "|".join(FUNCTIONS) + r")\(.*?\))\s*\}\}", re.DOTALL)
CODE = re.compile(r"(^[ \t]*```.*?^[ \t]*```[^\n]*$|`[^`\n]+`)", re.DOTALL | re.MULTILINE)
OPERATORS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
}


def evaluate(expression: str) -> Any:
    """A marker's expression: calls of the functions above, literals and arithmetic only."""
    return _evaluate(ast.parse(expression, mode="eval").body)


def _evaluate(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return [_evaluate(item) for item in node.elts]
    if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
        return OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in OPERATORS:
        return OPERATORS[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id not in FUNCTIONS:
            raise ValueError(f"unknown function {node.func.id!r}")
        args = [_evaluate(arg) for arg in node.args]
        kwargs = {kw.arg: _evaluate(kw.value) for kw in node.keywords if kw.arg}
        return FUNCTIONS[node.func.id](*args, **kwargs)
    raise ValueError(f"not allowed in a marker: {ast.dump(node)[:60]}")


def expand(markdown: str, where: str) -> str:
    """Replace every marker in a page; a marker that cannot be computed fails the build."""

    def replace(match: re.Match[str]) -> str:
        try:
            return str(evaluate(match.group(1)))
        except Exception as exc:
            raise PluginError(f"{where}: {{{{ {match.group(1)} }}}}: {exc}") from exc

    # Markers shown as examples in code (fenced blocks, `inline`) stay as written.
    pieces = CODE.split(markdown)
    return "".join(
        piece if index % 2 else MARKER.sub(replace, piece) for index, piece in enumerate(pieces)
    )


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """MkDocs event: expand the markers of each page before it is rendered."""
    return expand(markdown, page.file.src_uri)


def on_pre_build(**_: Any) -> None:
    """MkDocs event: each build (and rebuild under `mkdocs serve`) reads the results afresh."""
    _json.cache_clear()
