"""``python -m hub channel add calls`` and ``tracking-number`` as an admin runs them: the
webhook URL and what to paste at the provider printed once, the provider's secret read from
standard input and never printed."""

from __future__ import annotations

from pathlib import Path

from tests.cli_run import migrated_cli


def test_connect_a_provider_and_label_a_number_from_the_command_line(tmp_path: Path) -> None:
    run = migrated_cli(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    token = "twilio-auth-token-from-stdin"
    added = run(
        "channel", "add", "calls", "--name", "Office", "--provider", "twilio",
        "--auth-token-stdin", "--answer-within", "30",
        stdin=token + "\n", HUB_PUBLIC_URL="https://hub.example.com",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "https://hub.example.com/webhooks/calls/1/" in added.stdout
    assert "X-Twilio-Signature" in added.stdout
    assert token not in added.stdout + added.stderr
    missing = run("channel", "add", "calls", "--name", "Z", "--provider", "zadarma")
    assert missing.returncode == 2 and "api_secret" in missing.stderr
    labelled = run(
        "tracking-number", "add", "--number", "8 (495) 123-00-01", "--source", "yandex",
        "--campaign", "spring",
    )  # fmt: skip
    assert labelled.returncode == 0, labelled.stderr
    assert "+74951230001 -> yandex" in labelled.stdout
    listed = run("tracking-number", "list")
    assert "+74951230001" in listed.stdout and "spring" in listed.stdout
