"""What the sheet alone cannot tell about a person's journey, kept in the journal's memory: the
sessions they declined or missed, whether their referral is closed, and the last « Action » an
advisor asked for (honoured once each time it is set).

A decline is a fact read in the sheet that the re-queue then erases: it goes in ``Plan.observed``,
committed before any write. The rest acknowledges cell writes (a closure, an action honoured) and
goes in ``Plan.memory``, committed once those cells have landed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime

from automations.journal import SENT, Entry, JournalFacts
from automations.model import Referral
from automations.plan import Memo

DECLINED, MISSED, CLOSED, ACTION = "declined", "missed", "closed", "action"
SUPERSEDED = "superseded"
NEW_DATE_FOLLOWS = ("une nouvelle invitation va suivre", "sera invité·e à la prochaine réunion")
"""How « État » ends after an email that already told the person a new date will come (« annulation »,
« relance_absent » with no session yet): the waiting list need not tell them again."""
TRIES = 2
"""Sessions a person may decline, or miss, before an advisor is asked to recontact them."""


def sessions(facts: JournalFacts, kind: str, person: str) -> list[str]:
    """The sessions a person declined (``DECLINED``) or missed (``MISSED``), oldest first."""
    return json.loads(facts.recalled(kind, person) or "[]")


def adding(facts: JournalFacts, kind: str, person: str, session: str) -> Memo:
    known = sessions(facts, kind, person)
    return (kind, person, json.dumps([*known, session] if session not in known else known))


def forgetting(person: str, invitations: Iterable[str]) -> list[Memo]:
    """An advisor re-invites: declines and absences start again from zero, the referral reopens,
    and the invitations sent so far (their keys) no longer hold, in this run and every later one:
    their sessions are never offered again, and none is taken for one the sheet lost."""
    superseded = (SUPERSEDED, person, json.dumps(sorted(invitations)))
    return [(DECLINED, person, "[]"), (MISSED, person, "[]"), (CLOSED, person, ""), superseded]


def invited_to(entry: Entry) -> str:
    """An invitation's key names its session, and « #n » when it is not the first to that session."""
    return entry.session.partition("#")[0]


def holding(facts: JournalFacts, person: str) -> tuple[list[Entry], list[Entry]]:
    """The person's invitations: (those that hold, those an advisor's « Réinviter » superseded)."""
    superseded = set(json.loads(facts.recalled(SUPERSEDED, person) or "[]"))
    holds: tuple[list[Entry], list[Entry]] = ([], [])
    for e in facts.of("invitation", person):
        holds[e.key in superseded].append(e)
    return holds


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


INVITED, QUEUED_BY = ("invitation", "relance_absent"), ("liste_attente", "annulation")
"""Kinds of email, as the jobs name them: an invitation (a « relance_absent » is one, or says a new
date will come) takes a person out of the queue; the others put them back (or say they still are)."""


def waiting_since(facts: JournalFacts, r: Referral) -> datetime | None:
    """Since when a person without a session has been waiting for a seat: the first email that put
    them back in the queue after their last invitation (told of the waiting list, then invited,
    then cancelled: waits since the cancellation, even if a waiting-list email followed), else
    that invitation (a Non sends nothing). ``None`` for who is not waiting."""
    if r.session or r.purged or closed(facts, r.reference) or to_recontact(facts, r.reference):
        return None

    def sent(kind: str) -> list[datetime]:
        return [e.updated_at for e in facts.of(kind, r.reference) if e.status == SENT]

    invited = max((at for kind in INVITED for at in sent(kind)), default=None)
    queued = [at for kind in QUEUED_BY for at in sent(kind) if invited is None or at >= invited]
    return min(queued, default=invited)
