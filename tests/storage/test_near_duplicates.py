"""Reposts, cross-posts and copied reviews are linked to their original, on both databases."""

from __future__ import annotations

from sqlmodel import Session, select

from storage.db import session_scope
from storage.fingerprint import distance, simhash
from storage.mentions import ingest
from storage.models import Mention
from storage.sources import SourceSpec, sync_sources
from tests.factories import make_item

ORIGINAL = (
    "My Acme Tab 3 battery drains overnight since the 2.1 update, it loses forty percent "
    "while the screen is off and nothing is running"
)
REPOST = f"RT @giulia: {ORIGINAL} https://t.co/abc123"
COPIED_REVIEW = f"{ORIGINAL.upper()}!!! #AcmeTab3 #fail https://reviews.example/r/991"
UNRELATED = (
    "The hinge of the Acme Tab 3 keyboard case squeaks every time I open it in the morning, "
    "otherwise a solid product"
)


def _sources(engine) -> tuple[int, int]:
    with session_scope(engine) as session:
        rows = sync_sources(session, [SourceSpec("forum", "rss"), SourceSpec("reviews", "rss")])
        return rows["forum"].id, rows["reviews"].id


def _by_text(session: Session) -> dict[str, Mention]:
    return {m.text: m for m in session.exec(select(Mention)).all()}


def test_fingerprint_distances():
    assert distance(simhash(ORIGINAL), simhash(REPOST)) <= 3
    assert distance(simhash(ORIGINAL), simhash(UNRELATED)) > 10
    assert simhash("love it") is None  # too short to tell a copy from a coincidence


def test_copies_across_sources_and_runs_point_at_the_original(engine):
    forum, reviews = _sources(engine)
    with session_scope(engine) as session:
        ingest(session, source_id=forum, items=[make_item(text=ORIGINAL)])
    with session_scope(engine) as session:
        counts = ingest(
            session,
            source_id=reviews,
            items=[
                make_item(text=REPOST),
                make_item(text=COPIED_REVIEW),
                make_item(text=UNRELATED),
            ],
        )
    assert counts.new == 3
    assert counts.duplicates == 2
    with Session(engine) as session:
        rows = _by_text(session)
        original = rows[ORIGINAL]
        assert original.duplicate_of_id is None
        assert rows[REPOST].duplicate_of_id == original.id
        assert rows[COPIED_REVIEW].duplicate_of_id == original.id
        assert rows[UNRELATED].duplicate_of_id is None


def test_copy_in_the_same_batch_and_copy_of_a_copy(engine):
    forum, _ = _sources(engine)
    with session_scope(engine) as session:
        ingest(session, source_id=forum, items=[make_item(text=ORIGINAL), make_item(text=REPOST)])
    with session_scope(engine) as session:
        ingest(session, source_id=forum, items=[make_item(text=f"{REPOST} (via Reddit)")])
    with Session(engine) as session:
        rows = _by_text(session)
        original = rows[ORIGINAL]
        assert rows[REPOST].duplicate_of_id == original.id
        # A repost of the repost still points at the first post, not at the repost.
        assert rows[f"{REPOST} (via Reddit)"].duplicate_of_id == original.id
