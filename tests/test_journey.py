"""Nobody falls out of the loop, nothing is sent twice (issue « Nobody falls out of the loop »),
the parts built so far: header matching that never takes another column for one of Passerelle's,
sessions that stay offered despite a typo in an optional column and are never offered twice under
one Référence, duplicates told they are duplicates and counted once, invitations that never wait."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import NOW, ORIENTATIONS, referral, session
from tests.test_loop_jobs import kinds

pytestmark = pytest.mark.backends("workbook", "google")


def test_a_column_etat_civil_is_never_taken_for_etat(project):
    headers = [*ORIENTATIONS.columns.values(), "État-civil", "Nom-Prénom"]
    people = [referral(n, **{"État-civil": "célibataire", "Nom-Prénom": f"X{n}"}) for n in range(3)]
    project.create(people, [session("A", 7, 5)], orientation_headers=headers)
    project.run()
    rows = project.rows()
    assert [r["État-civil"] for r in rows] == ["célibataire"] * 3
    assert [r["Nom-Prénom"] for r in rows] == ["X0", "X1", "X2"]
    assert all(r["État"].startswith("Invité·e") for r in rows)


def test_a_typo_in_the_contact_column_reports_it_and_still_offers_the_session(project):
    project.create([referral(n) for n in range(3)], [session("A", 7, 13, **{"Email contact": "camille@"})])
    outcomes = project.run()
    assert kinds(project) == [("invitation", f"personne{n:02d}@exemple.fr") for n in range(3)]
    problems = [str(p) for o in outcomes for p in o.problems]
    assert any("Email contact" in p and "la réunion reste proposée" in p for p in problems), problems
    [invitation, *_] = project.emails()
    assert invitation["Reply-To"] == "accueil@ouvre-boites.example"


def test_a_session_row_copied_with_its_reference_is_reported_and_never_announced_twice(project):
    project.create([referral(n) for n in range(2)], [session("A", 7, 5)])
    project.run()
    project.insert_rows("Réunions", 1, [session("A", 14, 5)])  # copied to make the next session
    before = {p.name for p in project.outbox.glob("*.eml")}
    for hours in range(4):
        outcomes = project.run(now=NOW + timedelta(days=1, hours=hours))
    assert kinds(project, before) == [], "no « modification » flip-flop between the two dates"
    problems = [str(p) for o in outcomes for p in o.problems]
    assert sum("« A » est sur plusieurs lignes (2, 3)" in p for p in problems) == 2, problems
    project.set("Réunions", 1, "Référence", "B")
    project.insert_rows("Orientations", 2, [referral(5)])
    project.run(now=NOW + timedelta(days=2))
    assert kinds(project, before) == [("invitation", "personne05@exemple.fr")]


def test_identical_rows_invite_one_person_and_tell_the_other_row_it_is_a_duplicate(project):
    project.create([referral(1), referral(1), referral(2)], [session("A", 7, 5)])
    project.run()
    project.run(now=NOW + timedelta(minutes=15))
    rows = project.rows()
    assert kinds(project) == [
        ("invitation", "personne01@exemple.fr"),
        ("invitation", "personne02@exemple.fr"),
    ]
    assert rows[0]["État"].startswith("Invité·e") and rows[0]["Référence"]
    assert rows[1]["État"] == "Doublon de la ligne 2 (même Référence)"
    summary = {row[0]: row[1] for row in project.grid("Synthèse") if row and len(row) > 1}
    assert summary["Orienté·es"] == 2, "a person is counted once"


def test_a_waiting_person_is_invited_the_day_a_seat_opens(project):
    project.create([referral(1), referral(2)], [session("A", 7, 1)])
    project.run()
    project.set("Orientations", 0, "Réponse", "Non")
    project.run(now=NOW + timedelta(hours=2))
    project.run(now=NOW + timedelta(hours=2, minutes=15))
    assert ("invitation", "personne02@exemple.fr") in kinds(project)


def test_cloturer_closes_the_referral_frees_the_seat_and_no_email_follows(project):
    project.create([referral(1), referral(2)], [session("A", 3, 1)])
    project.run()
    project.set("Orientations", 0, "Action", "Clôturer")
    project.run(now=NOW + timedelta(hours=1))
    project.run(now=NOW + timedelta(hours=1, minutes=15))
    before = {p.name for p in project.outbox.glob("*.eml")}
    project.run(now=NOW + timedelta(days=1, hours=1))  # the reminders' day
    rows = project.rows()
    assert rows[0]["Session"] is None
    assert rows[0]["État"].startswith("Clôturé·e par son·sa conseiller·ère : orientation close le 26/11/2026")
    assert rows[1]["Session"] == "A", "the seat went to the waiting list"
    assert kinds(project, before) == [("rappel", "personne02@exemple.fr")]


@pytest.mark.parametrize("change", ["moved", "cancelled"])
def test_cloturer_set_as_the_session_changes_closes_without_telling_of_the_change(project, change):
    project.create([referral(1)], [session("A", 7, 5)])
    project.run()
    project.set("Réunions", 0, *(("Heure de début", "15:30") if change == "moved" else ("Annulée", "Oui")))
    project.set("Orientations", 0, "Action", "Clôturer")
    before = {p.name for p in project.outbox.glob("*.eml")}
    project.run(now=NOW + timedelta(hours=1))
    project.run(now=NOW + timedelta(hours=1, minutes=15))
    assert kinds(project, before) == []
    assert project.rows()[0]["État"].startswith("Clôturé·e par son·sa conseiller·ère")


def test_after_reinviter_an_earlier_invitation_is_never_taken_back_nor_its_session_offered(project):
    """Found by the property test: the run after « Réinviter » took the invitation to the session
    the person had given up (its seat since given to another) for one the sheet had lost."""
    project.create([referral(1), referral(2)], [session("A", 7, 1)])
    project.run()
    project.set("Orientations", 0, "Réponse", "Plus intéressé·e")
    project.run(now=NOW + timedelta(hours=1))
    assert project.rows()[1]["Session"] == "A", "the seat went to the next person"
    project.set("Orientations", 0, "Action", "Réinviter")
    for later in (2, 3, 26):
        project.run(now=NOW + timedelta(hours=later))
        assert project.rows()[0]["Session"] is None
        assert project.rows()[0]["État"].startswith(("Réinvitation demandée", "Liste d'attente"))
    project.insert_rows("Réunions", 1, [session("B", 14, 5)])
    project.run(now=NOW + timedelta(days=2))
    assert project.rows()[0]["Session"] == "B"
    assert kinds(project).count(("invitation", "personne01@exemple.fr")) == 2


def test_two_declines_ask_the_advisor_to_recontact_and_reinviter_starts_again(project):
    sessions = [session("A", 7, 5), session("B", 14, 5), session("C", 21, 5)]
    project.create([referral(1)], sessions)
    project.run()
    for day, declined in ((1, "A"), (2, "B")):
        assert project.rows()[0]["Session"] == declined
        project.set("Orientations", 0, "Réponse", "Non, pas à cette date")
        project.run(now=NOW + timedelta(days=day))
    row = project.rows()[0]
    assert row["Session"] is None and row["État"].startswith("A décliné ou manqué deux réunions")
    project.run(now=NOW + timedelta(days=3))
    assert project.rows()[0]["Session"] is None, "nobody re-invites them but their advisor"
    project.set("Orientations", 0, "Action", "Réinviter")
    project.run(now=NOW + timedelta(days=4))
    assert project.rows()[0]["Session"] == "C", "the next session with a seat they were not invited to"
    assert [k for k, _ in kinds(project)].count("invitation") == 3


def test_renvoyer_sends_again_an_email_left_a_verifier(project, tmp_path):
    from automations.journal import PENDING, Handover, Journal

    project.create([referral(1)], [session("A", 7, 5)])
    journal = Journal(project.root / "state" / "journal.sqlite3")
    left = Handover("invitation|OR-X|A", "invitation", "OR-X", "A", "personne01@exemple.fr")
    journal.pending([left], NOW, durable=True, provable=False)  # handed to an SMTP server
    journal.close()
    project.set("Orientations", 0, "Référence", "OR-X")
    project.run()
    assert project.rows()[0]["État"].startswith("À vérifier")
    assert kinds(project) == []
    project.set("Orientations", 0, "Action", "Renvoyer")
    project.run(now=NOW + timedelta(hours=1))
    assert project.rows()[0]["État"].startswith("Renvoi demandé")
    project.run(now=NOW + timedelta(hours=1, minutes=15))
    assert kinds(project) == [("invitation", "personne01@exemple.fr")]
    journal = Journal(project.root / "state" / "journal.sqlite3")
    assert journal.entry("invitation|OR-X|A").status != PENDING
    journal.close()


def test_the_cooperative_hears_once_a_week_when_people_wait_with_no_seat_anywhere(project):
    project.create([referral(1), referral(2), referral(3)], [session("A", 7, 1)])
    project.run()
    before = {p.name for p in project.outbox.glob("*.eml")}
    project.run("alerts", now=NOW + timedelta(days=6))
    assert kinds(project, before) == [], "not yet a week"
    for days in (8, 9, 10):
        project.run("alerts", now=NOW + timedelta(days=days))
    assert kinds(project, before) == [("alerte_attente", "accueil@ouvre-boites.example")]
    [alert] = [m for m in project.emails() if "alerte_attente" in str(m["X-Passerelle-Key"])]
    body = alert.get_body(("plain",)).get_content()
    assert "Prénom02 Nom02 (en attente depuis le 26/11/2026)" in body and "Prénom03 Nom03" in body
    project.insert_rows("Réunions", 1, [session("B", 20, 5)])
    project.run(now=NOW + timedelta(days=15))
    assert ("alerte_attente", "accueil@ouvre-boites.example") not in kinds(
        project, before | {alert_file(project)}
    )


def alert_file(project) -> str:
    return next(p.name for p in project.outbox.glob("alerte_attente*.eml"))


def test_after_two_absences_the_advisor_is_asked_to_recontact(project):
    project.create([referral(1)], [session("A", 3, 5), session("B", 10, 5)])
    project.run()
    for day, missed in ((4, "A"), (11, "B")):
        project.run(now=NOW + timedelta(days=day))  # the « Présences » row of the session exists
        marks = project.rows("Présences")
        index = next(i for i, row in enumerate(marks) if str(row["Référence"]).endswith(missed))
        project.set("Présences", index, "Présence", "Absent·e")
        project.run("presences", now=NOW + timedelta(days=day, hours=1))
    row = project.rows()[0]
    assert row["Session"] is None and row["État"].startswith("A décliné ou manqué deux réunions")
    assert [k for k, _ in kinds(project)].count("relance_absent") == 1, "one new date after the first absence"


def test_a_typo_in_action_is_reported_and_the_journey_goes_on(project):
    project.create([referral(1)], [session("A", 3, 5)])
    project.run()
    project.set("Orientations", 0, "Action", "Relancer")
    outcomes = project.run(now=NOW + timedelta(days=1))
    problems = [str(p) for o in outcomes for p in o.problems]
    assert any("Action" in p and "Relancer" in p for p in problems), problems
    assert ("rappel", "personne01@exemple.fr") in kinds(project), "the reminder still goes"


def test_a_row_whose_reference_was_erased_and_name_corrected_stays_the_person_already_invited(project):
    project.create([referral(1, Nom="Duponf")], [session("A", 7, 5)])
    project.run()
    reference = project.rows()[0]["Référence"]
    project.set("Orientations", 0, "Référence", None)
    project.set("Orientations", 0, "Session", None)
    project.set("Orientations", 0, "Nom", "Dupont")
    project.run(now=NOW + timedelta(days=1))
    row = project.rows()[0]
    assert kinds(project) == [("invitation", "personne01@exemple.fr")], "never invited twice"
    assert (row["Référence"], row["Session"]) == (reference, "A")
