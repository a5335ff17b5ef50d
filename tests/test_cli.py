"""The `passerelle` command as a user runs it: a real process, real files, exit codes."""

from __future__ import annotations

import email
import email.policy
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from automations.cli import parser

SCRIPT = shutil.which("passerelle", path=str(Path(sys.executable).parent)) or "passerelle"


def passerelle(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.parent.name != "state"
    }


def test_demo_invites_thirteen_and_puts_four_on_the_waiting_list_then_a_rerun_changes_nothing(tmp_path):
    folder = tmp_path / "demo"
    done = passerelle("demo", str(folder))
    assert done.returncode == 0, done.stderr
    assert "invitation × 13, liste_attente × 4" in done.stdout
    files = sorted((folder / "outbox").glob("*.eml"))
    assert [f.name.split("_")[0] for f in files].count("invitation") == 13
    assert [f.name.split("_")[0] for f in files].count("liste") == 4
    for f in files:
        message = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
        assert message["To"].addresses[0].addr_spec.endswith("@exemple.fr")

    sheet = openpyxl.load_workbook(folder / "passerelle.xlsx")["Orientations"]
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], [dict(zip(rows[0], r, strict=False)) for r in rows[1:]]
    assert {"Session", "Invitation envoyée le", "État"} <= set(header)
    assert len(body) == 17
    assert all(r["État"] for r in body)
    assert sum(1 for r in body if r["Session"] and r["Invitation envoyée le"]) == 13
    assert sum(1 for r in body if r["État"].startswith("Liste d'attente")) == 4

    before = snapshot(folder)
    again = passerelle("run", "--config", str(folder / "passerelle.toml"))
    assert again.returncode == 0, again.stderr
    assert "0 email(s) sent" in again.stdout
    assert snapshot(folder) == before


def test_python_dash_m_is_the_same_command():
    done = subprocess.run([sys.executable, "-m", "automations", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "demo" in done.stdout and "run" in done.stdout


def test_every_command_has_help_text():
    commands = parser()._subparsers._group_actions[0]
    assert {action.dest: bool(action.help) for action in commands._choices_actions} == {
        name: True for name in commands.choices
    }


def test_demo_refuses_a_folder_that_is_not_a_demo(tmp_path):
    (tmp_path / "mine.txt").write_text("précieux")
    done = passerelle("demo", str(tmp_path))
    assert done.returncode == 1
    assert "n'est pas une démo de Passerelle" in done.stderr
    assert (tmp_path / "mine.txt").read_text() == "précieux"


def test_demo_can_be_rebuilt_in_place(tmp_path):
    assert passerelle("demo", str(tmp_path / "d")).returncode == 0
    again = passerelle("demo", str(tmp_path / "d"))
    assert again.returncode == 0, again.stderr
    assert len(list((tmp_path / "d" / "outbox").glob("*.eml"))) == 17


def test_dry_run_prints_who_gets_what_and_which_cells_change(tmp_path):
    assert passerelle("demo", str(tmp_path / "d"), "--now", "2026-11-26T09:00").returncode == 0
    book = openpyxl.load_workbook(tmp_path / "d" / "passerelle.xlsx")
    book["Réunions"]["G2"] = 20  # seven more seats
    book.save(tmp_path / "d" / "passerelle.xlsx")
    before = snapshot(tmp_path / "d")
    done = passerelle(
        "run", "--dry-run", "--now", "2026-11-27T10:00", "--config", str(tmp_path / "d" / "passerelle.toml")
    )
    assert done.returncode == 0, done.stderr
    assert "4 email(s) would be sent (invitation × 4)" in done.stdout
    assert "email invitation → Léa Dubois-Ménard <lea.dubois-menard@exemple.fr>" in done.stdout
    assert "« Session » ← R-20261203" in done.stdout
    assert snapshot(tmp_path / "d") == before


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["run", "--config", "/nonexistent/p.toml"],
            2,
            "Aucun fichier de configuration à /nonexistent/p.toml",
        ),
        (["run", "--now", "demain"], 2, "--now 'demain' n'est pas une date-heure ISO"),
        (["run", "inviter"], 2, "Tâche inconnue « inviter » : choisissez parmi invitations"),
    ],
)
def test_errors_are_one_sentence_and_a_non_zero_exit(tmp_path, args, code, message):
    assert passerelle("demo", str(tmp_path / "d")).returncode == 0
    if "--config" not in args:
        args = [*args, "--config", str(tmp_path / "d" / "passerelle.toml")]
    done = passerelle(*args)
    assert done.returncode == code
    assert message in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_locked_workbook_exits_1_with_what_to_do(tmp_path):
    assert passerelle("demo", str(tmp_path / "d")).returncode == 0
    (tmp_path / "d" / ".~lock.passerelle.xlsx#").write_text("x")
    done = passerelle("run", "--config", str(tmp_path / "d" / "passerelle.toml"))
    assert done.returncode == 1
    assert "est ouvert dans un tableur" in done.stderr and "fermez-le puis relancez" in done.stderr


def test_setup_creates_a_workbook_with_the_sheets_people_fill(tmp_path):
    config = tmp_path / "p.toml"
    config.write_text('[sheets]\nworkbook = "data/book.xlsx"\n')
    done = passerelle("setup", "--config", str(config))
    assert done.returncode == 0, done.stderr
    book = openpyxl.load_workbook(tmp_path / "data" / "book.xlsx")
    assert book.sheetnames == ["Orientations", "Réunions", "Présences", "Suivi", "Historique", "Journal"]
    assert book["Orientations"]["D1"].value == "Email"
    assert book["Orientations"].freeze_panes == "A2"


def test_sigterm_lets_the_email_in_flight_finish_and_the_next_run_goes_on(tmp_path):
    import signal
    import sqlite3
    import time

    from tests.conftest import CONFIG, referral, session, write_sheet

    (tmp_path / "passerelle.toml").write_text(CONFIG, encoding="utf-8")
    book = openpyxl.Workbook()
    write_sheet(book.active, list(referral(0)), [referral(n) for n in range(300)])
    book.active.title = "Orientations"
    write_sheet(book.create_sheet("Réunions"), list(session("x", 0, 0)), [session("A", 7, 300)])
    book.save(tmp_path / "passerelle.xlsx")
    args = ["run", "invitations", "--config", str(tmp_path / "passerelle.toml"), "--now", "2026-11-26T09:00"]
    process = subprocess.Popen([SCRIPT, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list((tmp_path / "outbox").glob("*.eml")) and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "arrêté avant la fin" in stderr and "Traceback" not in stderr
    first = len(list((tmp_path / "outbox").glob("*.eml")))
    assert 0 < first < 300, "stopped mid-batch"
    with sqlite3.connect(tmp_path / "state" / "journal.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM emails WHERE status != 'sent'").fetchone() == (0,)
    sheet = openpyxl.load_workbook(tmp_path / "passerelle.xlsx")["Orientations"]
    rows = list(sheet.iter_rows(values_only=True))
    assert sum(1 for r in rows[1:] if r[rows[0].index("Session")] == "A") == first, "what left is recorded"
    assert passerelle(*args).returncode == 0
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 300


@pytest.mark.parametrize("args", [["run", "--bogus"], ["preview", "nope"], []])
def test_a_command_not_understood_is_said_in_french_with_its_detail(args):
    done = passerelle(*args)
    assert done.returncode == 2
    assert "commande non comprise" in done.stderr and "passerelle --help" in done.stderr
    assert "Traceback" not in done.stderr
