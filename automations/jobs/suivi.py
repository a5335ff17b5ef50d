"""The suivi job: one "Suivi" row per consenting invitee and session, for the cooperative's staff;
"Mis à jour le" stamped whenever Passerelle sees a staff column change.

Rows are only ever added, never moved or deleted, and staff columns are never written.
"""

from __future__ import annotations

import json

from automations.jobs.context import JobInput
from automations.jobs.loop import Loop
from automations.model import followup_reference
from automations.plan import Plan
from automations.values import CellPatch, RowAppend

SHEETS = ("orientations", "reunions", "suivi")
SEEN = "suivi"


class _Suivi(Loop):
    def run(self) -> Plan:
        self.report_followup_problems()
        self.add_rows()
        self.stamp_changes()
        return self.plan

    @property
    def spec(self):
        return self.data.tables["suivi"].spec

    def add_rows(self) -> None:
        existing = {f.reference for f in self.followups}
        for r in self.people.values():
            s = self.by_reference.get(r.session)
            if not (r.consent and r.invited_on and s and not s.cancelled):
                continue
            reference = followup_reference(r.reference, s.reference)
            if reference in existing:
                continue
            existing.add(reference)
            values = {
                "reference": reference,
                "nom": r.last_name,
                "prenom": r.first_name,
                "conseiller": r.advisor,
                "session": s.reference,
            }
            self.plan.appends.append(
                RowAppend(self.spec.name, {self.spec.label(k): v for k, v in values.items()})
            )
            self.plan.memory.append((SEEN, reference, json.dumps([""] * 7)))

    def stamp_changes(self) -> None:
        for f in self.followups:
            if not f.reference:
                continue
            seen = json.dumps(list(f.staff))
            remembered = self.data.journal.recalled(SEEN, f.reference)
            if remembered == seen or (remembered is None and not any(f.staff)):
                continue
            self.plan.patches.append(CellPatch(self.spec.name, f.row.key(), self.spec.label("maj"), self.now))
            self.plan.memory.append((SEEN, f.reference, seen))


def plan(data: JobInput) -> Plan:
    return _Suivi(data, "suivi").run()
