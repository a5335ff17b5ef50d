"""A file Passerelle needs is there but cannot be used: the command says so in one French sentence
naming the file and what to do, exits 1 (the configuration is right, the file is the problem), and
never shows a traceback."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import NOW, Project, referral, session
from tests.test_cli import SCRIPT

needs_permissions = pytest.mark.skipif(
    os.geteuid() == 0, reason="root may write anywhere: no permission to refuse"
)


def run(project: Project, command: str = "run") -> subprocess.CompletedProcess:
    return subprocess.run(
        [SCRIPT, command, "--config", str(project.config_path), "--now", NOW.isoformat()],
        capture_output=True,
        text=True,
        timeout=120,
    )


def says_one_sentence(done: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit 1 and a single ``passerelle: …`` line on stderr holding every fragment."""
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("passerelle: ")
    for fragment in fragments:
        assert fragment in line, line


@pytest.fixture
def ready(project: Project) -> Project:
    """A workbook project with one person to invite to one session."""
    return project.create([referral(1)], [session("R", 7, 5)])


# -- the workbook -----------------------------------------------------------------------------


def test_a_csv_renamed_xlsx_is_named_with_how_to_save_it(ready):
    ready.workbook.write_text("Nom,Prénom,Email\nDupont,Alix,alix@exemple.fr\n", encoding="utf-8")
    says_one_sentence(run(ready), str(ready.workbook), "n'est pas au format .xlsx", "Classeur Excel")


def test_a_truncated_workbook_is_named_as_damaged(ready):
    ready.workbook.write_bytes(ready.workbook.read_bytes()[:2000])
    says_one_sentence(run(ready), str(ready.workbook), "est endommagé", "remettez une sauvegarde")


def test_an_empty_workbook_file_is_named_with_what_to_do(ready):
    ready.workbook.write_bytes(b"")
    says_one_sentence(run(ready), str(ready.workbook), "est vide (0 octet)", "passerelle setup")


@needs_permissions
def test_a_workbook_passerelle_may_not_read_is_named(ready):
    ready.workbook.chmod(0o200)
    says_one_sentence(run(ready), str(ready.workbook), "donnez à Passerelle le droit de le lire")


# -- the state folder -------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "setup"])
def test_a_file_where_the_state_folder_should_be_is_named(ready, command):
    (ready.root / "state").write_text("pas un dossier")
    done = subprocess.run(
        [SCRIPT, command, "--config", str(ready.config_path)], capture_output=True, text=True, timeout=120
    )
    says_one_sentence(done, f"Le dossier d'état {ready.root / 'state'} est un fichier", "state_dir")
    assert ready.emails() == []


# -- the outbox -------------------------------------------------------------------------------


def test_a_file_where_the_outbox_should_be_stops_before_any_email_and_the_next_run_sends_it(ready):
    ready.outbox.write_text("pas un dossier")
    says_one_sentence(run(ready), f"Le dossier d'envoi {ready.outbox} (mail.outbox)", "donnez à Passerelle")
    ready.outbox.unlink()
    assert run(ready).returncode == 0
    assert len(ready.emails()) == 1, "the email was due again, not left « À vérifier »"


@needs_permissions
def test_an_outbox_passerelle_may_not_write_in_stops_the_run(ready):
    ready.outbox.mkdir()
    ready.outbox.chmod(0o500)
    says_one_sentence(run(ready), f"Le dossier d'envoi {ready.outbox}", "Permission denied")


# -- the Google key file ----------------------------------------------------------------------


def google_project(root: Path, key: Path) -> Project:
    project = Project(root)
    project.config_path.write_text(
        '[sheets]\nbackend = "google"\n[sheets.google]\nspreadsheet = "abc"\n'
        f"credentials_file = {json.dumps(str(key))}\n",
        encoding="utf-8",
    )
    return project


def test_a_google_key_path_that_is_a_folder_exits_1(tmp_path):
    key = tmp_path / "cle.json"
    key.mkdir()
    says_one_sentence(run(google_project(tmp_path, key)), f"{key} est un dossier, pas un fichier de clé")


def test_a_google_key_whose_json_is_a_list_exits_1(tmp_path):
    key = tmp_path / "cle.json"
    key.write_text("[1, 2]", encoding="utf-8")
    says_one_sentence(
        run(google_project(tmp_path, key)),
        f"{key} n'est pas une clé de compte de service Google (le JSON n'est pas un objet)",
    )
