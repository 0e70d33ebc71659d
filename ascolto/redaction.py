"""Personal data and secrets kept out of logs and error reports.

Every log line passes through `redact` after formatting (message, extra fields and
traceback alike): e-mail addresses, bearer tokens, JWTs, `token=`/`password=`-style
values and long hex or base64 secrets are replaced. Message bodies are kept out at the
source (the code logs ids and counts, never texts); `LogScan` in the tests checks both.
"""

from __future__ import annotations

import logging
import re

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
BEARER = re.compile(r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{12,}")
JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
SECRET_VALUE = re.compile(
    r"(?i)\b((?:access_|refresh_|api_|auth_)?(?:token|secret|password|passwd|api_?key|"
    r"client_secret|sig|signature|key))(\"?\s*[:=]\s*\"?)([^\s\"'&,;]{6,})"
)
LONG_SECRET = re.compile(r"\b[A-Fa-f0-9]{40,}\b|\b[A-Za-z0-9_-]{43,}\b")


def redact(text: str) -> str:
    """`text` without e-mail addresses, tokens and secrets."""
    text = JWT.sub("[token]", text)
    text = BEARER.sub(lambda m: f"{m[1]} [token]", text)
    text = SECRET_VALUE.sub(lambda m: f"{m[1]}{m[2]}[secret]", text)
    text = EMAIL.sub("[email]", text)
    return LONG_SECRET.sub("[secret]", text)


class RedactingFormatter(logging.Formatter):
    """Formats with another formatter, then redacts the whole line."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record))
