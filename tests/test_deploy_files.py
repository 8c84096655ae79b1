"""Dockerfile and docker-compose.yml (Docker itself cannot run here): they name only settings
that exist, run the hub as documented, and compose parses as YAML where PyYAML is installed."""

from __future__ import annotations

import re
from pathlib import Path

from hub.settings import Settings

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")
COMPOSE = (REPO / "docker-compose.yml").read_text(encoding="utf-8")


def test_deploy_files_use_only_real_settings() -> None:
    known = {f"HUB_{name.upper()}" for name in Settings.model_fields}
    used = set(re.findall(r"\bHUB_[A-Z0-9_]+", DOCKERFILE + COMPOSE))
    assert {"HUB_HOST", "HUB_DATABASE_URL", "HUB_REDIS_URL", "HUB_SECRET_KEY"} <= used
    assert used - known == set(), "unknown HUB_* variables"


def test_dockerfile_runs_the_hub_as_a_non_root_user() -> None:
    lines = [line.strip() for line in DOCKERFILE.splitlines() if line.strip()]
    instructions = [line for line in lines if not line.startswith("#")]
    assert instructions[0] == "FROM python:3.11-slim"
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"HUB_HOST=0\.0\.0\.0", DOCKERFILE)
    assert "pip install ." in DOCKERFILE
    assert lines[-1] == 'CMD ["python", "-m", "hub", "serve"]'


def test_compose_migrates_before_serving_on_postgres_and_redis() -> None:
    assert "image: postgres:15" in COMPOSE
    assert "image: redis:7" in COMPOSE
    assert re.search(r"python -m hub migrate && exec python -m hub serve", COMPOSE)
    assert "postgresql+asyncpg://" in COMPOSE
    assert COMPOSE.count("healthcheck:") == 3
    assert "\t" not in COMPOSE
