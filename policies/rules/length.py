"""Per-channel length limits."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field

from policies.context import DraftContext
from policies.rule import PASS, Rule, RuleOptions, RuleResult


class LengthOptions(RuleOptions):
    limits: dict[str, Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: {"mastodon": 500, "x": 280, "bluesky": 300, "reddit": 10000},
        description="Most characters per channel, or per network for a ready-to-post copy "
        "(channel `manual`); channels not listed (e.g. email) have no limit.",
    )
    action: Literal["block", "truncate"] = Field(
        "block",
        description="`block` a reply that is too long, or `truncate` it (an amendment) after "
        "its last whole sentence that fits, else at a word boundary with an ellipsis.",
    )
    ellipsis: str = Field("…", description="Appended to a truncated reply.")


class Length(Rule[LengthOptions]):
    """A reply fits its channel: characters as the platform counts them (code points)."""

    name = "length"
    Options = LengthOptions

    def check(self, ctx: DraftContext) -> RuleResult:
        limit = self.options.limits.get(ctx.channel)
        where = ctx.channel
        if limit is None and ctx.is_public and ctx.network:
            # A ready-to-post copy (channel "manual") still goes to the mention's network.
            limit, where = self.options.limits.get(ctx.network), ctx.network
        size = len(ctx.text)
        if limit is None or size <= limit:
            return PASS
        said = f"{size} characters; {where} allows {limit}"
        if self.options.action == "block":
            return self.fire("block", f"too long: {said}")
        return self.fire(
            "amend",
            f"truncated: the reply had {said}",
            text=truncate(ctx.text, limit, self.options.ellipsis),
        )


def truncate(text: str, limit: int, ellipsis: str) -> str:
    """At most `limit` characters: whole sentences when they fill most of it, else cut at a
    word boundary (when one is near) followed by `ellipsis`."""
    if len(text) <= limit:
        return text
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s|$)", text) if m.end() <= limit]
    if ends and ends[-1] >= limit * 0.7:
        return text[: ends[-1]]
    room = max(0, limit - len(ellipsis))
    cut = text[:room]
    boundary = max(cut.rfind(" "), cut.rfind("\n"))
    if boundary >= room * 0.8:
        cut = cut[:boundary]
    cut = re.sub(r"[\s,;:.\-\u2013\u2014]+$", "", cut)
    return (cut + ellipsis)[:limit]
