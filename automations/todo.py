"""What people must do, in the words of whoever must act: the end of `passerelle check`.

Passerelle moves everyone it can; some next steps belong to a person (PRODUCT §1): an advisor
decides about someone who declined or missed two sessions, or whose email may not have left; the
cooperative opens a session when people wait and none has a seat, or marks who came. `check` reads
the world as a run at the same instant would leave it (the run itself on stand-ins) and lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from automations import french
from automations.jobs.after_session import due_nudge, unmarked
from automations.jobs.alerts import stranded
from automations.jobs.given import Given
from automations.jobs.states import state_of
from automations.journal import JournalFacts
from automations.settings import Settings
from automations.world import World


@dataclass
class ToDo:
    advisors: list[str] = field(default_factory=list)
    cooperative: list[str] = field(default_factory=list)

    def text(self) -> str:
        parts = [("Pour les conseiller·ères", self.advisors), ("Pour la coopérative", self.cooperative)]
        lines = [
            f"À faire — {who} :\n" + "\n".join(f"  - {line}" for line in said) for who, said in parts if said
        ]
        return "\n".join(lines)


def to_do(world: World, facts: JournalFacts, now: datetime, settings: Settings) -> ToDo:
    found = ToDo()
    sheet = world.spec("orientations").name
    for r in world.people.values():
        where = f"{r.full_name} (« {sheet} », ligne {r.row.number})"
        state = state_of(r, world, facts, now).key
        if state == "recontacter":
            found.advisors.append(
                f"{where} a décliné ou manqué deux réunions : appelez la personne, puis choisissez "
                "« Réinviter » ou « Clôturer » dans « Action »."
            )
        elif state == "a_verifier":
            found.advisors.append(
                f"{where} : un envoi a été interrompu ; demandez à la personne si l'email est arrivé, "
                "sinon choisissez « Renvoyer » dans « Action »."
            )
    found.cooperative += _waiting(world, facts, now, settings) + _unmarked(Given(world, facts, now, settings))
    return found


def _waiting(world: World, facts: JournalFacts, now: datetime, settings: Settings) -> list[str]:
    since = [day for day, _ in stranded(world, facts, now, settings)]
    if not since:
        return []
    return [
        f"{french.people(len(since))} {'attendent' if len(since) > 1 else 'attend'} une place depuis le "
        f"{french.day(since[0], year=False)} et aucune réunion n'en propose : ajoutez une réunion "
        f"dans « {world.spec('reunions').name} »."
    ]


def _unmarked(given: Given) -> list[str]:
    world = given.world
    if world.table("presences") is None:
        return []
    sheet = world.spec("presences").name
    return [
        f"Réunion du {french.day(s.starts, year=False)} : la présence de "
        f"{french.people(len(rows))} n'est pas notée dans « {sheet} » (Présent·e, Absent·e ou Excusé·e)."
        for reference, rows in unmarked(given).items()
        if due_nudge(given, s := world.by_reference[reference])
    ]
