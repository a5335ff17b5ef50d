"""Two `passerelle run` started at the same instant on one folder: exactly one runs, the other says
so in one sentence and exits 3, and every email leaves once."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta

import pytest

from automations import config as config_module
from automations import runner
from tests.conftest import NOW, referral, session

SEEKERS = 40
# Imports done, each process says it is ready, waits for the same "go" file, then runs the real
# command's main(): the race starts within a millisecond, far less than the time a run holds the lock.
LAUNCHER = """\
import pathlib, sys, time
from automations.cli import main
ready, go = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
ready.touch()
while not go.exists():
    time.sleep(0.0005)
sys.exit(main(sys.argv[3:]))
"""


def race(project, tmp_path) -> list[tuple[int, str, str]]:
    """Start two `passerelle run invitations` at the same instant; (exit code, stdout, stderr) each."""
    go, ready = tmp_path / "go", [tmp_path / "ready-1", tmp_path / "ready-2"]
    arguments = ["run", "invitations", "--now", "2026-11-26T09:00", "--config", str(project.config_path)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(flag), str(go), *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for flag in ready
    ]
    deadline = time.monotonic() + 60
    while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    return [(p.returncode, out, err) for p in processes for out, err in [p.communicate(timeout=120)]]


def create(project) -> None:
    referred = [
        referral(n, **{"Date d'orientation": date(2026, 1, 1) + timedelta(days=n)}) for n in range(SEEKERS)
    ]
    project.create(referred, [session("A", 7, 25), session("B", 14, 10)])


@pytest.mark.parametrize("folder", ["fresh", "used"])
def test_two_runs_started_at_once_one_runs_the_other_exits_3_and_each_email_goes_once(
    project, tmp_path, folder
):
    create(project)
    if folder == "used":
        project.run("invitations", dry_run=True)  # the state folder and its secret exist already
    done = race(project, tmp_path)

    assert sorted(code for code, _, _ in done) == [0, 3], done
    [(_, out, _)] = [d for d in done if d[0] == 0]
    [(_, _, refused)] = [d for d in done if d[0] == 3]
    assert refused.startswith("passerelle: Une autre exécution de Passerelle utilise ")
    assert refused.count("\n") == 1, "one sentence, no traceback"
    assert f"invitations: {SEEKERS} email(s) sent (invitation × 35, liste_attente × 5)" in out

    recipients = Counter(m["To"].addresses[0].addr_spec for m in project.emails())
    assert len(recipients) == SEEKERS and set(recipients.values()) == {1}

    again = runner.run(config_module.load(project.config_path), ["invitations"], NOW)
    assert [len(outcome.sent) for outcome in again] == [0]
