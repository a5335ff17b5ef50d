"""The embedded default transport: one .eml file per message in a folder.

Any mail client opens these files. The file name comes from the message's idempotency key, and
the file is written atomically, so a message handed over twice can never appear twice: the outbox
is *idempotent*, which is why the journal need not fsync "pending" before handing a message here,
and the file is the message's proof of delivery after a stopped run (see ``automations.journal``).
Files are not fsynced one by one (2 ms each, most of a run's time at 10,000 messages): leaving the
batch flushes them to the disk at once.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from types import TracebackType

from automations.errors import TransportError
from automations.mail.base import Connectionless, Letter

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class OutboxTransport(Connectionless):
    idempotent = True

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._written = False

    def __enter__(self) -> OutboxTransport:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise self._unusable(error) from None
        return self

    def send(self, letter: Letter) -> str:
        """A failure is a TransportError: the file surely is not there, so the email is due again."""
        target = self._file(letter.key)
        try:
            _write(target, letter.data)
        except OSError as error:
            raise self._unusable(error) from None
        self._written = True
        return str(target)

    def delivered(self, key: str) -> bool:
        """Its file is its proof: renamed into place whole, or not there at all."""
        return self._file(key).exists()

    def _file(self, key: str) -> Path:
        return self.folder / f"{_UNSAFE.sub('_', key).strip('_')}.eml"

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """The batch's files on the disk in one call (a SIGKILL loses nothing already renamed)."""
        if self._written:
            os.sync()
            self._written = False

    def _unusable(self, error: OSError) -> TransportError:
        return TransportError(
            f"Le dossier d'envoi {self.folder} (mail.outbox) ne peut pas recevoir les emails "
            f"({error.strerror or error}) : donnez à Passerelle le droit d'y écrire, ou indiquez un autre "
            "dossier dans mail.outbox de la configuration."
        )


def _write(target: Path, data: bytes) -> None:
    """Atomically: a temporary file in the same folder, then renamed over ``target`` (one file per
    key: writing it twice leaves it once)."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
