"""The suivi job (PRODUCT.md §2-§3): « Suivi » holds one row per person who came to a session,
consent or not (it is the cooperative's working sheet), with their first session; staff keep the
rest of the journey there. Passerelle stamps « Mis à jour le » whenever it sees a staff column
change, appends each change (and each « Présence » marked in « Présences ») to « Historique »,
and says in « À corriger » what it could not read in that row.

Rows are only ever added, never moved or deleted, and staff columns are never written. A row
staff added by hand is matched to its person by name and given its Référence; one matching nobody,
or repeating a person, says so in « À corriger ». What was seen is remembered only once the stamp
and the « Historique » rows (or the new row) have landed in the sheet.
"""

from __future__ import annotations

import json
from datetime import datetime

from automations.jobs import matching, rows
from automations.jobs.historique import Log, readable, remembered_staff
from automations.jobs.stage_status import tell_the_agency
from automations.journal import JournalFacts
from automations.model import Referral, Session
from automations.plan import Plan, Problem
from automations.schema import STAFF_COLUMNS
from automations.settings import Settings
from automations.tracking import FollowUp
from automations.values import CellPatch, CellValue
from automations.world import World

SHEETS = ("orientations", "reunions", "presences", "suivi", "historique")
SEEN = "suivi"
SEEN_PRESENCE = "suivi-presence"
"""« Présence » of each « Présences » row as last seen, by that row's Référence (person / session)."""


def plan(world: World, facts: JournalFacts, now: datetime, settings: Settings) -> Plan:
    result = Plan("suivi")
    if world.table("suivi") is None:
        return result
    add_rows(result, world)
    check_rows(result, world)
    log = Log(world, result, now)
    stamp_changes(result, world, facts, now, log)
    note_presences(result, world, facts, log)
    tell_the_agency(result, world, facts, now)
    return result


def first_session(world: World, r: Referral) -> Session | None:
    """The earliest session the person was marked Présent·e at (never a cancelled one)."""
    held = [
        world.by_reference.get(p.session)
        for p in world.presences_of.get(r.reference, ())
        if p.presence == "Présent·e"
    ]
    came = [s for s in held if s is not None and s.starts and not s.cancelled]
    return min(came, key=lambda s: s.starts, default=None)


def add_rows(plan: Plan, world: World) -> None:
    for r in world.people.values():
        s = first_session(world, r)
        if r.purged or s is None or r.reference in world.followup_of:
            continue
        values = {
            "reference": r.reference,
            "nom": r.last_name,
            "prenom": r.first_name,
            "conseiller": r.advisor,
            "session": s.starts.date(),
        }
        plan.appends.append(rows.append(world, "suivi", values))


def check_rows(plan: Plan, world: World) -> None:
    """« À corriger » says what is wrong in each row, and is emptied once it is fixed."""
    sheet = world.spec("suivi").name
    first: dict[str, int] = {}
    listed = {r.reference for r in world.referrals}
    for f in world.followups:
        said = list(f.problems)
        if not f.reference:
            r = matching.named(world, f.row.text("prenom"), f.row.text("nom"))
            if r is None or r.reference in world.followup_of:
                said.append(matching.unknown(sheet) if r is None else _twice(world, r.reference))
            else:
                plan.patches.append(_cell(world, f, "reference", r.reference, assigned=r.reference))
        elif f.reference in first:
            said.append(f"Doublon de la ligne {first[f.reference]} : gardez une seule ligne par personne")
        elif f.reference not in listed:
            said.append("Référence inconnue dans « Orientations » : corrigez-la ou supprimez la ligne")
        first.setdefault(f.reference, f.row.number)
        plan.problems.extend(Problem(sheet, f.row.number, text) for text in said)
        text = " ; ".join(said)
        if "a_corriger" in world.table("suivi").present and f.row.text("a_corriger") != text:
            plan.patches.append(_cell(world, f, "a_corriger", text or None))


def _twice(world: World, reference: str) -> str:
    line = world.followup_of[reference].row.number
    return f"Cette personne a déjà sa ligne (ligne {line}) : complétez-la plutôt"


def _cell(world: World, f: FollowUp, key: str, value: CellValue, assigned: str | None = None) -> CellPatch:
    spec = world.spec("suivi")
    return CellPatch(spec.name, f.row.key(assigned=assigned), spec.label(key), value)


def stamp_changes(plan: Plan, world: World, facts: JournalFacts, now: datetime, log: Log) -> None:
    """« Mis à jour le » and one « Historique » row per staff column that changed since last seen
    (a row seen for the first time changed from empty)."""
    spec = world.spec("suivi")
    labels = [(key, spec.label(key)) for key in STAFF_COLUMNS]
    for f in world.followups:
        if not f.reference or world.followup_of.get(f.reference) is not f:
            continue
        seen = json.dumps(list(f.staff))
        remembered = facts.recalled(SEEN, f.reference)
        if remembered == seen or (remembered is None and not any(f.staff)):
            continue
        plan.memory.append((SEEN, f.reference, seen))
        before, after = remembered_staff(remembered), dict(zip(STAFF_COLUMNS, f.staff, strict=True))
        if not any(readable(k, before[k]) != readable(k, after[k]) for k in STAFF_COLUMNS):
            continue  # the same values, written differently (a date as a serial number, then as text)
        plan.patches.append(_cell(world, f, "maj", now))
        if not _erased(world, f.reference):
            log.changes(f.reference, labels, before, after)


def note_presences(plan: Plan, world: World, facts: JournalFacts, log: Log) -> None:
    """Each mark in « Présences » (and each correction of one) goes to « Historique »."""
    label = world.spec("presences").label("presence")
    first: set[str] = set()
    for p in world.presences:
        if not p.reference or p.reference in first or p.person not in world.people:
            continue
        first.add(p.reference)
        seen, remembered = p.row.text("presence"), facts.recalled(SEEN_PRESENCE, p.reference)
        if remembered == seen or (remembered is None and not seen):
            continue
        plan.memory.append((SEEN_PRESENCE, p.reference, seen))
        if not _erased(world, p.person):
            log.add(p.person, f"{label} (réunion {p.session})", remembered or "", seen)


def _erased(world: World, reference: str) -> bool:
    """A purged person's cells were erased by the purge: writing what they held would bring it back."""
    r = world.people.get(reference)
    return r is not None and r.purged
