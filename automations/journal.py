"""The send journal: what was handed to the mail transport, so nothing is ever sent twice.

SQLite in the state folder. An entry is written "pending" before the message is handed over and
"sent" after the transport confirms; a pending entry found later means a run stopped mid-send and
nobody can tell whether the email left, so it is never re-sent blindly. With "sent" come, in the
same transaction, the memory the email carries and the cells that record it in the sheets; those
cells stay "unlanded" until a sheet write carrying them succeeded, and the next run writes them
again if it did not. Besides, the journal keeps Passerelle's memory: what it last saw or said.

**Durability: one fsync per email over SMTP, none per email to the outbox.** A committed SQLite
transaction survives the death of its process (SIGKILL) whatever ``synchronous`` says: it sits in
the WAL file, in the kernel's cache, before ``COMMIT`` returns. An fsync only matters against a
power cut or a kernel crash, so the journal is in WAL mode with ``synchronous=NORMAL`` (a commit
writes the WAL without waiting for the disk) and pays an fsync only where a power cut could make
an email leave twice:

- *"pending" before an SMTP handover* (``pending(durable=True)``): once the server has the message,
  nothing but this record stops the next run from sending it again, so it is on the disk (WAL
  fsynced, and with it every earlier commit) before DATA starts;
- *"pending" before an outbox handover* needs no fsync: the outbox is idempotent (one file per
  key, atomically renamed into place), so handing the same message over twice still leaves one
  email; the outbox makes its files durable once per batch (``OutboxTransport.__exit__``);
- *"sent"* needs none either: should a power cut undo it, "pending" remains (« À vérifier »,
  never re-sent) over SMTP, and the outbox's file is rewritten in place.

``Journal._transaction`` still groups what must be one commit ("sent", its memory and its cells).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

PENDING, SENT, DEFERRED, REFUSED = "pending", "sent", "deferred", "refused"
RESEND = "renvoi demandé"
"""Detail of a pending email the advisor asked to send again (« Action » = Renvoyer)."""
_COLUMNS = "key, kind, person, session, recipient, status, attempts, updated_at, detail"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS emails (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    person TEXT NOT NULL,
    session TEXT NOT NULL,
    recipient TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS emails_person ON emails (person);
CREATE TABLE IF NOT EXISTS unlanded (
    key TEXT PRIMARY KEY,
    cells TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS memory (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
);
"""


@dataclass(frozen=True)
class Entry:
    key: str
    kind: str
    person: str
    session: str
    recipient: str
    status: str
    attempts: int
    updated_at: datetime
    detail: str


@contextlib.contextmanager
def _private_files() -> Iterator[None]:
    """Files created inside are readable by their owner only (0600).

    The journal holds recipients' addresses (PRODUCT.md §6). SQLite creates the database and,
    later, its -wal and -shm files with the process umask, typically world-readable 0644; a umask
    while connecting and switching to WAL covers all three, and existing files are narrowed too.
    """
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


class Journal:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _private_files():
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.chmod(f"{path}{suffix}", 0o600)

    @classmethod
    def copy_in_memory(cls, path: Path) -> Journal:
        """A dry run's journal: what the real one holds, in memory, never written back."""
        copy = sqlite3.connect(":memory:", isolation_level=None)
        if path.exists():
            source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                source.backup(copy)
            finally:
                source.close()
        journal = cls.__new__(cls)
        journal._db = copy
        journal._db.executescript(_SCHEMA)
        return journal

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """All or nothing, even under SIGKILL. The connection autocommits each statement
        (isolation_level=None), so ``with connection:`` alone would not group them."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def entries(self) -> list[Entry]:
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM emails")
        return [Entry(*row[:7], datetime.fromisoformat(row[7]), row[8]) for row in rows]

    def entry(self, key: str) -> Entry | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM emails WHERE key=?",
            (key,),
        ).fetchone()
        return Entry(*row[:7], datetime.fromisoformat(row[7]), row[8]) if row else None

    def _record(
        self,
        key: str,
        kind: str,
        person: str,
        session: str,
        recipient: str,
        status: str,
        at: datetime,
        detail: str = "",
        attempt: int = 0,
    ) -> None:
        self._db.execute(
            f"""INSERT INTO emails ({_COLUMNS})
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(key) DO UPDATE SET recipient=excluded.recipient, status=excluded.status,
                   attempts=attempts + excluded.attempts, updated_at=excluded.updated_at,
                   detail=excluded.detail""",
            (key, kind, person, session, recipient, status, attempt, at.isoformat(), detail),
        )

    def pending(
        self,
        key: str,
        kind: str,
        person: str,
        session: str,
        recipient: str,
        at: datetime,
        durable: bool = True,
    ) -> None:
        """Before the handover; ``durable``: on the disk before returning (see the module docstring)."""
        if not durable:
            self._record(key, kind, person, session, recipient, PENDING, at, attempt=1)
            return
        self._db.execute("PRAGMA synchronous=FULL")
        try:
            self._record(key, kind, person, session, recipient, PENDING, at, attempt=1)
        finally:
            self._db.execute("PRAGMA synchronous=NORMAL")

    def settle(self, key: str, status: str, at: datetime, detail: str = "") -> None:
        self._db.execute(
            "UPDATE emails SET status=?, updated_at=?, detail=? WHERE key=?",
            (status, at.isoformat(), detail, key),
        )

    def sent(
        self, key: str, at: datetime, memory: Iterable[tuple[str, str, str]] = (), cells: str = ""
    ) -> None:
        """The transport took the email: its record, what it told and the cells still to write
        are committed together."""
        with self._transaction():
            self._db.execute(
                "UPDATE emails SET status=?, updated_at=?, detail='' WHERE key=?", (SENT, at.isoformat(), key)
            )
            self._upsert(memory)
            if cells:
                self._db.execute("INSERT OR REPLACE INTO unlanded (key, cells) VALUES (?, ?)", (key, cells))

    def unlanded(self) -> dict[str, str]:
        """The cells of sent emails that no sheet write has carried yet, by email key."""
        return dict(self._db.execute("SELECT key, cells FROM unlanded ORDER BY rowid"))

    def landed(self, keys: Iterable[str], memory: Iterable[tuple[str, str, str]] = ()) -> None:
        """A sheet write carried these emails' cells; ``memory`` acknowledged that write."""
        with self._transaction():
            self._db.executemany("DELETE FROM unlanded WHERE key=?", [(key,) for key in keys])
            self._upsert(memory)

    def memory(self) -> dict[tuple[str, str], str]:
        rows = self._db.execute("SELECT namespace, key, value FROM memory")
        return {(namespace, key): value for namespace, key, value in rows}

    def remember(self, updates: Iterable[tuple[str, str, str]]) -> None:
        """What a job saw last (staff columns, announced session details): (namespace, key, value)."""
        with self._transaction():
            self._upsert(updates)

    def _upsert(self, updates: Iterable[tuple[str, str, str]]) -> None:
        self._db.executemany(
            "INSERT INTO memory (namespace, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT(namespace, key) DO UPDATE SET value=excluded.value",
            list(updates),
        )

    def facts(self) -> JournalFacts:
        """A snapshot for planning: what was sent and what was remembered, as of now."""
        return JournalFacts(self.entries(), self.memory())

    def erase_recipients(self, people: Iterable[str]) -> None:
        """Purge: keep that an email went (never twice), forget to which address and why it failed."""
        with self._transaction():
            self._db.executemany(
                "UPDATE emails SET recipient='', detail='' WHERE person=?", [(p,) for p in people]
            )


class JournalFacts:
    """A read-only snapshot of the journal that pure planning code can query."""

    def __init__(self, entries: Iterable[Entry], memory: dict[tuple[str, str], str] | None = None) -> None:
        self._by_key = {entry.key: entry for entry in entries}
        self._by_person: dict[str, list[Entry]] = {}
        self._by_address: dict[str, set[str]] = {}
        for entry in sorted(self._by_key.values(), key=lambda e: e.updated_at):
            self._by_person.setdefault(entry.person, []).append(entry)
            if entry.recipient:
                self._by_address.setdefault(entry.recipient.casefold(), set()).add(entry.person)
        self.memory = memory or {}

    def recalled(self, namespace: str, key: str) -> str | None:
        return self.memory.get((namespace, key))

    def emailed_on(self, person: str, day: date) -> bool:
        """Whether the person was sent (or may have been sent) any email that day: one a day at most."""
        return any(e.status in (SENT, PENDING) and e.updated_at.date() == day for e in self.of_person(person))

    def get(self, key: str) -> Entry | None:
        return self._by_key.get(key)

    def of_person(self, person: str) -> list[Entry]:
        """Oldest first; indexed, because every job asks this for every row."""
        return self._by_person.get(person, [])

    def people_at(self, address: str) -> set[str]:
        """The people (Références) emails were sent to at this address."""
        return self._by_address.get(address.casefold(), set())

    def of(self, kind: str, person: str) -> list[Entry]:
        return [e for e in self.of_person(person) if e.kind == kind]
