"""Where each referred person stands in the loop, and the funnel counts built from it.

Shared by the summary (everyone, names only with consent) and the advisors' digests (their own
referrals), so both always tell the same story.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from automations import french
from automations.journal import JournalFacts
from automations.model import FollowUp, Referral
from automations.world import World

STAGE_LABELS = (
    ("orientes", "Orienté·es"),
    ("invites", "Invité·es"),
    ("attente", "En liste d'attente"),
    ("oui", "Réponse oui"),
    ("presents", "Présent·es"),
    ("entres", "Entré·es en coopérative"),
    ("cesa", "CESA signé"),
    ("sortis", "Sorti·es"),
)
ENTERED = ("CAPE signé", "CESA signé")


@dataclass(frozen=True)
class Standing:
    referral: Referral
    session: str
    session_starts: datetime | None
    invited: bool
    waiting: bool
    presence: str | None
    presence_at: datetime | None
    """When the session whose presence that is took place."""
    stage: str | None
    entered_on: date | None

    def reached(self, step: str) -> bool:
        return {
            "orientes": True,
            "invites": self.invited,
            "attente": self.waiting,
            "oui": self.referral.answer is True,
            "presents": self.presence == "Présent·e",
            "entres": self.stage in ENTERED or (self.stage == "Sortie" and self.entered_on is not None),
            "cesa": self.stage == "CESA signé",
            "sortis": self.stage == "Sortie",
        }[step]


def _latest(rows: list[FollowUp], world: World) -> FollowUp | None:
    def when(f: FollowUp) -> datetime:
        s = world.by_reference.get(f.session)
        return s.starts if s and s.starts else datetime.min

    return max(rows, key=when, default=None)


def standings(world: World, facts: JournalFacts) -> list[Standing]:
    result = []
    for r in world.people.values():
        rows = world.followups_of.get(r.reference, ())
        staged = _latest([f for f in rows if f.stage], world)
        marked = _latest([f for f in rows if f.presence], world)
        attended = next((f for f in rows if f.presence == "Présent·e"), marked)
        held = world.by_reference.get(attended.session) if attended else None
        waited = any(e.status == "sent" for e in facts.of("liste_attente", r.reference))
        s = world.session_of(r)
        result.append(
            Standing(
                referral=r,
                session=r.session,
                session_starts=s.starts if s else None,
                invited=bool(r.invited_on) or bool(rows),
                waiting=not r.session and waited,
                presence=attended.presence if attended else None,
                presence_at=held.starts if held else None,
                stage=staged.stage if staged else None,
                entered_on=staged.entered_on if staged else None,
            )
        )
    return result


def by_name(p: Standing) -> tuple:
    """Alphabetical order as a French reader expects it (Péron before Prigent)."""
    return (french.sort_key(p.referral.last_name), french.sort_key(p.referral.first_name))


def counts(people: Iterable[Standing]) -> dict[str, int]:
    people = list(people)
    return {step: sum(1 for p in people if p.reached(step)) for step, _ in STAGE_LABELS}
