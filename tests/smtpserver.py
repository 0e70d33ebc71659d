"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives.

Replies can be scripted (refuse a recipient, refuse the content), a login can be required,
STARTTLS or implicit TLS offered with a certificate of its own, and `hold` keeps the final
reply to DATA back until released, so a test can kill the sender after the server has the
message.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    """One message as the server accepted it."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SmtpBehaviour:
    """What the server answers; change it between sends."""

    rcpt_reply: str | None = None
    data_reply: str | None = None
    hold: threading.Event | None = None
    arrived: threading.Event = field(default_factory=threading.Event)
    answered: threading.Event = field(default_factory=threading.Event)
    """Set when the final reply to a message is given (after `hold` is released)."""


class _Handler:
    def __init__(self, behaviour: SmtpBehaviour, received: list[Received]) -> None:
        self.behaviour = behaviour
        self.received = received

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if self.behaviour.rcpt_reply:
            return self.behaviour.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.behaviour.data_reply:
            return self.behaviour.data_reply
        content = envelope.original_content or envelope.content
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), content))
        self.behaviour.arrived.set()
        hold = self.behaviour.hold
        if hold is not None:
            await asyncio.get_running_loop().run_in_executor(None, hold.wait, 60)
        self.behaviour.answered.set()
        return "250 2.0.0 Ok: queued as TEST1"


class SmtpServer:
    """A started server; `received` lists the accepted messages in order."""

    def __init__(
        self,
        *,
        login: tuple[str, str] | None = None,
        tls: tuple[Path, Path] | None = None,
        implicit_tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.behaviour = SmtpBehaviour()
        self.received: list[Received] = []
        self.logins: list[str] = []
        self.port = _free_port()
        kwargs: dict[str, Any] = {}
        if login is not None:
            kwargs |= {
                "authenticator": self._authenticator(login),
                "auth_required": True,
                "auth_require_tls": tls is not None,
            }
        if tls is not None:
            kwargs |= {"tls_context": _server_context(tls), "require_starttls": True}
        if implicit_tls is not None:
            kwargs["ssl_context"] = _server_context(implicit_tls)
        self._controller = Controller(
            _Handler(self.behaviour, self.received),
            hostname="127.0.0.1",
            port=self.port,
            ready_timeout=10,
            **kwargs,
        )

    def _authenticator(self, login: tuple[str, str]) -> Any:
        def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
            ok = (
                isinstance(data, LoginPassword)
                and (
                    data.login.decode(),
                    data.password.decode(),
                )
                == login
            )
            if ok:
                self.logins.append(data.login.decode())
            return AuthResult(success=ok, handled=False)

        return check

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        if self.behaviour.hold is not None:
            self.behaviour.hold.set()
        self._controller.stop()


@contextmanager
def smtp_server(**kwargs: Any) -> Iterator[SmtpServer]:
    """A started SmtpServer, stopped afterwards."""
    server = SmtpServer(**kwargs).start()
    try:
        yield server
    finally:
        server.stop()


def _server_context(pair: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(pair[0]), str(pair[1]))
    return context


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connections are refused)."""
    return _free_port()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ascolto test SMTP")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file = folder / "smtp-cert.pem"
    key_file = folder / "smtp-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file
