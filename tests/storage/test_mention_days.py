"""The MentionDay rollup equals a direct count after every kind of write, on SQLite and
PostgreSQL: new mentions, labels, reclassification, edits that move a mention to another
day, deletion upstream, and rows removed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from storage.classifications import LabelsRecord, save_labels
from storage.dashboard import DayCount, counted_per_day, mentions_per_day
from storage.db import session_scope
from storage.mentions import ingest
from storage.models import Classification, Mention
from tests.factories import at, make_item, make_source

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def rollup_and_count(engine: Engine, by: str) -> tuple[list[DayCount], list[DayCount]]:
    with Session(engine) as session:
        return (
            mentions_per_day(session, since=EPOCH, by=by),
            counted_per_day(session, since=EPOCH, by=by),
        )


def assert_agrees(engine: Engine) -> list[DayCount]:
    for by in ("sentiment", "source"):
        rollup, counted = rollup_and_count(engine, by)
        assert rollup == counted, by
    return rollup_and_count(engine, "sentiment")[0]


def label(engine: Engine, ids: list[int], sentiment: str | None) -> None:
    with session_scope(engine) as session:
        save_labels(
            session,
            records=[
                LabelsRecord(mention_id=i, content_hash="h", model_version="m", sentiment=sentiment)
                for i in ids
            ],
        )


def test_rollup_follows_inserts_labels_edits_and_deletes(engine: Engine) -> None:
    with session_scope(engine) as session:
        forum, shop = make_source(session, "forum").id or 0, make_source(session, "shop").id or 0
    items = [make_item(published_at=at(hours=h)) for h in (0, 1, 20, 30, 50)]
    with session_scope(engine) as session:
        ingest(session, source_id=forum, items=items[:3])
        ingest(session, source_id=shop, items=items[3:])
    first = assert_agrees(engine)
    assert {c.group for c in first} == {"unlabelled"}
    assert sum(c.count for c in first) == 5

    with Session(engine) as session:
        ids = list(session.exec(select(Mention.id).order_by(col(Mention.id))).all())
    mention_ids = [i for i in ids if i is not None]
    label(engine, mention_ids[:4], "negative")
    assert_agrees(engine)
    # Reclassified: two change their sentiment, one loses it.
    label(engine, mention_ids[:2], "positive")
    label(engine, mention_ids[2:3], None)
    labelled = assert_agrees(engine)
    assert {c.group: c.count for c in labelled if c.day == at().date()} == {"positive": 2}

    # Edited upstream to another day, then deleted upstream (flagged, not removed).
    with session_scope(engine) as session:
        moved = session.get(Mention, mention_ids[0])
        assert moved is not None
        moved.published_at = at(days=10)
        session.add(moved)
    assert_agrees(engine)
    with session_scope(engine) as session:
        ingest(session, source_id=shop, items=[replace(items[3], deleted=True)])
    assert_agrees(engine)

    # Labels and mentions removed.
    with session_scope(engine) as session:
        session.exec(delete(Classification).where(col(Classification.mention_id) == mention_ids[1]))
    assert_agrees(engine)
    with session_scope(engine) as session:
        session.exec(delete(Classification).where(col(Classification.mention_id) == mention_ids[2]))
        session.exec(delete(Mention).where(col(Mention.id).in_(mention_ids[1:3])))
    final = assert_agrees(engine)
    assert sum(c.count for c in final) == 2


def test_the_overview_reads_whole_utc_days(engine: Engine) -> None:
    with session_scope(engine) as session:
        forum = make_source(session, "forum").id or 0
        ingest(
            session,
            source_id=forum,
            items=[make_item(published_at=at(hours=h)) for h in (-10, 0, 15)],
        )
    with Session(engine) as session:
        rows = mentions_per_day(session, since=at(), by="source")
    assert [(c.day, c.group, c.count) for c in rows] == [
        (at().date(), "forum", 1),
        (at(hours=15).date(), "forum", 1),
    ]
