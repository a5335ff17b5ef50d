"""The people who gave « Accord de partage », one row each, with their journey in one cell.

Only they are named anywhere in « Synthèse » (PRODUCT.md §7); the others are in every count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from automations import cells
from automations.jobs.funnel import Standing, by_name
from automations.values import CellValue, Grid
from automations.world import World

HEADER: list[CellValue] = [
    "Référence",
    "Nom",
    "Prénom",
    "Conseiller·ère",
    "Première réunion",
    "Présence",
    "Étape",
    "Parcours",
    "Accompagnateur·rice",
    "Motif de sortie",
]
UNDATED = "date non renseignée"


def named(p: Standing) -> bool:
    r = p.referral
    return r.consent and not r.purged


DATED = (
    ("date_cape", "CAPE"),
    ("activite", "activité"),
    ("facture", "1re facture"),
    ("date_cesa", "CESA"),
    ("date_sortie", "sortie"),
)
Earlier = dict[str, dict[str, list[date]]]
"""Per person, per step, the dates staff typed before the one « Suivi » holds now."""


def earlier_dates(world: World) -> Earlier:
    """From « Historique »: a date staff overwrote in « Suivi » stays in the journey, said so."""
    table, suivi = world.table("historique"), world.table("suivi")
    if table is None or suivi is None:
        return {}
    steps = {suivi.spec.label(key): label for key, label in DATED}
    found: Earlier = {}
    for row in table:
        label = steps.get(row.text("colonne"))
        day = cells.or_none(cells.parse_date, row["avant"]) if label else None
        if label and day:
            found.setdefault(row.text("reference"), {}).setdefault(label, []).append(day)
    return found


def journey(p: Standing, earlier: Earlier | None = None) -> str:
    """« CAPE 04/01/2027 · activité 15/01 · 1re facture 20/01 · CESA 15/02 »: the dated steps in the
    order they happened, the year written when it changes; a date overwritten since follows the
    current one (« CAPE 04/01/2027 (d'abord 02/01/2027) »); a step « Étape » says was reached but
    whose date is empty comes last, said so."""
    f = p.followup
    before = (earlier or {}).get(p.referral.reference, {})
    if f is None:
        return ""
    dated = [
        (when, label)
        for when, label in (
            (f.cape_on, "CAPE"),
            (f.activity_on, "activité"),
            (f.invoice_on, "1re facture"),
            (f.cesa_on, "CESA"),
            (f.exit_on, "sortie"),
        )
        if when
    ]
    parts, year = [], None
    for when, label in sorted(dated, key=lambda pair: pair[0]):
        parts.append(f"{label} {when:%d/%m}" + (f"/{when:%Y}" if when.year != year else ""))
        year = when.year
        replaced = [f"{day:%d/%m/%Y}" for day in dict.fromkeys(before.get(label, ())) if day != when]
        if replaced:
            parts[-1] += f" (d'abord {', puis '.join(replaced)})"
    said = {label for _, label in dated}
    for reached, label in (("entres", "CAPE"), ("cesa", "CESA"), ("sortis", "sortie")):
        if p.reached(reached) and label not in said:
            parts.append(f"{label} ({UNDATED})")
    return " · ".join(parts)


def current_stage(p: Standing) -> str:
    """The stage « Suivi » gives, else where the referral stands."""
    if p.stage:
        return p.stage
    for step, label in (
        ("clotures", "Clôturé·e"),
        ("presents", "Présent·e à la réunion"),
        ("invites", "Invité·e"),
        ("attente", "En liste d'attente"),
    ):
        if p.reached(step):
            return label
    return "Orienté·e"


def first_session(world: World, p: Standing) -> date | None:
    """The day of the first session the person was invited to (moved or cancelled ones aside)."""
    days = [
        s.starts.date()
        for reference in {*(x.session for x in world.presences_of.get(p.referral.reference, ())), p.session}
        if (s := world.by_reference.get(reference)) and s.starts and not s.cancelled
    ]
    return min(days, default=None)


def rows(world: World, people: Sequence[Standing]) -> Grid:
    found: Grid = []
    earlier = earlier_dates(world)
    for p in sorted(people, key=by_name):
        if not named(p):
            continue
        r, f = p.referral, p.followup
        found.append(
            [
                r.reference,
                r.last_name,
                r.first_name,
                r.advisor,
                first_session(world, p),
                p.presence or "",
                current_stage(p),
                journey(p, earlier),
                f.adviser if f else "",
                (f.exit_reason or "") if f else "",
            ]
        )
    return found
