"""Template revisions proposed from agents' common edits, accepted by an admin."""

from __future__ import annotations

from pathlib import Path

from outreach.approval import TemplateEdits
from outreach.rendering import TEMPLATES, Renderer
from outreach.revisions import accept, propose

NAME = "en/question.public.txt.j2"


def test_a_change_most_edited_drafts_make_is_proposed_and_accepted(tmp_path: Path) -> None:
    source = (TEMPLATES / NAME).read_text(encoding="utf-8")
    edits = TemplateEdits(
        NAME,
        edited=4,
        changes=[
            ('"thanks for your question" → "good question"', 3),
            ('- "here"', 1),
            ('"Acme" → "ACME"', 4),
        ],
    )
    revision = propose(edits, source)
    assert revision is not None
    # Written-out text is revised; a rare change and the template's variables are not.
    assert [(old, new) for old, new, _ in revision.changes] == [
        ("thanks for your question", "good question")
    ]
    assert "good question" in revision.after
    assert "{{ greeting }}" in revision.after
    assert "-{{ greeting }} thanks for your question" in revision.diff()
    path = accept(revision, tmp_path)
    assert path == tmp_path / NAME
    # The user's folder wins over the shipped templates.
    assert Renderer(tmp_path).env.get_template(NAME).filename == str(path)


def test_nothing_is_proposed_when_no_change_is_common() -> None:
    source = (TEMPLATES / NAME).read_text(encoding="utf-8")
    edits = TemplateEdits(NAME, edited=10, changes=[('"thanks for your question" → "hi"', 3)])
    assert propose(edits, source) is None
