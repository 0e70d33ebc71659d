"""The template source: the draft the shipped (or the user's) template renders."""

from __future__ import annotations

from outreach.drafters.base import Composed, DraftRequest, DraftSource


class TemplateSource(DraftSource):
    """Always writes: the template's draft is what every other source falls back to."""

    name = "template"

    def compose(self, request: DraftRequest) -> Composed:
        return Composed(request.template.text)
