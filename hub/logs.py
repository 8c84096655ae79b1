"""Logging set-up, with a filter that masks anything shaped like a secret.

Secrets should never be passed to a logger at all; this filter is the second line: bearer
tokens, ``secret=`` values and bot-token-shaped strings are replaced before a line is written.
"""

from __future__ import annotations

import logging
import re

_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)((?:secret|password|token)[\"']?\s*[:=]\s*[\"']?)[^\s\"',;]+"),
    # Not \b: a bot token sits right after "bot" in Bot API URLs, and may end with "-".
    re.compile(r"(?<![0-9])\d{6,12}:[A-Za-z0-9_-]{30,}(?![A-Za-z0-9_-])"),
    # Standard Webhooks secrets are standard base64 (with + / =), hub tokens URL-safe base64.
    re.compile(r"(?<![A-Za-z0-9])(?:hub|whsec)_[A-Za-z0-9_+/=-]{20,}(?![A-Za-z0-9_+/=-])"),
)


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # aiosqlite logs every statement with its parameters at DEBUG: secrets among them.
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, root.level))
