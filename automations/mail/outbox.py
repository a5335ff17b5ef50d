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

from automations.mail.base import Connectionless

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class OutboxTransport(Connectionless):
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> OutboxTransport:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def send(self, message: EmailMessage) -> str:
        key = message.get("X-Passerelle-Key") or message["Message-ID"]
        target = self.folder / f"{_UNSAFE.sub('_', key).strip('_')}.eml"
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            stream.write(message.as_bytes(policy=SMTP))
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
        return str(target)
