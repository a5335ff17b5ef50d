"""The alerts job (PRODUCT.md §3): when people have waited for a seat longer than
``waiting_alert_days`` and no session has one, the cooperative's contact hears it, once a week at
most, so that nobody waits ten days without anyone knowing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from automations import french
from automations.jobs import journey
from automations.jobs.orders import staff_email, week_of
from automations.journal import JournalFacts
from automations.model import Referral
from automations.plan import Plan
from automations.settings import Settings
from automations.world import World

SHEETS = ("orientations", "reunions")
ALERT = "alerte_attente"


def alert_context(people: list[dict[str, str]], since: str, sheet: str) -> dict[str, Any]:
    """What "alerte_attente" shows staff; `passerelle check` renders it with a sample."""
    return {"personnes": people, "depuis": since, "feuille": sheet}


def stranded(
    world: World, facts: JournalFacts, now: datetime, settings: Settings
) -> list[tuple[datetime, Referral]]:
    """Who waits for a seat, longest first, when no session open to invitations has one (else nobody:
    the invitations job takes care of them)."""
    earliest = now + timedelta(days=settings.invitations.min_notice_days)
    if world.taken().first_free(earliest) is not None:
        return []
    waiting = ((journey.waiting_since(facts, r), r) for r in world.people.values())
    return sorted(((since, r) for since, r in waiting if since), key=lambda item: item[0])


def plan(world: World, facts: JournalFacts, now: datetime, settings: Settings) -> Plan:
    result = Plan("alerts")
    limit = now - timedelta(days=settings.invitations.waiting_alert_days)
    waiting = [(since, r) for since, r in stranded(world, facts, now, settings) if since <= limit]
    if not waiting:
        return result
    people = [{"nom_complet": r.full_name, "depuis": f"{since:%d/%m/%Y}"} for since, r in waiting]
    context = alert_context(people, french.day(waiting[0][0]), world.spec("reunions").name)
    week = week_of(now)
    coop = settings.cooperative.email
    result.emails.append(
        staff_email(settings, ALERT, coop, "cooperative", week, context, settings.cooperative.name)
    )
    return result
