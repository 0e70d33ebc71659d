"""The language-model drafter, against a real HTTP server on 127.0.0.1 answering in the
OpenAI chat-completions format (recordings/openai/README.md says where each answer came
from): masked personal data out, filled back in, every failure falling back to the template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from outreach.drafters import known_sources
from outreach.drafting import Drafter, draft_for_mention
from storage.db import session_scope
from storage.errors import SettingsError
from storage.models import Draft
from tests.factories import at
from tests.outreach.chat_server import ChatServer, Reply, chat_server, recording, stream_of
from tests.outreach.draft_factories import add_mention, add_order, settings_for

NOW = at(days=1)
ORDER = "AC-55102"


@pytest.fixture
def chat() -> ChatServer:
    with chat_server() as server:
        yield server


def settings_body(base_url: str, *, stream: bool = False, timeout: float = 5.0) -> str:
    return (
        '[outreach]\nenabled = true\nreply_channel = "email"\n\n'
        '[drafts]\nsources = ["language_model", "template"]\n\n'
        f'[drafts.language_model]\nbase_url = "{base_url}"\nmodel = "gpt-4o-mini"\n'
        f"stream = {'true' if stream else 'false'}\ntimeout = {timeout}\n"
        "prompt_price = 0.15\ncompletion_price = 0.6\n"
    )


def world(engine: Engine) -> int:
    add_order(engine, external_id=ORDER, ordered_at=at(days=-9), shipped_at=at(days=-7))
    return add_mention(
        engine, text="My Acme Tab 3 still hasn't arrived, two weeks after I ordered it! 😡"
    )


def draft(engine: Engine, tmp_path: Path, database_url: str, body: str, mention_id: int) -> Draft:
    settings = settings_for(tmp_path, database_url, body)
    with session_scope(engine) as session:
        made = draft_for_mention(session, settings, mention_id, now=NOW)
        assert made is not None
        session.expunge(made)
        return made


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_the_model_writes_the_draft_from_masked_facts_filled_back_in(
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    chat: ChatServer,
    stream: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ASCOLTO_LLM_API_KEY", "sk-test-key")
    if stream:
        chat.replies = [stream_of("chat_completion_stream.txt")]
    made = draft(
        engine, tmp_path, database_url, settings_body(chat.base_url, stream=stream), world(engine)
    )

    assert made.source == "language_model", made.source_details
    assert made.text.startswith("Hi Marco, we're sorry your Acme Tab 3 has not arrived yet.")
    assert f"order {ORDER}" in made.text
    assert made.verdict in ("allow", "amend")
    # What left the building: placeholders, never the customer's name, address or order.
    sent = json.dumps(chat.requests[0])
    for private in ("Marco", "Bellini", "marco.bellini@example.it", ORDER, "marco_b"):
        assert private not in sent
    assert "[NAME]" in sent
    assert chat.requests[0]["stream"] is stream
    assert chat.requests[0]["model"] == "gpt-4o-mini"
    assert chat.headers[0]["Authorization"] == "Bearer sk-test-key"
    # Tokens at the configured prices per million, and how long the call took.
    tokens = (212, 41) if stream else (54, 79)
    assert made.source_details["prompt_tokens"] == tokens[0]
    assert made.source_cost == pytest.approx((tokens[0] * 0.15 + tokens[1] * 0.6) / 1e6)
    assert made.source_ms is not None
    assert made.source_ms > 0


def _filled(content: str | None) -> bytes:
    body = json.loads(recording("chat_completion.json"))
    body["choices"][0]["message"]["content"] = content
    return json.dumps(body).encode()


def _filtered_stream() -> Reply:
    """The recorded stream, its content withheld: the last chunk ends with content_filter
    (hand-made from the recording, as the API reference documents it)."""
    recorded = stream_of("chat_completion_stream.txt").events
    last = json.loads(recorded[-3].decode()[len("data: ") :])
    last["choices"][0]["finish_reason"] = "content_filter"
    filtered = f"data: {json.dumps(last)}\n\n".encode()
    return Reply(events=[recorded[0], filtered, recorded[-1]])


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(status=429, body=recording("error_429.json")), "HTTP 429: Too Many Requests"),
        (Reply(status=500, body=b"upstream crashed"), "HTTP 500: upstream crashed"),
        (Reply(body=recording("chat_completion_refusal.json")), "the model refused"),
        (Reply(body=recording("chat_completion_content_filter.json")), "content filter"),
        (Reply(body=b'{"choices": "nothing'), "a malformed answer"),
        (Reply(body=b'{"object": "chat.completion", "choices": []}'), "a malformed answer"),
        (Reply(body=_filled("")), "the answer was empty"),
        (Reply(body=_filled("I'm sorry, but I can't help with that.")), "the model refused"),
        (Reply(body=_filled("Hi [NAME], write to [EMAIL_7].\n\nThe Acme team")), "placeholder"),
        (
            Reply(body=_filled("Thank you! Thanks for your patience, [NAME].")),
            "draft-lint",
        ),
        (Reply(events=[b'data: {"choices": [{"delta": {"content": "Hi"}}]}\n\n']), "ended"),
        (_filtered_stream(), "content filter"),
    ],
    ids=[
        "429",
        "500",
        "refusal",
        "content-filter",
        "malformed",
        "no-choices",
        "empty",
        "refusal-in-words",
        "unknown-placeholder",
        "lint",
        "cut-stream",
        "content-filter-streamed",
    ],
)
def test_any_failure_falls_back_to_the_template_with_its_reason(
    engine: Engine, database_url: str, tmp_path: Path, chat: ChatServer, reply: Reply, reason: str
) -> None:
    chat.replies = [reply]
    stream = bool(reply.events)
    made = draft(
        engine, tmp_path, database_url, settings_body(chat.base_url, stream=stream), world(engine)
    )

    assert made.source == "template"
    assert made.template.endswith("complaint_delivery.email.txt.j2")
    gave_way = made.source_details["gave_way"]
    assert [g["source"] for g in gave_way] == ["language_model"]
    assert reason in gave_way[0]["reason"]
    assert len(chat.requests) == 1


def test_a_model_slower_than_the_timeout_gives_way_to_the_template(
    engine: Engine, database_url: str, tmp_path: Path, chat: ChatServer
) -> None:
    chat.replies = [Reply(hold=True)]
    made = draft(
        engine, tmp_path, database_url, settings_body(chat.base_url, timeout=0.3), world(engine)
    )

    assert made.source == "template"
    assert made.source_details["gave_way"][0]["reason"] == "no answer within 0.3 seconds"


def test_the_language_model_is_off_by_default(
    engine: Engine, database_url: str, tmp_path: Path, chat: ChatServer
) -> None:
    made = draft(engine, tmp_path, database_url, "", world(engine))
    assert made.source == "template"
    assert made.source_details == {}
    assert chat.requests == []


def test_naming_the_language_model_without_an_endpoint_is_a_settings_error(
    tmp_path: Path, database_url: str
) -> None:
    with pytest.raises(SettingsError, match="base_url"):
        settings_for(tmp_path, database_url, '[drafts]\nsources = ["language_model"]\n')


def test_an_italian_customer_gets_the_brands_italian_voice_and_formal_register(
    engine: Engine, database_url: str, tmp_path: Path, chat: ChatServer
) -> None:
    # Hand-made answer (the recorded body, its content in formal Italian).
    chat.replies = [
        Reply(
            body=_filled(
                "Gentile [NAME], ci dispiace che il Suo Acme Tab 3 non sia ancora arrivato. "
                "Verificheremo l'ordine [ORDER_1] con il corriere e Le scriveremo entro 24 ore."
                "\n\nIl team Acme"
            )
        )
    ]
    add_order(
        engine,
        external_id=ORDER,
        email="giulia.rossi@example.it",
        name="Giulia Rossi",
        language="it",
        handles=(("reddit", "giulia_r"),),
        ordered_at=at(days=-9),
        shipped_at=at(days=-7),
    )
    mention_id = add_mention(
        engine,
        text="Il mio Acme Tab 3 non è ancora arrivato, l'ho ordinato due settimane fa!",
        handle="giulia_r",
        language="it",
    )
    body = settings_body(chat.base_url) + '\n[brand]\ntone = "formal"\n'
    made = draft(engine, tmp_path, database_url, body, mention_id)

    assert made.language == "it"
    assert made.source == "language_model", made.source_details
    assert made.text.startswith("Gentile Giulia, ci dispiace")
    assert f"l'ordine {ORDER}" in made.text
    system, user = chat.requests[0]["messages"]
    assert "Write in Italian." in system["content"]
    assert "Address the customer as 'Lei'." in system["content"]
    assert "Il team Acme" in system["content"]
    assert "non è ancora arrivato" in user["content"]
    assert "Giulia" not in json.dumps(chat.requests[0], ensure_ascii=False)


def test_sources_are_found_by_name_and_an_unknown_one_is_named_in_the_error(
    tmp_path: Path, database_url: str
) -> None:
    assert {"template", "history", "language_model"} <= set(known_sources())
    settings = settings_for(tmp_path, database_url, '[drafts]\nsources = ["telepathy"]\n')
    assert settings.drafts.sources == ("telepathy", "template")
    with pytest.raises(KeyError, match=r"unknown draft source 'telepathy'.*history"):
        Drafter.from_settings(settings)


def test_an_endpoint_failing_again_and_again_is_left_alone_for_the_rest_of_the_run(
    engine: Engine, database_url: str, tmp_path: Path, chat: ChatServer
) -> None:
    chat.replies = [Reply(status=500, body=b"upstream crashed")]
    settings = settings_for(tmp_path, database_url, settings_body(chat.base_url))
    drafter = Drafter.from_settings(settings)
    add_order(engine, external_id=ORDER, ordered_at=at(days=-9), shipped_at=at(days=-7))
    mentions = [
        add_mention(engine, text=f"My Acme Tab 3 has not arrived yet, day {n} of waiting")
        for n in range(5)
    ]
    reasons = []
    with session_scope(engine) as session:
        for mention_id in mentions:
            made = draft_for_mention(session, settings, mention_id, now=NOW, drafter=drafter)
            assert made is not None
            assert made.source == "template"
            reasons.append(made.source_details["gave_way"][0]["reason"])
    assert len(chat.requests) == 3
    assert reasons[:3] == ["HTTP 500: upstream crashed"] * 3
    assert reasons[3:] == ["not called: the endpoint failed 3 times in a row"] * 2
