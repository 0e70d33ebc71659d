"""Signed one-click unsubscribe links (RFC 8058): the token names an address, unforgeably."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from urllib.parse import quote

from outreach.settings import Settings

UNSUBSCRIBE_PATH = "/unsubscribe"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, address: str) -> bytes:
    message = b"unsubscribe\x00" + address.encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()[:18]


def make_token(secret: str, address: str) -> str:
    """A URL-safe token for `address` (compared case-insensitively)."""
    address = address.strip().lower()
    return f"{_b64(address.encode('utf-8'))}.{_b64(_signature(secret, address))}"


def read_token(secret: str, token: str) -> str | None:
    """The address a token was made for, or None when it is malformed or forged."""
    encoded, _, signature = token.partition(".")
    try:
        address = _unb64(encoded).decode("utf-8")
        given = _unb64(signature)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not address or not hmac.compare_digest(given, _signature(secret, address)):
        return None
    return address


def unsubscribe_link(settings: Settings, address: str) -> str | None:
    """The one-click unsubscribe address for `address`: `[delivery] unsubscribe_url`, else
    the web app's page under `web.public_url`; None without either, or without `secret_key`."""
    base = settings.delivery.unsubscribe_url
    if not base and settings.web.public_url:
        base = settings.web.public_url.rstrip("/") + UNSUBSCRIBE_PATH
    if not base or settings.secret_key is None:
        return None
    token = make_token(settings.secret_key.get_secret_value(), address)
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}token={quote(token, safe='')}"
