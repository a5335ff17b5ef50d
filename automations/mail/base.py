"""The edge between Passerelle and whatever carries its emails.

A transport is used as a context manager around a batch (so SMTP keeps one connection for the
whole run) and sends ``Letter``s: a message already composed to its bytes, with its envelope and
idempotency key. Bytes, not ``EmailMessage`` objects: a run renders and composes every message
before the first is sent (a template error sends nothing), and at 10,000 messages an
``EmailMessage`` tree weighs ~180 KiB where its bytes weigh ~6.5 KiB, deflated ~0.5 KiB.
Per-message outcomes other than success are exceptions the caller records in the send journal:

- ``DeliveryDeferred``: temporary (SMTP 4xx, dropped connection that could not be re-opened for
  this message); the email stays due and a later run tries again.
- ``DeliveryRefused``: permanent for this recipient (SMTP 5xx); never retried, reported in "État".
- ``DeliveryUncertain``: the server may or may not have taken it; left for a person to check.
- ``automations.errors.TransportError``: nothing can be sent at all (authentication, TLS,
  unreachable server); the batch stops.
"""

from __future__ import annotations

import email
import email.policy
import zlib
from email.message import EmailMessage
from types import TracebackType
from typing import Protocol, Self


class Letter:
    """One composed email as every transport takes it, kept deflated until it is handed over.

    A run composes every message before the first is sent, so at 50,000 invitations the batch's
    bytes (~6.5 KiB each, 300 MiB) were the largest thing in memory, larger than the workbook.
    ``data`` is deflated with zlib (level 1: the CPU it takes is a fraction of composing), against
    ``dictionary`` when one is given: a letter of the same kind from the same batch, which shares
    nearly all its bytes, so an invitation keeps ~0.5 KiB instead of ~6.5 KiB. The dictionary is
    referenced, never copied. Reading ``data`` inflates it again (~10 µs), once per send.
    """

    __slots__ = ("_deflated", "_dictionary", "key", "recipients", "sender", "smtputf8")
    key: str
    """The idempotency key (also its X-Passerelle-Key header): names the outbox file."""
    sender: str
    """The From address, for MAIL FROM unless a bounce address is configured."""
    recipients: tuple[str, ...]
    """Every envelope recipient, domains IDNA-encoded."""
    smtputf8: bool
    """An address keeps non-ASCII characters: its headers are UTF-8 and the server must offer SMTPUTF8."""

    def __init__(
        self,
        key: str,
        sender: str,
        recipients: tuple[str, ...],
        data: bytes,
        smtputf8: bool = False,
        *,
        dictionary: bytes = b"",
    ) -> None:
        fields = {"key": key, "sender": sender, "recipients": tuple(recipients), "smtputf8": smtputf8}
        deflater = zlib.compressobj(1, zdict=dictionary) if dictionary else zlib.compressobj(1)
        fields |= {"_deflated": deflater.compress(data) + deflater.flush(), "_dictionary": dictionary}
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Letter is immutable: cannot set {name}")

    @property
    def data(self) -> bytes:
        """The RFC 5322 message, CRLF line ends, every line at most 998 bytes."""
        inflater = zlib.decompressobj(zdict=self._dictionary) if self._dictionary else zlib.decompressobj()
        return inflater.decompress(self._deflated) + inflater.flush()

    def _fields(self) -> tuple[str, str, tuple[str, ...], bytes, bool]:
        return (self.key, self.sender, self.recipients, self.data, self.smtputf8)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Letter) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return f"Letter(key={self.key!r}, sender={self.sender!r}, recipients={self.recipients!r})"

    def message(self) -> EmailMessage:
        """The message parsed back, for people and tests reading it (preview, dry runs)."""
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class DeliveryDeferred(Exception):
    """The server asked to try again later; ``str()`` is its answer, for the journal."""


class DeliveryRefused(Exception):
    """The server refused this message for good; ``str()`` is its answer, shown in French in "État"."""


class DeliveryUncertain(Exception):
    """The connection broke after the message was handed over but before the server confirmed it:
    nobody can tell whether it left, so it is reported "à vérifier" and never re-sent blindly."""


class Transport(Protocol):
    idempotent: bool
    """Handing the same letter over twice still delivers it once (the outbox: one file per key)."""

    def __enter__(self) -> Transport: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def send(self, letter: Letter) -> str:
        """Hand one message over; return where it went (file path, server answer) for the log."""
        ...

    def delivered(self, key: str) -> bool | None:
        """Whether the message of this key was handed over, for a transport that can tell afterwards
        (the outbox: its file is there); None for one that cannot (an SMTP server keeps no trace
        Passerelle could ask for)."""
        ...


class Connectionless:
    """For transports with no connection to open or close around a batch (a folder, a list)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None
