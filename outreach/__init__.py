"""Outreach: drafts people approve, and the outbox and channels that deliver them."""
