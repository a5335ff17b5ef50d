"""The edge between Passerelle and whatever carries its emails.

A transport is used as a context manager around a batch (so SMTP keeps one connection for the
whole run) and sends fully composed ``EmailMessage`` objects. Per-message outcomes other than
success are exceptions the caller records in the send journal:

- ``DeliveryDeferred``: temporary (SMTP 4xx, dropped connection that could not be re-opened for
  this message); the email stays due and a later run tries again.
- ``DeliveryRefused``: permanent for this recipient (SMTP 5xx); never retried, reported in "État".
- ``DeliveryUncertain``: the server may or may not have taken it; left for a person to check.
- ``automations.errors.TransportError``: nothing can be sent at all (authentication, TLS,
  unreachable server); the batch stops.
"""

from __future__ import annotations

from email.message import EmailMessage
from types import TracebackType
from typing import Protocol, Self


class DeliveryDeferred(Exception):
    """The server asked to try again later; ``str()`` is its answer, for the journal."""


class DeliveryRefused(Exception):
    """The server refused this message for good; ``str()`` is its answer, shown in French in "État"."""


class DeliveryUncertain(Exception):
    """The connection broke after the message was handed over but before the server confirmed it:
    nobody can tell whether it left, so it is reported "à vérifier" and never re-sent blindly."""


class Transport(Protocol):
    def __enter__(self) -> Transport: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def send(self, message: EmailMessage) -> str:
        """Hand one message over; return where it went (file path, server answer) for the log."""
        ...


class Connectionless:
    """For transports with no connection to open or close around a batch (a folder, a list)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None
