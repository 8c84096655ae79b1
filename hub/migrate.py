"""Run Alembic migrations from code, on the app's own engine (SQLite or PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.db import make_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database of ``engine`` to ``revision``.

    On SQLite the migration runs on its own connection with foreign keys off (a table rebuild
    would otherwise cascade-delete the rows that refer to the rebuilt table), then checks that
    every reference still holds before it commits.
    """
    cfg = alembic_config()

    def run(conn: Connection) -> None:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        if conn.dialect.name == "sqlite":
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left broken references: {broken[:5]}")

    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        async with engine.begin() as conn:
            await conn.run_sync(run)
        return
    migrating = make_engine(engine.url.render_as_string(hide_password=False), foreign_keys=False)
    try:
        async with migrating.begin() as conn:
            await conn.run_sync(run)
    finally:
        await migrating.dispose()
