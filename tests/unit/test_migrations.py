"""Schema migrations over data written by older versions."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from daytona_server.db.session import MIGRATIONS, make_engine


def upgrade(engine: sa.Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_passwords_stored_among_quota_limits_by_older_versions_are_dropped(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0005")
    leaked = {"maxCpuPerWorkspace": 2, "password": "hunter2-plaintext", "id": "bob", "role": "user"}
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO users (id, name, role, created_at, quota) VALUES ('bob', 'Bob', 'user', :t, :q)"),
            {"t": "2026-01-01 00:00:00", "q": json.dumps(leaked)},
        )
    upgrade(engine, "head")
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT quota FROM users WHERE id = 'bob'")).scalar_one()
    assert json.loads(stored) == {"maxCpuPerWorkspace": 2}
    engine.dispose()
