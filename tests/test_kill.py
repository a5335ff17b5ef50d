"""Issue 4's kill test: `passerelle run` killed with SIGKILL at random moments never sends an email
twice, and every invitation either arrived or is reported "à vérifier".

A real `passerelle run` process sends a few hundred invitations to a real SMTP server in this
process (aiosmtpd, STARTTLS + AUTH, certificate from a CA generated here). Each round starts the
command and SIGKILLs it: either at a random time during start-up (reading the workbook, rendering),
or once the server has stored a random number of new messages, plus a random few milliseconds (so
the kill lands anywhere around a message: before it is journaled, mid-DATA, between the server's
250 and the journal's "sent"); the last rounds are killed during the workbook save. Then a last run
finishes, and one more must find nothing to send.

The seed is fixed (``PASSERELLE_KILL_SEED`` picks another); the timing of a real process is not,
so the invariants are asserted, never the exact figures, which are printed (pytest -s).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import openpyxl

from automations.journal import PENDING, SENT, Journal
from tests.conftest import NOW, Project, referral, session
from tests.fakes.smtp_server import PASSWORD, USERNAME, Certificates, FakeSmtpServer
from tests.test_smtp_delivery import PASSWORD_ENV, SCRIPT, USER_ENV, smtp_config

SEED = int(os.environ.get("PASSERELLE_KILL_SEED", "20261126"))
PEOPLE = 250
ROUNDS = 20
SEATS = {"A": 130, "B": 150}
START_UP_SHARE = 0.3
STARTUP_KILL = (0.05, 0.6)
"""Seconds after the start, for the rounds killed before any sending."""
MESSAGES_BEFORE_KILL = (1, 20)
"""New messages the server must store before a round sending emails is killed…"""
JITTER = (0.0, 0.004)
"""…then this many more seconds."""
RANDOM_ROUNDS_BUDGET = 30.0
"""Seconds after which no new start-up or mid-batch round begins (on a loaded machine)."""
SAVING_ROUNDS = 3
SAVING_KILL = (0.0, 0.06)
"""Seconds after the workbook save began (a new temporary file, or the file changing)."""


@dataclass
class Round:
    number: int
    kind: str
    """ "start-up", "mid-batch", "saving" or "finished" (the run ended before the kill)."""
    delivered: int
    seconds: float


def referrals() -> list[dict[str, object]]:
    return [
        referral(
            n, **{"Prénom": f"Zoé-Hélène {n}", "Date d'orientation": date(2026, 10, 1) + timedelta(n % 50)}
        )
        for n in range(PEOPLE)
    ]


def sessions() -> list[dict[str, object]]:
    return [session(name, 7 + i, seats) for i, (name, seats) in enumerate(SEATS.items())]


def kept(rows: list[dict[str, object]], excluded: set[str]) -> list[dict[str, object]]:
    return [row for row in rows if not any(ref in str(row["Référence"]) for ref in excluded)]


def remembered(project: Project, excluded: set[str]) -> list[tuple[str, str, str]]:
    """The journal's memory but what « Synthèse » and « Journal » were written from (they count
    the people « à vérifier »), and what concerns those people."""
    journal = Journal(project.root / "state" / "journal.sqlite3")
    memory = journal.memory()
    journal.close()
    return sorted(
        (namespace, key, value)
        for (namespace, key), value in memory.items()
        if namespace not in ("summary", "journal") and not any(ref in key for ref in excluded)
    )


def assert_valid_workbook(path: Path, why: str) -> None:
    """The atomic save: whatever the moment of the kill, the file is a whole workbook."""
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None, f"{why}: a corrupt member in {path.name}"
    book = openpyxl.load_workbook(path)
    assert book["Orientations"].max_row == PEOPLE + 1, why


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as stream:
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stream)


def saving(workbook: Path, before: tuple[set[str], tuple[int, int]]) -> bool:
    """Whether a save has started since ``before``: a new temporary file, or the file itself changed."""
    temporaries, (mtime, size) = before
    stat = workbook.stat()
    return bool(_temporaries(workbook) - temporaries) or (stat.st_mtime_ns, stat.st_size) != (mtime, size)


def _temporaries(workbook: Path) -> set[str]:
    return {p.name for p in workbook.parent.glob(f".{workbook.stem}-*{workbook.suffix}")}


def _snapshot(workbook: Path) -> tuple[set[str], tuple[int, int]]:
    stat = workbook.stat()
    return _temporaries(workbook), (stat.st_mtime_ns, stat.st_size)


def play_round(
    number: int, mode: str, rng: random.Random, server: FakeSmtpServer, command, env, project: Project
):
    """One run of ``command``, SIGKILLed according to ``mode``:

    - "start-up": after a random time, before any email goes out;
    - "mid-batch": once the server stored a random number of new messages, plus a few ms;
    - "saving": a random moment after the workbook save began (the batch, if any, is over).
    """
    before = len(server.messages)
    workbook = _snapshot(project.workbook)
    log = project.root / f"round-{number}.log"
    began = time.monotonic()
    process = start(command, env, log)
    target = before + rng.randint(*MESSAGES_BEFORE_KILL) if mode == "mid-batch" else PEOPLE + 1
    deadline = began + (rng.uniform(*STARTUP_KILL) if mode == "start-up" else 60)
    while process.poll() is None and time.monotonic() < deadline:
        if len(server.wait_for(target, timeout=0.002)) >= target:
            time.sleep(rng.uniform(*JITTER))
            break
        if mode == "saving" and saving(project.workbook, workbook):
            time.sleep(rng.uniform(*SAVING_KILL))
            break
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    code = process.wait(timeout=30)
    delivered = len(server.messages) - before
    assert code in (0, -signal.SIGKILL), f"round {number} exited {code}: {log.read_text(errors='replace')}"
    kind = mode
    if code == 0:
        kind = "finished"
    elif kind == "start-up" and delivered:
        kind = "mid-batch"  # a fast start-up: the kill came while emails were going out
    return Round(number, kind, delivered, time.monotonic() - began)


def modes(rng: random.Random) -> list[str]:
    """Random start-up and mid-batch kills, then kills during the saves of the last runs."""
    chosen = [
        "start-up" if rng.random() < START_UP_SHARE else "mid-batch" for _ in range(ROUNDS - SAVING_ROUNDS)
    ]
    return [*chosen, *["saving"] * SAVING_ROUNDS]


def test_killing_the_run_at_random_moments_never_sends_an_email_twice(
    tmp_path: Path, smtp_certs: Certificates
):
    rng = random.Random(SEED)
    began = time.monotonic()
    with FakeSmtpServer(smtp_certs) as server:
        project = Project(tmp_path).create(
            referrals(), sessions(), extra_config=smtp_config(server, smtp_certs)
        )
        env = {**os.environ, USER_ENV: USERNAME, PASSWORD_ENV: PASSWORD}
        command = [SCRIPT, "run", "--config", str(project.config_path), "--now", NOW.isoformat()]

        rounds: list[Round] = []
        for number, mode in enumerate(modes(rng), start=1):
            if mode != "saving" and time.monotonic() - began > RANDOM_ROUNDS_BUDGET:
                continue  # a slow machine: fewer random rounds, the test stays within its time
            played = play_round(number, mode, rng, server, command, env, project)
            rounds.append(played)
            assert_valid_workbook(project.workbook, f"after round {number} ({played.kind})")

        before_final = len(server.messages)
        final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert final.returncode == 0, final.stderr
        after_final = len(server.messages)
        final_sent = after_final - before_final
        again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert again.returncode == 0, again.stderr
        assert "invitations: 0 email(s) sent" in again.stdout
        assert len(server.messages) == after_final, "a run after everything was settled sent again"
        messages = list(server.messages)

    kinds = Counter(r.kind for r in rounds)
    rows = project.rows()
    unconfirmed = [r for r in rows if str(r["État"]).startswith("À vérifier")]
    journal = Journal(project.root / "state" / "journal.sqlite3")
    entries = {e.key: e for e in journal.entries()}
    journal.close()
    figures = (
        f"seed {SEED}: {len(rounds)} of {ROUNDS} rounds ({dict(kinds)}), {len(messages)} emails received, "
        f"{len(unconfirmed)} à vérifier, {final_sent} sent by the final run, "
        f"{len(_temporaries(project.workbook))} temporary workbook(s) left by kills, "
        f"{time.monotonic() - began:.1f} s in all"
    )
    print(f"\nkill test: {figures}")
    for r in rounds:
        print(f"  round {r.number:2d}: {r.kind:9s} {r.delivered:3d} delivered in {r.seconds:.2f} s")

    # No address ever received the same email twice.
    by_key = Counter((rcpt, m.message["X-Passerelle-Key"]) for m in messages for rcpt in m.rcpt_tos)
    twice = {k: n for k, n in by_key.items() if n > 1}
    assert not twice, f"{figures}; received more than once: {twice}"
    ids = Counter(m.message["Message-ID"] for m in messages)
    assert max(ids.values()) == 1, figures
    assert {key.split("|")[0] for _, key in by_key} == {"invitation"}, figures

    # Every address received its invitation, or its row says "à vérifier" and the journal agrees.
    got = {rcpt: key for rcpt, key in by_key}
    assert len(rows) == PEOPLE
    for row in rows:
        address, state = str(row["Email"]), str(row["État"])
        if state.startswith("À vérifier"):
            assert state.endswith("vérifiez auprès de la personne si l'email est arrivé"), state
            assert row["Session"] is None, row
            [entry] = [e for e in entries.values() if e.recipient == address]
            assert entry.status == PENDING, (row, entry)
            continue
        assert address in got, f"{figures}; {address} got nothing and is not « à vérifier »: {state!r}"
        key = got[address]
        assert state.startswith("Invité·e à la réunion du"), (row, key)
        assert (row["Référence"], row["Session"]) == tuple(key.split("|")[1:]), (row, key)
        assert row["Invitation envoyée le"] == NOW, row
        assert entries[key].status == SENT, (row, entries[key])

    # The journal never claims more than the server got, and the output names every "à vérifier".
    received_keys = set(got.values())
    assert all(key in received_keys for key, e in entries.items() if e.status == SENT), figures
    assert sum(e.status == PENDING for e in entries.values()) == len(unconfirmed), figures
    assert final.stdout.count("À vérifier") == len(unconfirmed), final.stdout
    # One email in flight at a time: a kill leaves at most one of them unconfirmed.
    assert len(unconfirmed) <= kinds["mid-batch"] + kinds["saving"], figures
    taken = Counter(r["Session"] for r in rows if r["Session"])
    assert all(taken[name] <= seats for name, seats in SEATS.items()), taken

    # Sheets and memory are those of an uninterrupted run, but for the people « à vérifier ».
    (tmp_path / "baseline").mkdir()
    baseline = Project(tmp_path / "baseline").create(referrals(), sessions())
    baseline.run(now=NOW)
    excluded = {str(r["Référence"]) for r in unconfirmed}
    mine, theirs = set(remembered(project, excluded)), set(remembered(baseline, excluded))
    assert mine == theirs, (
        f"{figures}; only here: {sorted(mine - theirs)}; only uninterrupted: {sorted(theirs - mine)}"
    )
    for sheet in ("Orientations", "Présences"):
        assert kept(project.rows(sheet), excluded) == kept(baseline.rows(sheet), excluded), sheet

    # The test proved something: processes really were killed in the middle of their batch.
    assert kinds["mid-batch"] >= 5, figures
    assert kinds["start-up"] >= 3, figures
