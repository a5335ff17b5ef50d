"""The transport of a dry run and of `passerelle preview`: keeps every message, sends nothing."""

from __future__ import annotations

from email.message import EmailMessage

from automations.mail.base import Connectionless


class RecordingTransport(Connectionless):
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> str:
        self.messages.append(message)
        return "recorded"
