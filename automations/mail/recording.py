"""The transport of a dry run and of `passerelle preview`: keeps every message, sends nothing."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

from automations.mail.base import Connectionless, Letter


class RecordingTransport(Connectionless):
    idempotent = True

    def __init__(self, delivered: Callable[[str], bool | None] = lambda key: None) -> None:
        """``delivered``: the real transport's, so a dry run settles what a stopped run left
        "pending" as the real run will."""
        self.letters: list[Letter] = []
        self.delivered = delivered

    def send(self, letter: Letter) -> str:
        self.letters.append(letter)
        return "recorded"

    @property
    def messages(self) -> list[EmailMessage]:
        """The recorded messages parsed back, for reading: only bytes are kept meanwhile."""
        return [letter.message() for letter in self.letters]
