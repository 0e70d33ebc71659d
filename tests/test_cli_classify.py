"""`ascolto classify`, `classify --input`, and `explain`, run as a person runs them."""

from __future__ import annotations

import json
from pathlib import Path

from ascolto.runtime.scheduler import CLASSIFY_JOB, CLASSIFY_JOB_ID, build_scheduler, sync_jobs
from storage.db import get_engine, session_scope
from storage.mentions import ingest
from storage.migrate import upgrade
from tests.conftest import write_settings
from tests.factories import make_item, make_source
from tests.test_cli import ascolto

PRODUCTS = '[[products]]\nname = "Acme Tab 3"\naliases = ["Tab 3"]\n\n'
KEYS = {"language", "sentiment", "complaint", "complaint_score", "issues", "urgency", "products"}


def test_classify_input_file_prints_one_json_object_per_line(tmp_path: Path) -> None:
    write_settings(tmp_path / "settings.toml", f"sqlite:///{tmp_path / 'unused.db'}", PRODUCTS)
    lines = [
        json.dumps({"text": "My Tab 3 battery swelled and started smoking!", "lang": "en"}),
        "this is not json",
        json.dumps({"text": ""}),
        json.dumps({"text": "🙂🙂"}),
        json.dumps({"text": "https://example.com/only-a-link"}),
        json.dumps({"text": "lone \ud800 surrogate and control \u0007 chars"}),
        json.dumps({"lang": "en"}),
        json.dumps({"text": "La consegna è in ritardo di due settimane. " * 2500}),
    ]
    source = tmp_path / "in.jsonl"
    source.write_bytes("\n".join(lines).encode() + b"\n" + b'{"text": "caf\xe9 ok"}\n')
    result = ascolto(tmp_path, "classify", "--input", str(source), "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == len(lines) + 1
    first = rows[0]
    assert set(first) == KEYS
    assert first["language"] == "en"
    assert first["complaint"] is True
    assert 0.5 < first["complaint_score"] <= 1
    assert "safety" in first["urgency"]
    assert first["products"] == ["Acme Tab 3"]
    assert rows[1]["error"].startswith("line 2:")
    assert rows[2]["unclassifiable_reason"] == "empty"
    assert rows[4]["unclassifiable_reason"] == "only_urls"
    for row in (rows[3], rows[5], rows[7], rows[8]):
        assert set(row) == KEYS
        assert row["sentiment"] in ("negative", "neutral", "positive")
        assert isinstance(row["issues"], list)
        assert row["issues"]
    assert rows[6]["error"].startswith("line 7:")
    assert rows[7]["language"] == "it"
    assert not (tmp_path / "unused.db").exists()


def test_classify_stored_mentions_then_explain_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ascolto.db'}"
    write_settings(tmp_path / "settings.toml", url, PRODUCTS)
    engine = get_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        source = make_source(session, "forum")
        assert source.id is not None
        ids = ingest(
            session,
            source_id=source.id,
            items=[
                make_item(title=None, text="The Tab 3 charger overheated and burned my desk"),
                make_item(title=None, text=""),
                make_item(title=None, text="Thanks for the quick delivery!"),
            ],
        ).new_ids
    result = ascolto(tmp_path, "classify")
    assert result.returncode == 0, result.stderr
    assert "classified" in result.stdout
    assert "empty 1" in result.stdout
    again = ascolto(tmp_path, "classify", "--since", "3650d")
    assert again.returncode == 0, again.stderr

    explained = ascolto(tmp_path, "explain", str(ids[0]))
    assert explained.returncode == 0, explained.stderr
    assert "charger overheated" in explained.stdout
    assert "sentiment" in explained.stdout
    assert "Acme Tab 3" in explained.stdout
    assert "5 nearest training examples" in explained.stdout
    assert "seed (" in explained.stdout

    missing = ascolto(tmp_path, "explain", "999")
    assert missing.returncode == 2
    assert "no mention with id 999" in missing.stderr


def test_the_scheduler_runs_classification_by_reference(tmp_path: Path) -> None:
    from ascolto.settings import load_settings

    url = f"sqlite:///{tmp_path / 'ascolto.db'}"
    path = write_settings(tmp_path / "settings.toml", url, "[classify]\ninterval = 45\n")
    settings = load_settings(path)
    engine = get_engine(url)
    upgrade(engine)
    scheduler = build_scheduler(settings, engine)
    scheduler.start(paused=True)
    try:
        sync_jobs(scheduler, settings)
        job = scheduler.get_job(CLASSIFY_JOB_ID)
        assert job is not None
        assert job.func_ref == CLASSIFY_JOB == "ascolto.runtime.jobs:classify"
        assert job.trigger.interval.total_seconds() == 45
        assert job.max_instances == 1
        off = path.read_text().replace("interval = 45", "enabled = false")
        path.write_text(off)
        sync_jobs(scheduler, load_settings(path))
        assert scheduler.get_job(CLASSIFY_JOB_ID) is None
    finally:
        scheduler.shutdown(wait=False)
