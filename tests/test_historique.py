"""« Historique », the dated journey (PRODUCT.md §2): every change Passerelle sees in a staff column
of « Présences » or « Suivi » is appended, dated, with what was there before; staff typing over a
stage or a date never loses it. Never a row twice: not on a re-run, not after the memory of what
was seen is lost (a crash between the sheet write and the journal's commit)."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

import pytest

from automations import config as config_module
from automations.jobs.historique import readable, remembered_staff
from automations.purge import purge
from tests.conftest import NOW, Project, referral, session

pytestmark = pytest.mark.backends("workbook", "google")
AFTER = NOW + timedelta(days=8)


def history(project: Project) -> list[tuple]:
    return [
        (r["Date"], r["Référence"], r["Colonne"], r["Avant"], r["Après"]) for r in project.rows("Historique")
    ]


def came(project: Project) -> str:
    """One person referred, invited, marked present: their « Suivi » row exists; their Référence."""
    project.create([referral(1)], [session("A", 7, 5)])
    project.run()
    project.set("Présences", 0, "Présence", "Présent·e")
    project.run(now=AFTER)
    return project.rows()[0]["Référence"]


def test_a_stage_and_a_date_typed_over_are_both_kept_dated(project):
    person = came(project)
    project.set("Suivi", 0, "Étape", "CAPE signé")
    project.set("Suivi", 0, "Date CAPE", date(2026, 12, 10))
    first = AFTER + timedelta(days=1)
    project.run(now=first)
    project.set("Suivi", 0, "Étape", "CESA signé")
    project.set("Suivi", 0, "Date CAPE", date(2027, 3, 15))  # the CESA date typed in the wrong column
    second = AFTER + timedelta(days=100)
    project.run(now=second)
    project.run(now=second + timedelta(hours=1))  # nothing new: nothing appended
    assert history(project) == [
        (AFTER, person, "Présence (réunion A)", None, "Présent·e"),
        (first, person, "Étape", None, "CAPE signé"),
        (first, person, "Date CAPE", None, "10/12/2026"),
        (second, person, "Étape", "CAPE signé", "CESA signé"),
        (second, person, "Date CAPE", "10/12/2026", "15/03/2027"),
    ]
    [row] = project.rows("Suivi")
    assert row["Mis à jour le"] == second and row["Étape"] == "CESA signé"
    journeys = [r[7] for r in project.grid("Synthèse") if r and r[0] == person]
    assert journeys == ["CAPE 15/03/2027 (d'abord 10/12/2026) · CESA (date non renseignée)"], "both dates"


def test_a_presence_corrected_is_kept_and_each_session_is_its_own_column(project):
    project.create([referral(1)], [session("A", 7, 5)])
    project.run()
    project.set("Présences", 0, "Présence", "Présent·e")
    project.run(now=NOW + timedelta(days=1))
    project.set("Présences", 0, "Présence", "Absent·e")
    project.run(now=NOW + timedelta(days=2))
    person = project.rows()[0]["Référence"]
    assert [h[1:] for h in history(project)] == [
        (person, "Présence (réunion A)", None, "Présent·e"),
        (person, "Présence (réunion A)", "Présent·e", "Absent·e"),
    ]


def test_a_lost_memory_never_doubles_a_row(project):
    """The rows landed, then the run died before the journal remembered them: the next run finds
    them in the sheet and writes nothing again (only what is really new)."""
    came(project)
    project.set("Suivi", 0, "Étape", "Diagnostic")
    project.run(now=AFTER + timedelta(days=1))
    before = history(project)
    journal = sqlite3.connect(project.root / "state" / "journal.sqlite3")
    with journal:
        journal.execute("DELETE FROM memory WHERE namespace LIKE 'suivi%'")
    journal.close()
    project.run("suivi", now=AFTER + timedelta(days=2))
    assert history(project) == before
    project.set("Suivi", 0, "Accompagnateur·rice", "Karim Benhamou")
    project.run("suivi", now=AFTER + timedelta(days=3))
    assert history(project)[len(before) :] == [
        (AFTER + timedelta(days=3), before[0][1], "Accompagnateur·rice", None, "Karim Benhamou")
    ]


def test_a_dry_run_shows_the_rows_and_appends_none(project):
    came(project)
    project.set("Suivi", 0, "Étape", "Diagnostic")
    before = project.snapshot()
    [suivi] = [o for o in project.run(now=AFTER + timedelta(days=1), dry_run=True) if o.job == "suivi"]
    assert [a.values["Colonne"] for a in suivi.appended if a.sheet == "Historique"] == ["Étape"]
    assert project.snapshot() == before


def test_values_read_the_same_whoever_wrote_them():
    assert readable("date_cape", "46366") == "10/12/2026", "Google's serial number"
    assert readable("date_cape", "10/12/2026") == "10/12/2026"
    assert readable("commentaire", "46366") == "46366", "a number in free text stays a number"
    assert remembered_staff(None)["etape"] == ""
    assert remembered_staff('["Diagnostic"]')["etape"] == "Diagnostic", "a shorter list from an older version"


def test_a_purge_erases_the_comments_historique_kept_and_nothing_comes_back(project):
    person = came(project)
    project.set("Suivi", 0, "Étape", "Diagnostic")
    project.set("Suivi", 0, "Commentaire", "Rencontrée chez elle, 12 rue des Lilas")
    project.run(now=AFTER + timedelta(days=1))
    config = config_module.load(project.config_path)
    later = AFTER + timedelta(days=800)
    purge(config, later, "24m", dry_run=False, store=project.sheets.store(config))
    project.run(now=later + timedelta(hours=1))
    kept = [h[1:] for h in history(project) if h[1] == person]
    assert ("Commentaire", None, None) in [h[1:] for h in kept]
    assert ("Étape", None, "Diagnostic") in [h[1:] for h in kept], "stages stay, for the counts"
    assert not any("Lilas" in str(cell) for row in project.grid("Historique") for cell in row)
