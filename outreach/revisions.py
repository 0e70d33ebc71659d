"""Template revisions proposed from agents' edits, for an admin to accept.

When most edited drafts of a template make the same change, and the text changed is written
out in the template's source, the change is proposed as a revision of that source. An admin
reads the diff and accepts it, which writes the revised template into the user's templates
folder (`[outreach] templates_dir`), where it takes precedence over the shipped one.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from outreach.approval import TemplateEdits

# A change is proposed when at least this share of a template's edited drafts made it,
# and at least this many drafts.
MIN_SHARE = 0.5
MIN_DRAFTS = 3
_CHANGE = re.compile(r'^"(?P<old>.+)" → "(?P<new>.*)"$|^- "(?P<cut>.+)"$')


@dataclass(frozen=True)
class Revision:
    """A proposed revision: the template, its changes (old, new) and both sources."""

    template: str
    changes: list[tuple[str, str, int]]
    before: str
    after: str

    def diff(self) -> str:
        """The revision as a unified diff."""
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                fromfile=f"shipped/{self.template}",
                tofile=f"proposed/{self.template}",
            )
        )


def propose(
    edits: TemplateEdits,
    source: str,
    *,
    min_share: float = MIN_SHARE,
    min_drafts: int = MIN_DRAFTS,
) -> Revision | None:
    """The revision agents' common edits make to `source`; None when none applies."""
    after = source
    applied = []
    for change, count in edits.changes:
        if count < min_drafts or count < min_share * edits.edited:
            continue
        match = _CHANGE.match(change)
        if match is None:
            continue
        old = match.group("old") or match.group("cut")
        new = match.group("new") or ""
        # Only text written out in the template: never inside its code or variables.
        if old in _literal_text(after):
            after = after.replace(old, new, 1).replace("  ", " ")
            applied.append((old, new, count))
    if not applied:
        return None
    return Revision(edits.template, applied, source, after)


def _literal_text(source: str) -> str:
    """The template's text outside `{{ }}`, `{% %}` and `{# #}`."""
    return re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", "\x00", source, flags=re.DOTALL)


def accept(revision: Revision, templates_dir: Path) -> Path:
    """Write the revised template into the user's templates folder; returns its path."""
    path = templates_dir / revision.template
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(revision.after, encoding="utf-8")
    return path
