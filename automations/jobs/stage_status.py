"""« État » in « Orientations » follows the journey staff keep in « Suivi » (diagnostic, CAPE, CESA,
exit and its reason, dated), for people who agreed to share it (PRODUCT §7): the others' État
stays at their presence, and their journey stays in the cooperative's sheets."""

from __future__ import annotations

from datetime import date, datetime

from automations.jobs import journey, rows
from automations.journal import JournalFacts
from automations.plan import Plan
from automations.tracking import FollowUp
from automations.world import World


def stage_status(f: FollowUp) -> str | None:
    """The « État » of a person the cooperative follows, from « Suivi »: the stage and its date."""

    def on(day: date | None) -> str:
        return f" le {day:%d/%m/%Y}" if day else ""

    if f.stage == "Sortie":
        reason = f" : {f.exit_reason.lower()}" if f.exit_reason else ""
        return f"Sorti·e de la coopérative{on(f.exit_on)}{reason}"
    if f.stage == "CESA signé":
        return f"Entré·e en coopérative : CESA signé{on(f.cesa_on)}"
    if f.stage == "CAPE signé":
        return f"Entré·e en coopérative : CAPE signé{on(f.cape_on)}"
    if f.stage == "Diagnostic":
        return "Accompagné·e par la coopérative : diagnostic en cours"
    return None


def tell_the_agency(plan: Plan, world: World, facts: JournalFacts, now: datetime) -> None:
    """« État » in « Orientations » follows the journey in « Suivi », for people who agreed to
    share it (PRODUCT §7): the others' État stays at their presence. A closed referral, or a person
    invited again to a session still ahead, keeps the État that says so."""
    for r in world.people.values():
        f, s = world.followup_of.get(r.reference), world.session_of(r)
        if not r.consent or r.purged or f is None or (s is not None and s.starts and s.starts > now):
            continue
        if r.withdrawn or journey.closed(facts, r.reference) or journey.to_recontact(facts, r.reference):
            continue
        text = stage_status(f)
        if text:
            plan.patches.extend(rows.status(world, r, text))
