"""The figures of « Synthèse » as pure functions of where each person stands (``Standing``).

Every person referred is counted once, with or without « Accord de partage »: consent governs who
is named, never who is counted. Steps count once reached (a CESA signed before an exit stays a CESA
signed), so the funnel only narrows.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from babel.dates import format_date

from automations import french
from automations.jobs.funnel import STAGE_LABELS, Standing
from automations.schema import EXIT_REASONS

LABELS = dict(STAGE_LABELS)
BASIS = {
    "invites": "orientes",
    "attente": "orientes",
    "oui": "invites",
    "presents": "invites",
    "entres": "presents",
    "cesa": "entres",
    "activite": "entres",
    "sortis": "presents",
    "clotures": "orientes",
}
"""Each rate is taken from the step it follows: présent·es among invité·es, CESA among entré·es…"""
UNKNOWN = "(non renseigné)"
UNKNOWN_MONTH = "(date non renseignée)"


def counts(people: Iterable[Standing]) -> dict[str, int]:
    people = list(people)
    return {step: sum(1 for p in people if p.reached(step)) for step, _ in STAGE_LABELS}


def share(part: int, whole: int) -> float | None:
    """A rate from 0 to 1, or None when there is nothing to take it from (shown « — »)."""
    return part / whole if whole else None


@dataclass(frozen=True)
class FunnelLine:
    step: str
    label: str
    count: int
    of_referred: float | None
    rate: float | None
    """Among the step it follows (``BASIS``); None for the first step."""
    among: str


def funnel(people: Sequence[Standing]) -> list[FunnelLine]:
    numbers = counts(people)
    lines = []
    for step, label in STAGE_LABELS:
        basis = BASIS.get(step)
        lines.append(
            FunnelLine(
                step,
                label,
                numbers[step],
                share(numbers[step], numbers["orientes"]),
                share(numbers[step], numbers[basis]) if basis else None,
                LABELS[basis].lower() if basis else "",
            )
        )
    return lines


def exit_reason(p: Standing) -> str:
    reason = p.followup.exit_reason if p.followup else None
    return reason or UNKNOWN


def exits(people: Sequence[Standing]) -> list[tuple[str, int]]:
    """Exits by « Motif de sortie », in the dropdown's order; an exit without a reason is counted
    too (« (non renseigné) ») so the lines add up to « Sorti·es »."""
    found = Counter(exit_reason(p) for p in people if p.reached("sortis"))
    reasons = [*EXIT_REASONS, *([UNKNOWN] if found[UNKNOWN] else [])]
    return [(reason, found[reason]) for reason in reasons]


def still_supported(p: Standing) -> bool:
    """Entered the cooperative and neither left it nor was closed."""
    return p.reached("entres") and not p.reached("sortis") and not p.reached("clotures")


COHORT_STEPS = ("orientes", "presents", "entres", "cesa", "activite")


@dataclass(frozen=True)
class Cohort:
    month: date | None
    """First day of the month of referral; None for rows without a readable date."""
    numbers: dict[str, int]
    """The ``COHORT_STEPS`` counts, then « toujours accompagné·es » and « sortis »."""
    exits: dict[str, int]

    @property
    def label(self) -> str:
        return format_date(self.month, "LLLL y", locale=french.LOCALE) if self.month else UNKNOWN_MONTH


def cohorts(people: Sequence[Standing]) -> list[Cohort]:
    """Of those referred in a month: how many came, entered, signed a CESA, started their activity,
    are still supported, left and why. Months in order; undated rows last."""
    by_month: dict[date | None, list[Standing]] = {}
    for p in people:
        referred = p.referral.referred_on
        by_month.setdefault(referred.replace(day=1) if referred else None, []).append(p)
    result = []
    for month in sorted(by_month, key=lambda m: (m is None, m or date.min)):
        group = by_month[month]
        numbers = {step: sum(1 for p in group if p.reached(step)) for step in COHORT_STEPS}
        numbers["suivis"] = sum(1 for p in group if still_supported(p))
        numbers["sortis"] = sum(1 for p in group if p.reached("sortis"))
        result.append(
            Cohort(month, numbers, dict(Counter(exit_reason(p) for p in group if p.reached("sortis"))))
        )
    return result


def median_days(pairs: Iterable[tuple[date | None, date | None]]) -> tuple[float | None, int]:
    """The median number of days between each pair, over pairs with both dates in order, and how
    many pairs that is (a median of two people says less than one of forty)."""
    days = [(end - start).days for start, end in pairs if start and end and end >= start]
    if not days:
        return None, 0
    middle = statistics.median(days)
    return (int(middle) if float(middle).is_integer() else round(middle, 1)), len(days)


def _session_day(p: Standing) -> date | None:
    return p.presence_at.date() if p.presence_at and p.reached("presents") else None


def _cape(p: Standing) -> date | None:
    return p.followup.cape_on if p.followup else None


def _activity(p: Standing) -> date | None:
    f = p.followup
    return (f.activity_on or f.invoice_on) if f else None


DELAYS: tuple[tuple[str, Callable[[Standing], date | None], Callable[[Standing], date | None]], ...] = (
    ("De l'orientation à la réunion", lambda p: p.referral.referred_on, _session_day),
    ("De la réunion au CAPE", _session_day, _cape),
    ("Du CAPE au démarrage de l'activité", _cape, _activity),
)


def delays(people: Sequence[Standing]) -> list[tuple[str, float | None, int]]:
    """Median days referral → session → CAPE → activity: (label, median, people measured)."""
    return [(label, *median_days((start(p), end(p)) for p in people)) for label, start, end in DELAYS]


@dataclass(frozen=True)
class Group:
    name: str
    email: str
    people: list[Standing]


def advisor_key(p: Standing, known: dict[str, str]) -> str:
    """Who referred the person, by email, whatever its case: a valid address; else the address the
    advisor's name has on other rows (a typo in one row does not make another advisor); else what
    was typed."""
    r = p.referral
    if r.advisor_email:
        return r.advisor_email.casefold()
    return known.get(_folded(r.advisor)) or r.row.text("email_conseiller").casefold()


def _folded(name: str) -> str:
    return french.sort_key(name)[0]


def by_advisor(people: Sequence[Standing]) -> list[Group]:
    known: dict[str, str] = {}
    for p in people:
        if p.referral.advisor_email and p.referral.advisor:
            known.setdefault(_folded(p.referral.advisor), p.referral.advisor_email.casefold())
    groups: dict[str, list[Standing]] = {}
    for p in people:
        groups.setdefault(advisor_key(p, known), []).append(p)
    found = []
    for email, members in groups.items():
        names = Counter(p.referral.advisor for p in members if p.referral.advisor)
        name = names.most_common(1)[0][0] if names else UNKNOWN
        found.append(Group(name, email or UNKNOWN, members))
    return sorted(found, key=lambda g: (french.sort_key(g.name), g.email))


def by_project(people: Sequence[Standing]) -> list[Group]:
    """By « Projet » as typed, whatever its case and accents (« Maraîchage » is « maraichage »)."""
    groups: dict[str, list[Standing]] = {}
    for p in people:
        groups.setdefault(_folded(p.referral.row.text("projet")), []).append(p)
    found = []
    for members in groups.values():
        names = Counter(p.referral.row.text("projet") for p in members)
        found.append(Group(names.most_common(1)[0][0] or UNKNOWN, "", members))
    return sorted(found, key=lambda g: french.sort_key(g.name))
