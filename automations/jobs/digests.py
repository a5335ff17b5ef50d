"""The digests job: once a week, each advisor hears what changed for the people they referred
(invitation, answer, presence, stage), with the funnel of their referrals; nothing when nothing
changed. What was reported is remembered only once the email has gone."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from automations import french
from automations.jobs.funnel import STAGE_LABELS, Standing, by_name, counts, standings
from automations.jobs.orders import staff_email
from automations.journal import JournalFacts
from automations.plan import EmailOrder, Plan
from automations.settings import Settings
from automations.world import World

SHEETS = ("orientations", "reunions", "presences", "suivi")
DIGEST = "synthese_conseiller"
REPORTED = "digest"


def snapshot(p: Standing) -> dict[str, str]:
    return {
        "session": p.session,
        "date": f"{p.session_starts:%Y-%m-%d %H:%M}" if p.session_starts else "",
        "attente": "oui" if p.waiting else "",
        "reponse": {True: "Oui", False: "Non", None: ""}[p.referral.answer],
        "presence": p.presence or "",
        "presence_le": f"{p.presence_at:%Y-%m-%d %H:%M}" if p.presence_at else "",
        "etape": p.stage or "",
    }


def changes(before: dict[str, str], now: dict[str, str], starts: datetime | None) -> list[str]:
    said = []
    if (
        now["session"]
        and (now["session"], now["date"]) != (before.get("session"), before.get("date"))
        and starts
    ):
        said.append(f"invité·e à la réunion du {french.day_at(starts, year=False)}")
    if now["attente"] and not before.get("attente"):
        said.append("en liste d'attente (la réunion était complète)")
    if now["reponse"] and now["reponse"] != before.get("reponse"):
        said.append("a confirmé sa venue" if now["reponse"] == "Oui" else "a répondu ne pas pouvoir venir")
    if now["presence"] and (now["presence"], now.get("presence_le")) != (
        before.get("presence"),
        before.get("presence_le", now.get("presence_le")),
    ):
        held = datetime.fromisoformat(now["presence_le"]) if now.get("presence_le") else None
        day = f" du {french.day(held, year=False)}" if held else ""
        said.append(f"{now['presence'].lower()} à la réunion{day}")
    if now["etape"] and now["etape"] != before.get("etape"):
        said.append(f"nouvelle étape : {now['etape']}")
    return said


def digest_context(advisor: str, entries: list[dict], numbers: dict[str, int], link: str, week: str) -> dict:
    """What "synthese_conseiller" shows an advisor; `passerelle check` renders it with sample data."""
    return {
        "conseiller": {"nom": advisor},
        "personnes": entries,
        "entonnoir": [{"etape": label, "nombre": numbers[step]} for step, label in STAGE_LABELS],
        "lien_synthese": link,
        "semaine": week,
    }


def plan(world: World, facts: JournalFacts, now: datetime, settings: Settings) -> Plan:
    """Due from the configured weekday and hour on, once a week; the first week after Passerelle
    started sending digests is the first one reported (nobody gets one on day one)."""
    result = Plan("digests")
    since = facts.recalled(REPORTED, "since")
    if since is None:
        result.memory.append((REPORTED, "since", now.isoformat()))
        return result
    start = week_start(now, settings)
    if now < start or start <= datetime.fromisoformat(since):
        return result
    week = "{}-W{:02d}".format(*now.isocalendar()[:2])
    by_advisor: dict[str, list[Standing]] = {}
    for p in standings(world, facts):
        if p.referral.advisor_email:
            by_advisor.setdefault(p.referral.advisor_email.casefold(), []).append(p)
    for address, people in sorted(by_advisor.items()):
        order = digest(facts, settings, address, people, week)
        if order is not None:
            result.emails.append(order)
    return result


def week_start(now: datetime, settings: Settings) -> datetime:
    monday = now.date() - timedelta(days=now.weekday())
    day = monday + timedelta(days=settings.followups.digest_weekday)
    return datetime.combine(day, datetime.min.time()).replace(hour=settings.followups.digest_hour)


def digest(
    facts: JournalFacts, settings: Settings, address: str, people: list[Standing], week: str
) -> EmailOrder | None:
    entries, remember = [], []
    for p in sorted(people, key=by_name):
        if not p.referral.consent:  # PRODUCT §7: counted in the funnel below, never named
            continue
        recalled = facts.recalled(REPORTED, p.referral.reference)
        now = snapshot(p)
        said = changes(json.loads(recalled) if recalled else {}, now, p.session_starts)
        if said:
            entries.append({"nom_complet": p.referral.full_name, "changements": said})
            remember.append((REPORTED, p.referral.reference, json.dumps(now, sort_keys=True)))
    if not entries:
        return None
    advisor = people[0].referral.advisor
    context = digest_context(advisor, entries, counts(people), settings.followups.synthese_link, week)
    return staff_email(
        settings, DIGEST, address, f"conseiller-{address}", week, context, name=advisor, remember=remember
    )
