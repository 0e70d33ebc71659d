"""Erasing and exporting one person: what the command line and the admin page call.

Finding, exporting and erasing rows is storage's (`storage.privacy`); here the clusters a
person's complaints counted in give them back (their figures follow), the erasure key is
chosen, and the audit log says that an erasure happened and who asked, never whom it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from ascolto.settings import Settings
from storage import audit
from storage.db import session_scope
from storage.errors import AscoltoError
from storage.privacy import (
    Footprint,
    PersonKey,
    erase_person,
    export_person,
    find_person,
    is_erased,
)
from storage.types import utcnow


class PrivacyError(AscoltoError):
    """A person cannot be named, found or erased as asked; the message says why."""

    exit_code = 2


def erasure_key(settings: Settings) -> bytes:
    """The key of erased people's hashes (see PrivacySettings.erasure_key)."""
    return settings.privacy.erasure_key(settings.secret_key)


def person_key(
    *,
    email: str | None = None,
    customer: str | None = None,
    handle: str | None = None,
) -> PersonKey:
    """A PersonKey from what a person typed; a handle is `platform:handle`."""
    email = (email or "").strip() or None
    customer = (customer or "").strip() or None
    handle = (handle or "").strip() or None
    platform = None
    if handle is not None:
        platform, sep, handle = handle.partition(":")
        if not sep or not platform.strip() or not handle.strip():
            raise PrivacyError(
                f"handle {platform + sep + handle!r}: expected platform:handle, e.g. "
                "reddit:someone or mastodon:someone@example.social"
            )
    if email is not None and ("@" not in email or len(email) > 320):
        raise PrivacyError(f"{email[:80]!r} is not an e-mail address")
    if customer is not None and len(customer) > 200:
        raise PrivacyError("a customer id has at most 200 characters")
    try:
        return PersonKey(email=email, customer=customer, platform=platform, handle=handle)
    except ValueError as exc:
        raise PrivacyError(str(exc)) from None


@dataclass
class Found:
    """What was found about a person, by table."""

    key: PersonKey
    counts: dict[str, int]

    @property
    def empty(self) -> bool:
        return not self.counts


def find(engine: Engine, key: PersonKey) -> Found:
    """Count the person's rows, table by table, changing nothing."""
    with session_scope(engine) as session:
        return Found(key, find_person(session, key).counts())


def export(engine: Engine, key: PersonKey, *, actor: str) -> dict[str, Any]:
    """Everything held about the person, as one JSON document; the audit log notes that an
    export happened and by whom."""
    with session_scope(engine) as session:
        document = export_person(session, find_person(session, key))
        audit.record(session, actor=actor, action="privacy.exported", subject_type="person")
    return document


def erase(settings: Settings, engine: Engine, key: PersonKey, *, actor: str) -> Found:
    """Erase the person everywhere, in one transaction; returns what was found."""
    now = utcnow()
    with session_scope(engine) as session:
        found = find_person(session, key)
        counts = found.counts()
        if found.empty:
            return Found(key, {})
        _leave_clusters(session, settings, found, actor=actor)
        erase_person(session, found, key=erasure_key(settings), now=now)
        # That an erasure happened and who asked: never whom, nor what was erased.
        audit.record(session, actor=actor, action="privacy.erased", subject_type="person")
    return Found(key, counts)


def _leave_clusters(session: Session, settings: Settings, found: Footprint, *, actor: str) -> None:
    """Take the person's complaints out of defect clusters while their vectors still exist,
    so each cluster's size, authors, terms and baseline follow."""
    from ascolto.defects.detection import withdraw_complaint
    from storage.defects import memberships

    for mention_id in sorted(found.ids("mention")):
        if memberships(session, mention_id=mention_id):
            withdraw_complaint(session, settings, mention_id, leave=lambda _name: True, by=actor)


def erased(
    session: Session,
    settings: Settings,
    *,
    email: str | None = None,
    platform: str | None = None,
    handle: str | None = None,
) -> bool:
    """Whether the address or handle belongs to an erased person: never contact them."""
    return is_erased(
        session, key=erasure_key(settings), email=email, platform=platform, handle=handle
    )
