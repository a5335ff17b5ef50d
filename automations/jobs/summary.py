"""The summary job: rewrites "Synthèse" whole (PRODUCT.md §2) and only when its content changed.

Counts include everyone referred; names appear only for people who gave "Accord de partage".
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections.abc import Callable, Iterable
from datetime import date, datetime

from babel.numbers import format_percent

from automations.jobs.funnel import STAGE_LABELS, Standing, by_name, counts, standings
from automations.journal import JournalFacts
from automations.plan import Plan
from automations.settings import Settings
from automations.values import CellValue, ChartSpec, Grid
from automations.world import World

SHEETS = ("orientations", "reunions", "presences", "suivi")
WRITTEN = "summary"
GROUP_STEPS = [step for step, _ in STAGE_LABELS]


def rate(part: int, whole: int) -> str:
    return format_percent(part / whole, locale="fr_FR") if whole else "—"


BASIS = {
    "invites": "orientes",
    "attente": "orientes",
    "oui": "invites",
    "presents": "invites",
    "entres": "presents",
    "cesa": "entres",
    "sortis": "presents",
}
"""Each rate is taken from the step it follows: présent·es among invité·es, CESA among entré·es…"""
LABELS = dict(STAGE_LABELS)


def funnel_block(people: list[Standing]) -> Grid:
    numbers = counts(people)
    rows: Grid = [["Étape", "Nombre", "% des orienté·es", "Taux", "Parmi"]]
    for step, label in STAGE_LABELS:
        basis = BASIS.get(step)
        n = numbers[step]
        rows.append(
            [
                label,
                n,
                rate(n, numbers["orientes"]),
                rate(n, numbers[basis]) if basis else "—",
                LABELS[basis].lower() if basis else "",
            ]
        )
    return rows


def group_block(title: str, people: list[Standing], key: Callable[[Standing], str]) -> Grid:
    groups: dict[str, list[Standing]] = {}
    for p in people:
        groups.setdefault(key(p) or "(non renseigné)", []).append(p)
    header: list[CellValue] = [title, *(label for _, label in STAGE_LABELS)]
    rows: Grid = [header]
    for name in sorted(groups):
        numbers = counts(groups[name])
        rows.append([name, *(numbers[step] for step in GROUP_STEPS)])
    return rows


def median_days(pairs: Iterable[tuple[datetime | None, datetime | None]]) -> CellValue:
    days = [(end - start).days for start, end in pairs if start and end and end >= start]
    return statistics.median(days) if days else "—"


def plan(world: World, facts: JournalFacts, now: datetime, settings: Settings) -> Plan:
    result = Plan("summary")
    grid = summary_grid(world, standings(world, facts))
    fingerprint = hashlib.sha256(json.dumps(grid, default=str).encode()).hexdigest()
    if facts.recalled(WRITTEN, "content") == fingerprint:
        return result
    first = 4  # after "Mis à jour le", a blank row, the block title and the funnel's header
    chart = ChartSpec("Entonnoir", 0, 1, first, first + len(STAGE_LABELS) - 1, anchor_column=6)
    sheet = settings.names.get("synthese", "Synthèse")
    result.replaced.append((sheet, [["Mis à jour le", now], [], *grid], chart))
    result.memory.append((WRITTEN, "content", fingerprint))
    return result


def session_label(world: World, p: Standing) -> str:
    s = world.by_reference.get(p.session)
    return f"{p.session} ({s.starts:%d/%m/%Y})" if s and s.starts else p.session


def _as_datetime(d: date | None) -> datetime | None:
    return datetime.combine(d, datetime.min.time()) if d else None


def summary_grid(world: World, people: list[Standing]) -> Grid:
    referral_to_session = median_days(
        (_as_datetime(p.referral.referred_on), p.session_starts) for p in people if p.reached("presents")
    )
    session_to_cape = median_days(
        (p.session_starts, _as_datetime(p.entered_on)) for p in people if p.reached("entres")
    )
    blocks: list[Grid] = [
        [["Entonnoir (toutes les personnes orientées, avec ou sans accord de partage)"]],
        funnel_block(people),
        [
            ["Délai médian (jours)", "Nombre de jours"],
            ["De l'orientation à la réunion", referral_to_session],
            ["De la réunion à l'entrée en coopérative", session_to_cape],
        ],
        group_block("Par réunion", [p for p in people if p.session], lambda p: session_label(world, p)),
        group_block("Par conseiller·ère", people, lambda p: p.referral.advisor),
        group_block("Par projet", people, lambda p: p.referral.row.text("projet")),
        consenting(people),
    ]
    grid: Grid = []
    for block in blocks:
        grid.extend(block)
        grid.append([])
    return grid[:-1]


def consenting(people: list[Standing]) -> Grid:
    rows: Grid = [
        ["Personnes ayant donné leur accord de partage"],
        [
            "Référence",
            "Nom",
            "Prénom",
            "Conseiller·ère",
            "Session",
            "Présence",
            "Étape",
            "Date d'orientation",
            "Date d'entrée",
        ],
    ]
    for p in sorted(people, key=by_name):
        r = p.referral
        if r.consent and not r.purged:
            rows.append(
                [
                    r.reference,
                    r.last_name,
                    r.first_name,
                    r.advisor,
                    p.session,
                    p.presence or "",
                    p.stage or "",
                    r.referred_on,
                    p.entered_on,
                ]
            )
    return rows
