"""Drafting answers only the mentions that deserve it, and says why the others got none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from outreach.drafting import draft_for_mention
from storage.db import session_scope
from tests.factories import at
from tests.outreach.draft_factories import add_mention, settings_for

NOW = at(days=1)


def drafted(engine: Engine, tmp_path: Path, database_url: str, body: str = "", **mention: Any):
    settings = settings_for(tmp_path, database_url, body)
    mention_id = add_mention(engine, **mention)
    with session_scope(engine) as session:
        made = draft_for_mention(session, settings, mention_id, now=NOW)
        assert made is not None
        session.expunge(made)
        return made


# Posts from the demo's sources that no agent would answer (or not with an apology).
NO_REPLY = [
    pytest.param(
        {
            "source_kind": "mastodon",
            "handle": "acme",
            "author_name": "Acme :verified:",
            "text": "Firmware 2.1.1 for Acme Tab 3 is rolling out today. It fixes the "
            "standby battery drain some of you reported.",
            "issues": ("defect",),
        },
        "brand's own account",
        id="brand-on-mastodon",
    ),
    pytest.param(
        {
            "source_kind": "bluesky",
            "handle": "acme.example",
            "author_name": "Acme",
            "text": "Firmware 2.1.1 for Acme Tab 3 is rolling out now. Fixes standby drain.",
            "issues": ("defect",),
        },
        "brand's own account",
        id="brand-on-bluesky",
    ),
    pytest.param(
        {
            "handle": "AutoModerator",
            "title": "Weekly Acme Tab 3 help thread — week 47",
            "text": "Ask your Acme Tab 3 & Acme Buds questions here. Please search before posting.",
            "complaint": False,
            "issues": ("question",),
        },
        "bot or a moderator",
        id="automoderator",
    ),
    pytest.param(
        {
            "handle": "gadgetwire",
            "title": "Acme Tab 3 review: a brighter screen and a battery that finally lasts",
            "text": "",
            "issues": ("defect",),
        },
        "news",
        id="headline",
    ),
    pytest.param(
        {
            "source_kind": "mastodon",
            "handle": "giulia",
            "author_name": "Giulia 🎧",
            "language": "it",
            "text": "Aggiornato l'Acme Tab 3 al firmware 2.1.1: la batteria finalmente non "
            "si scarica più in standby 🎉",
            "issues": ("defect",),
        },
        "happy",
        id="happy-customer",
    ),
]


@pytest.mark.parametrize(("mention", "why"), NO_REPLY)
def test_mentions_that_deserve_no_reply_are_held_back_with_the_reason(
    engine: Engine, database_url: str, tmp_path: Path, mention: dict[str, Any], why: str
) -> None:
    made = drafted(engine, tmp_path, database_url, **mention)
    assert made.verdict == "block"
    assert made.status == "rejected"
    assert made.reason is not None
    assert made.reason.startswith("deserves_reply: ")
    assert why in made.reason


def test_the_brands_accounts_listed_in_the_policy_are_recognised(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[deserves_reply]\nown_accounts = ["@giulia_care@social.example"]\n')
    made = drafted(
        engine,
        tmp_path,
        database_url,
        f'[policies]\nfile = "{policy}"\n',
        source_kind="mastodon",
        handle="giulia_care@social.example",
        text="Our Tab 3 update is out now",
    )
    assert made.status == "rejected"
    assert "brand's own account" in (made.reason or "")


def test_a_pre_purchase_question_is_answered_not_apologised_to(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    made = drafted(
        engine,
        tmp_path,
        database_url,
        source_kind="bluesky",
        handle="samtech.bsky.social",
        text="acme tab 3 or wait for black friday?? #acme",
        issues=("delivery",),
    )
    assert made.intent == "question"
    assert made.status == "pending"
    assert "sorry" not in made.text.lower()


def test_a_customer_with_a_problem_still_gets_a_reply(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    made = drafted(
        engine,
        tmp_path,
        database_url,
        source_kind="bluesky",
        handle="samtech.bsky.social",
        text="Still getting 10% drain overnight on my Tab 3 after 2.1.1 😕",
        issues=("defect",),
    )
    assert made.intent == "complaint_defect"
    assert made.status == "pending"


@pytest.mark.parametrize(("handle", "name"), [("lucaverdi", "lucaverdi"), ("rbolt", "rbolt")])
def test_a_handle_is_never_greeted_as_a_first_name(
    engine: Engine, database_url: str, tmp_path: Path, handle: str, name: str
) -> None:
    made = drafted(
        engine,
        tmp_path,
        database_url,
        source_kind="appstore",
        handle=handle,
        author_name=name,
        text="My Acme Tab 3 still hasn't arrived",
    )
    assert name.capitalize() not in made.text
    assert made.text.startswith(f"Hi @{handle},")


def test_a_display_name_written_as_a_name_is_used(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    made = drafted(
        engine,
        tmp_path,
        database_url,
        handle="giuliaferri.bsky.social",
        author_name="Giulia Ferri",
        text="My Acme Tab 3 still hasn't arrived",
    )
    assert made.text.startswith("Hi Giulia,")
