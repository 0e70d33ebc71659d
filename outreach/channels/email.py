"""E-mail over SMTP: multipart text and HTML, a Message-ID derived from the idempotency key,
and List-Unsubscribe on outreach mail (the enqueuer's own, or a signed one-click link)."""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

from outreach.channels.base import Channel, DeliveryError, SendResult
from outreach.channels.settings import Settings
from outreach.unsubscribe import unsubscribe_link
from storage.models import OutboxMessage
from storage.settings import email_address, read_secret
from storage.types import utcnow

# Messages to ascolto's own teams: no unsubscribe link, marked as machine-sent so
# vacation responders stay quiet (RFC 3834).
INTERNAL_KINDS = frozenset({"alert", "digest"})
# Headers the channel writes itself; a message's own `headers` may not replace them.
RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "sender",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "auto-submitted",
    }
)
# Written by build_email itself, from the message's headers or the unsubscribe link.
UNSUBSCRIBE_HEADERS = frozenset({"list-unsubscribe", "list-unsubscribe-post"})
# 7bit: non-ASCII text goes quoted-printable or base64, so no server needs 8BITMIME.
POLICY = SMTP.clone(cte_type="7bit")


def message_id(key: str, domain: str) -> str:
    """The same Message-ID for every attempt at one message, so receivers can drop repeats."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
    return f"<{digest}.ascolto@{domain}>"


class PlainHeader(str):
    """A header sent as written, folded only after the commas between its parts.

    The email package folds a long word (a signed unsubscribe URL) into RFC 2047 encoded
    words, which mail clients do not read as a link: List-Unsubscribe goes out plain.
    """

    name: str

    def __new__(cls, name: str, value: str) -> PlainHeader:
        header = super().__new__(cls, value)
        header.name = name
        return header

    def fold(self, *, policy: Any) -> str:
        linesep = str(policy.linesep)
        parts = [part.strip() for part in self.split(",")]
        return f"{self.name}: " + f",{linesep} ".join(parts) + linesep


def _has_https_link(value: str) -> bool:
    return any(part.strip().startswith("<https://") for part in value.split(","))


def build_email(message: OutboxMessage, settings: Settings) -> EmailMessage:
    """The MIME message for `message`: text, plus an HTML alternative when it has one."""
    smtp = settings.smtp
    sender = smtp.from_address or "ascolto@localhost"
    local, _, domain = sender.partition("@")
    mail = EmailMessage(policy=POLICY)
    mail["From"] = Address(display_name=smtp.from_name, username=local, domain=domain)
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = message_id(message.key, domain)
    given = {name.lower(): (name, value) for name, value in message.headers.items()}
    for name, value in message.headers.items():
        if name.lower() not in UNSUBSCRIBE_HEADERS:
            mail[name] = value
    if message.kind in INTERNAL_KINDS:
        mail["Auto-Submitted"] = "auto-generated"
        return _with_body(mail, message)
    if "list-unsubscribe" in given:
        links = given["list-unsubscribe"][1]
    else:
        links = f"<mailto:{sender}?subject=unsubscribe>"
        one_click = unsubscribe_link(settings, message.recipient)
        if one_click:
            links = f"<{one_click}>, {links}"
    mail["List-Unsubscribe"] = PlainHeader("List-Unsubscribe", links)
    # RFC 8058: one-click unsubscribing only with an HTTPS address to post to.
    if _has_https_link(links):
        mail["List-Unsubscribe-Post"] = PlainHeader(
            "List-Unsubscribe-Post", "List-Unsubscribe=One-Click"
        )
    return _with_body(mail, message)


def _with_body(mail: EmailMessage, message: OutboxMessage) -> EmailMessage:
    mail.set_content(message.text)
    if message.html:
        mail.add_alternative(message.html, subtype="html")
    return mail


class EmailChannel(Channel):
    """E-mail to one address through the configured SMTP server."""

    name = "email"

    def unavailable(self, settings: Settings) -> str | None:
        return None if settings.smtp.host else "smtp.host is not set"

    def check(self, message: OutboxMessage) -> None:
        try:
            email_address(message.recipient)
        except ValueError:
            raise ValueError(f"email: {message.recipient!r} is not an e-mail address") from None
        for name, value in message.headers.items():
            if name.lower() in RESERVED_HEADERS:
                raise ValueError(f"email: header {name} is set by the channel")
            if not name.isascii() or not name.replace("-", "").isalnum():
                raise ValueError(f"email: {name!r} is not a header name")
            if "\r" in value or "\n" in value:
                raise ValueError(f"email: header {name} holds a line break")
        if "\r" in message.subject or "\n" in message.subject:
            raise ValueError("email: the subject holds a line break")

    def send(self, message: OutboxMessage, settings: Settings) -> SendResult:
        smtp = settings.smtp
        if not smtp.host or not smtp.from_address:
            raise DeliveryError("smtp.host is not set")
        mail = build_email(message, settings)
        where = f"SMTP server {smtp.host}:{smtp.port}"
        client = _connect(settings, where)
        try:
            try:
                client.ehlo()
                if smtp.security == "starttls":
                    client.starttls(context=_tls_context(settings))
                    client.ehlo()
                if smtp.username:
                    client.login(smtp.username, _password(settings))
                _expect(client.mail(smtp.from_address), (250,), where, "MAIL FROM")
                _expect(client.rcpt(message.recipient), (250, 251), where, "RCPT TO")
            except smtplib.SMTPNotSupportedError as exc:
                raise DeliveryError(f"{where}: {exc}", permanent=True) from None
            except smtplib.SMTPResponseException as exc:
                raise _refused(exc.smtp_code, exc.smtp_error, where) from None
            except (OSError, smtplib.SMTPException) as exc:
                raise DeliveryError(f"{where}: {_text(exc)} before sending") from None
            try:
                code, reply = client.data(mail.as_bytes())
            except smtplib.SMTPResponseException as exc:
                # An error reply, before or after the content: the server did not take it.
                raise _refused(exc.smtp_code, exc.smtp_error, where) from None
            except (OSError, smtplib.SMTPException) as exc:
                raise DeliveryError(
                    f"{where}: {_text(exc)} while sending the message; it may have arrived",
                    uncertain=True,
                ) from None
        finally:
            _close(client)
        # smtplib raises on a refused DATA command but returns the reply to the content.
        if code != 250:
            raise _refused(code, reply, where, "the message")
        queued = reply.decode("utf-8", "replace").strip()
        return SendResult(remote_id=queued[:500] or None)


def _connect(settings: Settings, where: str) -> smtplib.SMTP:
    smtp = settings.smtp
    host = smtp.host or ""
    try:
        if smtp.security == "ssl":
            return smtplib.SMTP_SSL(
                host, smtp.port, timeout=smtp.timeout, context=_tls_context(settings)
            )
        return smtplib.SMTP(host, smtp.port, timeout=smtp.timeout)
    except smtplib.SMTPResponseException as exc:
        raise _refused(exc.smtp_code, exc.smtp_error, where) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"{where}: cannot connect ({_text(exc)})") from None


def _tls_context(settings: Settings) -> ssl.SSLContext:
    ca_file = settings.smtp.ca_file
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


def _password(settings: Settings) -> str:
    if settings.smtp.password is not None:
        return settings.smtp.password.get_secret_value()
    password = read_secret("smtp_password")
    if password is None:
        raise DeliveryError(
            "smtp.username is set but no password: set ASCOLTO_SMTP_PASSWORD or a file "
            "`smtp_password` in ASCOLTO_SECRETS_DIR",
            permanent=True,
        )
    return password


def _expect(answer: tuple[int, bytes], codes: tuple[int, ...], where: str, step: str) -> None:
    code, reply = answer
    if code not in codes:
        raise _refused(code, reply, where, step)


def _refused(code: int, reply: bytes | str, where: str, step: str = "") -> DeliveryError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    detail = f"{where} refused{' ' + step if step else ''}: {code} {' '.join(text.split())}"
    # 5xx is final (bad address, policy); 4xx asks to try later.
    return DeliveryError(detail, permanent=500 <= code < 600)


def _text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()
