"""The presences job (PRODUCT.md §2-§3): « Présences » holds one row per person and session they
were invited to, consent or not, so staff can mark everyone who came; then each mark moves the
person on (``after_session``).

Rows are only ever added, never moved or deleted, and « Présence » (the staff's column) is never
written. Passerelle keeps each row's « Session », « Date » and « État » true: a moved session
shows its new date, a cancelled one says « Réunion annulée » and is never chased, a person who
said Non is marked as not expected. A row staff added by hand is matched to its person by name and
given its Référence; one that matches nobody says so in its « État », never ignored.
"""

from __future__ import annotations

from datetime import date, datetime

from automations import cells
from automations.jobs import matching, rows
from automations.jobs.after_session import follow, mark, not_expected
from automations.jobs.given import Given
from automations.journal import JournalFacts
from automations.model import Session
from automations.plan import Plan, Problem
from automations.settings import Settings
from automations.tracking import Presence, presence_reference
from automations.values import CellPatch
from automations.world import World

SHEETS = ("orientations", "reunions", "presences")
CANCELLED = "Réunion annulée"


def plan(world: World, facts: JournalFacts, now: datetime, settings: Settings) -> Plan:
    given = Given(world, facts, now, settings)
    result = Plan("presences")
    if world.table("presences") is None:
        return result
    add_rows(result, world)
    keep_rows(result, given)
    follow(result, given)
    return result


def add_rows(plan: Plan, world: World) -> None:
    existing = {p.reference for p in world.presences}
    for r in world.people.values():
        s = world.session_of(r)
        if r.purged or not r.invited_on or s is None or s.cancelled or s.starts is None:
            continue
        reference = presence_reference(r.reference, s.reference)
        if reference in existing:
            continue
        existing.add(reference)
        values = {
            "reference": reference,
            "nom": r.last_name,
            "prenom": r.first_name,
            "session": s.reference,
            "date": s.starts.date(),
        }
        plan.appends.append(rows.append(world, "presences", values))


def keep_rows(plan: Plan, given: Given) -> None:
    """Every row's « Session », « Date » and « État » as they should read now."""
    world, sheet = given.world, given.world.spec("presences").name
    seen: dict[str, int] = {}
    listed = {r.reference for r in world.referrals}
    for p in world.presences:
        plan.problems.extend(Problem(sheet, p.row.number, text) for text in p.problems)
        if not p.reference:
            identify(plan, world, p)
            continue
        if p.reference in seen:
            _state(plan, world, p, f"Doublon de la ligne {seen[p.reference]}", problem=True)
            continue
        seen[p.reference] = p.row.number
        s, r = world.by_reference.get(p.session), world.people.get(p.person)
        if p.person not in listed or (s is None and p.session not in world.shared):
            missing = "réunion introuvable" if p.person in listed else "personne absente d'« Orientations »"
            _state(plan, world, p, f"Référence inconnue ({missing}) : ligne ignorée", problem=True)
            continue
        if r is None or s is None:  # a row of « Orientations » or « Réunions » to fix first: said there
            continue
        if s.starts and _day(p.row["date"]) != s.starts.date():
            plan.patches.append(_cell(world, p, "date", s.starts.date()))
        if s.cancelled:
            _state(plan, world, p, CANCELLED)
        elif not p.row.text("presence") and (why := not_expected(given.facts, r, s)):
            _state(plan, world, p, why)


def identify(plan: Plan, world: World, p: Presence) -> None:
    """A row staff typed: its person by name, its session by Référence or date."""
    r = matching.named(world, p.row.text("prenom"), p.row.text("nom"))
    s = _session(world, p)
    if r is None or s is None or s.starts is None:
        sheet = world.spec("presences").name
        why = (
            matching.unknown(sheet) if r is None else "réunion introuvable : indiquez sa Référence ou sa date"
        )
        _state(plan, world, p, why, problem=True)
        return
    spec, reference = world.spec("presences"), presence_reference(r.reference, s.reference)
    key = p.row.key(assigned=reference)  # found before and after the Référence is written
    values = {"reference": reference, "session": s.reference, "date": s.starts.date(), "etat": None}
    plan.patches += [CellPatch(spec.name, key, spec.label(k), v) for k, v in values.items()]


def _session(world: World, p: Presence) -> Session | None:
    typed = p.row.text("session")
    if typed in world.by_reference:
        return world.by_reference[typed]
    day = _day(p.row["date"]) or _day(p.row["session"])
    held = [s for s in world.by_reference.values() if s.starts and s.starts.date() == day]
    return held[0] if len(held) == 1 else None


def _day(value: cells.CellValue) -> date | None:
    return cells.or_none(cells.parse_date, value)


def _cell(world: World, p: Presence, key: str, value: cells.CellValue) -> CellPatch:
    spec = world.spec("presences")
    return CellPatch(spec.name, p.row.key(), spec.label(key), value)


def _state(plan: Plan, world: World, p: Presence, text: str, problem: bool = False) -> None:
    if problem:
        plan.problems.append(Problem(world.spec("presences").name, p.row.number, text))
    if p.row.text("etat") != text:
        plan.patches.append(mark(world, p, text))
