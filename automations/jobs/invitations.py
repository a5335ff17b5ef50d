"""The invitations job (PRODUCT.md §3): every valid referral gets a seat at the earliest session
with room, in referral-date order, or a place on the waiting list; invitees hear about a session
that moved ("modification") or was cancelled ("annulation", then a new invitation)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from automations import french
from automations.jobs import rows
from automations.jobs.given import Given
from automations.jobs.orders import calendar_event, seeker_email
from automations.jobs.pacing import Pacing
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


def waiting_status(on: date) -> str:
    return f"Liste d'attente (prévenu·e le {on:%d/%m/%Y}) : invitation dès qu'une place se libère"


def plan(world: World, facts: JournalFacts, now: datetime, settings: Settings) -> Plan:
    given = Given(world, facts, now, settings)
    result = Plan("invitations")
    report_sessions(result, given)
    for s in world.sessions:
        announce_changes(result, given, s)
    taken, pacing = world.taken(), Pacing(facts, now)
    for r in valid_unassigned(result, world):
        place(result, given, taken, pacing, r)
    return result


def report_sessions(plan: Plan, given: Given) -> None:
    spec = given.world.spec("reunions")
    for s in given.world.sessions:
        plan.problems.extend(Problem(spec.name, s.row.number, p) for p in s.problems)
        upcoming = not s.problems and not s.cancelled and s.starts > given.now
        if upcoming and s.seats == 0:
            message = f"{spec.label('places')} : 0 place, personne ne peut y être invité·e"
            plan.problems.append(Problem(spec.name, s.row.number, message))
        if not s.row.text("reference") and not s.problems:
            plan.patches.append(CellPatch(spec.name, s.row.key(), spec.label("reference"), s.reference))


def valid_unassigned(plan: Plan, world: World) -> list[Referral]:
    """Rows to place, in referral-date order; duplicates and unreadable rows are reported instead."""
    spec = world.spec("orientations")
    seen_refs: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    waiting = []
    for r in world.referrals:
        if r.reference in seen_refs:
            where = seen_refs[r.reference]
            rows.report(
                plan,
                world,
                r,
                f"{spec.label('reference')} : déjà utilisée à la ligne {where} (ligne en double ?)",
            )
            continue
        seen_refs[r.reference] = r.row.number
        if r.purged:
            continue
        if r.problems:
            rows.report(plan, world, r, " ; ".join(r.problems))
            continue
        address = r.email.casefold()
        if address in seen_emails:
            where = seen_emails[address]
            rows.report(
                plan,
                world,
                r,
                f"{spec.label('email')} : personne déjà orientée à la ligne {where} (même adresse)",
            )
            continue
        seen_emails[address] = r.row.number
        if not r.session:
            waiting.append(r)
    return sorted(waiting, key=lambda r: (r.referred_on or date.max, r.row.number))


# Session changes


def announce_changes(plan: Plan, given: Given, s: Session) -> None:
    if s.problems or s.starts is None:
        return
    invitees = [r for r in given.world.assigned(s) if r.invited_on]
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
    status = f"Réunion du {french.day(s.starts, year=False)} annulée : une nouvelle invitation va suivre"
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


def place(plan: Plan, given: Given, taken: Seats, pacing: Pacing, r: Referral) -> None:
    world = given.world
    history = [e for e in given.facts.of(INVITATION, r.reference) if e.status in (SENT, PENDING)]
    latest = history[-1] if history else None
    if latest and latest.session in world.by_reference and not world.by_reference[latest.session].cancelled:
        recover(plan, given, taken, r, latest)
        return
    earliest = given.now + _notice(given.settings)
    target = taken.first_free(earliest)
    if target is None or not pacing.may_email(r):
        wait(plan, given, pacing, r)
        return
    taken[target.reference] += 1
    sequence = next_sequence(given.facts, target, r)
    plan.patches.extend(rows.reference(world, r))
    pacing.mark(r)
    plan.emails.append(
        seeker_email(
            world,
            given.settings,
            r,
            INVITATION,
            target,
            sent_patches(world, r, target, given.now),
            event=calendar_event(given.settings, r, target, sequence),
            remember=[telling(target, r, sequence)],
        )
    )


def _notice(settings: Settings) -> timedelta:
    return timedelta(days=settings.invitations.min_notice_days)


def recover(plan: Plan, given: Given, taken: Counter[str], r: Referral, entry: Entry) -> None:
    """The journal knows more than the sheet (a run stopped after sending): repair, never resend.

    A person whose invitation may or may not have left keeps the seat, unless they said Non.
    """
    s = given.world.by_reference[entry.session]
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
    """No seat for now (or an email already went today): the waiting list, said once."""
    world = given.world
    entry = next(iter(given.facts.of(WAITING, r.reference)[-1:]), None)
    if entry is not None and entry.status == PENDING:
        rows.report(plan, world, r, unconfirmed(entry.updated_at))
    elif entry is not None and entry.status == SENT:
        if not r.status.startswith("Liste d'attente"):
            plan.patches.extend(rows.status(world, r, waiting_status(entry.updated_at.date())))
    elif pacing.may_email(r):
        status = waiting_status(given.now.date())
        plan.patches.extend(rows.reference(world, r))
        pacing.mark(r)
        plan.emails.append(
            seeker_email(world, given.settings, r, WAITING, None, [rows.patch(world, r, "etat", status)])
        )
