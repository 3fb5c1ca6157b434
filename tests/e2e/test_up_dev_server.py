"""The Temporal dev server `duban up` starts keeps its SQLite file in WAL mode, with the
pragmas bench/ measures it with (api.up_parts.DEV_SERVER_SQLITE_PRAGMAS)."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest

from api.up_parts import DEV_SERVER_SQLITE_PRAGMAS, start_dev_server

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_the_dev_server_keeps_its_sqlite_file_in_wal_mode(tmp_path: Path) -> None:
    server = await start_dev_server(tmp_path, free_port(), free_port())
    try:
        # The journal mode is written into the file itself: another reader sees it.
        reader = sqlite3.connect(f"file:{tmp_path / 'temporal.db'}?mode=ro", uri=True)
        try:
            mode = reader.execute("PRAGMA journal_mode").fetchone()[0]
        finally:
            reader.close()
        assert mode == "wal"
        # synchronous is per connection: the server is asked for it on its command line.
        args = [str(a) for a in server.process.args]  # type: ignore[union-attr]
        for pragma in DEV_SERVER_SQLITE_PRAGMAS:
            assert args[args.index(pragma) - 1] == "--sqlite-pragma"
        assert "synchronous=normal" in DEV_SERVER_SQLITE_PRAGMAS
    finally:
        server.stop()
