"""Per-advisor views (PRODUCT.md §2): « Synthèse » restricted to one advisor's people.

A view is the same layout over fewer people, never a filter over the finished grid: a filtered
grid would still hold the other advisors' counts in every total, cohort and median. People are
split exactly as the « Par conseiller·ère » block groups them (``counts.by_advisor``: the advisor's
email whatever its case, a typo resolved by the advisor's name), so a person is in the view of the
advisor whose row counts them, and in no other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from automations.jobs.funnel import Standing
from automations.jobs.synthese import counts


def restrict(population: Sequence[Standing], emails: Iterable[str]) -> dict[str, list[Standing]]:
    """Each advisor's people, by case-folded email; an advisor with nobody referred gets an empty
    list (their view still shows the headers and zero counts)."""
    groups = {group.email: group.people for group in counts.by_advisor(population)}
    return {email: list(groups.get(email.casefold(), [])) for email in emails}


def memory_key(email: str) -> str:
    """Where the journal keeps what this advisor's view last held."""
    return f"view|{email.casefold()}"
