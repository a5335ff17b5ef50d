"""The rest of the demo story (``passerelle demo --story``): the weeks after the first run.

Each step plays what people do (seekers answer, staff fill "Présences" and "Suivi", a second
session opens), then runs every job with the clock set to that moment, as the scheduler would.
People's edits go through the same sheet store as Passerelle's, located by Référence like any write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from automations import config as config_module
from automations import demo, french, runner, wiring
from automations.jobs.orders import person_code
from automations.report import format_outcome
from automations.schema import ORIENTATIONS, PRESENCES, REPONSES, REUNIONS, SUIVI
from automations.sheets.base import SheetStore
from automations.sheets.workbook import WorkbookStore
from automations.tracking import presence_reference
from automations.values import CellPatch, RowAppend, RowKey

SCHEDULER_PERIOD = timedelta(minutes=15)
DELAYS = (timedelta(0), SCHEDULER_PERIOD)
"""Each step runs the jobs twice, a quarter of an hour apart, as `passerelle serve` would: an answer
read by one run frees a seat that the next run fills."""

# Who does what, by index in demo.SEEKERS.
ANSWER_YES = (0, 1, 5, 7, 8)
ANSWER_NO_FORM = (2, 6)
ANSWER_NO_TYPED = 4
ABSENT = (3, 12)
CAPE, CESA, EXIT = (0, 1, 5, 7, 8, 11), (13, 14, 15), 10


@dataclass(frozen=True)
class Step:
    day: int
    hour: int
    title: str
    act: Callable[[Story], list[str]]
    from_session: bool = False
    """``day`` counts from the first session's day (a working day: not always a week after the start)."""


class Story:
    def __init__(self, config_path: Path, start: datetime, store: SheetStore | None = None) -> None:
        self.config = config_module.load(config_path)
        self.store = store or WorkbookStore(self.config.sheets.workbook)
        self.start = start.replace(hour=9, minute=0, second=0, microsecond=0)
        self.layouts = {
            spec.name: spec.layout() for spec in (ORIENTATIONS, REUNIONS, PRESENCES, SUIVI, REPONSES)
        }

    def at(self, day: int, hour: int) -> datetime:
        return datetime.combine(self.start.date() + timedelta(days=day), time(hour))

    def session_at(self, day: int, hour: int) -> datetime:
        """``day`` days after the first session (whose day the demo chose), at ``hour``."""
        return datetime.combine(demo.session_day(self.start) + timedelta(days=day), time(hour))

    def when(self, step: Step) -> datetime:
        return (self.session_at if step.from_session else self.at)(step.day, step.hour)

    def rows(self, sheet: str) -> list[dict[str, object]]:
        grid = self.store.read([sheet])[sheet]
        return [dict(zip(grid[0], row, strict=False)) for row in grid[1:]]

    def people(self) -> list[dict[str, object]]:
        return self.rows(ORIENTATIONS.name)

    def reference(self, index: int) -> str:
        return str(self.people()[index]["Référence"])

    def name(self, index: int) -> str:
        person = self.people()[index]
        return f"{person['Prénom']} {person['Nom']}"

    def write(self, patches: list[CellPatch], appends: list[RowAppend] = ()) -> None:
        self.store.ensure([self.layouts[REPONSES.name]])
        self.store.write(self.layouts, patches, appends)


def answers(story: Story) -> list[str]:
    secret = wiring.code_secret(story.config)
    when = story.at(1, 8)
    rows = [
        RowAppend(
            REPONSES.name,
            {
                "Horodateur": when + timedelta(minutes=i),
                "Code": person_code(secret, story.reference(i)),
                "Réponse": "Oui, je viendrai" if i in ANSWER_YES else "Non, je ne pourrai pas",
            },
        )
        for i in (*ANSWER_YES, *ANSWER_NO_FORM)
    ]
    typed = CellPatch(ORIENTATIONS.name, RowKey(story.reference(ANSWER_NO_TYPED)), "Réponse", "non")
    story.write([typed], rows)
    return [
        f"{len(ANSWER_YES)} personnes répondent Oui par le formulaire, {len(ANSWER_NO_FORM)} répondent Non "
        f"({', '.join(story.name(i) for i in ANSWER_NO_FORM)}) ;",
        f"une conseillère tape « non » dans « Réponse » pour {story.name(ANSWER_NO_TYPED)}, qui l'a appelée.",
    ]


def nothing(story: Story) -> list[str]:
    return ["Personne ne touche aux feuilles."]


def session_day_after(story: Story) -> list[str]:
    session = f"R-{story.session_at(0, 14):%Y%m%d}"
    listed = {str(row["Référence"]) for row in story.rows(PRESENCES.name)}
    expected = [presence_reference(story.reference(i), session) for i in range(len(demo.SEEKERS))]
    declined = {presence_reference(story.reference(i), session) for i in (*ANSWER_NO_FORM, ANSWER_NO_TYPED)}
    attendees = [key for key in expected if key in listed and key not in declined]
    absent = {presence_reference(story.reference(i), session) for i in ABSENT}
    patches = [
        CellPatch(PRESENCES.name, RowKey(key), "Présence", "Absent·e" if key in absent else "Présent·e")
        for key in attendees
    ]
    second = demo.working_day(story.session_at(14, 14).date())  # two weeks after the first
    row = {
        "Référence": f"R-{second:%Y%m%d}",
        "Date": second,
        "Heure de début": "14:00",
        "Heure de fin": "16:30",
        "Lieu": "L'Ouvre-Boîtes, salle du rez-de-chaussée",
        "Adresse ou lien": "12 rue Jean Jaurès, 44600 Saint-Nazaire",
        "Places": 13,
        "Animateur·rice": "Camille Roux",
        "Email contact": "camille.roux@ouvre-boites.example",
        "Annulée": "Non",
    }
    story.write(patches, [RowAppend(REUNIONS.name, row)])
    return [
        f"La réunion a eu lieu : l'équipe note {len(attendees) - len(ABSENT)} personnes Présent·e et "
        f"{len(ABSENT)} Absent·e dans « Présences » ({', '.join(story.name(i) for i in ABSENT)}) ;",
        f"la coopérative ouvre une deuxième réunion le {french.day(second)}.",
    ]


def stages(story: Story) -> list[str]:
    entered = story.at(20, 9).date()
    patches = []
    for i, stage in [
        *((i, "CAPE signé") for i in CAPE),
        *((i, "CESA signé") for i in CESA),
        (EXIT, "Sortie"),
    ]:
        key = RowKey(story.reference(i))
        typed = {"CAPE signé": "cape", "CESA signé": "CESA signé ", "Sortie": "Sortie"}[stage]
        patches += [
            CellPatch(SUIVI.name, key, "Étape", typed),
            CellPatch(SUIVI.name, key, "Accompagnateur·rice", "Karim Benhamou"),
        ]
        if stage == "Sortie":
            patches.append(CellPatch(SUIVI.name, key, "Motif de sortie", "emploi salarié"))
            patches.append(CellPatch(SUIVI.name, key, "Date de sortie", entered))
        else:
            patches.append(CellPatch(SUIVI.name, key, "Date CAPE", entered))
    story.write(patches)
    return [
        f"L'équipe note les étapes : {len(CAPE)} CAPE (tapé « cape »), {len(CESA)} CESA, 1 sortie ; "
        "personne n'a encore rempli les présences de la deuxième réunion."
    ]


STEPS = (
    Step(1, 10, "Le lendemain", answers),
    Step(-2, 9, "Deux jours avant la réunion", nothing, from_session=True),
    Step(1, 10, "Le lendemain de la réunion", session_day_after, from_session=True),
    Step(35, 10, "Cinq semaines plus tard", stages),
    Step(60, 10, "Deux mois après les orientations", nothing),
)


def play_step(story: Story, step: Step, report: Callable[[str], None]) -> list[datetime]:
    """People act, then the jobs run twice; returns when they ran."""
    moment = story.when(step)
    report(f"\n== {step.title} : {french.day_at(moment)} ==")
    for line in step.act(story):
        report(f"  {line}")
    runs = [moment + delay for delay in DELAYS]
    for run_at in runs:
        report(f"  -- exécution à {french.hour(run_at)}")
        for outcome in runner.run(story.config, [], run_at, store=story.store):
            if outcome.sent or outcome.cells_written or outcome.rows_added or outcome.rewritten:
                report(format_outcome(outcome))
    return runs


def play(config_path: Path, start: datetime, report: Callable[[str], None]) -> None:
    story = Story(config_path, start)
    for step in STEPS:
        play_step(story, step, report)
