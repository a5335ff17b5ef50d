"""The embedded default transport: one .eml file per message in a folder.

Any mail client opens these files. The file name comes from the message's idempotency key, and
the file is written atomically, so a message handed over twice can never appear twice: the outbox
is *idempotent*, which is why the journal need not fsync "pending" before handing a message here
(see ``automations.journal``). Files are not fsynced one by one (2 ms each, most of a run's time at
10,000 messages): leaving the batch flushes them to the disk at once.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from types import TracebackType

from automations.mail.base import Connectionless, Letter

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class OutboxTransport(Connectionless):
    idempotent = True

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._written = False

    def __enter__(self) -> OutboxTransport:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def send(self, letter: Letter) -> str:
        target = self.folder / f"{_UNSAFE.sub('_', letter.key).strip('_')}.eml"
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            stream.write(letter.data)
        os.replace(temporary, target)
        self._written = True
        return str(target)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """The batch's files on the disk in one call (a SIGKILL loses nothing already renamed)."""
        if self._written:
            os.sync()
            self._written = False
