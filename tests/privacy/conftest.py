"""Fixtures borrowed from the campaign tests: settings with campaigns and a secret key."""

from tests.campaigns.conftest import campaign_settings  # noqa: F401
