"""A ``Letter`` as it travels: the envelope (MAIL FROM, RCPT TO) and the DATA bytes.

Passerelle's own messages arrive composed (``automations.mail.compose``); ``letter`` turns any
``EmailMessage`` (a probe, a test, a benchmark) into the same ``Letter``.

Pure: no socket here, so what goes on the wire can be decided once per message, before the first
attempt, and stays the same if the message is retried on a new connection.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import getaddresses
from io import BytesIO

from automations.mail.base import DeliveryRefused, Letter
from automations.mail.compose import idna

_EOL = re.compile(rb"\r\n|\n|\r(?!\n)")
_LEADING_DOT = re.compile(rb"(?m)^\.")


@dataclass(frozen=True)
class Outgoing:
    sender: str
    recipients: tuple[str, ...]
    """To, Cc and Bcc, each once, in that order; domains IDNA-encoded."""
    smtputf8: bool
    """An address keeps non-ASCII characters after IDNA: the server must offer SMTPUTF8."""
    payload: bytes
    """DATA: CRLF line ends, Bcc removed, leading dots doubled, ending with CRLF.CRLF."""

    @property
    def eight_bit(self) -> bool:
        return self.smtputf8 or not self.payload.isascii()


def letter(message: EmailMessage) -> Letter:
    """An ``EmailMessage`` as a ``Letter``: recipients from To, Cc and Bcc (Bcc not written)."""
    recipients = tuple(dict.fromkeys(a for name in ("To", "Cc", "Bcc") for a in _addresses(message, name)))
    sender = next(iter(_addresses(message, "From")), "")
    rcpts = tuple(idna(a) for a in recipients)
    smtputf8 = not all(a.isascii() for a in (idna(sender), *rcpts))
    key = str(message.get("X-Passerelle-Key") or message.get("Message-ID") or "")
    return Letter(key, sender, recipients, wire_bytes(message, smtputf8=smtputf8), smtputf8)


def outgoing(message: Letter | EmailMessage, bounce_address: str = "") -> Outgoing:
    """Raises ``DeliveryRefused`` for a message no server could take (no or invalid address)."""
    sent = message if isinstance(message, Letter) else letter(message)
    recipients = list(dict.fromkeys(sent.recipients))
    if not recipients:
        raise DeliveryRefused("Le message n'a aucune adresse de destinataire.")
    senders = [bounce_address] if bounce_address else [sent.sender] if sent.sender else []
    if not senders:
        raise DeliveryRefused(
            "Le message n'a pas d'expéditeur : ni en-tête From, ni mail.smtp.bounce_address."
        )
    for address in (*senders, *recipients):
        if not _plausible(address):
            raise DeliveryRefused(f"L'adresse {address!r} n'est pas une adresse email valide.")
    sender, rcpts = idna(senders[0]), tuple(idna(a) for a in recipients)
    smtputf8 = not all(a.isascii() for a in (sender, *rcpts))
    return Outgoing(sender, rcpts, smtputf8, _data(sent.data))


def _data(message: bytes) -> bytes:
    """DATA: CRLF line ends, leading dots doubled, ending with CRLF.CRLF."""
    data = _LEADING_DOT.sub(b"..", _EOL.sub(b"\r\n", message))
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def wire_bytes(message: EmailMessage, *, smtputf8: bool) -> bytes:
    """The message with CRLF line ends, without Bcc. Headers stay RFC 2047-encoded ASCII unless
    the envelope needs SMTPUTF8 (RFC 6532)."""
    if message.get("Bcc") is not None or message.get("Resent-Bcc") is not None:
        message = copy.deepcopy(message)  # the caller's message is left as it was
        del message["Bcc"]
        del message["Resent-Bcc"]
    policy = message.policy.clone(linesep="\r\n")
    if smtputf8 and hasattr(policy, "utf8"):
        policy = policy.clone(utf8=True)
    buffer = BytesIO()
    BytesGenerator(buffer, policy=policy).flatten(message, linesep="\r\n")
    return buffer.getvalue()


def _addresses(message: EmailMessage, header: str) -> list[str]:
    found: list[str] = []
    for value in message.get_all(header, []):
        parsed = getattr(value, "addresses", None)
        if parsed is not None:
            found.extend(a.addr_spec for a in parsed if a.addr_spec)
        else:
            found.extend(addr for _, addr in getaddresses([str(value)]) if addr)
    return found


def _plausible(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and domain) and not any(c.isspace() or ord(c) < 32 or c in "<>" for c in address)
