"""Only mentions that deserve a reply get one.

Never the brand's own posts (its configured accounts, or its name on any network), bots and
moderators, news outlets, press releases and headlines, nor an apology to a customer who is
happy; a pre-purchase question gets an answer, not an apology. The finding says which, so
an agent sees why a mention got no reply.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from policies.audience import (
    DEFAULT_BOTS,
    DEFAULT_NEWS_ACCOUNTS,
    is_bot,
    is_happy,
    is_news,
    is_own_account,
    is_pre_purchase,
)
from policies.context import DraftContext
from policies.rule import PASS, Rule, RuleOptions, RuleResult

# Replies that say sorry: wrong for a happy customer or someone who has not bought yet.
APOLOGIES = ("complaint_", "known_issue")


class DeservesReplyOptions(RuleOptions):
    own_accounts: list[str] = Field(
        default_factory=list,
        description="The brand's own accounts, on any network (`@acme@mastodon.social`, "
        "`acme.bsky.social`, `u/acme_support`); accounts named after the brand are "
        "recognised without being listed.",
    )
    bots: list[str] = Field(
        default_factory=lambda: list(DEFAULT_BOTS),
        description="Bot and moderator accounts (handles ending in `bot` are bots too).",
    )
    news_accounts: list[str] = Field(
        default_factory=lambda: list(DEFAULT_NEWS_ACCOUNTS),
        description="News outlets and wires; press releases and headlines are recognised "
        "by their words.",
    )
    happy: bool = Field(True, description="No apology to a customer who is happy.")
    pre_purchase: bool = Field(
        True, description="No apology to a question asked before buying: it gets an answer."
    )
    outcome: Literal["block", "escalate"] = Field(
        "block", description="What a reply to a mention that deserves none leads to."
    )


class DeservesReply(Rule[DeservesReplyOptions]):
    """Replies only to customers who need one, in the kind of reply they need."""

    name = "deserves_reply"
    Options = DeservesReplyOptions

    def check(self, ctx: DraftContext) -> RuleResult:
        if ctx.proactive or not ctx.mention_text or ctx.intent == "follow_up":
            return PASS
        reason = self.why_not(ctx)
        if reason is None:
            return PASS
        return self.fire(self.options.outcome, reason)

    def why_not(self, ctx: DraftContext) -> str | None:
        """Why this mention deserves no reply (or not this one); None when it does."""
        options = self.options
        who = ctx.author_handle or "the author"
        where = f" on {ctx.network}" if ctx.network else ""
        if is_own_account(ctx.author_handle, ctx.author_name, ctx.brand, options.own_accounts):
            return f"{who}{where} is the brand's own account: no reply to our own posts"
        if is_bot(ctx.author_handle, ctx.mention_text, options.bots):
            return f"{who}{where} is a bot or a moderator: nobody would read a reply"
        if is_news(ctx.author_handle, ctx.mention_text, options.news_accounts):
            return f"{who}{where} posted news, a press release or a headline, not a customer"
        apology = (ctx.intent or "").startswith(APOLOGIES)
        if apology and options.happy and is_happy(ctx.mention_text, ctx.sentiment):
            return (
                "the customer is happy: a reply must not apologise for a problem they no "
                "longer have"
            )
        if apology and options.pre_purchase and is_pre_purchase(ctx.mention_text):
            return "a question asked before buying: it needs an answer, not an apology"
        return None
