"""Who sees customers' contact details: the care roles, who write to customers (agent,
supervisor, admin). Others (product, marketer) see addresses masked: enough to tell two
customers apart, not to write to them."""

from __future__ import annotations

import re

from ascolto.web.deps import Viewer

EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
PHONE = re.compile(r"\+?\d[\d ().-]{7,}\d")


def sees_contact_details(viewer: Viewer) -> bool:
    """Whether the viewer's role writes to customers."""
    return viewer.can("agent")


def masked(text: str) -> str:
    """`text` with e-mail addresses reduced to their first letter and domain, and phone
    numbers to their last two digits."""
    text = EMAIL.sub(lambda m: f"{m[1]}•••@{m[2]}", text)
    return PHONE.sub(lambda m: "•••" + m[0][-2:], text)


def shown_to(viewer: Viewer, text: str) -> str:
    """`text` as this viewer may see it."""
    return text if sees_contact_details(viewer) else masked(text)
