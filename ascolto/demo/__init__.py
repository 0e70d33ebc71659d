"""`ascolto demo`: every listener kind against recorded responses, with no accounts.

A replay server on 127.0.0.1 serves recorded API answers (with pagination, a rate limit and
a flaky endpoint); a demo settings file in its own folder points one source of every kind at
it; then either one round of everything runs (`--once`) or the full service starts.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ascolto.demo.server import ReplayServer
from ascolto.demo.timeshift import shift_date
from storage.errors import AscoltoError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

DEMO_TOKEN_ENV = "ASCOLTO_DEMO_SHOP_TOKEN"  # noqa: S105 (a variable name, not a secret)
# A fixed port keeps the replayed addresses (which some sources use as ids) the same from
# one demo run to the next, so a second run shows that nothing is stored twice.
REPLAY_PORT = 8765
LAUNCHED_ON = date(2026, 11, 1)
"""The Acme Tab 3's launch in the recordings' calendar."""


# The demo listens on 127.0.0.1 only and says these on its first screen and its sign-in page.
DEMO_USER = "demo"
DEMO_PASSWORD = "demo-password"  # noqa: S105 (published on purpose: the demo's sign-in)


def ensure_demo_user(engine: Engine) -> None:
    """The demo's administrator, so the web app can be tried at once."""
    from ascolto.auth import create_user
    from storage.db import session_scope
    from storage.users import get_user

    with session_scope(engine) as session:
        if get_user(session, DEMO_USER) is None:
            create_user(
                session, username=DEMO_USER, password=DEMO_PASSWORD, role="admin", actor="demo"
            )


def demo_settings(
    base: str, directory: Path, *, web_port: int = 8000, offset: timedelta = timedelta(0)
) -> str:
    """The demo's settings.toml, pointing one source of every kind at `base`; the launch
    date moves with the replayed recordings (`offset`)."""
    launched = shift_date(LAUNCHED_ON, offset).isoformat()
    return f"""\
# Written by `ascolto demo`: every source points at the local replay server {base}.
[database]
url = "sqlite:///{directory / "demo.db"}"

[web]
enabled = true
port = {web_port}

[http]
# Polite but quick: the replay server is local.
per_host_interval = 0.1
backoff = 0.2
retries = 3

[[products]]
name = "Acme Tab 3"
aliases = ["Tab 3", "AcmeTab3"]
skus = ["AT3-128-GRY", "AT3-256-SLV"]
launched_on = "{launched}"

[[products]]
name = "Acme Buds"
aliases = ["Buds"]
skus = ["ABUDS-WHT"]

[[sources]]
name = "news-alerts"
kind = "rss"
allow_private_addresses = true
url = "{base}/rss/news.xml"
keywords = ["acme"]

[[sources]]
name = "owners-forum"
kind = "rss"
allow_private_addresses = true
url = "{base}/rss/forum.atom"

[[sources]]
name = "community"
kind = "json"
allow_private_addresses = true
url = "{base}/forum/search.json"
params = {{ q = "acme" }}
items_path = "posts"
cursor_field = "created_at"
fields = {{ external_id = "id", text = "blurb", title = "topic_title_headline", \
author_handle = "username", author_name = "name", published_at = "created_at" }}

[[sources]]
name = "reddit"
kind = "reddit"
allow_private_addresses = true
query = "acme"
base_url = "{base}/reddit"

[[sources]]
name = "hacker-news"
kind = "hackernews"
allow_private_addresses = true
query = "acme"
base_url = "{base}/hn"

[[sources]]
name = "mastodon"
kind = "mastodon"
allow_private_addresses = true
instances = ["{base}/mastodon"]
hashtags = ["acme"]

[[sources]]
name = "bluesky"
kind = "bluesky"
allow_private_addresses = true
query = "acme"
base_url = "{base}/bsky"

[[sources]]
name = "app-store"
kind = "appstore"
allow_private_addresses = true
app_ids = ["1598765432"]
countries = ["it", "us"]
base_url = "{base}/appstore"

[[sources]]
name = "review-site"
kind = "reviews"
allow_private_addresses = true
start_urls = ["{base}/prodotti/acme-tab-3/recensioni"]
timeout = 120

[[sources]]
name = "shop-orders"
kind = "shopify"
allow_private_addresses = true
shop_url = "{base}/shopify"
token_env = "{DEMO_TOKEN_ENV}"
"""


REPLAYED_AT = "replayed-at"
"""The file in the demo folder that keeps the moment the recordings were moved to."""
REPLAY_KEPT = timedelta(days=1)


def replay_time(directory: Path) -> datetime:
    """The moment the recordings end in this demo folder: the one of the last run if it was
    within a day (so the same recordings carry the same dates, and a second run finds
    nothing new), else now."""
    from storage.types import utcnow

    now = utcnow()
    kept = directory / REPLAYED_AT
    try:
        before = datetime.fromisoformat(kept.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        before = None
    if before is not None and before.tzinfo is not None and now - REPLAY_KEPT < before <= now:
        return before
    kept.write_text(now.isoformat(), encoding="utf-8")
    return now


def start(
    directory: Path, *, web_port: int = 8000, replay_port: int = REPLAY_PORT
) -> tuple[ReplayServer, Path]:
    """Start the replay server and write the demo settings; returns both."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        server = ReplayServer.from_recordings(port=replay_port, now=replay_time(directory))
    except OSError as exc:
        raise AscoltoError(
            f"the demo's replay server cannot listen on 127.0.0.1:{replay_port} ({exc}); "
            "choose another port with --replay-port"
        ) from None
    config = directory / "settings.toml"
    config.write_text(
        demo_settings(server.base, directory.resolve(), web_port=web_port, offset=server.offset)
    )
    # The replay server accepts any token; the listener still insists on having one.
    os.environ.setdefault(DEMO_TOKEN_ENV, "demo-token")
    return server, config
