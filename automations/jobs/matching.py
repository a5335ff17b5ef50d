"""Who a row staff typed by hand is about: the one referred person with that name.

Staff add rows to « Présences » and « Suivi » for someone who came without Passerelle's row, by
name. Names are compared as people type them (case, accents and spaces aside); a name two people
share, or nobody has, is never guessed: the row is reported for staff to give its Référence.
"""

from __future__ import annotations

from automations import cells
from automations.model import Referral
from automations.world import World


def folded_name(first: str, last: str) -> str:
    return cells.loose(f"{first} {last}")


def named(world: World, first: str, last: str) -> Referral | None:
    wanted = folded_name(first, last)
    found = [
        r for r in world.people.values() if not r.purged and folded_name(r.first_name, r.last_name) == wanted
    ]
    return found[0] if len(found) == 1 else None


def unknown(sheet: str) -> str:
    """What a row matching nobody says, in the words of the staff who typed it."""
    return (
        f"Personne introuvable dans « Orientations » : vérifiez le nom et le prénom, ou indiquez la "
        f"Référence de sa ligne d'« Orientations » dans « {sheet} »"
    )
