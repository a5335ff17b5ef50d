"""The loop after the invitation, end to end on both sheet backends (a real workbook; Google
Sheets through gspread and the fake Sheets API, « Suivi » in the cooperative's own spreadsheet):
answers, session changes, reminders, the cooperative's follow-up sheet, and what staff typing in
it must never break."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, time, timedelta

import pytest

from automations import config as config_module
from automations import wiring
from automations.jobs.orders import person_code
from tests.conftest import NOW, Project, referral, session

pytestmark = pytest.mark.backends("workbook", "google")


def kinds(project: Project, since: set[str] = frozenset()) -> list[tuple[str, str]]:
    found = []
    for path in sorted(project.outbox.glob("*.eml")):
        if path.name in since:
            continue
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        kind = message["X-Passerelle-Key"].strip().split("|")[0]
        if kind != "synthese_conseiller":  # advisors' weekly digests are tested in test_story
            found.append((kind, message["To"].addresses[0].addr_spec))
    return sorted(found)


def files(project: Project) -> set[str]:
    return {p.name for p in project.outbox.glob("*.eml")}


def ics_of(project: Project, kind: str) -> list[str]:
    found = []
    for path in sorted(project.outbox.glob(f"{kind}_*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        found += [part.get_content() for part in message.iter_attachments()]
    return found


def test_a_moved_session_sends_modification_with_the_same_uid_and_a_higher_sequence(project):
    project.create([referral(1), referral(2)], [session("A", 7, 5)])
    project.run()
    project.set("Réunions", 0, "Heure de début", "15:30")
    before = files(project)
    project.run(now=NOW + timedelta(days=1))
    assert kinds(project, before) == [
        ("modification", "personne01@exemple.fr"),
        ("modification", "personne02@exemple.fr"),
    ]
    [invitation, *_] = ics_of(project, "invitation")
    [modification, *_] = ics_of(project, "modification")
    uid = next(line for line in invitation.splitlines() if line.startswith("UID:"))
    assert uid in modification.splitlines()
    assert "SEQUENCE:0" in invitation and "SEQUENCE:1" in modification
    assert "DTSTART;TZID=Europe/Paris:20261203T153000" in modification
    assert (
        project.rows()[0]["État"] == "Réunion modifiée : invité·e à la réunion du jeudi 3 décembre à 15 h 30"
    )
    again = files(project)
    project.run(now=NOW + timedelta(days=1, hours=1))
    assert files(project) == again


def test_a_session_cancelled_the_day_before_warns_everyone_then_they_are_invited_to_the_next(project):
    project.create([referral(n) for n in range(3)], [session("A", 7, 5), session("B", 14, 5)])
    project.run()
    project.set("Réunions", 0, "Annulée", "Oui")
    before = files(project)
    project.run(now=NOW + timedelta(days=6))
    assert kinds(project, before) == [("annulation", f"personne{n:02d}@exemple.fr") for n in range(3)]
    assert all("METHOD:CANCEL" in ics and "STATUS:CANCELLED" in ics for ics in ics_of(project, "annulation"))
    assert all(
        r["Session"] is None and r["État"].startswith("Réunion du jeudi 3 décembre annulée")
        for r in project.rows()
    )
    after_cancel = files(project)
    project.run(now=NOW + timedelta(days=7))
    assert kinds(project, after_cancel) == [("invitation", f"personne{n:02d}@exemple.fr") for n in range(3)]
    assert [r["Session"] for r in project.rows()] == ["B", "B", "B"]


def answers_sheet(project: Project, rows) -> None:
    project.add_sheet("Réponses", [["Horodateur", "Code", "Réponse"], *(list(row) for row in rows)])


def test_form_answers_are_read_by_code_the_latest_wins_and_an_unknown_code_is_reported(project):
    project.create([referral(1), referral(2), referral(3)], [session("A", 7, 2)])
    project.run()
    config = config_module.load(project.config_path)
    secret = wiring.code_secret(config)
    refs = [r["Référence"] for r in project.rows()]
    answers_sheet(
        project,
        [
            (NOW + timedelta(hours=1), person_code(secret, refs[0]), "Oui, je viendrai"),
            (
                NOW + timedelta(hours=3),
                person_code(secret, refs[0]).lower().replace("-", ""),
                "Non, je ne pourrai pas",
            ),
            (NOW + timedelta(hours=2), person_code(secret, refs[1]), "Oui, je viendrai"),
            (NOW + timedelta(hours=2), "ZZZZ-ZZZZ-ZZZZ", "Oui"),
        ],
    )
    outcomes = project.run(now=NOW + timedelta(days=1))
    rows = project.rows()
    assert [r["Réponse"] for r in rows[:2]] == ["Non", "Oui"]
    assert rows[0]["État"].startswith("A répondu Non")
    problems = [str(p) for o in outcomes for p in o.problems]
    assert "« Réponses », ligne 5 : code inconnu « ZZZZ-ZZZZ-ZZZZ » : réponse ignorée" in problems
    # The seat freed by the Non goes to the waiting list (on the next run, as the scheduler does).
    project.run(now=NOW + timedelta(days=1, minutes=15))
    assert project.rows()[2]["Session"] == "A"


def test_an_answer_typed_by_an_advisor_after_the_form_is_kept(project):
    project.create([referral(1)], [session("A", 7, 2)])
    project.run()
    secret = wiring.code_secret(config_module.load(project.config_path))
    answers_sheet(project, [(NOW, person_code(secret, project.rows()[0]["Référence"]), "Non")])
    project.run(now=NOW + timedelta(hours=1))
    project.set("Orientations", 0, "Réponse", "oui")
    project.run(now=NOW + timedelta(hours=2))
    assert project.rows()[0]["Réponse"] == "oui"


def test_reminders_skip_people_who_said_non_and_never_two_emails_the_same_day(project):
    project.create([referral(1), referral(2), referral(3)], [session("A", 3, 5)])
    project.run()  # invited today; the reminder window (2 days before) opens tomorrow
    project.set("Orientations", 1, "Réponse", "Non")
    before = files(project)
    project.run(now=NOW + timedelta(days=1))
    assert kinds(project, before) == [
        ("liste_attente", "personne02@exemple.fr"),  # no other date yet: the waiting list
        ("rappel", "personne01@exemple.fr"),
        ("rappel", "personne03@exemple.fr"),
    ]
    rows = project.rows()
    assert rows[0]["Rappel envoyé le"] == NOW + timedelta(days=1)
    assert rows[1]["Rappel envoyé le"] is None


def test_presences_rows_for_every_invitee_consent_or_not_never_duplicated(project):
    project.create(
        [referral(1), referral(2, **{"Accord de partage": "Non"}), referral(3)], [session("A", 7, 5)]
    )
    project.run()
    project.run(now=NOW + timedelta(hours=1))
    rows = project.rows("Présences")
    day = datetime.combine((NOW + timedelta(days=7)).date(), time())
    assert [(r["Nom"], r["Session"], r["Date"]) for r in rows] == [(f"Nom0{n}", "A", day) for n in (1, 2, 3)]
    assert all(r["Référence"].endswith(" / A") and r["Présence"] is None for r in rows)
    assert project.sheets.grid("Suivi") is None, "nobody came yet: « Suivi » appears with its first row"


def test_staff_sorting_adding_columns_and_typing_loosely_lose_nothing_and_are_understood(project):
    project.create([referral(n) for n in range(4)], [session("A", 7, 5)])
    project.run()

    names = [r["Nom"] for r in project.rows("Présences")]
    project.reverse_rows("Présences")
    project.insert_column("Présences", 1, "Notes de l'équipe", [f"note {r}" for r in range(2, 6)])
    for row, presence in enumerate(("présente", "Présent", "absent", "Présent·e")):
        project.set("Présences", row, "Présence", presence)
    typed_before = {(r["Nom"], r["Présence"], r["Notes de l'équipe"]) for r in project.rows("Présences")}
    project.run(now=NOW + timedelta(days=8))
    rows = project.rows("Présences")
    assert [r["Nom"] for r in rows] == names[::-1]
    assert {(r["Nom"], r["Présence"], r["Notes de l'équipe"]) for r in rows} == typed_before
    came = sorted(r["Nom"] for r in rows if r["Présence"] != "absent")
    assert sorted(r["Nom"] for r in project.rows("Suivi")) == came, "one « Suivi » row per person who came"

    for row, stage in enumerate(("cape", "Cape signé ", "en réflexion")):
        project.set("Suivi", row, "Étape", stage)
    outcomes = project.run(now=NOW + timedelta(days=9))
    suivi = project.rows("Suivi")
    assert [r["Étape"] for r in suivi] == ["cape", "Cape signé ", "en réflexion"], "staff cells untouched"
    assert all(r["Mis à jour le"] == NOW + timedelta(days=9) for r in suivi)
    assert suivi[2]["À corriger"].startswith("Étape : « en réflexion » n'est pas dans la liste")
    problems = [str(p) for o in outcomes for p in o.problems]
    assert any("« Suivi », ligne 4 : Étape : « en réflexion » n'est pas dans la liste" in p for p in problems)
    synthese = {r[0]: [*r, None][1] for r in project.grid("Synthèse") if r}
    assert synthese["Entré·es en coopérative"] == 2
    assert synthese["Présent·es"] == 3
    again = {p.name for p in project.outbox.glob("*.eml")}
    project.run(now=NOW + timedelta(days=9, hours=1))
    assert {p.name for p in project.outbox.glob("*.eml")} == again
    assert all(r["Mis à jour le"] == NOW + timedelta(days=9) for r in project.rows("Suivi"))
    project.set("Suivi", 2, "Étape", "Diagnostic")
    project.run(now=NOW + timedelta(days=10))
    assert project.rows("Suivi")[2]["À corriger"] is None, "emptied once fixed"
