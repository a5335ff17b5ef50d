"""Building the RFC 5322 message: headers any mail client reads, text + HTML, attachments.

Names come from sheets: they are collapsed to one line before they reach a header, and
``email.headerregistry`` encodes them (RFC 2047), so no cell can add a header.

Every header is built through ``email.headerregistry`` under ``email.policy.default``, whose
generator folds lines at 78 characters: a server refuses a line over 998 bytes (RFC 5322 §2.1.1),
and the run then recorded a valid address as « Adresse refusée ». The one thing the standard
library cannot fold is a single ASCII word longer than a line inside a display name (it is neither
encoded nor broken), so ``display_name`` cuts such words, which no real name has.

The session travels as an iMIP message (RFC 6047): a ``text/calendar`` part whose ``method``
parameter equals the METHOD inside, as the last alternative of the body (where Outlook and Gmail
look for a meeting request), and the same calendar as the reunion.ics attachment the emails mention.
"""

from __future__ import annotations

import dataclasses
import email.policy
import hashlib
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from automations.cells import text
from automations.mail.calendar import PARIS, ics, method
from automations.mail.render import Rendered
from automations.plan import EmailOrder

POLICY = email.policy.default
"""Folds every header at ``max_line_length`` (78) and encodes non-ASCII words (RFC 2047)."""
LONGEST_WORD = 60


def display_name(name: str) -> str:
    """The name on one line, any word longer than ``LONGEST_WORD`` cut so the header folds."""
    return " ".join(
        word[start : start + LONGEST_WORD]
        for word in text(name).split()
        for start in range(0, len(word), LONGEST_WORD)
    )


def address(name: str, addr_spec: str) -> Address:
    username, _, domain = addr_spec.rpartition("@")
    if not username.isascii():
        # Sheets accept "zoé@exemple.fr" (SMTPUTF8 delivers it) but Address(addr_spec=…) raises
        # NonASCIILocalPartDefect, which stopped the whole run; given in parts it is kept as is.
        return Address(display_name=display_name(name), username=username, domain=domain)
    return Address(display_name=display_name(name), addr_spec=addr_spec)


def message_id(order: EmailOrder, domain: str) -> str:
    """Stable per idempotency key: a re-delivery after a crash is recognised as the same message."""
    digest = hashlib.sha256(order.key.encode()).hexdigest()[:24]
    return f"<{digest}@{domain}>"


def compose(
    order: EmailOrder, rendered: Rendered, sender: Address, now: datetime, domain: str
) -> EmailMessage:
    message = EmailMessage(policy=POLICY)
    message["From"] = sender
    message["To"] = address(order.to_name, order.to_address)
    if order.reply_to:
        message["Reply-To"] = order.reply_to
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(now.replace(tzinfo=PARIS))
    message["Message-ID"] = message_id(order, domain)
    message["X-Passerelle-Key"] = order.key
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    if order.event:
        event = order.event
        if event.attendee is None:
            event = dataclasses.replace(event, attendee=order.to_address, attendee_name=order.to_name)
        calendar = ics(event, now)
        params = {"method": method(event), "charset": "utf-8"}
        alternative = EmailMessage(policy=POLICY)
        alternative.set_content(calendar, maintype="text", subtype="calendar", params=params)
        del alternative["MIME-Version"]
        message.attach(alternative)
        message.add_attachment(
            calendar, maintype="text", subtype="calendar", filename="reunion.ics", params=params
        )
    return message
