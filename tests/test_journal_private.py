"""The send journal holds recipients' addresses: only its owner can read it (PRODUCT.md §6)."""

from __future__ import annotations

import os
import stat
from datetime import datetime

from automations.journal import Handover, Journal


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_journal_and_its_wal_files_are_readable_by_their_owner_only(tmp_path):
    previous = os.umask(0o022)  # the usual umask, which made the files world-readable
    try:
        journal = Journal(tmp_path / "state" / "journal.sqlite3")
        journal.pending(
            [Handover("k", "invitation", "P-1", "R-1", "anais.peron@exemple.fr")],
            datetime(2027, 6, 24),
            durable=True,
            provable=False,
        )
        files = sorted(p.name for p in (tmp_path / "state").iterdir())
        assert files == ["journal.sqlite3", "journal.sqlite3-shm", "journal.sqlite3-wal"]
        assert {name: mode(tmp_path / "state" / name) for name in files} == dict.fromkeys(files, 0o600)
        journal.close()
        assert os.umask(0o022) == 0o022  # the process umask is left as it was
    finally:
        os.umask(previous)


def test_an_existing_world_readable_journal_is_narrowed(tmp_path):
    path = tmp_path / "journal.sqlite3"
    Journal(path).close()
    os.chmod(path, 0o644)
    Journal(path).close()
    assert mode(path) == 0o600
