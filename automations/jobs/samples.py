"""A realistic context for every email kind, built by the jobs' own context builders.

`passerelle check` renders every template with these, so a template that would fail on a real
run fails there first; the registry names which builder goes with which kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from automations.jobs.after_session import nudge_context
from automations.jobs.alerts import alert_context
from automations.jobs.checkpoints import how_context, point_context
from automations.jobs.digests import digest_context
from automations.jobs.funnel import counts
from automations.jobs.news import Standings
from automations.jobs.orders import answer_links, cooperative_context, seeker_context, session_context
from automations.model import Referral, Session
from automations.schema import ORIENTATIONS, REUNIONS
from automations.settings import Settings
from automations.tables import bind
from automations.world import build


@dataclass(frozen=True)
class Sample:
    settings: Settings
    referral: Referral
    session: Session


def sample(settings: Settings, now: datetime) -> Sample:
    row = {
        "Nom": "Exemple",
        "Prénom": "Camille",
        "Email": "camille.exemple@exemple.fr",
        "Conseiller·ère": "Sophie Le Goff",
        "Email conseiller·ère": "sophie@exemple.fr",
        "Accord de partage": "Oui",
    }
    session = {
        "Référence": "R-EXEMPLE",
        "Date": (now + timedelta(days=7)).date(),
        "Heure de début": "14:00",
        "Heure de fin": "16:30",
        "Lieu": "Salle du conseil",
        "Adresse ou lien": "1 rue de la Paix",
        "Places": 12,
        "Email contact": settings.cooperative.email,
    }
    world = build(
        {
            "orientations": bind(ORIENTATIONS, [list(row), list(row.values())]),
            "reunions": bind(REUNIONS, [list(session), list(session.values())]),
        }
    )
    return Sample(settings, world.referrals[0], world.sessions[0])


def seeker(s: Sample) -> dict[str, Any]:
    return seeker_context(s.settings, s.referral, s.session)


def waiting(s: Sample) -> dict[str, Any]:
    return seeker_context(s.settings, s.referral, None)


def _previous(s: Sample) -> dict[str, str]:
    return session_context(s.session, s.settings.cooperative.email)


def modification(s: Sample) -> dict[str, Any]:
    return {**seeker(s), "precedente": _previous(s)}


def absent(s: Sample) -> dict[str, Any]:
    return {**seeker(s), "precedente": _previous(s)}


def present(s: Sample) -> dict[str, Any]:
    return {**seeker(s), "accompagnateur": "Karim Benhamou"}


def presence_nudge(s: Sample) -> dict[str, Any]:
    lines = [{"nom_complet": s.referral.full_name, "ligne": 2}]
    return {
        "cooperative": cooperative_context(s.settings),
        **nudge_context(_previous(s), lines, "", "Présences"),
    }


def digest(s: Sample) -> dict[str, Any]:
    people = [{"nom_complet": s.referral.full_name, "changements": ["a confirmé sa venue"]}]
    needs = Standings(
        to_recontact=[{"nom_complet": "Yannick Le Bihan", "ligne": "12"}],
        waiting=[{"nom_complet": "Awa Diallo", "depuis": "depuis le mardi 1er décembre"}],
        unnamed=1,
    )
    context = digest_context(s.referral.advisor, people, counts([]), "", "2026-W01", needs)
    return {"cooperative": cooperative_context(s.settings), **context}


def waiting_alert(s: Sample) -> dict[str, Any]:
    people = [{"nom_complet": s.referral.full_name, "depuis": "02/12/2026"}]
    context = alert_context(people, "mercredi 2 décembre 2026", "Réunions")
    return {"cooperative": cooperative_context(s.settings), **context}


def checkpoint(s: Sample) -> dict[str, Any]:
    line = {
        "nom_complet": s.referral.full_name,
        "ligne": 2,
        "point": "6 mois",
        "date": "04/07/2027",
        "accompagnateur": "Karim Benhamou",
    }
    context = point_context([line], s.settings.followups.suivi_link, "Suivi")
    return {"cooperative": cooperative_context(s.settings), **context}


def how_is_it_going(s: Sample) -> dict[str, Any]:
    links = answer_links(s.settings, s.referral.reference)
    link = links["oui"] if links else "https://docs.google.com/forms/d/e/EXEMPLE/viewform"
    return {**waiting(s), **how_context(3, link, "Karim Benhamou")}
