"""The scheduled drafting step: recent mentions drafted once, in committed chunks."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from ascolto.runtime.scheduler import DRAFT_JOB_ID, build_scheduler, sync_jobs
from outreach.drafting import draft_pending
from storage.models import Draft
from tests.factories import at
from tests.outreach.draft_factories import add_mention, drafts, settings_for

NOW = at(days=1)


class Interrupted(Exception):
    """Stands for a process dying in the middle of a chunk."""


def mixed_mentions(engine: Engine) -> dict[str, int]:
    """A complaint, a question, praise and a neutral remark."""
    return {
        "complaint": add_mention(engine),
        "question": add_mention(
            engine,
            text="Does the Acme Tab 3 support a stylus?",
            complaint=False,
            issues=("question",),
        ),
        "praise": add_mention(
            engine,
            text="Loving my Acme Tab 3, best tablet I have owned",
            complaint=False,
            issues=("praise",),
        ),
        "neutral": add_mention(
            engine, text="Acme Tab 3 unboxing tonight", complaint=False, issues=()
        ),
    }


def test_complaints_and_questions_get_one_draft_each_in_committed_chunks(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    ids = mixed_mentions(engine)
    extra = [add_mention(engine, text=f"Acme Tab 3 order {n} never came") for n in range(3)]
    settings = settings_for(tmp_path, database_url, "[outreach]\nbatch_size = 2\n")

    report = draft_pending(settings, engine, now=NOW)

    assert report.ok, report.error
    assert report.drafted == 5
    assert report.chunks == 3
    assert report.intents == {"complaint_delivery": 4, "question": 1}
    by_mention = {d.mention_id: d for d in drafts(engine)}
    assert set(by_mention) == {ids["complaint"], ids["question"], *extra}
    assert all(d.status == "pending" for d in by_mention.values())

    again = draft_pending(settings, engine, now=NOW)
    assert (again.drafted, again.considered) == (0, 0)
    assert len(drafts(engine)) == 5


def test_praise_is_drafted_only_when_configured(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    ids = mixed_mentions(engine)
    settings = settings_for(tmp_path, database_url, '[outreach]\nintents = ["praise"]\n')
    report = draft_pending(settings, engine, now=NOW)
    assert report.ok, report.error
    assert [(d.mention_id, d.intent) for d in drafts(engine)] == [(ids["praise"], "praise")]


def test_mentions_older_than_max_age_get_no_draft(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    old = add_mention(engine, published_at=at(days=-30))
    recent = add_mention(engine, published_at=at(hours=2))
    settings = settings_for(tmp_path, database_url, "[outreach]\nmax_age_days = 7\n")
    draft_pending(settings, engine, now=NOW)
    assert [d.mention_id for d in drafts(engine)] == [recent]
    assert old not in {d.mention_id for d in drafts(engine)}


def test_a_crash_loses_only_the_chunk_in_flight_and_nothing_is_drafted_twice(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    ids = [add_mention(engine, text=f"Acme Tab 3 order {n} never came") for n in range(5)]
    settings = settings_for(tmp_path, database_url, "[outreach]\nbatch_size = 2\n")
    seen: list[int] = []

    def die_in_second_chunk(draft: Draft) -> None:
        seen.append(draft.mention_id or 0)
        if len(seen) == 3:
            raise Interrupted("killed")

    crashed = draft_pending(settings, engine, now=NOW, on_draft=die_in_second_chunk)
    assert crashed.error is not None
    assert "Interrupted" in crashed.error
    # The first chunk was committed; the second was rolled back as a whole.
    assert [d.mention_id for d in drafts(engine)] == ids[:2]

    resumed = draft_pending(settings, engine, now=NOW)
    assert resumed.ok, resumed.error
    assert resumed.drafted == 3
    assert [d.mention_id for d in drafts(engine)] == ids


@pytest.mark.parametrize(
    "source",
    [
        "{{ greeting }} {{ no_such_thing }}\n",
        # Anything a template raises, not only Jinja's own errors (issue 22, point 5).
        "{{ range(10**9) | list }}",
        "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
        "{% for i in range(10000) %}{% for j in range(10000) %}xx{% endfor %}{% endfor %}",
        "{{ 'x' * 10**9 }}",
        "{{ 1 / 0 }}",
    ],
)
def test_a_broken_template_fails_its_drafts_and_not_the_others(
    engine: Engine, database_url: str, tmp_path: Path, source: str
) -> None:
    own = tmp_path / "templates" / "en"
    own.mkdir(parents=True)
    (own / "question.public.txt.j2").write_text(source)
    complaint = add_mention(engine)
    add_mention(
        engine, text="Does the Acme Tab 3 charge over USB-C?", complaint=False, issues=("question",)
    )
    settings = settings_for(
        tmp_path, database_url, f'[outreach]\ntemplates_dir = "{tmp_path / "templates"}"\n'
    )

    report = draft_pending(settings, engine, now=NOW)

    assert report.ok, report.error
    assert (report.drafted, report.failed) == (1, 1)
    assert list(report.failures) == ["en/question.public.txt.j2"]
    assert [d.mention_id for d in drafts(engine)] == [complaint]
    # The next run is not stopped by it either: it fails that one draft again, alone.
    later = add_mention(engine, text="My Acme Tab 3 order is late again")
    again = draft_pending(settings, engine, now=NOW)
    assert again.ok, again.error
    assert (again.drafted, again.failed) == (1, 1)
    assert [d.mention_id for d in drafts(engine)] == [complaint, later]


def test_a_stop_request_ends_the_run_between_chunks(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    for n in range(4):
        add_mention(engine, text=f"Acme Tab 3 order {n} never came")
    settings = settings_for(tmp_path, database_url, "[outreach]\nbatch_size = 2\n")
    stop = threading.Event()

    report = draft_pending(settings, engine, now=NOW, stop=stop, on_draft=lambda _: stop.set())

    assert report.stopped
    assert report.drafted == 2
    assert len(drafts(engine)) == 2


@pytest.mark.parametrize("enabled", [True, False])
def test_the_drafting_step_is_scheduled_when_outreach_is_enabled(
    engine: Engine, database_url: str, tmp_path: Path, enabled: bool
) -> None:
    settings = settings_for(
        tmp_path, database_url, f"[outreach]\nenabled = {str(enabled).lower()}\ninterval = 300\n"
    )
    scheduler = build_scheduler(settings, engine, persistent=False)
    sync_jobs(scheduler, settings)
    job = scheduler.get_job(DRAFT_JOB_ID)
    assert (job is not None) == enabled
    if job is not None:
        assert job.func_ref == "ascolto.runtime.jobs:draft"
        assert job.trigger.interval.total_seconds() == 300
