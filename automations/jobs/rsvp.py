"""The rsvp job: answers from the form ("Réponses", by Code) into "Réponse"; a Non frees the seat.

The latest answer of a Code wins. An answer is applied once: if an advisor later types another
Oui/Non in "Réponse" by hand, Passerelle does not overwrite it with the older form answer. That an
answer was applied is remembered only once its cells have landed in the sheet.
"""

from __future__ import annotations

from datetime import datetime

from automations import cells, french
from automations.jobs import rows
from automations.jobs.orders import normalise_code, people_by_code
from automations.journal import JournalFacts
from automations.model import Referral, parse_answer, withdrawn
from automations.plan import Plan, Problem
from automations.settings import Settings
from automations.world import World

SHEETS = ("orientations", "reunions", "reponses")
APPLIED = "rsvp"


YES, NO, WITHDRAWN = "Oui", "Non", "Plus intéressé·e"


def answer_status(answer: str, starts: datetime | None) -> str:
    when = f" du {french.day_at(starts, year=False)}" if starts else ""
    if answer == YES:
        return f"A confirmé sa venue à la réunion{when}"
    if answer == WITHDRAWN:
        return "A répondu ne plus être intéressé·e : l'orientation va être close"
    return f"A répondu Non pour la réunion{when} : sa place est libérée, une autre date va suivre"


def _answer(value: cells.CellValue) -> str | None:
    """What to write in « Réponse » for a form's answer (« Oui, je viendrai » → Oui)."""
    if withdrawn(value):
        return WITHDRAWN
    answer = parse_answer(value)
    return None if answer is None else (YES if answer else NO)


def _said(r: Referral) -> str | None:
    if r.withdrawn:
        return WITHDRAWN
    return None if r.answer is None else (YES if r.answer else NO)


def plan(world: World, facts: JournalFacts, now: datetime, settings: Settings) -> Plan:
    result = Plan("rsvp")
    by_code = people_by_code(world, settings.code_secret)
    changed = set()
    for code, (at, answer, number) in latest_answers(result, world).items():
        r = by_code.get(code)
        if r is None:
            unknown = f"code inconnu « {code} » : réponse ignorée"
            result.problems.append(Problem(world.spec("reponses").name, number, unknown))
        elif apply_answer(result, world, facts, now, r, at, answer):
            changed.add(r.reference)
    for r in world.people.values():
        starts = _starts(world, r)
        upcoming = starts is not None and starts > now  # afterwards, "État" tells the follow-up
        said = _said(r)
        if upcoming and said is not None and r.reference not in changed:
            result.patches.extend(rows.status(world, r, answer_status(said, starts)))
    return result


def latest_answers(plan: Plan, world: World) -> dict[str, tuple[datetime, str, int]]:
    sheet = world.spec("reponses").name
    latest: dict[str, tuple[datetime, str, int]] = {}
    for row in world.tables["reponses"]:
        try:
            at = cells.parse_datetime(row["horodateur"]) or datetime.min
            answer = _answer(row["reponse"])
        except cells.CellProblem as problem:
            plan.problems.append(Problem(sheet, row.number, str(problem)))
            continue
        code = normalise_code(row.text("code"))
        if answer is not None and code and (code not in latest or at >= latest[code][0]):
            latest[code] = (at, answer, row.number)
    return latest


def apply_answer(
    plan: Plan, world: World, facts: JournalFacts, now: datetime, r: Referral, at: datetime, answer: str
) -> bool:
    """Write a form answer not applied yet; False when it was (a hand-typed answer may follow)."""
    applied = facts.recalled(APPLIED, r.reference)
    if applied is not None and datetime.fromisoformat(applied) >= at:
        return False
    plan.memory.append((APPLIED, r.reference, at.isoformat()))
    if _said(r) != answer:
        plan.patches.append(rows.patch(world, r, "reponse", answer))
    starts = _starts(world, r)
    if starts is not None and starts > now:
        plan.patches.extend(rows.status(world, r, answer_status(answer, starts)))
    return True


def _starts(world: World, r: Referral) -> datetime | None:
    s = world.session_of(r)
    return s.starts if s else None
