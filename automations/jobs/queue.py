"""Who is waiting for a seat, and the advisor's « Action » honoured once each time it is set.

Every referral row ends up in exactly one place here: reported (a duplicate, an unreadable row),
closed (« Clôturer », « Plus intéressé·e »), to be recontacted (two sessions declined or missed),
assigned to a session, or a candidate for the next session with a seat, with the sessions it
must not be offered again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from automations.jobs import journey, rows
from automations.jobs.given import Given
from automations.journal import PENDING
from automations.model import Referral
from automations.plan import Plan, Problem
from automations.values import CellPatch

RECONTACT = "A décliné ou manqué deux réunions : à recontacter par son·sa conseiller·ère"
REQUEUED = ("session", "invitation", "rappel", "reponse")
CLOSE = "Clôturer"


@dataclass(frozen=True)
class Candidate:
    referral: Referral
    excluded: frozenset[str] = frozenset()
    """Sessions not to offer again (declined, missed)."""
    fresh: bool = False
    """An advisor asked to re-invite: what the journal says of earlier invitations does not hold."""


def candidates(plan: Plan, given: Given) -> list[Candidate]:
    """In referral-date order; every other row gets what it needs (a report, a closure…)."""
    found = []
    for r in given.world.referrals:
        candidate = _triage(plan, given, r)
        if candidate is not None:
            found.append(candidate)
    return sorted(found, key=lambda c: (c.referral.referred_on or date.max, c.referral.row.number))


def _triage(plan: Plan, given: Given, r: Referral) -> Candidate | None:
    world, facts = given.world, given.facts
    if r.purged:
        return None
    if r.row.number in world.duplicates:
        rows.report(plan, world, r, world.duplicates[r.row.number])
        return None
    if r.problems:
        rows.report(plan, world, r, " ; ".join(r.problems))
        return None
    r = _known_address(given, r)
    sheet = world.spec("orientations").name
    plan.problems.extend(
        Problem(sheet, r.row.number, f"{note} (rien n'est fait tant qu'elle n'est pas corrigée)")
        for note in r.notes
    )
    asked = r.action or ""
    if asked != journey.action_seen(facts, r.reference):
        plan.memory.append(journey.seeing(r.reference, asked))
        if asked:
            return _honour(plan, given, r, asked)
    if journey.closed(facts, r.reference):
        return None
    if r.withdrawn:
        _close(plan, given, r, "Plus intéressé·e")
        return None
    session = world.session_of(r)
    if r.session and r.answer is False and not (session and session.cancelled):
        return _declined(plan, given, r)
    excluded = _excluded(given, r)
    if journey.to_recontact(facts, r.reference):
        plan.patches.extend(rows.status(world, r, RECONTACT))
        return None
    return None if r.session else Candidate(r, excluded)


def closing(given: Given, r: Referral) -> bool:
    """The advisor asked « Clôturer » and this run honours it: no news of the session goes first."""
    return r.action == CLOSE and journey.action_seen(given.facts, r.reference) != CLOSE


def _known_address(given: Given, r: Referral) -> Referral:
    """A row without its Référence (erased, or a name corrected before it was written) whose
    address the journal knows as one person who is on no other row: that person, never a new one."""
    if r.has_reference or given.facts.of_person(r.reference) or not r.email:
        return r
    known = {person for person in given.facts.people_at(r.email) if person not in given.world.people}
    return replace(r, reference=known.pop()) if len(known) == 1 else r


def _excluded(given: Given, r: Referral, *also: str) -> frozenset[str]:
    facts = given.facts
    kinds = (journey.DECLINED, journey.MISSED)
    superseded = journey.holding(facts, r.reference)[1]
    return frozenset(
        [
            *(s for kind in kinds for s in journey.sessions(facts, kind, r.reference)),
            *map(journey.invited_to, superseded),
            *also,
        ]
    )


def _clear(given: Given, r: Referral, keys: tuple[str, ...] = REQUEUED) -> list[CellPatch]:
    return [rows.patch(given.world, r, key, None) for key in keys]


def _declined(plan: Plan, given: Given, r: Referral) -> Candidate | None:
    """A Non frees the seat; the person is invited to the next session with one, twice at most."""
    plan.observed.append(journey.adding(given.facts, journey.DECLINED, r.reference, r.session))
    plan.patches.extend(_clear(given, r))
    if len(journey.sessions(given.facts, journey.DECLINED, r.reference)) + 1 >= journey.TRIES:
        plan.patches.append(rows.patch(given.world, r, "etat", RECONTACT))
        return None
    return Candidate(r, _excluded(given, r, r.session))


def _close(plan: Plan, given: Given, r: Referral, why: str) -> None:
    plan.memory.append(journey.closing(r.reference, why, given.now.date()))
    status = f"{why} : orientation close le {given.now:%d/%m/%Y}, plus aucun email"
    plan.patches.extend(
        [*_clear(given, r, ("session", "invitation", "rappel")), rows.patch(given.world, r, "etat", status)]
    )


def _honour(plan: Plan, given: Given, r: Referral, asked: str) -> Candidate | None:
    world = given.world
    if asked == CLOSE:
        _close(plan, given, r, "Clôturé·e par son·sa conseiller·ère")
        return None
    if asked == "Renvoyer":
        pending = [e.key for e in given.facts.of_person(r.reference) if e.status == PENDING]
        plan.retry.extend(pending)
        asked_on = f"Renvoi demandé le {given.now:%d/%m/%Y}"
        if pending:
            plan.patches.append(
                rows.patch(world, r, "etat", f"{asked_on} : l'email interrompu repartira bientôt")
            )
        else:  # the person's État still says where they stand; the answer to the advisor follows it
            said = f"{r.status} ({asked_on.lower()} : aucun envoi interrompu à refaire)".lstrip()
            plan.patches.append(rows.patch(world, r, "etat", said))
        return None
    invitations = given.facts.of("invitation", r.reference)
    plan.memory.extend(journey.forgetting(r.reference, [e.key for e in invitations]))
    plan.patches.extend(_clear(given, r, (*REQUEUED, "relance")))
    plan.patches.append(rows.patch(world, r, "etat", f"Réinvitation demandée le {given.now:%d/%m/%Y}"))
    invited = set(map(journey.invited_to, invitations))
    return Candidate(r, frozenset(invited | {r.session} - {""}), fresh=True)
