"""The summary job: rewrites « Synthèse » whole (PRODUCT.md §2), and only when its content changed.

It answers the agency's question — who entered the cooperative, how many, how is it going — for
everyone referred, each person once: complete counts and rates, exits by reason, cohorts by month
of referral, median delays, the same per advisor (by email) and per project, then the people who
gave « Accord de partage » with their dated journey. The others are counted, never named. The plan
is pure: the figures come from ``synthese.counts``, the grid from ``synthese.layout``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime

from automations.jobs.funnel import STAGE_LABELS, Standing, everyone, standing
from automations.jobs.synthese import counts, people, views
from automations.jobs.synthese.layout import Block, lay_out
from automations.journal import JournalFacts
from automations.plan import Plan, Rewrite
from automations.settings import Settings
from automations.values import CellValue, ChartSpec, Grid, Look
from automations.world import World

SHEETS = ("orientations", "reunions", "presences", "suivi", "historique")
WRITTEN = "summary"
CHART_TITLE = "Parcours des personnes orientées"


def plan(world: World, facts: JournalFacts, now: datetime, settings: Settings) -> Plan:
    """« Synthèse », then each advisor's view ([advisor_views]), each rewritten only when what it
    holds changed (a view also when it moved elsewhere)."""
    result = Plan("summary")
    population = [standing(world, facts, r) for r in everyone(world)]
    sheet = settings.names.get("synthese", "Synthèse")
    grid, look, chart = synthese(world, population, now)
    fingerprint = _fingerprint(grid, look, chart)
    if facts.recalled(WRITTEN, "content") != fingerprint:
        result.replaced.append((sheet, grid, chart, look))
        result.memory.append((WRITTEN, "content", fingerprint))
    for email, mine in views.restrict(population, settings.advisor_views).items():
        grid, look, chart = synthese(world, mine, now)
        key = views.memory_key(email)
        fingerprint = _fingerprint(grid, look, chart, settings.advisor_views[email])
        if facts.recalled(WRITTEN, key) != fingerprint:
            result.elsewhere.append(Rewrite(email, sheet, grid, chart, look, ((WRITTEN, key, fingerprint),)))
    return result


def _fingerprint(grid: Grid, look: Look, chart: ChartSpec | None, *where: str) -> str:
    content = grid[1:]  # what changed, not when it was computed
    return hashlib.sha256(json.dumps([content, look, chart, *where], default=str).encode()).hexdigest()


def synthese(
    world: World, population: Sequence[Standing], now: datetime
) -> tuple[Grid, Look, ChartSpec | None]:
    """The whole sheet: « Données du », then one block per question."""
    return lay_out([["Données du", now]], blocks(world, population))


def blocks(world: World, population: Sequence[Standing]) -> list[Block]:
    named = [p for p in population if people.named(p)]
    unnamed = len(population) - len(named)
    return [
        funnel_block(population),
        exits_block(population),
        delays_block(population),
        cohorts_block(population),
        group_block(
            "Par conseiller·ère (selon son adresse email)",
            "Conseiller·ère",
            counts.by_advisor(population),
            True,
        ),
        group_block("Par projet", "Projet", counts.by_project(population), False),
        Block(
            f"Accord de partage : {len(named)} nommée(s) ; {unnamed} comptée(s) sans être nommée(s)",
            people.HEADER,
            people.rows(world, population),
        ),
    ]


def funnel_block(population: Sequence[Standing]) -> Block:
    lines = counts.funnel(population)
    return Block(
        "Entonnoir : chaque personne une fois, accord de partage ou non",
        ["Étape", "Nombre", "% des orienté·es", "Taux", "Parmi les"],
        [[line.label, line.count, line.of_referred, line.rate, line.among] for line in lines],
        frozenset({2, 3}),
        chart=CHART_TITLE,
    )


def exits_block(population: Sequence[Standing]) -> Block:
    found = counts.exits(population)
    total = sum(n for _, n in found)
    return Block(
        "Sorties par motif",
        ["Motif de sortie", "Nombre", "% des sorti·es"],
        [[reason, n, counts.share(n, total)] for reason, n in found],
        frozenset({2}),
    )


def delays_block(population: Sequence[Standing]) -> Block:
    return Block(
        "Délais médians (en jours)",
        ["Étape du parcours", "Jours (médiane)", "Personnes mesurées"],
        [[label, median, n] for label, median, n in counts.delays(population)],
    )


COHORT_HEADER = [
    "Mois d'orientation",
    "Orienté·es",
    "Venu·es à une réunion",
    "Entré·es en coopérative",
    "CESA signé",
    "Activité démarrée",
    "Toujours accompagné·es",
    "Sorti·es",
]


def cohorts_block(population: Sequence[Standing]) -> Block:
    found = counts.cohorts(population)
    reasons = [reason for reason, n in counts.exits(population) if n]
    rows: Grid = []
    for cohort in found:
        numbers = cohort.numbers
        rows.append(
            [
                cohort.label,
                *(numbers[step] for step in (*counts.COHORT_STEPS, "suivis", "sortis")),
                *(cohort.exits.get(reason, 0) for reason in reasons),
            ]
        )
    return Block(
        "Devenir des personnes, par mois d'orientation",
        [*COHORT_HEADER, *(f"Sortie : {reason}" for reason in reasons)],
        rows,
    )


def group_block(title: str, name: str, groups: Sequence[counts.Group], with_email: bool) -> Block:
    header: list[CellValue] = [
        name,
        *(["Email"] if with_email else []),
        *(label for _, label in STAGE_LABELS),
    ]
    rows: Grid = []
    for group in groups:
        numbers = counts.counts(group.people)
        rows.append(
            [group.name, *([group.email] if with_email else []), *(numbers[step] for step, _ in STAGE_LABELS)]
        )
    return Block(title, header, rows)
