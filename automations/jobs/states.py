"""Where each referred person stands in the journey (PRODUCT.md §1): one state, with its next step.

The jobs move people between states (an invitation, a Non read, a presence marked, a stage typed in
« Suivi ») and write the « État » sentence of the state they reach; this module reads back which
state a row is in, from the same sheets and journal the jobs read. The README's journey table is
this table, and the tests check, after every run, that each row is in exactly one state, that its
« État » says that state, and that every state but the final ones has a next step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from automations.jobs import journey
from automations.journal import DEFERRED, PENDING, RESEND, Entry, JournalFacts
from automations.model import Referral
from automations.world import World


@dataclass(frozen=True)
class State:
    key: str
    label: str
    """What the state is called, in the words of the advisors."""
    next_step: str
    """What moves the person on, and who does it ("" for the final states)."""
    says: tuple[str, ...] = ()
    """How « État » begins in that state (a problem names its column: any beginning)."""


FOLLOWED = ("Présent·e à la réunion", "Accompagné·e par la coopérative")
"""Without « Accord de partage », « État » stops at the presence: the journey in the cooperative
does not flow back to the agency (PRODUCT §7)."""
ENTERED = ("Entré·e en coopérative", *FOLLOWED)

STATES = {
    s.key: s
    for s in (
        State("a_corriger", "à corriger", "le·la conseiller·ère corrige la cellule nommée dans « État »"),
        State(
            "doublon",
            "doublon",
            "le·la conseiller·ère supprime la ligne ou la corrige",
            ("Doublon de la ligne",),
        ),
        State("a_inviter", "à inviter", "Passerelle l'invite à la prochaine réunion qui a une place", ("",)),
        State(
            "attente",
            "en liste d'attente",
            "une invitation dès qu'une réunion a une place",
            ("Liste d'attente depuis", "Réunion du", "Absent·e le"),
        ),
        State(
            "invite",
            "invité·e",
            "sa réponse, le rappel deux jours avant, puis la réunion",
            ("Invité·e à la réunion", "Réunion modifiée", "Absent·e le"),
        ),
        State(
            "confirme",
            "a confirmé",
            "le rappel, puis la réunion et la présence notée par l'équipe",
            ("A confirmé sa venue",),
        ),
        State(
            "decline", "a décliné", "une invitation à une autre date (deux refus au plus)", ("A répondu Non",)
        ),
        State(
            "absent", "absent·e", "une invitation à une autre date (deux absences au plus)", ("Absent·e le",)
        ),
        State(
            "present",
            "présent·e",
            "l'accompagnement par la coopérative, noté dans « Suivi »",
            ("Présent·e à la réunion", "Accompagné·e par la coopérative"),
        ),
        State("cape", "entré·e en coopérative (CAPE)", "les points d'étape à 3, 6 et 12 mois", ENTERED),
        State("cesa", "CESA signé", "le suivi par la coopérative", ENTERED),
        State("sorti", "sorti·e", "", ("Sorti·e de la coopérative", *FOLLOWED)),
        State(
            "recontacter",
            "à recontacter",
            "le·la conseiller·ère choisit « Action » : Réinviter ou Clôturer",
            ("A décliné ou manqué deux réunions",),
        ),
        State("cloture", "clôturé·e", "", ("Plus intéressé·e", "Clôturé·e")),
        State(
            "a_verifier", "à vérifier", "le·la conseiller·ère choisit « Action » : Renvoyer", ("À vérifier",)
        ),
        State("efface", "données effacées", "", ("Données personnelles effacées",)),
    )
}
FINAL = ("sorti", "cloture", "doublon", "efface")
"""States with no next step: the journey ended, or the row is not a person of its own."""
STAGES = {"Sortie": "sorti", "CESA signé": "cesa", "CAPE signé": "cape"}


def state_of(r: Referral, world: World, facts: JournalFacts, now: datetime) -> State:
    """The one state of a row of « Orientations »; the first rule that holds decides."""
    return STATES[_key(r, world, facts, now)]


def _key(r: Referral, world: World, facts: JournalFacts, now: datetime) -> str:
    if r.row.number in world.duplicates:
        return "doublon"
    if r.purged:
        return "efface"
    if r.problems:
        return "a_corriger"
    if any(_unsure(e) for e in facts.of_person(r.reference)):
        return "a_verifier"
    if r.withdrawn or journey.closed(facts, r.reference):
        return "cloture"
    if journey.to_recontact(facts, r.reference):
        return "recontacter"
    followed = world.followup_of.get(r.reference)
    if followed is not None and followed.stage in STAGES:
        return STAGES[followed.stage]
    s = world.session_of(r)
    if s is not None and s.starts and s.starts <= now:
        return _after(r, world)
    if s is not None:
        return {True: "confirme", False: "decline"}.get(r.answer, "invite")
    if r.session in world.shared:  # a copied row makes the session ambiguous: nothing moves until fixed
        return "invite"
    if any(p.presence == "Présent·e" for p in world.presences_of.get(r.reference, ())):
        return "present"
    return "attente" if journey.waiting_since(facts, r) else "a_inviter"


def _unsure(e: Entry) -> bool:
    """An email that may or may not have left, or that the advisor asked to send again."""
    return e.status == PENDING or (e.status == DEFERRED and e.detail == RESEND)


def _after(r: Referral, world: World) -> str:
    """The session is over: what staff marked, or (until they do) the answer the person gave."""
    marks = [p.presence for p in world.presences_of.get(r.reference, ()) if p.session == r.session]
    if "Présent·e" in marks:
        return "present"
    if any(marks):
        return "absent"
    return {True: "confirme", False: "decline"}.get(r.answer, "invite")
