"""The transport of a dry run and of `passerelle preview`: keeps every message, sends nothing."""

from __future__ import annotations

from email.message import EmailMessage
from types import TracebackType


class RecordingTransport:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    def __enter__(self) -> RecordingTransport:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def send(self, message: EmailMessage) -> str:
        self.messages.append(message)
        return "recorded"
