"""Every job Passerelle has, declared once, in the order `passerelle run` runs them (PRODUCT.md §3).

The command line, `serve`, `check`, `preview`, the crontab and the tests all derive from this
table: a job that `run` knows and `serve` does not cannot exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from automations.jobs import digests, followups, invitations, reminders, rsvp, suivi, summary

EVERY_QUARTER = "every 15 minutes from 07:00 to 20:00"


@dataclass(frozen=True)
class JobSpec:
    name: str
    sheets: tuple[str, ...]
    """Logical sheet keys the job reads (schema.SPECS)."""
    plan: Callable
    schedule: str
    """Default slots of `passerelle serve` (Europe/Paris); `[schedule]` in the config overrides them."""
    emails: tuple[str, ...] = ()
    """Email kinds the job may send, each with its templates in templates/emails/."""


JOBS: dict[str, JobSpec] = {
    job.name: job
    for job in (
        JobSpec(
            "invitations",
            invitations.SHEETS,
            invitations.plan,
            EVERY_QUARTER,
            ("invitation", "liste_attente", "modification", "annulation"),
        ),
        JobSpec("rsvp", rsvp.SHEETS, rsvp.plan, EVERY_QUARTER),
        JobSpec("reminders", reminders.SHEETS, reminders.plan, "daily at 09:00", ("rappel",)),
        JobSpec(
            "followups",
            followups.SHEETS,
            followups.plan,
            "daily at 09:00",
            ("relance_absent", "suite_presence", "rappel_suivi"),
        ),
        JobSpec("suivi", suivi.SHEETS, suivi.plan, EVERY_QUARTER),
        JobSpec("summary", summary.SHEETS, summary.plan, EVERY_QUARTER),
        JobSpec("digests", digests.SHEETS, digests.plan, "monday at 08:00", ("synthese_conseiller",)),
    )
}
