"""The suivi job: one "Suivi" row per consenting invitee and session, for the cooperative's staff;
"Mis à jour le" stamped whenever Passerelle sees a staff column change.

Rows are only ever added, never moved or deleted, and staff columns are never written. What was
seen is remembered only once the stamp (or the new row) has landed in the sheet.
"""

from __future__ import annotations

import json
from datetime import datetime

from automations.jobs.followups import report_followup_problems
from automations.journal import JournalFacts
from automations.model import followup_reference
from automations.plan import Plan
from automations.settings import Settings
from automations.values import CellPatch, RowAppend
from automations.world import World

SHEETS = ("orientations", "reunions", "suivi")
SEEN = "suivi"


def plan(world: World, facts: JournalFacts, now: datetime, settings: Settings) -> Plan:
    result = Plan("suivi")
    report_followup_problems(result, world)
    add_rows(result, world)
    stamp_changes(result, world, facts, now)
    return result


def add_rows(plan: Plan, world: World) -> None:
    spec = world.spec("suivi")
    existing = {f.reference for f in world.followups}
    for r in world.people.values():
        s = world.session_of(r)
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
        plan.appends.append(RowAppend(spec.name, {spec.label(k): v for k, v in values.items()}))


def stamp_changes(plan: Plan, world: World, facts: JournalFacts, now: datetime) -> None:
    spec = world.spec("suivi")
    for f in world.followups:
        if not f.reference:
            continue
        seen = json.dumps(list(f.staff))
        remembered = facts.recalled(SEEN, f.reference)
        if remembered == seen or (remembered is None and not any(f.staff)):
            continue
        plan.patches.append(CellPatch(spec.name, f.row.key(), spec.label("maj"), now))
        plan.memory.append((SEEN, f.reference, seen))
