"""The send journal: what was handed to the mail transport, so nothing is ever sent twice.

SQLite in the state folder. An entry is written "pending" before the message is handed over,
with what the email will carry once it left ("staged": the memory of what it told, the cells that
record it), and "sent" after the transport confirms; the staged memory and cells are then
committed in the same transaction, the cells as "unlanded" until a sheet write carrying them
succeeded (the next run writes them again if it did not). Besides, the journal keeps Passerelle's
memory: what it last saw or said.

**A pending entry found later** means a run stopped mid-send. Over SMTP nobody can tell whether
the email left, so it is never re-sent blindly (« À vérifier »). The outbox can tell: its file,
named after the key and renamed into place whole, is its own proof of delivery, so ``confirm``
records an email whose file is there as sent (at the time it was handed over, with what it staged)
and makes one whose file is not there due again.

**Durability: one fsync per email over SMTP; for the outbox, two commits per 200 emails and no
fsync per email.** A committed SQLite transaction survives the death of its process (SIGKILL)
whatever ``synchronous`` says: it sits in the WAL file, in the kernel's cache, before ``COMMIT``
returns. An fsync only matters against a power cut or a kernel crash, so the journal is in WAL
mode with ``synchronous=NORMAL`` (a commit writes the WAL without waiting for the disk) and pays
an fsync only where a power cut could make an email leave twice:

- *"pending" before an SMTP handover* (``pending(durable=True)``), one email at a time: once the
  server has the message, nothing but this record stops the next run from sending it again, so it
  is on the disk (WAL fsynced, and with it every earlier commit) before DATA starts;
- *"pending" before outbox handovers* is one commit for a chunk of emails (``apply.CHUNK``), with
  no fsync: the outbox is idempotent (one file per key, atomically renamed into place), so handing
  the same message over twice still leaves one email; it makes its files durable once per batch
  (``OutboxTransport.__exit__``), and "sent" is one commit for the chunk afterwards;
- *"sent"* needs no fsync either: should a power cut undo it, "pending" remains (« À vérifier »,
  never re-sent) over SMTP, and the outbox's file settles it.

``Journal._transaction`` groups what must be one commit (a chunk's "pending", and "sent" with its
memory and its cells).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
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
CREATE TABLE IF NOT EXISTS staged (
    key TEXT PRIMARY KEY,
    memory TEXT NOT NULL,
    cells TEXT NOT NULL,
    provable INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS memory (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
);
"""


@dataclass(frozen=True)
class Handover:
    """An email about to be handed over, with what it carries once it is known to have left: the
    memory it commits (what it told) and its cells (JSON), staged with its "pending" record."""

    key: str
    kind: str
    person: str
    session: str
    recipient: str
    memory: Sequence[tuple[str, str, str]] = ()
    cells: str = ""


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
        self._facts: tuple[int, JournalFacts] | None = None
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
        journal._db, journal._facts = copy, None
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

    def pending(self, handovers: Sequence[Handover], at: datetime, durable: bool, provable: bool) -> None:
        """Before these emails are handed over, in one commit; ``durable``: on the disk before
        returning; ``provable``: the transport can tell later whether each was handed over (see the
        module docstring)."""
        if not handovers:
            return
        if durable:
            self._db.execute("PRAGMA synchronous=FULL")
        try:
            with self._transaction():
                for h in handovers:
                    self._record(h.key, h.kind, h.person, h.session, h.recipient, PENDING, at, attempt=1)
                self._db.executemany(
                    "INSERT OR REPLACE INTO staged (key, memory, cells, provable) VALUES (?, ?, ?, ?)",
                    [(h.key, json.dumps(list(h.memory)), h.cells, provable) for h in handovers],
                )
        finally:
            if durable:
                self._db.execute("PRAGMA synchronous=NORMAL")

    def settle(self, key: str, status: str, at: datetime, detail: str = "") -> None:
        """Not sent (deferred, refused, or sent again on request): what it would have carried is void."""
        with self._transaction():
            self._db.execute(
                "UPDATE emails SET status=?, updated_at=?, detail=? WHERE key=?",
                (status, at.isoformat(), detail, key),
            )
            self._db.execute("DELETE FROM staged WHERE key=?", (key,))

    def sent(self, keys: Sequence[str], at: datetime) -> None:
        """The transport took these emails: their records, what they told and the cells still to
        write are committed together."""
        if not keys:
            return
        with self._transaction():
            self._promote(keys, at)

    def withdraw(self, previous: Sequence[tuple[str, Entry | None]]) -> None:
        """Emails journaled "pending" but never handed over (the run stopped, or the transport is
        gone): each entry back as it was before, or none if there was none."""
        with self._transaction():
            for key, entry in previous:
                self._db.execute("DELETE FROM staged WHERE key=?", (key,))
                if entry is None:
                    self._db.execute("DELETE FROM emails WHERE key=?", (key,))
                    continue
                at = entry.updated_at.isoformat()
                self._db.execute(
                    "UPDATE emails SET recipient=?, status=?, attempts=?, updated_at=?, detail=? WHERE key=?",
                    (entry.recipient, entry.status, entry.attempts, at, entry.detail, key),
                )

    def _promote(self, keys: Sequence[str], at: datetime) -> None:
        memory, cells = [], []
        for key in keys:
            staged = self._db.execute("SELECT memory, cells FROM staged WHERE key=?", (key,))
            for remembered, landing in staged:
                memory += [tuple(item) for item in json.loads(remembered)]
                cells += [(key, landing)] if landing else []
        self._db.executemany(
            "UPDATE emails SET status=?, updated_at=?, detail='' WHERE key=?",
            [(SENT, at.isoformat(), key) for key in keys],
        )
        self._upsert(memory)
        self._db.executemany("INSERT OR REPLACE INTO unlanded (key, cells) VALUES (?, ?)", cells)
        self._db.executemany("DELETE FROM staged WHERE key=?", [(key,) for key in keys])

    def confirm(self, delivered: Callable[[str], bool | None], now: datetime) -> None:
        """Settle the emails a stopped run left "pending" with a transport that can tell: handed over
        (the outbox holds its file) is sent, at the time it left; never handed over is due again."""
        unsure = self._db.execute(
            "SELECT e.key, e.updated_at FROM emails e JOIN staged s ON s.key = e.key "
            "WHERE e.status = ? AND s.provable",
            (PENDING,),
        ).fetchall()
        for key, handed in unsure:
            answer = delivered(key)
            if answer:
                self.sent([key], datetime.fromisoformat(handed))
            elif answer is not None:
                self.settle(key, DEFERRED, now)

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
        """A snapshot for planning: what was sent and what was remembered, as of now.

        The same snapshot while nothing was written since (``total_changes`` counts every row this
        connection changed, and only one run holds the journal): most jobs of a run change nothing
        in it, and reading 10,000 entries again for each took half a second."""
        if self._facts is None or self._facts[0] != self._db.total_changes:
            self._facts = None  # one snapshot in memory at a time: 50,000 entries weigh tens of MiB
            self._facts = (self._db.total_changes, JournalFacts(self.entries(), self.memory()))
        return self._facts[1]

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
