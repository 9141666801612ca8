"""The SQLite database (emails, token hashes, usage) and its WAL files are private to the gateway's user."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from core.db.engine import create_engine
from core.db.migrate import upgrade


async def test_new_database_and_wal_files_are_0600(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "aqueduct.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:  # a write, so the -wal and -shm files exist
            await conn.execute(text("CREATE TABLE probe (x INTEGER)"))
            files = [path, path.with_name("aqueduct.db-wal"), path.with_name("aqueduct.db-shm")]
            modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in files}
    finally:
        await engine.dispose()
    assert modes == {name: 0o600 for name in modes}


def test_an_existing_database_keeps_its_mode(tmp_path: Path) -> None:
    """An operator's own choice (e.g. group-readable for a backup user) is not overridden."""
    path = tmp_path / "aqueduct.db"
    path.touch(mode=0o640)
    path.chmod(0o640)
    upgrade(f"sqlite:///{path}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
