"""The reminders job: "rappel" a few days before the session to each invitee who did not say Non."""

from __future__ import annotations

from datetime import timedelta

from automations.jobs.context import JobInput
from automations.jobs.loop import Loop
from automations.plan import Plan

SHEETS = ("orientations", "reunions")
REMINDER = "rappel"


class _Reminders(Loop):
    def run(self) -> Plan:
        lead = timedelta(days=self.settings.reminder_days)
        for r in self.people.values():
            s = self.by_reference.get(r.session)
            if s is None or s.cancelled or s.problems or not r.invited_on or r.answer is False:
                continue
            if r.row.text("rappel") or not (
                s.starts.date() - lead <= self.now.date() and self.now < s.starts
            ):
                continue
            if self.may_email(r.reference):
                self.email(r, REMINDER, s, [self.patch(r, "rappel", self.now)], event=self.event(r, s))
        return self.plan


def plan(data: JobInput) -> Plan:
    return _Reminders(data, "reminders").run()
