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
STARTED = {0: (60, 70), 5: (65, None)}
"""Who starts their activity (day of the start, day of the first invoice), in days from the start."""
ANSWERED, LATER_CESA, CREATED_ELSEWHERE = 0, 7, 8
COMMENT = "Les premiers clients arrivent, je me sens bien accompagnée."


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
    """Five weeks on: the CAPE of six people (typed « cape »), three CESA, one exit for a job."""
    patches = []
    for i in (*CAPE, *CESA, EXIT):
        key = RowKey(story.reference(i))
        patches += [
            CellPatch(SUIVI.name, key, "Accompagnateur·rice", "Karim Benhamou"),
            CellPatch(SUIVI.name, key, "Date CAPE", story.at(20, 9).date()),
        ]
        if i in CAPE:
            patches.append(CellPatch(SUIVI.name, key, "Étape", "cape"))
        elif i in CESA:
            patches += [
                CellPatch(SUIVI.name, key, "Étape", "CESA signé "),
                CellPatch(SUIVI.name, key, "Date CESA", story.at(34, 9).date()),
            ]
        else:
            patches += [
                CellPatch(SUIVI.name, key, "Étape", "Sortie"),
                CellPatch(SUIVI.name, key, "Date de sortie", story.at(30, 9).date()),
                CellPatch(SUIVI.name, key, "Motif de sortie", "emploi salarié"),
            ]
    story.write(patches)
    return [
        f"L'équipe note les étapes dans « Suivi » : {len(CAPE)} CAPE (tapé « cape »), {len(CESA)} CESA, "
        f"1 sortie pour un emploi salarié ({story.name(EXIT)}) ; personne n'a encore rempli les présences "
        "de la deuxième réunion."
    ]


def activities(story: Story) -> list[str]:
    """Two entrepreneurs start their activity; one sends a first invoice."""
    patches = []
    for i, (started, invoiced) in STARTED.items():
        key = RowKey(story.reference(i))
        patches.append(CellPatch(SUIVI.name, key, "Activité démarrée le", story.at(started, 9).date()))
        if invoiced:
            patches += [
                CellPatch(SUIVI.name, key, "1re facture le", story.at(invoiced, 9).date()),
                CellPatch(SUIVI.name, key, "Chiffre d'affaires", "< 500 € / mois"),
            ]
    story.write(patches)
    return [f"{', '.join(story.name(i) for i in STARTED)} démarrent leur activité ; une première facture."]


def checkpoint_answered(story: Story) -> list[str]:
    """Three months after the CAPE: one entrepreneur answers « comment ça va » in the form; staff
    update the rows due (a CESA signed, a comment), which closes their point."""
    secret = wiring.code_secret(story.config)
    answer = {
        "Horodateur": story.at(117, 18),
        "Code": person_code(secret, story.reference(ANSWERED)),
        "Réponse": "",
        "Comment ça se passe": COMMENT,
        "Activité démarrée": "Oui",
    }
    patches = [
        CellPatch(SUIVI.name, RowKey(story.reference(LATER_CESA)), "Étape", "CESA signé"),
        CellPatch(SUIVI.name, RowKey(story.reference(LATER_CESA)), "Date CESA", story.at(117, 9).date()),
    ]
    for i in (*CAPE, *CESA):
        patches.append(
            CellPatch(SUIVI.name, RowKey(story.reference(i)), "Commentaire", "Point à 3 mois fait")
        )
    story.write(patches, [RowAppend(REPONSES.name, answer)])
    return [
        f"{story.name(ANSWERED)} répond au formulaire « comment ça va » ; l'équipe fait le point à 3 mois "
        f"de chacun et note le CESA de {story.name(LATER_CESA)}."
    ]


def exit_for_own_business(story: Story) -> list[str]:
    key = RowKey(story.reference(CREATED_ELSEWHERE))
    story.write(
        [
            CellPatch(SUIVI.name, key, "Étape", "Sortie"),
            CellPatch(SUIVI.name, key, "Date de sortie", story.at(148, 9).date()),
            CellPatch(SUIVI.name, key, "Motif de sortie", "Création hors coopérative"),
        ]
    )
    return [f"{story.name(CREATED_ELSEWHERE)} quitte la coopérative pour créer son entreprise seule."]


STEPS = (
    Step(1, 10, "Le lendemain", answers),
    Step(-2, 9, "Deux jours avant la réunion", nothing, from_session=True),
    Step(1, 10, "Le lendemain de la réunion", session_day_after, from_session=True),
    Step(35, 10, "Cinq semaines plus tard", stages),
    Step(60, 10, "Deux mois après les orientations", nothing),
    Step(75, 10, "Deux mois et demi plus tard", activities),
    Step(113, 10, "Trois mois après les CAPE", nothing),
    Step(118, 10, "Le point à trois mois", checkpoint_answered),
    Step(150, 10, "Cinq mois plus tard", exit_for_own_business),
    Step(182, 10, "Six mois après les orientations", nothing),
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
