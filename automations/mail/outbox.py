"""The embedded default transport: one .eml file per message in a folder.

Any mail client opens these files. The file name comes from the message's idempotency key, and
the file is written atomically, so a message handed over twice can never appear twice.
"""

from __future__ import annotations

import os
import re
import tempfile
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from automations.errors import TransportError
from automations.mail.base import Connectionless

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class OutboxTransport(Connectionless):
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> OutboxTransport:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise self._unusable(error) from None
        return self

    def send(self, message: EmailMessage) -> str:
        """A failure is a TransportError: the file surely is not there, so the email is due again."""
        key = message.get("X-Passerelle-Key") or message["Message-ID"]
        target = self.folder / f"{_UNSAFE.sub('_', key).strip('_')}.eml"
        try:
            _write(target, message.as_bytes(policy=SMTP))
        except OSError as error:
            raise self._unusable(error) from None
        return str(target)

    def _unusable(self, error: OSError) -> TransportError:
        return TransportError(
            f"Le dossier d'envoi {self.folder} (mail.outbox) ne peut pas recevoir les emails "
            f"({error.strerror or error}) : donnez à Passerelle le droit d'y écrire, ou indiquez un autre "
            "dossier dans mail.outbox de la configuration."
        )


def _write(target: Path, data: bytes) -> None:
    """Atomically: a temporary file in the same folder, synced, then renamed over ``target``."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
