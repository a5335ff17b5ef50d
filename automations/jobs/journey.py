"""What the sheet alone cannot tell about a person's journey, kept in the journal's memory: the
sessions they declined or missed, whether their referral is closed, and the last « Action » an
advisor asked for (honoured once each time it is set).

A decline is a fact read in the sheet that the re-queue then erases: it goes in ``Plan.observed``,
committed before any write. The rest acknowledges cell writes (a closure, an action honoured) and
goes in ``Plan.memory``, committed once those cells have landed.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from automations.journal import SENT, JournalFacts
from automations.model import Referral
from automations.plan import Memo

DECLINED, MISSED, CLOSED, ACTION = "declined", "missed", "closed", "action"
TRIES = 2
"""Sessions a person may decline, or miss, before an advisor is asked to recontact them."""


def sessions(facts: JournalFacts, kind: str, person: str) -> list[str]:
    """The sessions a person declined (``DECLINED``) or missed (``MISSED``), oldest first."""
    return json.loads(facts.recalled(kind, person) or "[]")


def adding(facts: JournalFacts, kind: str, person: str, session: str) -> Memo:
    known = sessions(facts, kind, person)
    return (kind, person, json.dumps([*known, session] if session not in known else known))


def forgetting(person: str) -> list[Memo]:
    """An advisor re-invites: declines and absences start again from zero, the referral reopens."""
    return [(DECLINED, person, "[]"), (MISSED, person, "[]"), (CLOSED, person, "")]


def to_recontact(facts: JournalFacts, person: str) -> bool:
    return any(len(sessions(facts, kind, person)) >= TRIES for kind in (DECLINED, MISSED))


def closed(facts: JournalFacts, person: str) -> str:
    """Why and when the referral was closed (« » when it is open)."""
    return facts.recalled(CLOSED, person) or ""


def closing(person: str, why: str, on: date) -> Memo:
    return (CLOSED, person, f"{why} le {on:%d/%m/%Y}")


def action_seen(facts: JournalFacts, person: str) -> str:
    return facts.recalled(ACTION, person) or ""


def seeing(person: str, action: str) -> Memo:
    return (ACTION, person, action)


QUEUED_BY = ("liste_attente", "invitation", "annulation", "relance_absent")
"""Emails after which a person may be back in the queue (their kinds, as the jobs name them)."""


def waiting_since(facts: JournalFacts, r: Referral) -> datetime | None:
    """Since when a person without a session has been waiting for a seat: from the latest of
    those emails (told of the waiting list, then invited, then cancelled: waits since the
    cancellation). ``None`` for who is not waiting: on a session, closed, to recontact."""
    if r.session or r.purged or closed(facts, r.reference) or to_recontact(facts, r.reference):
        return None
    told = [e.updated_at for kind in QUEUED_BY for e in facts.of(kind, r.reference) if e.status == SENT]
    return max(told, default=None)
