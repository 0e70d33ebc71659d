"""Signed survey links: whoever holds one may answer that one check-in, until it expires.

A token is `<check-in id>.<expiry, unix seconds>.<HMAC-SHA256>`: the id cannot be changed
to reach another customer's survey, nor the expiry to extend it, without the secret key.
Unsubscribe links are the outbox's one-click tokens (outreach.unsubscribe): they name an
address and never expire, since an old e-mail's unsubscribe link must keep working.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import quote

from outreach.campaigns.settings import Settings
from outreach.unsubscribe import make_token, unsubscribe_link
from storage.types import whole_number

SURVEY_PATH = "/survey/"
UNSUBSCRIBE_PATH = "/unsubscribe"


class LinkError(Exception):
    """A survey link that cannot be used."""


class LinkInvalid(LinkError):
    """Malformed or tampered with: it was not made by this service."""


class LinkExpired(LinkError):
    """Genuine but too old; `checkin_id` says whose it was."""

    def __init__(self, checkin_id: int) -> None:
        super().__init__(f"survey link of check-in {checkin_id} has expired")
        self.checkin_id = checkin_id


def readiness(settings: Settings) -> list[str]:
    """What is missing before check-ins can be sent (empty when nothing)."""
    missing = []
    if settings.secret_key is None:
        missing.append("secret_key is not set (ASCOLTO_SECRET_KEY): links cannot be signed")
    if not settings.web.public_url:
        missing.append("web.public_url is not set: e-mails cannot link to the survey pages")
    return missing


def _secret(settings: Settings) -> bytes:
    if settings.secret_key is None:
        raise LinkError("secret_key is not set (ASCOLTO_SECRET_KEY)")
    # A key of its own for survey links, so a signature made here means nothing elsewhere.
    return hmac.new(
        settings.secret_key.get_secret_value().encode("utf-8"), b"ascolto survey link", "sha256"
    ).digest()


def _signature(key: bytes, checkin_id: int, expires: int) -> str:
    digest = hmac.new(key, f"{checkin_id}.{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode("ascii")


def make_survey_token(settings: Settings, *, checkin_id: int, expires_at: datetime) -> str:
    """The token of one check-in's survey, valid until `expires_at`."""
    expires = int(expires_at.timestamp())
    return f"{checkin_id}.{expires}.{_signature(_secret(settings), checkin_id, expires)}"


def read_survey_token(settings: Settings, token: str, *, now: datetime) -> int:
    """The check-in id a token is for; LinkInvalid or LinkExpired otherwise."""
    parts = token.split(".")
    if len(parts) != 3:
        raise LinkInvalid("not a survey link")
    # Ids are 32-bit in every database; expiry times are seconds before the year 5000.
    checkin_id = whole_number(parts[0], low=1, high=2_147_483_647)
    expires = whole_number(parts[1], high=95_617_584_000)
    if checkin_id is None or expires is None:
        raise LinkInvalid("not a survey link")
    expected = _signature(_secret(settings), checkin_id, expires)
    if not hmac.compare_digest(parts[2].encode("ascii", "replace"), expected.encode("ascii")):
        raise LinkInvalid("the link's signature does not match")
    try:
        expiry = datetime.fromtimestamp(expires, UTC)
    except (OverflowError, OSError, ValueError):
        raise LinkInvalid("not a survey link") from None
    if now >= expiry:
        raise LinkExpired(checkin_id)
    return checkin_id


def _base(settings: Settings) -> str:
    if not settings.web.public_url:
        raise LinkError("web.public_url is not set")
    return settings.web.public_url.rstrip("/")


def survey_url(settings: Settings, *, checkin_id: int, expires_at: datetime) -> str:
    """The address of one check-in's survey page."""
    token = make_survey_token(settings, checkin_id=checkin_id, expires_at=expires_at)
    return f"{_base(settings)}{SURVEY_PATH}{token}"


def unsubscribe_url(settings: Settings, address: str) -> str:
    """The one-click unsubscribe address for `address`: `[delivery] unsubscribe_url` when
    set, else this web app's page."""
    configured = unsubscribe_link(settings, address)
    if configured:
        return configured
    if settings.secret_key is None:
        raise LinkError("secret_key is not set (ASCOLTO_SECRET_KEY)")
    token = make_token(settings.secret_key.get_secret_value(), address)
    return f"{_base(settings)}{UNSUBSCRIBE_PATH}?token={quote(token, safe='')}"
