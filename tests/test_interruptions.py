"""One run, one truth: whatever instant a run is stopped at (killed, a sheet write refused, the
SMTP server gone), running again until idle leaves every cell of every sheet, the send journal
and the emails delivered exactly as an uninterrupted run would have, up to the people honestly
reported « À vérifier » (an email that may or may not have left). Nothing is ever sent twice.

Each case interrupts one run of a two-step story at one of its effect boundaries (see
tests/faults.py), on both sheet backends; every boundary of the uninterrupted run is tried.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import timedelta

import pytest

from automations.errors import PasserelleError
from automations.journal import Journal
from automations.mail.outbox import OutboxTransport
from tests.conftest import NOW, Project, referral, session
from tests.faults import FaultyJournal, FaultyStore, FaultyTransport, Fuse, Killed

pytestmark = pytest.mark.backends("workbook", "google")

LATER = NOW + timedelta(days=1)
COMPARED = ("Orientations", "Réunions", "Présences", "Synthèse")
"""« Journal » is the log of runs: an interrupted run is honestly one more line there."""


def create(project: Project) -> None:
    people = [referral(n) for n in range(5)]
    people[4]["Accord de partage"] = "Non"
    project.create(people, [session("A", 7, 3), session("B", 14, 1)])


def edit(project: Project) -> None:
    """The next day: the cooperative moves session A, an advisor types Non for the first person."""
    project.set("Réunions", 0, "Heure de début", "15:30")
    project.set("Orientations", 0, "Réponse", "Non")


STEPS = ((NOW, None), (LATER, edit))


class Play:
    """The story played on one project, every run through the faulty components."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.fuse = Fuse()
        self.transport = FaultyTransport(OutboxTransport(project.outbox), self.fuse)
        self.unconfirmed: set[str] = set()

    def run(self, now, fuse: Fuse | None = None) -> None:
        self.fuse = fuse or Fuse()
        self.transport.fuse = self.fuse
        journal = Journal(self.project.root / "state" / "journal.sqlite3")
        try:
            self.project.run(
                now=now,
                transport=self.transport,
                wrap=lambda store: FaultyStore(store, self.fuse),
                journal=FaultyJournal(journal, self.fuse),
            )
        except (Killed, PasserelleError):
            pass
        finally:
            journal.close()
        self.unconfirmed |= {
            str(r["Référence"]) for r in self.project.rows() if str(r["État"] or "").startswith("À vérifier")
        }

    def until_idle(self, now) -> None:
        for _ in range(2):
            self.run(now)

    def story(self, interrupted: int | None = None, fuse: Fuse | None = None) -> None:
        for number, (now, act) in enumerate(STEPS):
            if act:
                act(self.project)
            if number == interrupted:
                self.run(now, fuse)
            self.until_idle(now)

    def state(self, excluded: set[str]) -> dict[str, object]:
        def kept(text: object) -> bool:
            return not any(reference in str(text) for reference in excluded)

        sheets = {
            name: [row for row in self.project.rows(name) if kept(row.get("Référence"))]
            for name in COMPARED
            if name != "Synthèse" or not excluded
        }
        with sqlite3.connect(self.project.root / "state" / "journal.sqlite3") as db:
            emails = sorted(db.execute("SELECT key, kind, recipient, status FROM emails"))
            memory = sorted(
                db.execute("SELECT namespace, key, value FROM memory WHERE namespace != 'journal'")
            )
        if excluded:  # « Synthèse » counts them: what it was written from differs too
            memory = [m for m in memory if m[0] != "summary"]
        return {
            "sheets": sheets,
            "journal": [e for e in emails if kept(e[0])],
            "memory": [m for m in memory if kept(m[1])],
            "delivered": sorted({d for d in self.transport.taken if kept(d[0])}),
        }


def boundaries(project: Project, step: int, mode: str) -> int:
    play = Play(project)
    create(project)
    counting = Fuse(mode=mode)
    play.story(step, counting)
    return counting.count


@pytest.mark.parametrize("mode", ["kill", "fail"])
@pytest.mark.parametrize("step", [0, 1])
def test_a_run_interrupted_at_any_instant_ends_as_an_uninterrupted_one(project, tmp_path_factory, mode, step):
    baseline = Play(project)
    create(project)
    baseline.story()
    assert not baseline.unconfirmed
    count = boundaries(Project(tmp_path_factory.mktemp("count"), project.backend), step, mode)
    assert count > 10, "the run has effects to interrupt"
    tried = Counter()
    for at in range(1, count + 1):
        interrupted = Play(Project(tmp_path_factory.mktemp(f"at{at}"), project.backend))
        create(interrupted.project)
        fuse = Fuse(at, mode)
        interrupted.story(step, fuse)
        tried[fuse.blown.split()[-1]] += 1
        twice = [key for key, n in Counter(interrupted.transport.taken).items() if n > 1]
        assert not twice, f"{fuse.blown} (boundary {at}): sent twice {twice}"
        excluded = interrupted.unconfirmed
        assert interrupted.state(excluded) == baseline.state(excluded), f"{fuse.blown} (boundary {at})"
    assert tried["email"] and tried["write"], tried
