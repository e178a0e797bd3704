"""Opening a database: the schema revision read without alembic, and kept in step with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text

from modelyard.errors import Conflict
from modelyard.store.db import _MIGRATIONS, SCHEMA_HEAD, Database


def test_schema_head_is_the_newest_migration() -> None:
    """A new migration must move SCHEMA_HEAD too, or opened yards would never upgrade."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_HEAD


def test_a_new_database_is_migrated_to_the_head(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "home").mkdir(exist_ok=True)
    db = Database(db_url)
    try:
        assert db.schema_revision() is None
        db.migrate()
        assert db.schema_revision() == SCHEMA_HEAD
        db.migrate()  # at the head: one query, nothing to do
        assert db.schema_revision() == SCHEMA_HEAD
    finally:
        db.dispose()


def test_an_older_database_is_upgraded(tmp_path: Path) -> None:
    from alembic import command

    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    try:
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with db.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0007")
        assert db.schema_revision() == "0007"
        db.migrate()
        assert db.schema_revision() == SCHEMA_HEAD
    finally:
        db.dispose()


def test_a_database_of_a_newer_schema_is_refused_never_migrated_down(db_url: str) -> None:
    db = Database(db_url)
    try:
        db.migrate()
        with db.engine.begin() as conn:  # as a newer release would have left it
            conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
        with pytest.raises(
            Conflict, match=r"schema revision 0099.*newest is .*never migrated down"
        ):
            db.migrate()
        assert db.schema_revision() == "0099"
    finally:
        db.dispose()
