"""The reminders job: "rappel" a few days before the session to each invitee who did not say Non."""

from __future__ import annotations

from datetime import datetime, timedelta

from automations.jobs import rows
from automations.jobs.orders import calendar_event, seeker_email
from automations.jobs.pacing import Pacing
from automations.jobs.told import next_sequence, telling
from automations.journal import JournalFacts
from automations.plan import Plan
from automations.settings import Settings
from automations.world import World

SHEETS = ("orientations", "reunions")
REMINDER = "rappel"


def plan(world: World, facts: JournalFacts, now: datetime, settings: Settings) -> Plan:
    result = Plan("reminders")
    lead = timedelta(days=settings.followups.reminder_days)
    pacing = Pacing(facts, now)
    for r in world.people.values():
        s = world.session_of(r)
        if s is None or s.cancelled or s.problems or not r.invited_on or r.answer is False:
            continue
        due = s.starts.date() - lead <= now.date() and now < s.starts
        if r.row.text("rappel") or not due or not pacing.may_email(r):
            continue
        sequence = next_sequence(facts, s, r)
        pacing.mark(r)
        result.emails.append(
            seeker_email(
                world,
                settings,
                r,
                REMINDER,
                s,
                [rows.patch(world, r, "rappel", now)],
                event=calendar_event(settings, r, s, sequence),
                remember=[telling(s, r, sequence)],
            )
        )
    return result
