"""Checkpoints (PRODUCT.md §3): 3, 6 and 12 months after the CAPE, « Prochain point » says which
update is due; staff hear of due rows once a week; updating the row does the point and moves
« Prochain point » on; with a form, the entrepreneur is asked how it goes, once per point, and the
answers are kept in « Historique ». Nothing is ever sent twice, whatever the number of runs."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from automations import config as config_module
from automations.jobs.checkpoints import add_months, due, next_point
from automations.jobs.orders import person_code
from automations.wiring import code_secret
from tests.conftest import NOW, Project, referral, session

pytestmark = pytest.mark.backends("workbook", "google")
AFTER = NOW + timedelta(days=8)
CAPE = date(2026, 12, 10)
THREE_MONTHS = datetime(2027, 3, 10, 9, 0)  # a Wednesday
FORM = """
[answers]
form_url = "https://docs.google.com/forms/d/e/FORM/viewform"
code_entry = "entry.1"
answer_entry = "entry.2"
"""


def sent(project: Project, kind: str) -> list[tuple[str, str]]:
    """(recipient, plain text) of every email of that kind, oldest file name first."""
    found = []
    for message in project.emails():
        if message["X-Passerelle-Key"].strip().split("|")[0] == kind:
            body = message.get_body(("plain",)).get_content()
            found.append((message["To"].addresses[0].addr_spec, body))
    return found


def entrepreneur(project: Project, extra_config: str = "", adviser: str = "") -> None:
    """One person came, signed a CAPE on 10/12/2026, and staff typed it that day."""
    project.create([referral(1)], [session("A", 7, 5)], extra_config=extra_config)
    project.run()
    project.set("Présences", 0, "Présence", "Présent·e")
    project.run(now=AFTER)
    project.set("Suivi", 0, "Étape", "CAPE signé")
    project.set("Suivi", 0, "Date CAPE", CAPE)
    if adviser:
        project.set("Suivi", 0, "Accompagnateur·rice", adviser)
    project.run(now=datetime(2026, 12, 10, 18, 0))


def next_shown(project: Project) -> datetime | None:
    return project.rows("Suivi")[0]["Prochain point"]


def test_a_due_point_is_told_once_a_week_until_the_row_is_updated_then_the_next_one_comes(project):
    entrepreneur(project)
    assert next_shown(project) == datetime(2027, 3, 10)
    project.run(now=THREE_MONTHS - timedelta(days=1))
    assert sent(project, "point_etape") == []

    project.run(now=THREE_MONTHS)
    project.run(now=THREE_MONTHS + timedelta(hours=1))
    project.run(now=THREE_MONTHS + timedelta(days=2))  # same week: nothing more
    [(to, body)] = sent(project, "point_etape")
    assert to == "accueil@ouvre-boites.example", "the row names nobody: the cooperative's contact"
    assert "Prénom01 Nom01 (ligne 2) : point à 3 mois après le CAPE, depuis le 10/03/2027" in body

    project.run(now=THREE_MONTHS + timedelta(days=5))  # next Monday, still not updated
    assert len(sent(project, "point_etape")) == 2

    project.set("Suivi", 0, "Activité démarrée le", date(2027, 2, 1))
    project.run(now=THREE_MONTHS + timedelta(days=6))
    assert next_shown(project) == datetime(2027, 6, 10)
    project.run(now=THREE_MONTHS + timedelta(days=12))
    assert len(sent(project, "point_etape")) == 2, "the point is done"
    assert sent(project, "comment_ca_va") == [], "no form configured: nobody is asked"


def test_an_exit_ends_the_checkpoints(project):
    entrepreneur(project)
    project.set("Suivi", 0, "Date de sortie", date(2027, 2, 1))
    project.set("Suivi", 0, "Motif de sortie", "Emploi salarié")
    project.run(now=datetime(2027, 2, 2, 9, 0))
    assert next_shown(project) is None
    project.run(now=THREE_MONTHS)
    assert sent(project, "point_etape") == []


def test_the_accompagnateur_named_in_the_config_receives_the_rows_they_follow(project):
    entrepreneur(
        project,
        '[checkpoints.accompagnateurs]\n"Karim Benhamou" = "karim@ouvre-boites.example"\n',
        adviser="karim BENHAMOU",
    )
    project.run(now=THREE_MONTHS)
    [(to, body)] = sent(project, "point_etape")
    assert to == "karim@ouvre-boites.example" and "accompagné·e par karim BENHAMOU" in body


def test_with_a_form_the_entrepreneur_is_asked_once_and_the_answers_go_to_historique(project):
    entrepreneur(project, FORM)
    project.run(now=THREE_MONTHS)
    project.run(now=THREE_MONTHS + timedelta(days=1))
    config = config_module.load(project.config_path)
    person = project.rows()[0]["Référence"]
    code = person_code(code_secret(config), person)
    [(to, body)] = sent(project, "comment_ca_va")
    assert to == "personne01@exemple.fr"
    assert "Voilà 3 mois que vous avez signé votre CAPE" in body
    assert f"entry.1={code}" in body

    answered = datetime(2027, 3, 11, 14, 32, 17)
    headers = ["Horodateur", "Code", "Réponse", "Comment ça se passe", "Activité démarrée"]
    project.add_sheet("Réponses", [headers, [answered, code, None, "Bien, premiers clients !", "Oui"]])
    project.run(now=THREE_MONTHS + timedelta(days=2))
    project.run(now=THREE_MONTHS + timedelta(days=3))
    answers = [
        (r["Date"], r["Référence"], r["Colonne"], r["Avant"], r["Après"])
        for r in project.rows("Historique")
        if r["Colonne"] in ("Comment ça se passe", "Activité démarrée")
    ]
    at = answered.replace(second=0)
    assert answers == [
        (at, person, "Comment ça se passe", None, "Bien, premiers clients !"),
        (at, person, "Activité démarrée", None, "Oui"),
    ]
    assert project.rows()[0]["Réponse"] is None, "a checkpoint answer is no answer to an invitation"
    project.run(now=datetime(2027, 6, 10, 9, 0))
    asked = [body for _, body in sent(project, "comment_ca_va")]
    assert [("3 mois" in b, "6 mois" in b) for b in asked] == [(True, False), (False, True)]


def test_points_by_the_calendar_and_what_is_due():
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert add_months(date(2026, 12, 10), 3) == date(2027, 3, 10)
    months = (3, 6, 12)
    cape = date(2026, 12, 10)
    assert next_point(cape, months, None).on == date(2027, 3, 10)
    assert next_point(cape, months, date(2027, 3, 10)).on == date(2027, 6, 10), "updated that day: done"
    assert next_point(cape, months, date(2028, 1, 1)) is None
    late = due(cape, months, date(2027, 1, 5), date(2027, 7, 1))
    assert [p.months for p in late] == [3, 6], "one update catches up both"
    assert due(cape, months, date(2027, 6, 12), date(2027, 7, 1)) == []
