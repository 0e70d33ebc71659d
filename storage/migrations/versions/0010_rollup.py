"""rollup: mentions per day, source and sentiment kept by triggers; label filter index

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A mention counts once, on the UTC day it was written, under its source and its
# classification's sentiment ('unlabelled' without one), unless deleted. The triggers move
# it between rows whenever one of those changes, in the writer's own transaction.
_SENTIMENT_OF = (
    "coalesce((SELECT c.sentiment FROM classification c WHERE c.mention_id = {m}.id), 'unlabelled')"
)

# SQLite: add to the row if there is one (the unqualified name is the existing row's).
_ADD = (
    "ON CONFLICT (day, source_id, sentiment) DO UPDATE SET mentions = mentions + excluded.mentions;"
)

_POSTGRES = [
    """
    CREATE FUNCTION mentionday_bump(p_day date, p_source integer, p_sentiment text, p_n integer)
    RETURNS void LANGUAGE sql AS $$
        INSERT INTO mentionday (day, source_id, sentiment, mentions)
        VALUES (p_day, p_source, p_sentiment, p_n)
        ON CONFLICT (day, source_id, sentiment)
        DO UPDATE SET mentions = mentionday.mentions + excluded.mentions
    $$
    """,
    f"""
    CREATE FUNCTION mentionday_mention() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE'
            AND coalesce(OLD.published_at, OLD.fetched_at)
                = coalesce(NEW.published_at, NEW.fetched_at)
            AND OLD.source_id = NEW.source_id
            AND (OLD.deleted_at IS NULL) = (NEW.deleted_at IS NULL) THEN
            RETURN NULL;
        END IF;
        IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.deleted_at IS NULL THEN
            PERFORM mentionday_bump(
                date(timezone('UTC', coalesce(OLD.published_at, OLD.fetched_at))),
                OLD.source_id, {_SENTIMENT_OF.format(m="OLD")}, -1);
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.deleted_at IS NULL THEN
            PERFORM mentionday_bump(
                date(timezone('UTC', coalesce(NEW.published_at, NEW.fetched_at))),
                NEW.source_id, {_SENTIMENT_OF.format(m="NEW")}, 1);
        END IF;
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NULL END;
    END
    $$
    """,
    """
    CREATE FUNCTION mentionday_classification() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND OLD.mention_id = NEW.mention_id
            AND OLD.sentiment IS NOT DISTINCT FROM NEW.sentiment THEN
            RETURN NULL;
        END IF;
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM mentionday_bump(d, m.source_id, coalesce(OLD.sentiment, 'unlabelled'), -1),
                    mentionday_bump(d, m.source_id, 'unlabelled', 1)
            FROM mention m,
                 LATERAL (
                     SELECT date(timezone('UTC', coalesce(m.published_at, m.fetched_at))) AS d
                 ) w
            WHERE m.id = OLD.mention_id AND m.deleted_at IS NULL;
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN
            PERFORM mentionday_bump(d, m.source_id, 'unlabelled', -1),
                    mentionday_bump(d, m.source_id, coalesce(NEW.sentiment, 'unlabelled'), 1)
            FROM mention m,
                 LATERAL (
                     SELECT date(timezone('UTC', coalesce(m.published_at, m.fetched_at))) AS d
                 ) w
            WHERE m.id = NEW.mention_id AND m.deleted_at IS NULL;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    # Inserts and updates after the row is written; a delete before it, while the
    # mention's classification is still there to say which row it was counted in.
    """
    CREATE TRIGGER mentionday_mention_write AFTER INSERT OR UPDATE OF
        published_at, fetched_at, source_id, deleted_at ON mention
    FOR EACH ROW EXECUTE FUNCTION mentionday_mention()
    """,
    """
    CREATE TRIGGER mentionday_mention_delete BEFORE DELETE ON mention
    FOR EACH ROW EXECUTE FUNCTION mentionday_mention()
    """,
    """
    CREATE TRIGGER mentionday_classification AFTER INSERT OR DELETE OR UPDATE OF
        sentiment, mention_id ON classification
    FOR EACH ROW EXECUTE FUNCTION mentionday_classification()
    """,
]


def _sqlite_bump(day: str, source: str, sentiment: str, n: int, where: str) -> str:
    return f"""
        INSERT INTO mentionday (day, source_id, sentiment, mentions)
        SELECT {day}, {source}, {sentiment}, {n} WHERE {where}
        {_ADD}
    """


def _sqlite() -> list[str]:
    def day(m: str) -> str:
        # SQLite keeps naive UTC text, 'YYYY-MM-DD HH:MM:SS...'.
        return f"substr(coalesce({m}.published_at, {m}.fetched_at), 1, 10)"

    def mention(m: str, n: int) -> str:
        return _sqlite_bump(
            day(m), f"{m}.source_id", _SENTIMENT_OF.format(m=m), n, f"{m}.deleted_at IS NULL"
        )

    def labels(c: str, sign: int) -> str:
        sentiment = f"coalesce({c}.sentiment, 'unlabelled')"
        where = f"m.id = {c}.mention_id AND m.deleted_at IS NULL"
        return f"""
            INSERT INTO mentionday (day, source_id, sentiment, mentions)
            SELECT {day("m")}, m.source_id, 'unlabelled', {-sign} FROM mention m WHERE {where}
            {_ADD}
            INSERT INTO mentionday (day, source_id, sentiment, mentions)
            SELECT {day("m")}, m.source_id, {sentiment}, {sign} FROM mention m WHERE {where}
            {_ADD}
        """  # noqa: S608 (fixed fragments, no input)

    moved = (
        "coalesce(OLD.published_at, OLD.fetched_at)"
        " IS NOT coalesce(NEW.published_at, NEW.fetched_at)"
        " OR OLD.source_id IS NOT NEW.source_id"
        " OR (OLD.deleted_at IS NULL) IS NOT (NEW.deleted_at IS NULL)"
    )
    relabelled = "OLD.mention_id IS NOT NEW.mention_id OR OLD.sentiment IS NOT NEW.sentiment"
    return [
        f"CREATE TRIGGER mentionday_mention_insert AFTER INSERT ON mention "
        f"BEGIN {mention('NEW', 1)} END",
        f"CREATE TRIGGER mentionday_mention_update AFTER UPDATE OF "
        f"published_at, fetched_at, source_id, deleted_at ON mention WHEN {moved} "
        f"BEGIN {mention('OLD', -1)} {mention('NEW', 1)} END",
        f"CREATE TRIGGER mentionday_mention_delete BEFORE DELETE ON mention "
        f"BEGIN {mention('OLD', -1)} END",
        f"CREATE TRIGGER mentionday_classification_insert AFTER INSERT ON classification "
        f"BEGIN {labels('NEW', 1)} END",
        f"CREATE TRIGGER mentionday_classification_update AFTER UPDATE OF "
        f"sentiment, mention_id ON classification WHEN {relabelled} "
        f"BEGIN {labels('OLD', -1)} {labels('NEW', 1)} END",
        f"CREATE TRIGGER mentionday_classification_delete AFTER DELETE ON classification "
        f"BEGIN {labels('OLD', -1)} END",
    ]


_SQLITE_TRIGGERS = (
    "mentionday_mention_insert",
    "mentionday_mention_update",
    "mentionday_mention_delete",
    "mentionday_classification_insert",
    "mentionday_classification_update",
    "mentionday_classification_delete",
)


def upgrade() -> None:
    op.create_table(
        "mentionday",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("sentiment", sa.String(length=20), nullable=False),
        sa.Column("mentions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "source_id", "sentiment", name=op.f("pk_mentionday")),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    day = (
        "date(timezone('UTC', coalesce(m.published_at, m.fetched_at)))"
        if postgres
        else "substr(coalesce(m.published_at, m.fetched_at), 1, 10)"
    )
    op.execute(
        f"""
        INSERT INTO mentionday (day, source_id, sentiment, mentions)
        SELECT {day}, m.source_id, coalesce(c.sentiment, 'unlabelled'), count(*)
        FROM mention m LEFT JOIN classification c ON c.mention_id = m.id
        WHERE m.deleted_at IS NULL
        GROUP BY 1, 2, 3
        """  # noqa: S608 (fixed fragments, no input)
    )
    for statement in _POSTGRES if postgres else _sqlite():
        op.execute(statement)
    if postgres:
        op.create_index(
            "ix_classification_labels",
            "classification",
            [sa.text("(issues::jsonb)"), sa.text("(products::jsonb)")],
            unique=False,
            postgresql_using="gin",
        )
        # Statistics on the indexed expressions let the planner tell a rare product and
        # issue type (start from the index) from a common one (walk the time index).
        op.execute("ANALYZE classification")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_classification_labels", table_name="classification")
        op.execute("DROP TRIGGER mentionday_classification ON classification")
        op.execute("DROP TRIGGER mentionday_mention_delete ON mention")
        op.execute("DROP TRIGGER mentionday_mention_write ON mention")
        op.execute("DROP FUNCTION mentionday_classification()")
        op.execute("DROP FUNCTION mentionday_mention()")
        op.execute("DROP FUNCTION mentionday_bump(date, integer, text, integer)")
    else:
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("mentionday")
