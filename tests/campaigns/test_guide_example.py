"""The example campaign in the marketers' guide is a valid settings block."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from ascolto.settings import CampaignSettings

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide" / "marketers.md"


def test_the_guides_example_campaign_is_valid() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split("## Post-purchase check-ins", 1)[1]
    found = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert found
    data = tomllib.loads(found.group(1))
    [campaign] = [CampaignSettings.model_validate(c) for c in data["campaigns"]]
    assert (campaign.trigger, campaign.survey) == ("delivered", ["csat", "nps"])
    assert data["web"]["public_url"].startswith("https://")
