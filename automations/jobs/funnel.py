"""Where each referred person stands in the loop, and the funnel counts built from it.

Shared by the summary (everyone, names only with consent) and the advisors' digests (their own
referrals), so both always tell the same story.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from automations import french
from automations.jobs import journey
from automations.journal import JournalFacts
from automations.model import Referral
from automations.tracking import FollowUp
from automations.world import World

STAGE_LABELS = (
    ("orientes", "Orienté·es"),
    ("invites", "Invité·es"),
    ("attente", "En liste d'attente"),
    ("oui", "Réponse oui"),
    ("presents", "Présent·es"),
    ("entres", "Entré·es en coopérative"),
    ("cesa", "CESA signé"),
    ("activite", "Activité démarrée"),
    ("sortis", "Sorti·es"),
    ("clotures", "Clôturé·es"),
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
    followup: FollowUp | None = None
    """The person's « Suivi » row: the dated journey since the session."""
    closed: bool = False
    """Closed by the advisor (« Clôturer ») or « Plus intéressé·e »."""

    def reached(self, step: str) -> bool:
        """Whether the person got that far: a stage counts once reached, so a CESA signed before an
        exit stays a CESA signed, and a date typed in « Suivi » counts even if « Étape » lags."""
        f = self.followup
        return {
            "orientes": True,
            "invites": self.invited,
            "attente": self.waiting,
            "oui": self.referral.answer is True,
            "presents": self.presence == "Présent·e",
            "entres": self.stage in ENTERED or bool(f and (f.cape_on or f.cesa_on)),
            "cesa": self.stage == "CESA signé" or bool(f and f.cesa_on),
            "activite": bool(f and (f.activity_on or f.invoice_on)),
            "sortis": self.stage == "Sortie" or bool(f and f.exit_on),
            "clotures": self.closed,
        }[step]


def _attended(world: World, r: Referral) -> tuple[str | None, datetime | None]:
    """The presence that tells the most, with when: the first Présent·e, else the latest mark."""
    marks = []
    for p in world.presences_of.get(r.reference, ()):
        s = world.by_reference.get(p.session)
        if p.presence and s and s.starts and not s.cancelled:
            marks.append((s.starts, p.presence))
    present = sorted(m for m in marks if m[1] == "Présent·e")
    when, presence = present[0] if present else max(marks, default=(None, None))
    return presence, when


def standing(world: World, facts: JournalFacts, r: Referral) -> Standing:
    """Where one person stands, from the sheets and what the journal remembers of them."""
    presence, held = _attended(world, r)
    followed = world.followup_of.get(r.reference)
    waited = any(e.status == "sent" for e in facts.of("liste_attente", r.reference))
    s = world.session_of(r)
    return Standing(
        referral=r,
        session=r.session,
        session_starts=s.starts if s else None,
        invited=bool(r.invited_on) or r.reference in world.presences_of,
        waiting=not r.session and waited,
        presence=presence,
        presence_at=held,
        stage=followed.stage if followed else None,
        entered_on=followed.cape_on if followed else None,
        followup=followed,
        closed=r.withdrawn or bool(journey.closed(facts, r.reference)),
    )


def standings(world: World, facts: JournalFacts) -> list[Standing]:
    """Every person whose row can be used (``World.people``): the advisors' digests."""
    return [standing(world, facts, r) for r in world.people.values()]


def everyone(world: World) -> list[Referral]:
    """Every person referred, once: rows « à corriger » too (a typo in the advisor's address does
    not make the person any less referred), never a duplicate row, nor a row naming nobody (only a
    remark typed)."""
    found: dict[str, Referral] = {}
    for r in world.referrals:
        someone = r.purged or r.last_name or r.first_name or r.row.text("email")
        if someone and r.row.number not in world.duplicates:
            found.setdefault(r.reference, r)
    return list(found.values())


def by_name(p: Standing) -> tuple:
    """Alphabetical order as a French reader expects it (Péron before Prigent)."""
    return (french.sort_key(p.referral.last_name), french.sort_key(p.referral.first_name))


def counts(people: Iterable[Standing]) -> dict[str, int]:
    people = list(people)
    return {step: sum(1 for p in people if p.reached(step)) for step, _ in STAGE_LABELS}
