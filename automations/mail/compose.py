"""Building the RFC 5322 message: headers any mail client reads, text + HTML, attachments.

Names come from sheets: they are collapsed to one line before they reach a header, and
``email.headerregistry`` encodes them (RFC 2047), so no cell can add a header.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from automations.cells import text
from automations.mail.calendar import PARIS, ics
from automations.mail.render import Rendered
from automations.plan import EmailOrder


def address(name: str, addr_spec: str) -> Address:
    username, _, domain = addr_spec.rpartition("@")
    if not username.isascii():
        # Sheets accept "zoé@exemple.fr" (SMTPUTF8 delivers it) but Address(addr_spec=…) raises
        # NonASCIILocalPartDefect, which stopped the whole run; given in parts it is kept as is.
        return Address(display_name=text(name), username=username, domain=domain)
    return Address(display_name=text(name), addr_spec=addr_spec)


def message_id(order: EmailOrder, domain: str) -> str:
    """Stable per idempotency key: a re-delivery after a crash is recognised as the same message."""
    digest = hashlib.sha256(order.key.encode()).hexdigest()[:24]
    return f"<{digest}@{domain}>"


def compose(
    order: EmailOrder, rendered: Rendered, sender: Address, now: datetime, domain: str
) -> EmailMessage:
    message = EmailMessage()
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
        message.add_attachment(
            ics(order.event, now),
            maintype="text",
            subtype="calendar",
            filename="reunion.ics",
            params={"method": "CANCEL" if order.event.cancelled else "PUBLISH", "charset": "utf-8"},
        )
    return message
