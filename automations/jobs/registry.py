"""Every job Passerelle has, declared once, in the order `passerelle run` runs them (PRODUCT.md §3).

The command line, `serve`, `check`, `preview`, the crontab and the tests all derive from this
table: a job that `run` knows and `serve` does not cannot exist. A new email kind costs its three
templates, one entry in a job's ``emails`` here and the plan function that sends it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from automations.jobs import (
    after_session,
    alerts,
    checkpoints,
    digests,
    invitations,
    presences,
    reminders,
    rsvp,
    samples,
    suivi,
    summary,
)
from automations.journal import JournalFacts
from automations.plan import Plan
from automations.settings import Settings
from automations.world import World

EVERY_QUARTER = "every 15 minutes from 07:00 to 20:00"

PlanFunction = Callable[[World, JournalFacts, datetime, Settings], Plan]
SampleContext = Callable[[samples.Sample], dict[str, Any]]


@dataclass(frozen=True)
class JobSpec:
    name: str
    sheets: tuple[str, ...]
    """Logical sheet keys the job reads (schema.SPECS)."""
    plan: PlanFunction
    schedule: str
    """Default slots of `passerelle serve` (Europe/Paris); `[schedule]` in the config overrides them."""
    emails: Mapping[str, SampleContext] = field(default_factory=dict)
    """Email kinds the job may send, each with a realistic sample context for `check`."""


JOBS: dict[str, JobSpec] = {
    job.name: job
    for job in (
        JobSpec(
            "invitations",
            invitations.SHEETS,
            invitations.plan,
            EVERY_QUARTER,
            {
                invitations.INVITATION: samples.seeker,
                invitations.WAITING: samples.waiting,
                invitations.MODIFICATION: samples.modification,
                invitations.CANCELLATION: samples.seeker,
            },
        ),
        JobSpec("rsvp", rsvp.SHEETS, rsvp.plan, EVERY_QUARTER),
        JobSpec(
            "reminders",
            reminders.SHEETS,
            reminders.plan,
            "daily at 09:00",
            {reminders.REMINDER: samples.seeker},
        ),
        JobSpec(
            "presences",
            presences.SHEETS,
            presences.plan,
            "daily at 09:00",
            {
                after_session.ABSENT: samples.absent,
                after_session.PRESENT: samples.present,
                after_session.NUDGE: samples.presence_nudge,
            },
        ),
        JobSpec("suivi", suivi.SHEETS, suivi.plan, EVERY_QUARTER),
        JobSpec(
            "checkpoints",
            checkpoints.SHEETS,
            checkpoints.plan,
            "daily at 09:00",
            {checkpoints.POINT: samples.checkpoint, checkpoints.HOW: samples.how_is_it_going},
        ),
        JobSpec(
            "alerts", alerts.SHEETS, alerts.plan, "daily at 09:00", {alerts.ALERT: samples.waiting_alert}
        ),
        JobSpec("summary", summary.SHEETS, summary.plan, EVERY_QUARTER),
        JobSpec("digests", digests.SHEETS, digests.plan, "monday at 08:00", {digests.DIGEST: samples.digest}),
    )
}


RENAMED = {"followups": "presences"}
"""Former job names, still understood in `passerelle run` and `[schedule]` (crontabs written
before the rename keep working)."""


def canonical(name: str) -> str:
    return RENAMED.get(name, name)


def email_kinds() -> dict[str, SampleContext]:
    """Every email kind Passerelle sends, with its sample context."""
    return {kind: context for job in JOBS.values() for kind, context in job.emails.items()}
