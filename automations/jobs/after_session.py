"""What a mark in « Présences » sets off once the session is over (PRODUCT.md §3): Présent·e →
« suite_presence »; Absent·e or Excusé·e → invited to the next session with a seat (twice at
most, then « à recontacter »); still empty a few days later → one « rappel_presences » to the
session's contact. Each email carries the « État » of the « Présences » row it answers, so staff
see in their own sheet what followed their mark."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from automations import french
from automations.jobs import journey, rows
from automations.jobs.given import Given
from automations.jobs.orders import calendar_event, seeker_email, session_context, staff_email
from automations.jobs.pacing import Pacing
from automations.jobs.queue import RECONTACT
from automations.jobs.told import next_sequence, telling
from automations.journal import JournalFacts
from automations.model import Referral, Session
from automations.plan import Plan
from automations.tracking import Presence
from automations.values import CellPatch
from automations.world import Seats, World

ABSENT, PRESENT, NUDGE = "relance_absent", "suite_presence", "rappel_presences"


def nudge_context(session: dict, rows_: list[dict], link: str, sheet: str) -> dict:
    """What "rappel_presences" shows staff; `passerelle check` renders it with sample rows."""
    return {"reunion": session, "lignes": rows_, "lien_presences": link, "feuille": sheet}


def held(given: Given) -> Iterator[tuple[Presence, Referral, Session]]:
    """The « Présences » rows of sessions that took place, with their person and session."""
    world = given.world
    for p in world.presences:
        s, r = world.by_reference.get(p.session), world.people.get(p.person)
        if s is None or r is None or r.purged or s.cancelled or s.starts is None:
            continue
        if given.now >= (s.ends or s.starts):
            yield p, r, s


def unmarked(given: Given) -> dict[str, list[Presence]]:
    """Per session that took place, the rows staff still have to mark (by its Référence)."""
    found: dict[str, list[Presence]] = {}
    for p, r, s in held(given):
        if not p.row.text("presence") and not not_expected(given.facts, r, s):
            found.setdefault(s.reference, []).append(p)
    return found


def due_nudge(given: Given, s: Session) -> bool:
    """Staff are reminded of empty presences this many days after the session."""
    return given.now >= s.starts + timedelta(days=given.settings.followups.nudge_days)


def follow(plan: Plan, given: Given) -> None:
    taken, pacing = given.world.taken(), Pacing(given.facts, given.now)
    for p, r, s in held(given):
        if p.presence == "Présent·e":
            thank(plan, given, pacing, r, s, p)
        elif p.presence in ("Absent·e", "Excusé·e"):
            reinvite(plan, given, taken, pacing, r, s, p)
    for reference, waiting in unmarked(given).items():
        s = given.world.by_reference[reference]
        if due_nudge(given, s):
            nudge(plan, given, s, waiting)


def not_expected(facts: JournalFacts, r: Referral, s: Session) -> str:
    """Why staff need not mark a person at that session (« » when they should)."""
    if declined(facts, r, s):
        return "A répondu Non : pas attendu·e"
    if r.withdrawn or journey.closed(facts, r.reference):
        return "Orientation close : pas attendu·e"
    return ""


def declined(facts: JournalFacts, r: Referral, s: Session) -> bool:
    """Who said Non to that session is not expected there: staff are not asked about them."""
    said_no = r.answer is False and r.session == s.reference
    return said_no or s.reference in journey.sessions(facts, journey.DECLINED, r.reference)


def mark(world: World, p: Presence, text: str) -> CellPatch:
    """The « État » of a « Présences » row: what Passerelle did about that mark."""
    spec = world.spec("presences")
    return CellPatch(spec.name, p.row.key(), spec.label("etat"), text)


def thank(plan: Plan, given: Given, pacing: Pacing, r: Referral, s: Session, p: Presence) -> None:
    if any(e.session == s.reference for e in given.facts.of(PRESENT, r.reference)) or not pacing.may_email(r):
        return
    world = given.world
    day = french.day(s.starts, year=False)
    status = f"Présent·e à la réunion du {day} : suite envoyée le {given.now:%d/%m/%Y}"
    pacing.mark(r)
    followed = world.followup_of.get(r.reference)
    plan.emails.append(
        seeker_email(
            world,
            given.settings,
            r,
            PRESENT,
            s,
            [rows.patch(world, r, "etat", status), mark(world, p, f"Suite envoyée le {given.now:%d/%m/%Y}")],
            accompagnateur=followed.adviser if followed else "",
        )
    )


def reinvite(
    plan: Plan, given: Given, taken: Seats, pacing: Pacing, r: Referral, s: Session, p: Presence
) -> None:
    """Only while the person is still on that session: once re-queued, the row is history."""
    world, settings, now = given.world, given.settings, given.now
    if r.session != s.reference:
        return
    missed = {*journey.sessions(given.facts, journey.MISSED, r.reference), s.reference}
    plan.observed.append(journey.adding(given.facts, journey.MISSED, r.reference, s.reference))
    if len(missed) >= journey.TRIES:  # twice absent: the advisor decides what comes next
        cleared = [rows.patch(world, r, key, None) for key in ("session", "invitation", "rappel", "reponse")]
        plan.patches.extend([*cleared, rows.patch(world, r, "etat", RECONTACT), mark(world, p, RECONTACT)])
        return
    if not pacing.may_email(r):
        return
    earliest = now + timedelta(days=settings.invitations.min_notice_days)
    target = taken.first_free(earliest)
    missed = french.day(s.starts, year=False)
    patches = [rows.patch(world, r, key, None) for key in ("rappel", "reponse")]
    patches += [rows.patch(world, r, "relance", now), mark(world, p, f"Relance envoyée le {now:%d/%m/%Y}")]
    previous = session_context(s, settings.cooperative.email)
    pacing.mark(r)
    extra: dict = {}
    if target is None:
        status = f"Absent·e le {missed} : {journey.NEW_DATE_FOLLOWS[1]}"
        patches += [rows.patch(world, r, "session", None), rows.patch(world, r, "invitation", None)]
    else:
        taken[target.reference] += 1
        status = (
            f"Absent·e le {missed} : réinvité·e à la réunion du {french.day_at(target.starts, year=False)}"
        )
        patches += [
            rows.patch(world, r, "session", target.reference),
            rows.patch(world, r, "invitation", now),
        ]
        sequence = next_sequence(given.facts, target, r)
        extra = {
            "event": calendar_event(settings, r, target, sequence),
            "remember": [telling(target, r, sequence)],
        }
    plan.emails.append(
        seeker_email(
            world,
            settings,
            r,
            ABSENT,
            target,
            [*patches, rows.patch(world, r, "etat", status)],
            key_session=s.reference,
            precedente=previous,
            **extra,
        )
    )


def nudge(plan: Plan, given: Given, s: Session, waiting: list[Presence]) -> None:
    settings = given.settings
    people = [{"nom_complet": p.full_name or p.reference, "ligne": p.row.number} for p in waiting]
    context = nudge_context(
        session_context(s, settings.cooperative.email),
        people,
        settings.followups.presences_link,
        given.world.spec("presences").name,
    )
    to = s.contact or settings.cooperative.email
    plan.emails.append(staff_email(settings, NUDGE, to, f"reunion-{s.reference}", s.reference, context))
