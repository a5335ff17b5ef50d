"""Every header of every message fits the 998-byte line limit of RFC 5322, whatever a cell holds:
a server refuses a longer line, and the person's valid address was then marked « Adresse refusée »."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime
from email.headerregistry import Address

import pytest

from automations.mail.compose import compose
from automations.mail.render import Rendered
from automations.plan import CalendarEvent, EmailOrder

SENDER = Address("L'Ouvre-Boîtes", addr_spec="accueil@ouvre-boites.example")


def order(first_name: str) -> EmailOrder:
    return EmailOrder(
        kind="invitation",
        person="P-1",
        session="R-1",
        to_name=f"{first_name} Péron",
        to_address="anais.peron@exemple.fr",
        reply_to="camille.roux@ouvre-boites.example",
        context={},
        sheet="Orientations",
        row=None,
        status_column="État",
        event=CalendarEvent(
            uid="R-1.P-1@ouvre-boites.example",
            starts=datetime(2027, 7, 1, 14),
            ends=datetime(2027, 7, 1, 16, 30),
            summary="Réunion",
            location="Salle",
            description="",
            organizer="camille.roux@ouvre-boites.example",
        ),
    )


@pytest.mark.parametrize("first_name", ["A" * 5000, "É" * 5000, "Anaïs " * 800, "Zoé-" + "x" * 4996])
def test_a_5000_character_name_is_folded_and_the_address_survives(first_name):
    text = f"Bonjour {first_name},\n"
    message = compose(
        order(first_name),
        Rendered("Invitation", text, f"<p>{text}</p>\n"),
        SENDER,
        datetime(2027, 6, 24),
        "x",
    )
    raw = message.data
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    received = email.message_from_bytes(raw, policy=email.policy.default)
    [to] = received["To"].addresses
    assert to.addr_spec == "anais.peron@exemple.fr"
    assert "".join(to.display_name.split()) == "".join(f"{first_name} Péron".split())


def test_an_ordinary_name_is_kept_exactly():
    message = compose(order("Anaïs"), Rendered("S", "T\n", "<p>T</p>\n"), SENDER, datetime(2027, 6, 24), "x")
    received = email.message_from_bytes(message.data, policy=email.policy.default)
    assert received["To"].addresses[0].display_name == "Anaïs Péron"


def test_a_letter_kept_against_another_of_its_batch_is_the_same_bytes_in_a_fraction_of_the_memory():
    """A batch keeps each letter deflated against its first one of the same kind: the bytes handed
    to the transport are exactly those composed, whatever the dictionary."""
    now, text = datetime(2027, 6, 24), "Bonjour,\n" + "Votre réunion d'information collective.\n" * 40
    rendered = Rendered("Invitation", text, f"<p>{text}</p>\n")
    first = compose(order("Anaïs"), rendered, SENDER, now, "x")
    alone = compose(order("Zoé"), rendered, SENDER, now, "x")
    kept = compose(order("Zoé"), rendered, SENDER, now, "x", first.data)
    assert kept.data == alone.data and kept == alone and b"Zo" in kept.data
    assert len(kept._deflated) < len(alone._deflated) < len(alone.data) / 3
    assert email.message_from_bytes(kept.data, policy=email.policy.default)["To"].addresses[0].username
    with pytest.raises(AttributeError):
        kept.key = "other"  # type: ignore[misc]
