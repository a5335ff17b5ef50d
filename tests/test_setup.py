"""`passerelle setup` on sheets people made: a tab added by hand with nothing in row 1 gets its
headers, and the command says which sheets it created and which it completed."""

from __future__ import annotations

import subprocess

import openpyxl
import pytest

from automations import config as config_module
from automations import runner
from automations.cli import setup_report
from automations.schema import HISTORIQUE, JOURNAL, PRESENCES, REUNIONS, SUIVI
from tests.conftest import Project, referral, session
from tests.test_cli import SCRIPT

pytestmark = pytest.mark.backends("workbook", "google")


def setup(project: Project) -> str:
    """What `passerelle setup` prints, run against the project's sheets."""
    config = config_module.load(project.config_path)
    return setup_report(runner.setup(config, store=project.sheets.store(config)))


def test_an_empty_tab_gets_its_header_row_and_setup_says_so(project):
    project.create([referral(1)], [session("R", 7, 5)])
    project.add_sheet(JOURNAL.name, [])
    said = setup(project)
    assert said == (
        f"Feuilles créées avec leurs en-têtes : « {PRESENCES.name} », « {SUIVI.name} », "
        f"« {HISTORIQUE.name} ».\n"
        f"En-têtes écrits en ligne 1 des feuilles qui étaient vides : « {JOURNAL.name} »."
    )
    assert project.headers(JOURNAL.name) == list(JOURNAL.layout().headers)
    assert project.headers(SUIVI.name) == list(SUIVI.layout().headers)
    assert project.rows() and project.rows()[0]["Nom"] == "Nom01", "sheets with headers are left alone"


def test_a_tab_with_rows_but_an_empty_row_1_gets_headers_above_its_rows(project):
    project.create([referral(1)], [session("R", 7, 5)])
    project.add_sheet(JOURNAL.name, [[None], ["gardé"]])
    setup(project)
    assert project.grid(JOURNAL.name)[0][: len(JOURNAL.layout().headers)] == list(JOURNAL.layout().headers)
    assert project.grid(JOURNAL.name)[1][0] == "gardé"


def test_a_second_setup_has_nothing_to_do_and_says_so(project):
    project.create([referral(1)], [session("R", 7, 5)])
    setup(project)
    before = project.snapshot()
    assert setup(project) == "Toutes les feuilles existaient déjà avec leurs en-têtes : rien à créer."
    assert project.snapshot() == before


def test_the_command_completes_an_empty_workbook_tab(workbook_project):
    workbook_project.create([referral(1)], [session("R", 7, 5)])
    book = openpyxl.load_workbook(workbook_project.workbook)
    del book[REUNIONS.name]
    book.create_sheet(REUNIONS.name)
    book.save(workbook_project.workbook)
    done = subprocess.run(
        [SCRIPT, "setup", "--config", str(workbook_project.config_path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert f"En-têtes écrits en ligne 1 des feuilles qui étaient vides : « {REUNIONS.name} »." in done.stdout
    sheet = openpyxl.load_workbook(workbook_project.workbook)[REUNIONS.name]
    assert [c.value for c in sheet[1]] == list(REUNIONS.layout().headers)
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A2"
