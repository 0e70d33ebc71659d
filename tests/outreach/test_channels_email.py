"""The e-mail channel against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from outreach.outbox import deliver_due
from outreach.unsubscribe import make_token, read_token
from tests.outreach.delivery import add_message, delivery_toml, get, later, write_secret
from tests.smtpserver import SmtpServer, closed_port, self_signed_certificate, smtp_server

SECRET_KEY = "k" * 40


@pytest.fixture
def smtp() -> Any:
    with smtp_server() as server:
        yield server


def test_the_server_receives_exactly_one_multipart_message_with_list_unsubscribe(
    make_settings: Any, engine: Engine, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASCOLTO_SECRET_KEY", SECRET_KEY)
    settings = make_settings(
        delivery_toml(
            smtp_port=smtp.port, delivery='unsubscribe_url = "https://care.acme.example/u"\n'
        )
    )
    message_id = add_message(
        engine,
        key="followup:order:77",
        kind="followup",
        recipient="giulia@example.com",
        subject="Il tuo ordine è arrivato?",
        text="Ciao Giulia,\ncome va la tua Acme Tab 3?",
        html="<p>Ciao Giulia,</p><p>come va la tua <b>Acme Tab 3</b>?</p>",
    )
    report = deliver_due(settings, engine, now=later())
    assert (report.sent, report.failed, report.uncertain) == (1, 0, 0)
    # Later passes send nothing more.
    deliver_due(settings, engine, now=later(days=2))

    assert len(smtp.received) == 1
    received = smtp.received[0]
    assert received.mail_from == "care@acme.example"
    assert received.rcpt_tos == ["giulia@example.com"]
    mail = received.message
    assert mail["From"] == "Acme Care <care@acme.example>"
    assert mail["To"] == "giulia@example.com"
    assert mail["Subject"] == "Il tuo ordine è arrivato?"
    digest = hashlib.sha256(b"followup:order:77").hexdigest()[:40]
    assert mail["Message-ID"] == f"<{digest}.ascolto@acme.example>"
    assert mail.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part.get_content() for part in mail.iter_parts()}
    assert parts["text/plain"].replace("\r\n", "\n") == "Ciao Giulia,\ncome va la tua Acme Tab 3?\n"
    assert "<b>Acme Tab 3</b>" in parts["text/html"]

    unsubscribe = mail["List-Unsubscribe"]
    one_click, mailto = (link.strip(" <>") for link in unsubscribe.split(","))
    assert one_click.startswith("https://care.acme.example/u?token=")
    token = one_click.split("token=", 1)[1]
    assert read_token(SECRET_KEY, token) == "giulia@example.com"
    assert mailto == "mailto:care@acme.example?subject=unsubscribe"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Auto-Submitted"] is None
    # On the wire, as written: a mail client reads the link only from a plain header, never
    # from RFC 2047 encoded words (which a long signed URL used to be folded into).
    raw = received.content.decode("ascii").replace("\r\n", "\n")
    assert f"\nList-Unsubscribe: <{one_click}>,\n <{mailto}>\n" in raw

    sent = get(engine, message_id)
    assert sent.status == "sent"
    assert sent.remote_id == "2.0.0 Ok: queued as TEST1"


def test_without_an_unsubscribe_page_outreach_mail_has_a_mailto_link(
    make_settings: Any, engine: Engine, smtp: SmtpServer
) -> None:
    settings = make_settings(delivery_toml(smtp_port=smtp.port))
    add_message(engine, kind="reply", html=None)
    deliver_due(settings, engine, now=later())
    mail = smtp.received[0].message
    assert mail["List-Unsubscribe"] == "<mailto:care@acme.example?subject=unsubscribe>"
    assert mail["List-Unsubscribe-Post"] is None
    assert mail.get_content_type() == "text/plain"


def test_the_enqueuers_own_unsubscribe_headers_are_kept(
    make_settings: Any, engine: Engine, smtp: SmtpServer
) -> None:
    settings = make_settings(delivery_toml(smtp_port=smtp.port))
    link = "https://care.acme.example/unsubscribe?token=abc"
    add_message(
        engine,
        kind="checkin",
        headers={
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Reply-To": "support@acme.example",
        },
    )
    deliver_due(settings, engine, now=later())
    mail = smtp.received[0].message
    assert mail.get_all("List-Unsubscribe") == [f"<{link}>"]
    assert mail.get_all("List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"]
    assert mail["Reply-To"] == "support@acme.example"


def test_alert_mail_to_our_own_team_has_no_unsubscribe_link(
    make_settings: Any, engine: Engine, smtp: SmtpServer
) -> None:
    settings = make_settings(delivery_toml(smtp_port=smtp.port))
    add_message(engine, kind="alert", recipient="ops@acme.example", subject="Defect alert")
    deliver_due(settings, engine, now=later())
    mail = smtp.received[0].message
    assert mail["List-Unsubscribe"] is None
    assert mail["Auto-Submitted"] == "auto-generated"


def test_unsubscribe_tokens_cannot_be_forged() -> None:
    token = make_token(SECRET_KEY, "Giulia@Example.com ")
    assert read_token(SECRET_KEY, token) == "giulia@example.com"
    assert read_token("another key", token) is None
    encoded, signature = token.split(".")
    forged = make_token("attacker", "boss@example.com").split(".")[0] + "." + signature
    assert read_token(SECRET_KEY, forged) is None
    for broken in ("", ".", "abc", "abc.", "!!!.###", encoded):
        assert read_token(SECRET_KEY, broken) is None


def test_a_refused_recipient_fails_at_once(
    make_settings: Any, engine: Engine, smtp: SmtpServer
) -> None:
    settings = make_settings(delivery_toml(smtp_port=smtp.port))
    smtp.behaviour.rcpt_reply = "550 5.1.1 <nobody@example.com>: Recipient address rejected"
    message_id = add_message(engine, recipient="nobody@example.com")
    report = deliver_due(settings, engine, now=later())
    assert report.failed == 1
    failed = get(engine, message_id)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error == (
        f"SMTP server 127.0.0.1:{smtp.port} refused RCPT TO: 550 5.1.1 "
        "<nobody@example.com>: Recipient address rejected"
    )
    assert smtp.received == []


def test_a_temporary_refusal_is_retried(
    make_settings: Any, engine: Engine, smtp: SmtpServer
) -> None:
    settings = make_settings(delivery_toml(smtp_port=smtp.port))
    smtp.behaviour.data_reply = "451 4.3.0 Try again later"
    message_id = add_message(engine)
    now = later()
    assert deliver_due(settings, engine, now=now).retrying == 1
    waiting = get(engine, message_id)
    assert waiting.status == "pending"
    assert "451 4.3.0 Try again later" in (waiting.last_error or "")
    smtp.behaviour.data_reply = None
    assert deliver_due(settings, engine, now=waiting.next_attempt_at).sent == 1
    assert len(smtp.received) == 1


def test_smtp_server_down_retries_then_fails(make_settings: Any, engine: Engine) -> None:
    port = closed_port()
    settings = make_settings(delivery_toml(smtp_port=port, delivery="max_attempts = 3\n"))
    message_id = add_message(engine)
    now = later()
    statuses = []
    for _ in range(3):
        deliver_due(settings, engine, now=now)
        message = get(engine, message_id)
        statuses.append((message.status, message.attempts))
        now = message.next_attempt_at
    assert statuses == [("pending", 1), ("pending", 2), ("failed", 3)]
    assert message.last_error is not None
    assert message.last_error.startswith(
        f"gave up after 3 attempt(s): SMTP server 127.0.0.1:{port}: cannot connect ("
    )


def tls_toml(port: int, cert: Path, extra: str = "") -> str:
    return delivery_toml(smtp_port=port, extra_smtp=extra).replace(
        'security = "none"', f'security = "starttls"\nca_file = "{cert}"'
    )


def test_login_over_starttls_with_the_password_from_the_secrets_directory(
    make_settings: Any,
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secrets = tmp_path / "secrets"
    write_secret(secrets, "smtp_password", "s3cret pass")
    monkeypatch.setenv("ASCOLTO_SECRETS_DIR", str(secrets))
    cert, key = self_signed_certificate(tmp_path)
    with smtp_server(login=("care", "s3cret pass"), tls=(cert, key)) as smtp:
        settings = make_settings(tls_toml(smtp.port, cert, 'username = "care"\n'))
        add_message(engine)
        assert deliver_due(settings, engine, now=later()).sent == 1
        assert smtp.logins == ["care"]
        assert len(smtp.received) == 1


def test_a_wrong_password_fails_at_once(
    make_settings: Any, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASCOLTO_SMTP_PASSWORD", "wrong")
    cert, key = self_signed_certificate(tmp_path)
    with smtp_server(login=("care", "right"), tls=(cert, key)) as smtp:
        settings = make_settings(tls_toml(smtp.port, cert, 'username = "care"\n'))
        message_id = add_message(engine)
        assert deliver_due(settings, engine, now=later()).failed == 1
        assert "535" in (get(engine, message_id).last_error or "")
        assert smtp.received == []


def test_starttls_with_a_private_certificate_authority(
    make_settings: Any, engine: Engine, tmp_path: Path
) -> None:
    cert, key = self_signed_certificate(tmp_path)
    with smtp_server(tls=(cert, key)) as smtp:
        plain = make_settings(delivery_toml(smtp_port=smtp.port))
        refused_id = add_message(engine)
        # The server requires STARTTLS: a clear-text sender is refused, not downgraded.
        assert deliver_due(plain, engine, now=later()).failed == 1
        assert "530" in (get(engine, refused_id).last_error or "")

        secure = make_settings(tls_toml(smtp.port, cert))
        message_id = add_message(engine)
        assert deliver_due(secure, engine, now=later()).sent == 1
        assert get(engine, message_id).status == "sent"
        assert len(smtp.received) == 1


def test_starttls_refuses_an_untrusted_certificate(
    make_settings: Any, engine: Engine, tmp_path: Path
) -> None:
    cert, key = self_signed_certificate(tmp_path)
    with smtp_server(tls=(cert, key)) as smtp:
        settings = make_settings(
            delivery_toml(smtp_port=smtp.port).replace('security = "none"', 'security = "starttls"')
        )
        message_id = add_message(engine)
        assert deliver_due(settings, engine, now=later()).retrying == 1
        assert "CERTIFICATE_VERIFY_FAILED" in (get(engine, message_id).last_error or "")
        assert smtp.received == []


def test_implicit_tls(make_settings: Any, engine: Engine, tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    with smtp_server(implicit_tls=(cert, key)) as smtp:
        settings = make_settings(
            delivery_toml(smtp_port=smtp.port).replace(
                'security = "none"', f'security = "ssl"\nca_file = "{cert}"'
            )
        )
        message_id = add_message(engine)
        assert deliver_due(settings, engine, now=later()).sent == 1
        assert get(engine, message_id).status == "sent"
        assert len(smtp.received) == 1


def test_one_click_unsubscribing_only_over_https(
    make_settings: Any, engine: Engine, smtp: SmtpServer
) -> None:
    settings = make_settings(delivery_toml(smtp_port=smtp.port))
    link = "http://care.acme.example/unsubscribe?token=abc"
    add_message(
        engine,
        kind="checkin",
        headers={
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    deliver_due(settings, engine, now=later())
    mail = smtp.received[0].message
    assert mail["List-Unsubscribe"] == f"<{link}>"
    # RFC 8058: no one-click POST to a plain-HTTP address.
    assert mail["List-Unsubscribe-Post"] is None
