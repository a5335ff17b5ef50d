"""Building the RFC 5322 message: headers any mail client reads, text + HTML, the session's calendar.

A run composes every message before the first is sent (a template or data error sends nothing),
so composition is written to be cheap and to leave only bytes behind: the MIME structure is a
handful of lines written here, and the standard library does what is subtle, encoding and folding
headers (``email.header.Header``, RFC 2047) and base64. ``email.policy.default`` and
``EmailMessage`` took 2.9 ms and ~180 KiB per invitation; this takes a fraction of that, and the
message lives on as the ``Letter`` the transports take (~6.5 KiB of bytes, kept deflated).

Names come from sheets: they are collapsed to one line before they reach a header, and encoded
(RFC 2047) when not ASCII, so no cell can add a header. Every header is folded at 78 characters:
a server refuses a line over 998 bytes (RFC 5322 §2.1.1), and the run then recorded a valid
address as « Adresse refusée ». A single word longer than a line cannot be folded, so
``display_name`` cuts such words, which no real name has. A body part whose lines all fit in 998
bytes goes as it is (7bit or 8bit, readable in the outbox), any other in base64.

A recipient whose mailbox is not ASCII (``zoé@…``, delivered with SMTPUTF8) cannot be written in
an encoded word: that ``To`` header is UTF-8 as it is (RFC 6532), folded between words.

The session travels as an iMIP message (RFC 6047): a ``text/calendar`` part whose ``method``
parameter equals the METHOD inside, as the last alternative of the body (where Outlook and Gmail
look for a meeting request), and the same calendar as the reunion.ics attachment the emails mention.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import re
from datetime import datetime
from email.charset import BASE64, Charset
from email.header import Header
from email.headerregistry import Address
from email.utils import format_datetime, quote

from automations.cells import text
from automations.mail.base import Letter
from automations.mail.calendar import PARIS, ics, method
from automations.mail.render import Rendered
from automations.plan import EmailOrder

LONGEST_WORD = 60
LINE = 78
"""Where headers fold (RFC 5322's recommendation); 998 bytes is the hard limit."""
CRLF = "\r\n"
UTF8 = Charset("utf-8")
UTF8.header_encoding = BASE64
"""Encoded words in base64: the standard "shortest of Q and B" measured both for every split, 1 ms a
message; B is as valid everywhere (RFC 2047 §5) and any mail client decodes it."""
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')


def display_name(name: str) -> str:
    """The name on one line, any word longer than ``LONGEST_WORD`` cut so the header folds."""
    return " ".join(
        word[start : start + LONGEST_WORD]
        for word in text(name).split()
        for start in range(0, len(word), LONGEST_WORD)
    )


def idna(address: str) -> str:
    """A non-ASCII domain IDNA-encoded, so only non-ASCII local parts need SMTPUTF8."""
    local, _, domain = address.rpartition("@")
    if domain.isascii():
        return address
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return address


def key_digest(order: EmailOrder) -> str:
    """Stable per idempotency key: names the message and its MIME boundary."""
    return hashlib.sha256(order.key.encode()).hexdigest()[:24]


def message_id(order: EmailOrder, domain: str) -> str:
    """Stable per idempotency key: a re-delivery after a crash is recognised as the same message."""
    return f"<{key_digest(order)}@{domain}>"


@functools.lru_cache(maxsize=1024)
def header(name: str, value: str) -> str:
    """``Name: value`` folded at 78 characters, RFC 2047-encoded when not ASCII.

    Remembered: the From and the Subject of a batch repeat for thousands of messages, and the
    standard library's base64 encoded-word folding measures the line one character at a time."""
    if value.isascii():
        if len(name) + 2 + len(value) <= LINE:
            return f"{name}: {value}"
        return f"{name}: {Header(value, header_name=name).encode(linesep=CRLF)}"
    return f"{name}: {Header(value, UTF8, header_name=name).encode(linesep=CRLF)}"


def _phrase(name: str) -> str:
    """An ASCII display name, quoted when it holds a special character (as ``formataddr`` does)."""
    return f'"{quote(name)}"' if _SPECIALS.search(name) else name


@functools.lru_cache(maxsize=1024)
def address_header(field: str, name: str, address: str, *, utf8: bool = False) -> str:
    """``Field: Name <address>``, folded; ``utf8``: raw UTF-8 (RFC 6532), for a non-ASCII mailbox."""
    name = display_name(name)
    if not name:
        return header(field, address) if address.isascii() else f"{field}: {address}"
    if name.isascii() or utf8:
        value = f"{_phrase(name)} <{address}>"
        return header(field, value) if value.isascii() else f"{field}: {_fold_words(value, len(field) + 2)}"
    phrase = Header(name, UTF8, header_name=field)
    phrase.append(f"<{address}>", "us-ascii")
    return f"{field}: {phrase.encode(linesep=CRLF)}"


def _fold_words(value: str, used: int) -> str:
    """Raw UTF-8 folded between words at 78 bytes (no encoded words there to split)."""
    lines, line = [], ""
    for word in value.split(" "):
        candidate = f"{line} {word}" if line else word
        if line and used + len(candidate.encode()) > LINE:
            lines.append(line)
            line, used = word, 1
        else:
            line = candidate
    return (CRLF + " ").join([*lines, line])


def _body(content: str | bytes) -> tuple[str, str]:
    """(Content-Transfer-Encoding, the part's body with CRLF line ends)."""
    data = content if isinstance(content, bytes) else content.encode()
    lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    if max(map(len, lines)) <= 998:
        body = b"\r\n".join(lines)
        return ("7bit" if body.isascii() else "8bit"), body.decode()
    encoded = base64.encodebytes(data).decode().replace("\n", CRLF)
    return "base64", encoded


def _part(content_type: str, content: str | bytes, *extra: str) -> str:
    return _encoded(content_type, *_body(content), *extra)


def _encoded(content_type: str, encoding: str, body: str, *extra: str) -> str:
    return CRLF.join(
        [f"Content-Type: {content_type}", f"Content-Transfer-Encoding: {encoding}", *extra, "", body]
    )


def _multipart(subtype: str, boundary: str, parts: list[str]) -> str:
    inner = "".join(f"--{boundary}{CRLF}{part}{CRLF}" for part in parts)
    return f'Content-Type: multipart/{subtype}; boundary="{boundary}"{CRLF}{CRLF}{inner}--{boundary}--{CRLF}'


def compose(
    order: EmailOrder, rendered: Rendered, sender: Address, now: datetime, domain: str, like: bytes = b""
) -> Letter:
    """``like``: a message of the same kind from the same batch, to keep this one deflated against
    (see ``Letter``); it changes how small the letter is kept, never its bytes."""
    recipient = idna(order.to_address)
    utf8 = not recipient.isascii()
    digest = key_digest(order)
    headers = [
        address_header("From", sender.display_name, sender.addr_spec),
        address_header("To", order.to_name, recipient, utf8=utf8),
        *([header("Reply-To", order.reply_to)] if order.reply_to else []),
        header("Subject", rendered.subject),
        header("Date", format_datetime(now.replace(tzinfo=PARIS))),
        header("Message-ID", message_id(order, domain)),
        header("X-Passerelle-Key", order.key),
        "MIME-Version: 1.0",
    ]
    # From the key's digest, which no template holds; "=_" cannot occur in base64 either.
    boundary = f"=_{digest}"
    parts = [
        _part('text/plain; charset="utf-8"', rendered.text),
        _part('text/html; charset="utf-8"', rendered.html),
    ]
    if not order.event:
        body = _multipart("alternative", f"{boundary}_a", parts)
    else:
        event = order.event
        if event.attendee is None:
            event = dataclasses.replace(event, attendee=order.to_address, attendee_name=order.to_name)
        calendar = ics(event, now)
        kind = f'text/calendar; charset="utf-8"; method="{method(event)}"'
        encoding, content = _body(calendar)  # once for both parts
        parts.append(_encoded(kind, encoding, content))
        disposition = 'Content-Disposition: attachment; filename="reunion.ics"'
        attachment = _encoded(kind, encoding, content, disposition)
        alternative = _multipart("alternative", f"{boundary}_a", parts)
        body = _multipart("mixed", f"{boundary}_m", [alternative.removesuffix(CRLF), attachment])
    data = (CRLF.join(headers) + CRLF + body).encode()
    smtputf8 = utf8 or not idna(sender.addr_spec).isascii()
    return Letter(order.key, sender.addr_spec, (recipient,), data, smtputf8=smtputf8, dictionary=like)
