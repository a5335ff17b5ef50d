"""Cell patches on a referral's row of "Orientations", built the same way by every job."""

from __future__ import annotations

from automations.model import Referral
from automations.plan import Plan, Problem
from automations.values import CellPatch, CellValue, RowAppend
from automations.world import World


def patch(world: World, r: Referral, key: str, value: CellValue) -> CellPatch:
    spec = world.spec("orientations")
    return CellPatch(spec.name, r.key, spec.label(key), value)


def status(world: World, r: Referral, text: str) -> list[CellPatch]:
    """The "État" patch, or none when the sheet already says so (a re-run changes nothing)."""
    return [] if r.status == text else [patch(world, r, "etat", text)]


def report(plan: Plan, world: World, r: Referral, message: str) -> None:
    """A problem with one row: in the run's report and in that row's "État"."""
    plan.problems.append(Problem(world.spec("orientations").name, r.row.number, message))
    plan.patches.extend(status(world, r, message))


def reference(world: World, r: Referral) -> list[CellPatch]:
    """The Référence Passerelle gives a row that has none, so later edits never change who it is."""
    return [] if r.has_reference else [patch(world, r, "reference", r.reference)]


def append(world: World, key: str, values: dict[str, CellValue]) -> RowAppend:
    """A new row of one of Passerelle's sheets, from column keys to their configured labels."""
    spec = world.spec(key)
    return RowAppend(spec.name, {spec.label(k): v for k, v in values.items()})
