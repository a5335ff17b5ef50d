"""« Présences » and « Suivi », the cooperative's working sheets (PRODUCT.md §2-§3): every invitee
has a row to mark, consent or not; a cancelled session is marked and never chased; a moved one
shows its new date; rows staff type by hand are matched to their person or reported, never
ignored; « Suivi » holds one row per person who came."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from automations import config as config_module
from automations.check import check
from tests.conftest import NOW, referral, session
from tests.test_loop_jobs import kinds

pytestmark = pytest.mark.backends("workbook", "google")
AFTER = NOW + timedelta(days=8)


def problems(outcomes) -> list[str]:
    return [str(p) for o in outcomes for p in o.problems]


def test_a_cancelled_sessions_rows_say_so_and_nobody_is_chased_or_thanked(project):
    project.create([referral(1), referral(2)], [session("A", 7, 5)])
    project.run()
    project.set("Présences", 0, "Présence", "Présent·e")  # typed before the cancellation was known
    project.set("Réunions", 0, "Annulée", "Oui")
    before = {p.name for p in project.outbox.glob("*.eml")}
    project.run(now=NOW + timedelta(days=1))
    project.run(now=AFTER)
    project.run(now=AFTER + timedelta(days=5))
    assert [r["État"] for r in project.rows("Présences")] == ["Réunion annulée"] * 2
    sent = {kind for kind, _ in kinds(project, before)}
    assert sent == {"annulation", "alerte_attente"}, "no thanks, no reminder to mark presence"
    assert project.sheets.grid("Suivi") is None, "nobody came to a session that never took place"


def test_who_said_non_is_marked_not_expected_and_left_out_of_the_staff_reminder(project):
    project.create([referral(1), referral(2)], [session("A", 7, 5)])
    project.run()
    project.set("Orientations", 1, "Réponse", "Non")
    project.run(now=NOW + timedelta(hours=1))
    project.run(now=AFTER + timedelta(days=2))
    states = {r["Nom"]: r["État"] for r in project.rows("Présences")}
    assert states == {"Nom01": None, "Nom02": "A répondu Non : pas attendu·e"}
    [reminder] = [e for e in project.emails() if "Présences à compléter" in e["Subject"]]
    body = reminder.get_body(("plain",)).get_content()
    assert "Prénom01 Nom01" in body and "Nom02" not in body


def test_a_moved_session_shows_its_new_date_in_presences(project):
    project.create([referral(1)], [session("A", 7, 5)])
    project.run()
    project.set("Réunions", 0, "Date", (NOW + timedelta(days=9)).date())
    project.run(now=NOW + timedelta(days=1))
    [row] = project.rows("Présences")
    assert row["Date"] == datetime.combine((NOW + timedelta(days=9)).date(), time())


def test_a_present_person_without_consent_is_thanked_and_followed_by_the_cooperative(project):
    project.create([referral(1, **{"Accord de partage": "Non"})], [session("A", 7, 5)])
    project.run()
    project.set("Présences", 0, "Présence", "Présent·e")
    project.run(now=AFTER)
    assert ("suite_presence", "personne01@exemple.fr") in kinds(project)
    [row] = project.rows("Suivi")
    assert (row["Nom"], row["Prénom"]) == ("Nom01", "Prénom01")
    assert row["Première réunion"] == datetime.combine((NOW + timedelta(days=7)).date(), time())
    assert project.rows("Présences")[0]["État"] == f"Suite envoyée le {AFTER:%d/%m/%Y}"


def test_a_row_staff_type_in_presences_is_matched_by_name_or_reported(project):
    project.create([referral(1), referral(2)], [session("A", 7, 5)])
    project.run()
    project.insert_rows("Orientations", 2, [referral(3)])  # referred after the session was held
    project.insert_rows(
        "Présences",
        2,
        [
            {"Nom": "NOM03", "Prénom": "prénom03 ", "Session": "A", "Présence": "Présent·e"},
            {"Nom": "Inconnu", "Prénom": "Paul", "Session": "A", "Présence": "Présent·e"},
        ],
    )
    outcomes = project.run(now=AFTER)
    *_, matched, unknown = project.rows("Présences")
    reference = project.rows()[2]["Référence"]
    assert matched["Référence"] == f"{reference} / A" and matched["État"] is None
    assert unknown["Référence"] is None
    assert unknown["État"].startswith("Personne introuvable dans « Orientations »")
    assert any("« Présences », ligne 5 : Personne introuvable" in p for p in problems(outcomes)), problems(
        outcomes
    )
    project.run(now=AFTER + timedelta(hours=1))
    assert [r["Nom"] for r in project.rows("Suivi")] == ["Nom03"], "the walk-in came"


def test_a_row_staff_type_in_suivi_is_matched_by_name_or_said_to_be_fixed(project):
    project.create([referral(1), referral(2)], [session("A", 7, 5)])
    project.run()
    project.set("Présences", 0, "Présence", "Présent·e")
    project.run(now=AFTER)
    project.insert_rows(
        "Suivi",
        1,
        [
            {"Nom": "Nom02", "Prénom": "Prénom02", "Étape": "Diagnostic"},
            {"Nom": "Nom01", "Prénom": "Prénom01", "Étape": "CAPE signé"},
            {"Nom": "Personne", "Prénom": "Inconnue", "Étape": "Diagnostic"},
        ],
    )
    project.run(now=AFTER + timedelta(hours=1))
    first, second, twice, unknown = project.rows("Suivi")
    people = {r["Nom"]: r["Référence"] for r in project.rows()}
    assert second["Référence"] == people["Nom02"] and second["À corriger"] is None
    assert twice["Référence"] is None and twice["À corriger"].startswith(
        "Cette personne a déjà sa ligne (ligne 2)"
    )
    assert unknown["À corriger"].startswith("Personne introuvable dans « Orientations »")
    assert first["Étape"] is None, "the staff's columns are never written"


def test_check_says_which_session_still_has_presences_to_mark(project):
    project.create([referral(1), referral(2)], [session("A", 7, 5)])
    project.run()
    project.set("Présences", 0, "Présence", "Présent·e")
    config = config_module.load(project.config_path)
    report = check(config, AFTER + timedelta(days=2), project.sheets.store(config))
    assert report.to_do.cooperative == [
        "Réunion du jeudi 3 décembre : la présence de 1 personne n'est pas notée dans « Présences » "
        "(Présent·e, Absent·e ou Excusé·e)."
    ]


def test_absent_at_the_last_session_waits_quietly_then_gets_a_real_invitation_to_the_next(project):
    project.create([referral(1)], [session("A", 7, 5)])
    project.run()
    project.set("Présences", 0, "Présence", "Absent·e")
    project.run(now=AFTER)
    assert kinds(project)[-1] == ("relance_absent", "personne01@exemple.fr")
    [row] = project.rows()
    assert row["Session"] is None and row["État"].startswith("Absent·e le jeudi 3 décembre : sera invité·e")
    snapshot = project.snapshot()
    for hours in (1, 2, 26):
        project.run(now=AFTER + timedelta(hours=hours))
    assert project.snapshot() == snapshot, "no Session or État going back and forth"
    project.insert_rows("Réunions", 1, [session("B", 20, 5)])
    before = {p.name for p in project.outbox.glob("*.eml")}
    project.run(now=AFTER + timedelta(days=2))
    assert kinds(project, before) == [("invitation", "personne01@exemple.fr")]
    [invitation] = [
        e for e in project.emails() if "invitation" in e["X-Passerelle-Key"] and "|B" in e["X-Passerelle-Key"]
    ]
    assert any(part.get_content_type() == "text/calendar" for part in invitation.walk())
