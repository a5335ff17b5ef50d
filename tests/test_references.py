"""Références derived for rows that have none never collide, at any realistic size.

With 32 bits, 100,000 people held a colliding pair with probability ~69 %: the second one was
reported « ligne en double » and never invited. Derived Références now carry 80 bits, and stay
the same from run to run for the same row (the send journal recognises people by them).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from automations.jobs import invitations
from automations.journal import JournalFacts
from automations.model import derived_reference
from automations.schema import ORIENTATIONS, REUNIONS
from automations.tables import bind
from automations.world import build
from tests.conftest import NOW, session
from tests.test_invitations_plan import SETTINGS, grid

FIRST = ["Zoé", "Hélène", "François", "Anaïs", "Jérôme", "Maëlle", "Noël", "Loïc", "Cécile", "Chloé"]
LAST = ["D'Arcy", "Lefèvre", "N'Diaye", "Girard-Bénard", "Le Goff", "O'Neill", "Béranger", "Châtelain"]
ADVISORS = ["Sophie Le Goff", "Karim Benaïssa", "Élodie Martin", "Grégoire d'Estienne"]


def people(count: int) -> list[dict[str, object]]:
    return [
        {
            "Nom": LAST[n % len(LAST)],
            "Prénom": FIRST[n // len(LAST) % len(FIRST)],
            "Email": f"personne.{n:06d}@exemple.fr",
            "Conseiller·ère": ADVISORS[n % len(ADVISORS)],
            "Accord de partage": "Oui",
            "Date d'orientation": date(2025, 11, 26) + timedelta(days=n % 365),
        }
        for n in range(count)
    ]


def test_a_derived_reference_is_stable_readable_and_carries_80_bits():
    first = derived_reference("OR", "zoe@exemple.fr", "Lefèvre", "Zoé", "01/10/2026")
    assert first == derived_reference("OR", " ZOE@exemple.fr", "lefèvre ", "Zoé", "01/10/2026")
    assert re.fullmatch(r"OR-[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", first)  # 16 base32 characters: 80 bits
    assert first != derived_reference("OR", "zoe@exemple.fr", "Lefèvre", "Zoé", "02/10/2026")


def test_100000_distinct_people_get_100000_distinct_references_and_nobody_is_a_duplicate():
    tables = {
        "orientations": bind(ORIENTATIONS, grid(people(100_000))),
        "reunions": bind(REUNIONS, grid([session("A", 7, 50)])),
    }
    world = build(tables)
    references = [r.reference for r in world.referrals]
    assert len(set(references)) == len(references) == 100_000

    plan = invitations.plan(world, JournalFacts([]), NOW, SETTINGS)
    assert plan.problems == []
    assert len(plan.emails) == 100_000  # 50 invited, everyone else told they wait: nobody left out
