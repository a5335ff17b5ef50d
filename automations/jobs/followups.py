"""The followups job, after each session, from what staff filled in "Suivi" (PRODUCT.md §3):
absent → "relance_absent" with the next session (re-queued); present → "suite_presence";
presence still empty a few days later → one "rappel_suivi" to the session's contact."""

from __future__ import annotations

from datetime import datetime, timedelta

from automations import french
from automations.jobs import journey, rows
from automations.jobs.given import Given
from automations.jobs.orders import calendar_event, seeker_email, session_context, staff_email
from automations.jobs.pacing import Pacing
from automations.jobs.queue import RECONTACT
from automations.jobs.told import next_sequence, telling
from automations.journal import JournalFacts
from automations.model import FollowUp, Referral, Session
from automations.plan import Plan, Problem
from automations.settings import Settings
from automations.world import Seats, World

SHEETS = ("orientations", "reunions", "suivi")
ABSENT, PRESENT, NUDGE = "relance_absent", "suite_presence", "rappel_suivi"


def nudge_context(session: dict, rows_: list[dict], link: str, sheet: str) -> dict:
    """What "rappel_suivi" shows staff; `passerelle check` renders it with sample rows."""
    return {"reunion": session, "lignes": rows_, "lien_suivi": link, "feuille": sheet}


def report_followup_problems(plan: Plan, world: World) -> None:
    sheet = world.spec("suivi").name
    for f in world.followups:
        plan.problems.extend(Problem(sheet, f.row.number, p) for p in f.problems)


def plan(world: World, facts: JournalFacts, now: datetime, settings: Settings) -> Plan:
    given = Given(world, facts, now, settings)
    result = Plan("followups")
    report_followup_problems(result, world)
    taken, pacing = world.taken(), Pacing(facts, now)
    unfilled: dict[str, list[FollowUp]] = {}
    for f in world.followups:
        s, r = world.by_reference.get(f.session), world.people.get(f.person)
        if s is None or r is None or s.starts is None or now < (s.ends or s.starts):
            continue
        if f.presence == "Présent·e":
            thank(result, given, pacing, r, s, f)
        elif f.presence in ("Absent·e", "Excusé·e"):
            reinvite(result, given, taken, pacing, r, s)
        elif not f.row.text("presence") and not _declined(facts, r, s):
            unfilled.setdefault(s.reference, []).append(f)
    for reference, waiting in unfilled.items():
        nudge(result, given, world.by_reference[reference], waiting)
    return result


def _declined(facts: JournalFacts, r: Referral, s: Session) -> bool:
    """Who said Non to that session is not expected there: staff are not asked about them."""
    said_no = r.answer is False and r.session == s.reference
    return said_no or s.reference in journey.sessions(facts, journey.DECLINED, r.reference)


def thank(plan: Plan, given: Given, pacing: Pacing, r: Referral, s: Session, f: FollowUp) -> None:
    if any(e.session == s.reference for e in given.facts.of(PRESENT, r.reference)) or not pacing.may_email(r):
        return
    day = french.day(s.starts, year=False)
    status = f"Présent·e à la réunion du {day} : suite envoyée le {given.now:%d/%m/%Y}"
    pacing.mark(r)
    plan.emails.append(
        seeker_email(
            given.world,
            given.settings,
            r,
            PRESENT,
            s,
            [rows.patch(given.world, r, "etat", status)],
            accompagnateur=f.adviser,
        )
    )


def reinvite(plan: Plan, given: Given, taken: Seats, pacing: Pacing, r: Referral, s: Session) -> None:
    """Only while the person is still on that session: once re-queued, the row is history."""
    world, settings, now = given.world, given.settings, given.now
    if r.session != s.reference:
        return
    missed = {*journey.sessions(given.facts, journey.MISSED, r.reference), s.reference}
    plan.observed.append(journey.adding(given.facts, journey.MISSED, r.reference, s.reference))
    if len(missed) >= journey.TRIES:  # twice absent: the advisor decides what comes next
        cleared = [rows.patch(world, r, key, None) for key in ("session", "invitation", "rappel", "reponse")]
        plan.patches.extend([*cleared, rows.patch(world, r, "etat", RECONTACT)])
        return
    if not pacing.may_email(r):
        return
    earliest = now + timedelta(days=settings.invitations.min_notice_days)
    target = taken.first_free(earliest)
    missed = french.day(s.starts, year=False)
    patches = [rows.patch(world, r, key, None) for key in ("rappel", "reponse")]
    patches.append(rows.patch(world, r, "relance", now))
    previous = session_context(s, settings.cooperative.email)
    pacing.mark(r)
    if target is None:
        status = f"Absent·e le {missed} : sera invité·e à la prochaine réunion"
        patches += [rows.patch(world, r, "session", None), rows.patch(world, r, "invitation", None)]
        plan.emails.append(
            seeker_email(
                world,
                settings,
                r,
                ABSENT,
                None,
                [*patches, rows.patch(world, r, "etat", status)],
                key_session=s.reference,
                precedente=previous,
            )
        )
        return
    taken[target.reference] += 1
    status = f"Absent·e le {missed} : réinvité·e à la réunion du {french.day_at(target.starts, year=False)}"
    patches += [rows.patch(world, r, "session", target.reference), rows.patch(world, r, "invitation", now)]
    sequence = next_sequence(given.facts, target, r)
    plan.emails.append(
        seeker_email(
            world,
            settings,
            r,
            ABSENT,
            target,
            [*patches, rows.patch(world, r, "etat", status)],
            key_session=s.reference,
            event=calendar_event(settings, r, target, sequence),
            remember=[telling(target, r, sequence)],
            precedente=previous,
        )
    )


def nudge(plan: Plan, given: Given, s: Session, waiting: list[FollowUp]) -> None:
    settings = given.settings
    if given.now < s.starts + timedelta(days=settings.followups.nudge_days):
        return
    people = [
        {
            "nom_complet": f"{f.row.text('prenom')} {f.row.text('nom')}".strip() or f.reference,
            "ligne": f.row.number,
        }
        for f in waiting
    ]
    context = nudge_context(
        session_context(s, settings.cooperative.email),
        people,
        settings.followups.suivi_link,
        given.world.spec("suivi").name,
    )
    to = s.contact or settings.cooperative.email
    plan.emails.append(staff_email(settings, NUDGE, to, f"reunion-{s.reference}", s.reference, context))
