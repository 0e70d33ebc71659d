"""Ingest: idempotent, edit-aware, one transaction with the run; on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from storage import audit
from storage.db import session_scope
from storage.mentions import IngestCounts, NewMention, dedupe, ingest, list_mentions
from storage.models import AuditEvent, Author, ListenerRun, Mention, Source
from storage.runs import finish_run, latest_cursor
from storage.types import utcnow
from tests.factories import OWNER, at, make_item, make_run, make_source

ROME_SUMMER = timezone(timedelta(hours=2), "CEST")


@pytest.fixture
def source_id(engine: Engine) -> int:
    with session_scope(engine) as session:
        return make_source(session, "forum").id or 0


def ingest_now(engine: Engine, source_id: int, items: list[NewMention]) -> IngestCounts:
    with session_scope(engine) as session:
        return ingest(session, source_id=source_id, items=items)


def stored(engine: Engine, source_id: int) -> dict[str, Mention]:
    """The source's mentions by external id, read back in a fresh session."""
    with Session(engine) as session:
        rows = session.exec(select(Mention).where(Mention.source_id == source_id)).all()
        return {m.external_id: m for m in rows}


def count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


# --- idempotence and edits ---------------------------------------------------------


def test_fetched_twice_is_stored_once(engine: Engine, source_id: int) -> None:
    items = [make_item() for _ in range(3)]

    first = ingest_now(engine, source_id, items)
    assert (first.new, first.updated, first.unchanged) == (3, 0, 0)
    before = stored(engine, source_id)

    second = ingest_now(engine, source_id, items)
    assert (second.new, second.updated, second.unchanged) == (0, 0, 3)
    after = stored(engine, source_id)
    assert sorted(after) == sorted(i.external_id for i in items)
    assert {k: m.id for k, m in after.items()} == {k: m.id for k, m in before.items()}
    assert all(m.edited_at is None for m in after.values())
    assert count(engine, Mention) == 3


def test_same_external_id_on_two_sources_is_two_mentions(engine: Engine, source_id: int) -> None:
    with session_scope(engine) as session:
        other = make_source(session, "other").id or 0
    item = make_item(external_id="shared-id")
    assert ingest_now(engine, source_id, [item]).new == 1
    assert ingest_now(engine, other, [item]).new == 1
    assert count(engine, Mention) == 2


def test_edited_upstream_updates_text_and_sets_edited_at(engine: Engine, source_id: int) -> None:
    original = make_item(external_id="post-1", text="Lo schermo è perfetto.")
    ingest_now(engine, source_id, [original, make_item()])
    first = stored(engine, source_id)["post-1"]

    edited = make_item(
        external_id="post-1",
        text="Lo schermo è perfetto. EDIT: dopo una settimana ha un pixel morto.",
        title=original.title,
        url=original.url,
        published_at=original.published_at,
        updated_at=at(hours=30),
    )
    counts = ingest_now(engine, source_id, [edited])
    assert (counts.new, counts.updated, counts.unchanged) == (0, 1, 0)

    now = stored(engine, source_id)["post-1"]
    assert now.id == first.id
    assert now.text == edited.text
    assert now.content_hash == edited.content_hash != first.content_hash
    assert now.edited_at == at(hours=30)
    assert now.fetched_at == first.fetched_at  # first seen, not last seen
    assert now.published_at == original.published_at
    assert count(engine, Mention) == 2


def test_edit_reads_back_in_a_session_already_holding_the_mention(
    engine: Engine, source_id: int
) -> None:
    # Edits are written with one UPDATE per chunk, not through the ORM: a mention the caller's
    # session loaded before must not keep showing the old text.
    ingest_now(engine, source_id, [make_item(external_id="post-1", text="Prima versione.")])
    with session_scope(engine) as session:
        held = session.exec(select(Mention).where(Mention.external_id == "post-1")).one()
        edited = make_item(external_id="post-1", text="Seconda versione.", updated_at=at(hours=2))
        assert ingest(session, source_id=source_id, items=[edited]).updated == 1
        assert (held.text, held.edited_at) == ("Seconda versione.", at(hours=2))


@pytest.mark.parametrize(
    "change",
    [{"title": "A new title"}, {"url": "https://forum.example.com/t/moved"}],
    ids=["title", "url"],
)
def test_title_or_url_change_is_an_edit(
    engine: Engine, source_id: int, change: dict[str, Any]
) -> None:
    item = make_item(external_id="post-1")
    ingest_now(engine, source_id, [item])
    counts = ingest_now(engine, source_id, [replace(item, **change, updated_at=at(99))])
    assert counts.updated == 1
    mention = stored(engine, source_id)["post-1"]
    for key, value in change.items():
        assert getattr(mention, key) == value


def test_edit_without_updated_time_uses_fetch_time(engine: Engine, source_id: int) -> None:
    ingest_now(engine, source_id, [make_item(external_id="post-1", text="first version")])
    before = utcnow()
    counts = ingest_now(engine, source_id, [make_item(external_id="post-1", text="second")])
    after = utcnow()
    assert counts.updated == 1
    mention = stored(engine, source_id)["post-1"]
    assert mention.text == "second"
    assert mention.edited_at is not None
    assert before <= mention.edited_at <= after


def test_metadata_change_without_content_change_is_unchanged(
    engine: Engine, source_id: int
) -> None:
    item = make_item(external_id="post-1", author_handle="anna", author_platform="forum")
    ingest_now(engine, source_id, [item])
    again = replace(item, published_at=at(days=2), updated_at=at(days=3))
    counts = ingest_now(engine, source_id, [again])
    assert (counts.new, counts.updated, counts.unchanged) == (0, 0, 1)
    assert stored(engine, source_id)["post-1"].edited_at is None


# --- duplicates inside one batch ---------------------------------------------------


def test_duplicates_in_one_batch_most_recently_updated_wins(engine: Engine, source_id: int) -> None:
    versions = [
        make_item(external_id="dup", text="version 2", updated_at=at(20)),
        make_item(external_id="dup", text="version 3", updated_at=at(30)),
        make_item(external_id="dup", text="version 1", updated_at=at(10)),
        make_item(external_id="other"),
    ]
    counts = ingest_now(engine, source_id, versions)
    assert (counts.new, counts.updated, counts.unchanged) == (2, 0, 0)
    rows = stored(engine, source_id)
    assert sorted(rows) == ["dup", "other"]
    assert rows["dup"].text == "version 3"


def test_dedupe_falls_back_to_published_time() -> None:
    older = make_item(external_id="x", text="old", published_at=at(1), updated_at=None)
    newer = make_item(external_id="x", text="new", published_at=at(2), updated_at=None)
    undated = make_item(external_id="x", text="undated", published_at=None)
    assert [i.text for i in dedupe([newer, older])] == ["new"]
    assert [i.text for i in dedupe([older, newer])] == ["new"]
    # An undated copy never beats a dated one.
    assert [i.text for i in dedupe([undated, older])] == ["old"]
    assert [i.text for i in dedupe([older, undated])] == ["old"]


def test_duplicates_across_chunks_of_a_large_batch(engine: Engine, source_id: int) -> None:
    # More than one flush chunk (500): every item stored exactly once.
    items = [make_item(external_id=f"bulk-{n}") for n in range(1100)]
    items.append(make_item(external_id="bulk-7", text="newest", updated_at=at(days=9)))
    counts = ingest_now(engine, source_id, items)
    assert counts.new == 1100
    assert count(engine, Mention) == 1100
    assert stored(engine, source_id)["bulk-7"].text == "newest"
    assert ingest_now(engine, source_id, items).unchanged == 1100


# --- authors -----------------------------------------------------------------------


def test_authors_created_once_per_platform_and_handle(engine: Engine, source_id: int) -> None:
    def by(handle: str, platform: str, **extra: object) -> NewMention:
        return make_item(author_handle=handle, author_platform=platform, **extra)

    first = [
        by("giulia", "rss:forum.example.com", author_name="Giulia R."),
        by("giulia", "rss:forum.example.com"),
        by("giulia", "rss:other.example.com"),  # same handle, other platform
        by("marco", "rss:forum.example.com"),
        make_item(author_handle="anonymous"),  # no platform: no author row
    ]
    ingest_now(engine, source_id, first)
    assert count(engine, Author) == 3

    with session_scope(engine) as session:
        other_source = make_source(session, "other").id or 0
    later = [by("giulia", "rss:forum.example.com", external_id="later-post")]
    ingest_now(engine, other_source, later)
    assert count(engine, Author) == 3  # reused, across sources and runs

    with Session(engine) as session:
        authors = {(a.platform, a.handle): a for a in session.exec(select(Author)).all()}
        giulia = authors["rss:forum.example.com", "giulia"]
        assert giulia.display_name == "Giulia R."
        mentions = session.exec(select(Mention)).all()
        by_id = {m.external_id: m for m in mentions}
    assert by_id[first[0].external_id].author_id == giulia.id
    assert by_id[first[1].external_id].author_id == giulia.id
    assert by_id["later-post"].author_id == giulia.id
    assert by_id[first[2].external_id].author_id == (authors["rss:other.example.com", "giulia"].id)
    assert by_id[first[4].external_id].author_id is None


# --- one transaction: mentions, run outcome, cursor --------------------------------


def run_state(engine: Engine, run_id: int) -> tuple[str, dict[str, Any] | None, str | None]:
    with Session(engine) as session:
        run = session.get(ListenerRun, run_id)
        assert run is not None
        source = session.get(Source, run.source_id)
        assert source is not None
        return run.status, run.cursor, source.lease_owner


@pytest.fixture
def earlier_run(engine: Engine, source_id: int) -> list[NewMention]:
    """A successful earlier run that stored two mentions and left a cursor."""
    items = [
        make_item(external_id="kept-1", text="Ottimo prodotto."),
        make_item(external_id="kept-2", text="Batteria scarsa."),
    ]
    make_run(engine, source_id, items, cursor={"etag": '"v1"'})
    return items


def assert_nothing_committed(
    engine: Engine, source_id: int, run_id: int, earlier: list[NewMention]
) -> None:
    rows = stored(engine, source_id)
    assert sorted(rows) == ["kept-1", "kept-2"]
    assert {k: m.text for k, m in rows.items()} == {i.external_id: i.text for i in earlier}
    assert all(m.edited_at is None for m in rows.values())
    status, cursor, lease = run_state(engine, run_id)
    assert status == "running"
    assert cursor is None
    assert lease == OWNER  # the release was rolled back with everything else
    with Session(engine) as session:
        assert latest_cursor(session, source_id) == {"etag": '"v1"'}
        audited = [e.details["run_id"] for e in audit.recent(session, action="listener.run")]
    assert len(audited) == 1  # the earlier run's, not this one's
    assert run_id not in audited


def batch_for_failing_run() -> list[NewMention]:
    # New items, plus an edit of a stored one: none of it may survive a failed commit.
    return [
        *(make_item(external_id=f"new-{n}") for n in range(3)),
        make_item(external_id="kept-1", text="EDITED", updated_at=at(days=1)),
    ]


def finish_in_one_transaction(
    engine: Engine, run: ListenerRun, items: list[NewMention], *, crash: bool = False
) -> None:
    """finish_run inside one session_scope, as the runner does; optionally crash after it."""
    with session_scope(engine) as session:
        session.add(run)
        counts = finish_run(
            session, run, owner=OWNER, items=items, skipped=0, cursor={"etag": '"v2"'}
        )
        if crash:
            assert counts.new + counts.updated > 0  # it was all flushed...
            raise RuntimeError("crash after finish_run")  # ...but never committed


def test_error_after_finish_run_commits_nothing(
    engine: Engine, source_id: int, earlier_run: list[NewMention]
) -> None:
    run = make_run(engine, source_id, status="running")
    run_id = run.id or 0  # the rollback expires `run`
    with pytest.raises(RuntimeError, match="crash after finish_run"):
        finish_in_one_transaction(engine, run, batch_for_failing_run(), crash=True)
    assert_nothing_committed(engine, source_id, run_id, earlier_run)


def test_unstorable_item_mid_batch_commits_nothing(
    engine: Engine, source_id: int, earlier_run: list[NewMention]
) -> None:
    # 600 items: the first chunk of 500 is flushed before item 550, whose text (a lone
    # surrogate, as a broken JSON escape produces) cannot be encoded for the database.
    items = [make_item(external_id=f"bulk-{n}") for n in range(600)]
    items[550] = make_item(external_id="broken", text="broken \ud800 escape")
    items += batch_for_failing_run()[3:]
    run = make_run(engine, source_id, status="running")
    run_id = run.id or 0  # the rollback expires `run`
    with pytest.raises(UnicodeEncodeError, match="surrogates not allowed"):
        finish_in_one_transaction(engine, run, items)
    assert_nothing_committed(engine, source_id, run_id, earlier_run)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_constraint_violation_mid_batch_commits_nothing(
    engine: Engine, source_id: int, earlier_run: list[NewMention]
) -> None:
    # PostgreSQL enforces VARCHAR(500): an over-long external id fails the INSERT itself.
    items = [make_item(external_id=f"bulk-{n}") for n in range(600)]
    items[550] = make_item(external_id="x" * 501)
    items += batch_for_failing_run()[3:]
    run = make_run(engine, source_id, status="running")
    run_id = run.id or 0  # the rollback expires `run`
    with pytest.raises(sa_exc.DataError, match="too long"):
        finish_in_one_transaction(engine, run, items)
    assert_nothing_committed(engine, source_id, run_id, earlier_run)


def test_successful_finish_commits_mentions_run_cursor_and_audit_together(
    engine: Engine, source_id: int, earlier_run: list[NewMention]
) -> None:
    run = make_run(engine, source_id, batch_for_failing_run(), cursor={"etag": '"v2"'}, skipped=2)
    rows = stored(engine, source_id)
    assert len(rows) == 5
    assert rows["kept-1"].text == "EDITED"
    status, cursor, lease = run_state(engine, run.id or 0)
    assert (status, cursor, lease) == ("ok", {"etag": '"v2"'}, None)
    with Session(engine) as session:
        saved = session.get(ListenerRun, run.id)
        assert saved is not None
        assert (saved.items_seen, saved.items_new, saved.items_updated) == (6, 3, 1)
        assert saved.items_skipped == 2
        assert latest_cursor(session, source_id) == {"etag": '"v2"'}


# --- cursors -----------------------------------------------------------------------


def test_latest_cursor_is_newest_successful_run(engine: Engine, source_id: int) -> None:
    with Session(engine) as session:
        assert latest_cursor(session, source_id) is None  # never run

    make_run(engine, source_id, cursor={"page": 1})
    make_run(engine, source_id, cursor={"page": 2})
    make_run(engine, source_id, status="failed")
    make_run(engine, source_id, status="blocked")
    with Session(engine) as session:
        assert latest_cursor(session, source_id) == {"page": 2}

    make_run(engine, source_id, status="not_modified", cursor={"page": 3})
    make_run(engine, source_id, status="running")
    with Session(engine) as session:
        assert latest_cursor(session, source_id) == {"page": 3}


def test_latest_cursor_ignores_a_failed_run_that_carries_a_cursor(
    engine: Engine, source_id: int
) -> None:
    make_run(engine, source_id, cursor={"since": "2026-11-01T00:00:00Z"})
    failed = make_run(engine, source_id, status="failed")
    with session_scope(engine) as session:
        row = session.get(ListenerRun, failed.id)
        assert row is not None
        row.cursor = {"since": "2026-12-31T00:00:00Z"}
        session.add(row)
    with Session(engine) as session:
        assert latest_cursor(session, source_id) == {"since": "2026-11-01T00:00:00Z"}


def test_latest_cursor_is_per_source(engine: Engine, source_id: int) -> None:
    with session_scope(engine) as session:
        other = make_source(session, "other").id or 0
    make_run(engine, source_id, cursor={"mine": True})
    make_run(engine, other, cursor={"theirs": True})
    with Session(engine) as session:
        assert latest_cursor(session, source_id) == {"mine": True}
        assert latest_cursor(session, other) == {"theirs": True}


# --- timestamps and text ------------------------------------------------------------


def assert_utc(value: datetime | None) -> None:
    assert value is not None
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)


def test_timestamps_come_back_timezone_aware_utc(engine: Engine, source_id: int) -> None:
    published = datetime(2026, 7, 14, 23, 30, tzinfo=ROME_SUMMER)  # 21:30 UTC
    updated = datetime(2026, 7, 15, 1, 15, tzinfo=ROME_SUMMER)
    item = make_item(
        external_id="tz",
        published_at=published,
        author_handle="luca",
        author_platform="forum",
    )
    make_run(engine, source_id, [item])
    make_run(engine, source_id, [replace(item, text="edited", updated_at=updated)])

    with Session(engine) as session:
        mention = session.exec(select(Mention).where(Mention.external_id == "tz")).one()
        assert mention.published_at == published
        assert mention.published_at == datetime(2026, 7, 14, 21, 30, tzinfo=UTC)
        assert mention.edited_at == updated
        for value in (mention.published_at, mention.fetched_at, mention.edited_at):
            assert_utc(value)
        for run in session.exec(select(ListenerRun)).all():
            assert_utc(run.started_at)
            assert_utc(run.finished_at)
        for event in session.exec(select(AuditEvent)).all():
            assert_utc(event.at)
        assert_utc(session.exec(select(Author)).one().first_seen_at)
        assert_utc(session.exec(select(Source)).one().created_at)
        row = list_mentions(session)[0]
    assert row["published_at"] == "2026-07-14T21:30:00+00:00"
    assert row["fetched_at"].endswith("+00:00")


def test_lease_time_comes_back_timezone_aware_utc(engine: Engine, source_id: int) -> None:
    make_run(engine, source_id, status="running")
    with Session(engine) as session:
        source = session.get(Source, source_id)
        assert source is not None
        assert_utc(source.lease_until)
        assert source.lease_until is not None
        assert source.lease_until > utcnow()


@pytest.mark.parametrize("field", ["published_at", "updated_at"])
def test_naive_datetimes_are_refused(engine: Engine, source_id: int, field: str) -> None:
    ingest_now(engine, source_id, [make_item(external_id="post-1", text="v1")])
    naive = datetime(2026, 11, 1, 12, 0)
    item = make_item(external_id="post-1" if field == "updated_at" else "post-2", text="v2")
    if field == "published_at":
        item = replace(item, published_at=naive)
    else:
        item = replace(item, updated_at=naive)
    with pytest.raises(sa_exc.StatementError, match="naive datetime"):
        ingest_now(engine, source_id, [item])
    assert {k: m.text for k, m in stored(engine, source_id).items()} == {"post-1": "v1"}


def test_naive_datetime_refused_on_any_timestamp_column(engine: Engine, source_id: int) -> None:
    with (
        pytest.raises(sa_exc.StatementError, match="naive datetime"),
        session_scope(engine) as session,
    ):
        session.add(ListenerRun(source_id=source_id, started_at=datetime(2026, 1, 1)))


def test_unicode_round_trips(engine: Engine, source_id: int) -> None:
    text = (
        "Perché la batteria dura così poco? Già dopo un'ora è al 20%… "
        "però lo schermo è bellissimo 😍🇮🇹 — «consigliato» ½ ✓ € 日本語 ß"
    )
    item = make_item(
        external_id="città/è-😀-ü",
        title="Recensione: è più veloce? 🚀",
        text=text,
        url="https://forum.example.com/t/perché-così",
        author_handle="nicolò_87",
        author_name="Nicolò Pérez 🎧",
        author_platform="rss:forum.example.it",
    )
    assert ingest_now(engine, source_id, [item]).new == 1
    mention = stored(engine, source_id)["città/è-😀-ü"]
    assert (mention.title, mention.text, mention.url) == (item.title, text, item.url)
    assert mention.content_hash == item.content_hash
    with Session(engine) as session:
        author = session.exec(select(Author)).one()
        assert (author.handle, author.display_name) == ("nicolò_87", "Nicolò Pérez 🎧")
        assert list_mentions(session)[0]["author"] == "Nicolò Pérez 🎧"
        found = session.exec(select(Mention).where(col(Mention.text).contains("così poco"))).all()
        assert len(found) == 1
    # Same text again: recognised as unchanged, so the hash is stable across the trip.
    assert ingest_now(engine, source_id, [item]).unchanged == 1
