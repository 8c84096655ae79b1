"""Log lines never carry secrets: ``hub.logs.redact`` masks anything shaped like one."""

from __future__ import annotations

import logging

import pytest

from hub.logs import RedactingFilter, redact

BOT_TOKEN = "123456789:AA" + "b" * 33  # a Telegram bot token: id, colon, 35 characters
HUB_TOKEN = "hub_" + "Zx9_-" * 8


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("Authorization: Bearer abc.DEF-123_x/y+z=", "abc.DEF-123_x/y+z="),
        ("got header bearer s3cr3t-token-value", "s3cr3t-token-value"),
        ("connecting with secret=hunter2hunter2", "hunter2hunter2"),
        ('config {"secret": "p4ss-w0rd"}', "p4ss-w0rd"),
        ("password: correct-horse", "correct-horse"),
        (f"bot {BOT_TOKEN} started", BOT_TOKEN),
        (f"https://api.telegram.org/bot{BOT_TOKEN}/sendMessage", BOT_TOKEN[12:]),
        (f"operator logged in with {HUB_TOKEN}", HUB_TOKEN),
    ],
)
def test_secrets_are_masked(line: str, secret: str) -> None:
    cleaned = redact(line)
    assert secret not in cleaned
    assert "[redacted]" in cleaned


def test_prefix_of_the_line_is_kept_and_nothing_of_the_secret() -> None:
    assert redact("Authorization: Bearer abc123") == "Authorization: Bearer [redacted]"
    assert redact("secret=xyz other") == "secret=[redacted] other"
    # Tokens may end with "-" or "_": no trailing fragment may survive.
    assert redact(f"with {HUB_TOKEN} now") == "with [redacted] now"
    tail_dash = "123456789:AA" + "c" * 32 + "-"
    assert redact(f"GET https://api.telegram.org/bot{tail_dash}/getMe") == (
        "GET https://api.telegram.org/bot[redacted]/getMe"
    )


@pytest.mark.parametrize(
    "line",
    [
        "serving on http://127.0.0.1:8080",
        "delivery of message 42 failed (attempt 3): callback answered HTTP 503",
        "Клиент спросил про доставку в 12:30",
        "the hub_lower function is registered",
        "ratio 1:2 and time 10:45:00",
        "conversation 7 assigned to team Support",
    ],
)
def test_ordinary_text_is_left_alone(line: str) -> None:
    assert redact(line) == line


def test_filter_rewrites_records_with_arguments() -> None:
    record = logging.LogRecord(
        "hub", logging.INFO, __file__, 1, "calling %s with %s", ("x", f"Bearer {HUB_TOKEN}"), None
    )
    assert RedactingFilter().filter(record) is True
    assert HUB_TOKEN not in record.getMessage()
    assert "Bearer [redacted]" in record.getMessage()
