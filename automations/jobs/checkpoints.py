"""The checkpoints job (PRODUCT.md §3): 3, 6 and 12 months after « Date CAPE » (``[checkpoints]
months``), each entrepreneur's « Suivi » row is due for an update, so that months into the
journey the agency still hears how it goes, not only by chance.

- « Prochain point » says the first point not done yet; a point is done once a staff column of
  the row changed on or after its date, which « Mis à jour le » (stamped by the suivi job, which
  runs just before) tells. Updating the row once catches up every overdue point. Nothing is due
  after an exit (« Date de sortie » or Étape « Sortie »).
- Staff hear it in one "point_etape" a week at most per recipient, listing every row due: to the
  « Accompagnateur·rice » when that cell is an address or ``[checkpoints] accompagnateurs`` knows
  the name, else to the cooperative's contact (the cell usually holds a name, never guessed).
- With a form configured, the entrepreneur receives "comment_ca_va" once per point (the latest
  one reached, within a month of its date: a « Date CAPE » typed long after the fact sends no
  stale question), like every email to a person at most one a day. Their answers (« Comment ça se
  passe », « Activité démarrée » in « Réponses ») go to « Historique », the cooperative's sheet.

Everything is recomputed from the sheets, the journal and the clock: the weekly email's key is the
week, each question's key its point, and an answer is remembered only once its row has landed.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from automations import cells
from automations.jobs.historique import Log
from automations.jobs.orders import (
    normalise_code,
    people_by_code,
    person_code,
    seeker_email,
    staff_email,
    week_of,
)
from automations.jobs.pacing import Pacing
from automations.journal import PENDING, SENT, JournalFacts
from automations.model import Referral
from automations.plan import Plan
from automations.settings import Settings
from automations.tracking import FollowUp
from automations.values import CellPatch
from automations.world import World

SHEETS = ("orientations", "suivi", "reponses", "historique")
POINT, HOW = "point_etape", "comment_ca_va"
ANSWERED = "checkpoint-answer"
"""The form timestamp of the latest checkpoint answer written to « Historique », per person."""
FRESH = timedelta(days=31)


@dataclass(frozen=True)
class Point:
    months: int
    on: date


def add_months(day: date, months: int) -> date:
    """By the calendar: 31 August + 6 months is 28 (or 29) February."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def points(cape: date, months: Sequence[int]) -> list[Point]:
    return [Point(m, add_months(cape, m)) for m in months]


def next_point(cape: date, months: Sequence[int], updated: date | None) -> Point | None:
    """The first point not done: the row was not updated on or after its date."""
    return next((p for p in points(cape, months) if updated is None or updated < p.on), None)


def due(cape: date, months: Sequence[int], updated: date | None, today: date) -> list[Point]:
    """Points reached and not done, oldest first."""
    return [p for p in points(cape, months) if p.on <= today and (updated is None or updated < p.on)]


def point_context(rows: list[dict[str, Any]], link: str, sheet: str) -> dict[str, Any]:
    """What "point_etape" shows staff; `passerelle check` renders it with a sample."""
    return {"lignes": rows, "lien_suivi": link, "feuille": sheet}


def how_context(months: int, link: str, accompagnateur: str) -> dict[str, Any]:
    """What "comment_ca_va" adds to a person's context."""
    return {"mois": months, "lien_point": link, "accompagnateur": accompagnateur}


def plan(world: World, facts: JournalFacts, now: datetime, settings: Settings) -> Plan:
    result = Plan("checkpoints")
    if world.table("suivi") is None:
        return result
    months, today = settings.checkpoints.months, now.date()
    pacing = Pacing(facts, now)
    late: dict[str, list[tuple[FollowUp, Point]]] = {}
    for f in world.followups:
        if not f.reference or world.followup_of.get(f.reference) is not f:
            continue
        r = world.people.get(f.reference)
        if r is not None and r.purged:
            continue
        cape = None if f.exit_on or f.stage == "Sortie" else f.cape_on
        updated = cells.or_none(cells.parse_date, f.row["maj"])
        coming = next_point(cape, months, updated) if cape else None
        _show(result, world, f, coming.on if coming else None)
        reached = due(cape, months, updated, today) if cape else []
        if reached:
            late.setdefault(recipient(settings, f), []).append((f, reached[-1]))
        if cape and r is not None:
            reached_ever = [p for p in points(cape, months) if p.on <= today]
            ask(result, world, facts, settings, pacing, r, f, reached_ever)
    remind(result, world, facts, settings, now, late)
    answers(result, world, facts, settings, Log(world, result, now))
    return result


def _show(plan: Plan, world: World, f: FollowUp, wanted: date | None) -> None:
    """« Prochain point », written only when it changes (a re-run writes nothing)."""
    spec = world.spec("suivi")
    shown = cells.or_none(cells.parse_date, f.row["prochain_point"])
    if shown != wanted or (wanted is None and f.row.text("prochain_point")):
        plan.patches.append(CellPatch(spec.name, f.row.key(), spec.label("prochain_point"), wanted))


def recipient(settings: Settings, f: FollowUp) -> str:
    """The accompagnateur·rice's address when the cell is one or the config names them; else the
    cooperative's contact."""
    written = f.adviser
    if "@" in written:
        try:
            return cells.parse_email(written)
        except cells.CellProblem:
            pass
    known = {cells.loose(name): address for name, address in settings.checkpoints.accompagnateurs.items()}
    return known.get(cells.loose(written), settings.cooperative.email)


def remind(
    plan: Plan,
    world: World,
    facts: JournalFacts,
    settings: Settings,
    now: datetime,
    late: dict[str, list[tuple[FollowUp, Point]]],
) -> None:
    week = week_of(now)
    sheet = world.spec("suivi").name
    for address, rows in sorted(late.items()):
        person = f"accompagnement-{address}"
        if _known(facts, f"{POINT}|{person}|{week}"):
            continue
        lines = [
            {
                "nom_complet": f.full_name or f.reference,
                "ligne": f.row.number,
                "point": _months(p.months),
                "date": f"{p.on:%d/%m/%Y}",
                "accompagnateur": f.adviser,
            }
            for f, p in sorted(rows, key=lambda item: item[1].on)
        ]
        context = point_context(lines, settings.followups.suivi_link, sheet)
        plan.emails.append(staff_email(settings, POINT, address, person, week, context))


def ask(
    plan: Plan,
    world: World,
    facts: JournalFacts,
    settings: Settings,
    pacing: Pacing,
    r: Referral,
    f: FollowUp,
    reached: list[Point],
) -> None:
    """« Comment ça se passe ? » once for the latest point reached, while it is fresh."""
    form = settings.form
    if form is None or not reached or reached[-1].on + FRESH < pacing.today:
        return
    point = reached[-1]
    if _known(facts, f"{HOW}|{r.reference}|point-{point.months}") or not r.email or not pacing.may_email(r):
        return
    code = person_code(settings.code_secret, r.reference)
    link = f"{form.form_url}?{urlencode({'usp': 'pp_url', form.code_entry: code})}"
    pacing.mark(r)
    plan.emails.append(
        seeker_email(
            world,
            settings,
            r,
            HOW,
            None,
            (),
            key_session=f"point-{point.months}",
            **how_context(point.months, link, f.adviser),
        )
    )


def answers(plan: Plan, world: World, facts: JournalFacts, settings: Settings, log: Log) -> None:
    """Each checkpoint answer in « Réponses » goes to « Historique » once, dated when it was given."""
    table = world.table("reponses")
    if table is None or not ({"comment", "demarree"} & table.present):
        return
    spec = table.spec
    by_code = people_by_code(world, settings.code_secret)
    latest: dict[str, datetime] = {}
    for row in table:
        found = by_code.get(normalise_code(row.text("code")))
        person = found.reference if found else None
        at = cells.or_none(cells.parse_datetime, row["horodateur"])
        said = [(spec.label(k), row.text(k)) for k in ("comment", "demarree") if row.text(k)]
        if person is None or at is None or not said or world.people[person].purged:
            continue
        applied = facts.recalled(ANSWERED, person)
        if applied is not None and at <= datetime.fromisoformat(applied):
            continue
        for label, text in said:
            log.add(person, label, "", text, at=at)
        latest[person] = max(at, latest.get(person, at))
    plan.memory += [(ANSWERED, person, at.isoformat()) for person, at in latest.items()]


def _known(facts: JournalFacts, key: str) -> bool:
    """Sent (or maybe sent) already: planned again, it would only be reported as repaired."""
    entry = facts.get(key)
    return entry is not None and entry.status in (SENT, PENDING)


def _months(months: int) -> str:
    return f"{months} mois"
