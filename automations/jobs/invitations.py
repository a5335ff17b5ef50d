"""The invitations job (PRODUCT.md §3): every valid referral gets a seat at the earliest session
with room, in referral-date order, or a place on the waiting list; invitees hear about a session
that moved ("modification") or was cancelled ("annulation", then a new invitation)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from automations import french
from automations.jobs import journey, queue, rows
from automations.jobs.given import Given
from automations.jobs.orders import calendar_event, seeker_email
from automations.jobs.pacing import Pacing
from automations.jobs.queue import Candidate
from automations.jobs.told import before, details, next_sequence, telling, told
from automations.journal import PENDING, SENT, Entry, JournalFacts
from automations.model import Referral, Session
from automations.plan import Plan, Problem, unconfirmed
from automations.settings import Settings
from automations.values import CellPatch
from automations.world import Seats, World

INVITATION, WAITING = "invitation", "liste_attente"
MODIFICATION, CANCELLATION = "modification", "annulation"
SHEETS = ("orientations", "reunions")


def invited_status(s: Session) -> str:
    return f"Invité·e à la réunion du {french.day_at(s.starts, year=False)}"


def waiting_status(since: date) -> str:
    return (
        f"Liste d'attente depuis le {french.day(since, year=False)} : invitation dès qu'une place se libère"
    )


def plan(world: World, facts: JournalFacts, now: datetime, settings: Settings) -> Plan:
    given = Given(world, facts, now, settings)
    result = Plan("invitations")
    report_sessions(result, given)
    for s in world.by_reference.values():
        announce_changes(result, given, s)
    taken, pacing = world.taken(), Pacing(facts, now)
    waiting = [c for c in queue.candidates(result, given) if not recovered(result, given, taken, c)]
    for candidate in waiting:  # after every recovered seat is counted, whatever the order
        place(result, given, taken, pacing, candidate)
    return result


def report_sessions(plan: Plan, given: Given) -> None:
    spec = given.world.spec("reunions")
    for s in given.world.sessions:
        plan.problems.extend(Problem(spec.name, s.row.number, p) for p in s.problems)
        plan.problems.extend(
            Problem(spec.name, s.row.number, f"{note} (la réunion reste proposée)") for note in s.notes
        )
        upcoming = not s.problems and not s.cancelled and s.starts > given.now
        if upcoming and s.seats == 0:
            message = f"{spec.label('places')} : 0 place, personne ne peut y être invité·e"
            plan.problems.append(Problem(spec.name, s.row.number, message))
        if not s.row.text("reference") and not s.problems and s.reference not in given.world.shared:
            plan.patches.append(CellPatch(spec.name, s.row.key(), spec.label("reference"), s.reference))
    for reference, twins in given.world.shared.items():
        lines = ", ".join(str(s.row.number) for s in twins)
        message = (
            f"{spec.label('reference')} : « {reference} » est sur plusieurs lignes ({lines}) ; "
            "donnez une Référence différente à chaque réunion : aucune n'est proposée d'ici là"
        )
        plan.problems.extend(Problem(spec.name, s.row.number, message) for s in twins)


# Session changes


def announce_changes(plan: Plan, given: Given, s: Session) -> None:
    if s.problems or s.starts is None:
        return
    invitees = [r for r in given.world.assigned(s) if r.invited_on and not queue.closing(given, r)]
    for r in invitees:
        if s.cancelled:
            cancel(plan, given, r, s)
            continue
        known = told(given.facts, s, r)
        if known is not None and known.details != details(s) and r.answer is not False:
            modify(plan, given, r, s)


def modify(plan: Plan, given: Given, r: Referral, s: Session) -> None:
    known = told(given.facts, s, r)
    sequence = known.sequence + 1
    status = f"Réunion modifiée : invité·e à la réunion du {french.day_at(s.starts, year=False)}"
    plan.emails.append(
        seeker_email(
            given.world,
            given.settings,
            r,
            MODIFICATION,
            s,
            rows.status(given.world, r, status),
            key_session=f"{s.reference}#{sequence}",
            event=calendar_event(given.settings, r, s, sequence),
            remember=[telling(s, r, sequence)],
            precedente=before(known, s, given.settings.cooperative.email),
        )
    )


def cancel(plan: Plan, given: Given, r: Referral, s: Session) -> None:
    """Re-queue the person: the next run invites them to the next session with a seat."""
    world = given.world
    requeue = [rows.patch(world, r, key, None) for key in ("session", "invitation", "rappel", "reponse")]
    status = f"Réunion du {french.day(s.starts, year=False)} annulée : {journey.NEW_DATE_FOLLOWS[0]}"
    patches = [*requeue, rows.patch(world, r, "etat", status)]
    if r.answer is False:
        plan.patches.extend(patches)
        return
    sequence = next_sequence(given.facts, s, r)
    plan.emails.append(
        seeker_email(
            world,
            given.settings,
            r,
            CANCELLATION,
            s,
            patches,
            event=calendar_event(given.settings, r, s, sequence, cancelled=True),
            remember=[telling(s, r, sequence)],
        )
    )


# New invitations


def recovered(plan: Plan, given: Given, taken: Seats, candidate: Candidate) -> bool:
    """Whether the journal knows an invitation the sheet lost: then it is repaired, never resent."""
    r = candidate.referral
    history = [e for e in journey.holding(given.facts, r.reference)[0] if e.status in (SENT, PENDING)]
    latest = None if candidate.fresh or not history else history[-1]
    offered = latest and given.world.by_reference.get(journey.invited_to(latest))
    if offered and not offered.cancelled and offered.reference not in candidate.excluded:
        recover(plan, given, taken, r, latest)
        return True
    return False


def place(plan: Plan, given: Given, taken: Seats, pacing: Pacing, candidate: Candidate) -> None:
    world, r = given.world, candidate.referral
    earliest = given.now + _notice(given.settings)
    target = taken.first_free(earliest, candidate.excluded)
    if target is None:
        wait(plan, given, pacing, r)
        return
    taken[target.reference] += 1
    sequence = next_sequence(given.facts, target, r)
    plan.patches.extend(rows.reference(world, r))
    stale = [rows.patch(world, r, key, None) for key in ("reponse", "rappel") if r.row.text(key)]
    plan.patches.extend(stale)  # a new invitation waits for a new answer
    pacing.mark(r)  # an invitation never waits for "one email a day" (PRODUCT §3), others do
    plan.emails.append(
        seeker_email(
            world,
            given.settings,
            r,
            INVITATION,
            target,
            sent_patches(world, r, target, given.now),
            key_session=target.reference if sequence == 0 else f"{target.reference}#{sequence}",
            event=calendar_event(given.settings, r, target, sequence),
            remember=[telling(target, r, sequence)],
        )
    )


def _notice(settings: Settings) -> timedelta:
    return timedelta(days=settings.invitations.min_notice_days)


def recover(plan: Plan, given: Given, taken: Seats, r: Referral, entry: Entry) -> None:
    """The journal knows more than the sheet (a run stopped after sending): repair, never resend.

    A person whose invitation may or may not have left keeps the seat, unless they said Non.
    """
    s = given.world.by_reference[journey.invited_to(entry)]
    if r.answer is not False:
        taken[s.reference] += 1
    if entry.status == PENDING:
        rows.report(plan, given.world, r, unconfirmed(entry.updated_at))
        return
    plan.patches.extend([*rows.reference(given.world, r), *sent_patches(given.world, r, s, entry.updated_at)])


def sent_patches(world: World, r: Referral, s: Session, at: datetime) -> list[CellPatch]:
    return [
        rows.patch(world, r, "session", s.reference),
        rows.patch(world, r, "invitation", at),
        rows.patch(world, r, "etat", invited_status(s)),
    ]


def wait(plan: Plan, given: Given, pacing: Pacing, r: Referral) -> None:
    """No seat for now (or an email already went today): the waiting list, said once, unless the
    person was just told a new date will come."""
    world = given.world
    entry = next(iter(given.facts.of(WAITING, r.reference)[-1:]), None)
    sent_before = entry if entry is not None and entry.status == SENT else None
    if entry is not None and entry.status == PENDING:
        rows.report(plan, world, r, unconfirmed(entry.updated_at))
    elif r.status.endswith(journey.NEW_DATE_FOLLOWS):
        return  # the cancellation or the absence email said so, and « État » still does
    elif sent_before is None and pacing.may_email(r):
        status = waiting_status(given.now.date())
        plan.patches.extend(rows.reference(world, r))
        pacing.mark(r)
        plan.emails.append(
            seeker_email(world, given.settings, r, WAITING, None, [rows.patch(world, r, "etat", status)])
        )
    else:  # told already, or tomorrow (one email a day): the sheet says it today
        since = journey.waiting_since(given.facts, r) or (
            sent_before.updated_at if sent_before else given.now
        )
        plan.patches.extend(rows.status(world, r, waiting_status(since.date())))
