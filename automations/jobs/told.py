"""What each invitee was last told about their session, so every change is announced once.

Kept per person and session, and committed with the email that told it: a run stopped half-way
through announcing a change leaves the others due, and the next run tells exactly them. The
calendar SEQUENCE of that person's event grows with every email about it (invitation,
modification, reminder, cancellation), so agendas always take the latest one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from automations import french
from automations.journal import JournalFacts
from automations.model import Referral, Session
from automations.plan import Memo

TOLD = "told"
LEGACY = "session"
"""Older versions remembered one announcement per session; still read, never written."""


def details(s: Session) -> str:
    """What invitees are told about a session: a change of any of these sends "modification"."""
    return json.dumps(
        {
            "starts": s.starts.isoformat(),
            "ends": s.ends.isoformat() if s.ends else "",
            "place": s.place,
            "address": s.address,
        },
        sort_keys=True,
    )


@dataclass(frozen=True)
class Told:
    details: str
    sequence: int


def told(facts: JournalFacts, s: Session, r: Referral) -> Told | None:
    remembered = facts.recalled(TOLD, f"{s.reference}|{r.reference}") or facts.recalled(LEGACY, s.reference)
    if remembered is None:
        return None
    value = json.loads(remembered)
    return Told(value["details"], value["sequence"])


def next_sequence(facts: JournalFacts, s: Session, r: Referral) -> int:
    known = told(facts, s, r)
    return 0 if known is None else known.sequence + 1


def telling(s: Session, r: Referral, sequence: int) -> Memo:
    """The memory an email about the session commits once it has gone."""
    value = json.dumps({"details": details(s), "sequence": sequence})
    return (TOLD, f"{s.reference}|{r.reference}", value)


def before(known: Told, s: Session, fallback_contact: str) -> dict[str, str]:
    """The session as the person was last told it, for "modification" (« avant → désormais »):
    the same keys as ``orders.session_context``."""
    value = json.loads(known.details)
    starts = datetime.fromisoformat(value["starts"])
    ends = datetime.fromisoformat(value["ends"]) if value["ends"] else None
    address = value["address"]
    return {
        "reference": s.reference,
        "date": french.day(starts),
        "date_heure": french.day_at(starts),
        "debut": french.hour(starts),
        "fin": french.hour(ends) if ends else "",
        "lieu": value["place"],
        "adresse": address,
        "lien": address if address.startswith(("http://", "https://")) else "",
        "animateur": s.host,
        "contact": s.contact or fallback_contact,
    }
