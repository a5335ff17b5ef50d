"""The digests job: once a week, each advisor hears what changed for the people they referred
(invitation, answer, presence, each stage of the journey with its date and an exit's reason),
who waits for a seat and who they should recontact, with the funnel of their referrals; nothing
when nothing changed. What was reported is remembered only once the email has gone."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from automations.jobs.funnel import STAGE_LABELS, Standing, by_name, counts, standings
from automations.jobs.given import Given
from automations.jobs.news import Standings, changes, checkpoint_answers, snapshot, standings_of
from automations.jobs.orders import staff_email, week_of
from automations.journal import JournalFacts
from automations.plan import EmailOrder, Plan
from automations.settings import Settings
from automations.world import World

SHEETS = ("orientations", "reunions", "presences", "suivi", "reponses")
DIGEST = "synthese_conseiller"
REPORTED = "digest"


def digest_context(
    advisor: str, entries: list[dict], numbers: dict[str, int], link: str, week: str, standing: Standings
) -> dict:
    """What "synthese_conseiller" shows an advisor; `passerelle check` renders it with sample data."""
    return {
        "conseiller": {"nom": advisor},
        "personnes": entries,
        "a_recontacter": standing.to_recontact,
        "en_attente": standing.waiting,
        "sans_accord": standing.unnamed,
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
    week = week_of(now)
    by_advisor: dict[str, list[Standing]] = {}
    for p in standings(world, facts):
        if p.referral.advisor_email:
            by_advisor.setdefault(p.referral.advisor_email.casefold(), []).append(p)
    for address, people in sorted(by_advisor.items()):
        order = digest(Given(world, facts, now, settings), address, people, week)
        if order is not None:
            result.emails.append(order)
    return result


def week_start(now: datetime, settings: Settings) -> datetime:
    monday = now.date() - timedelta(days=now.weekday())
    day = monday + timedelta(days=settings.followups.digest_weekday)
    return datetime.combine(day, datetime.min.time()).replace(hour=settings.followups.digest_hour)


def digest(given: Given, address: str, people: list[Standing], week: str) -> EmailOrder | None:
    entries, remember = [], []
    answers = checkpoint_answers(given.world, given.settings.code_secret)
    for p in sorted(people, key=by_name):
        if not p.referral.consent:  # PRODUCT §7: counted in the funnel below, never named
            continue
        recalled = given.facts.recalled(REPORTED, p.referral.reference)
        reference = p.referral.reference
        now = snapshot(p, given.world.followup_of.get(reference), answers.get(reference, ""))
        said = changes(json.loads(recalled) if recalled else {}, now, p.session_starts)
        if said:
            entries.append({"nom_complet": p.referral.full_name, "changements": said})
            remember.append((REPORTED, p.referral.reference, json.dumps(now, sort_keys=True)))
    if not entries:
        return None
    advisor, settings = people[0].referral.advisor, given.settings
    standing = standings_of(given, [p.referral for p in sorted(people, key=by_name)])
    link = settings.followups.synthese_link
    context = digest_context(advisor, entries, counts(people), link, week, standing)
    return staff_email(
        settings, DIGEST, address, f"conseiller-{address}", week, context, name=advisor, remember=remember
    )
