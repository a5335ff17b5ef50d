"""The defects one commit rule removed, each replayed as it happened (issue « One run, one
truth »): memory was committed before the cells it acknowledged had landed, the announcement of a
change was remembered for all invitees after the first email, the Référence came after the email,
and a dry run did not let one job see what the previous one planned."""

from __future__ import annotations

from datetime import timedelta

import pytest

from automations import config as config_module
from automations import wiring
from automations.errors import SheetError
from automations.jobs.orders import person_code
from automations.journal import SENT, Journal
from automations.mail.outbox import OutboxTransport
from tests.conftest import NOW, referral, session
from tests.faults import FaultyTransport, Fuse, Killed
from tests.test_loop_jobs import answers_sheet, kinds

pytestmark = pytest.mark.backends("workbook", "google")

LATER = NOW + timedelta(days=1)


class Refusing:
    """The real store, whose writes are refused from the ``after``-th on (access withdrawn)."""

    def __init__(self, store, after: int = 1, what: str = "write") -> None:
        self.store, self.after, self.what, self.calls = store, after, what, 0

    def __getattr__(self, name: str):
        found = getattr(self.store, name)
        if name != self.what:
            return found

        def refused(*args, **kwargs):
            self.calls += 1
            if self.calls >= self.after:
                raise SheetError("La feuille est protégée (test) : rien n'a été écrit.")
            return found(*args, **kwargs)

        return refused


def test_a_form_non_read_by_a_run_whose_sheet_write_failed_still_frees_the_seat(project):
    project.create([referral(1), referral(2)], [session("A", 7, 1)])
    project.run()
    code = person_code(
        wiring.code_secret(config_module.load(project.config_path)), project.rows()[0]["Référence"]
    )
    answers_sheet(project, [(NOW + timedelta(hours=2), code, "Non, je ne pourrai pas")])
    with pytest.raises(SheetError):
        project.run(now=LATER, wrap=Refusing)
    project.run(now=LATER + timedelta(minutes=15))
    project.run(now=LATER + timedelta(minutes=30))
    rows = project.rows()
    assert rows[0]["Session"] is None, "who said Non waits for another date"
    assert rows[1]["Session"] == "A", "the seat the Non freed went to the waiting list"
    assert ("invitation", "personne02@exemple.fr") in kinds(project)


def test_a_summary_whose_rewrite_failed_is_rewritten_by_the_next_run(project):
    project.create([referral(1)], [session("A", 7, 5)])
    project.run()
    project.insert_rows("Orientations", 1, [referral(2)])
    with pytest.raises(SheetError):
        project.run(now=LATER, wrap=lambda store: Refusing(store, what="replace"))
    project.run(now=LATER + timedelta(minutes=15))
    summary = {row[0]: row[1] for row in project.grid("Synthèse") if row and len(row) > 1}
    assert summary["Orienté·es"] == 2


def test_a_stop_during_modification_emails_leaves_the_others_due(project):
    project.create([referral(n) for n in range(3)], [session("A", 7, 5)])
    project.run()
    project.set("Réunions", 0, "Heure de début", "15:30")
    outbox = OutboxTransport(project.outbox)
    before = {p.name for p in project.outbox.glob("*.eml")}

    def sent_one() -> bool:  # SIGTERM arrives while the first modification is being sent
        return len({p.name for p in project.outbox.glob("*.eml")} - before) >= 1

    project.run(now=LATER, transport=outbox, stop=sent_one)
    assert len(kinds(project, before)) == 1
    project.run(now=LATER + timedelta(minutes=15))
    assert kinds(project, before) == [("modification", f"personne{n:02d}@exemple.fr") for n in range(3)]


def test_a_waiting_person_whose_row_write_was_lost_keeps_who_they_are_after_a_name_fix(project):
    project.create([referral(1), referral(2, **{"Nom": "Duponf"})], [session("A", 7, 1)])
    with pytest.raises(SheetError):  # the Référence lands before the emails, the rest is lost
        project.run(wrap=lambda store: Refusing(store, after=2))
    assert all(row["Référence"] for row in project.rows())
    project.set("Orientations", 1, "Nom", "Dupont")
    project.run(now=LATER)
    assert kinds(project).count(("liste_attente", "personne02@exemple.fr")) == 1
    assert project.rows()[1]["État"].startswith("Liste d'attente")


def test_a_dry_run_shows_what_the_real_run_then_does_job_after_job(project):
    project.create([referral(n) for n in range(3)], [session("A", 7, 5)])
    dry = project.run(dry_run=True)
    real = project.run()

    def seen(outcomes):
        return [
            (
                o.job,
                [(e.kind, e.to_address, e.key) for e in o.sent],
                [(p.sheet, p.column, str(p.value)) for p in o.written],
                [(a.sheet, dict(a.values)) for a in o.appended],
                o.rewritten,
            )
            for o in outcomes
        ]

    assert seen(dry) == seen(real)
    assert [o.rows_added for o in dry if o.job == "presences"] == [3]


def test_an_outbox_email_whose_run_died_before_its_sent_record_is_known_by_its_file(project):
    """The outbox's key-named file is its own proof of delivery: no « À vérifier » for it, no
    second copy, and what it told is remembered as if the run had not stopped."""
    project.create([referral(n) for n in range(3)], [session("A", 7, 5)])
    dying = FaultyTransport(OutboxTransport(project.outbox), Fuse(at=4))  # after the second email
    with pytest.raises(Killed):
        project.run(transport=dying)
    assert len(dying.taken) == 2
    rehearsed = project.run(dry_run=True, now=NOW + timedelta(minutes=15))
    done = project.run(now=NOW + timedelta(minutes=15))
    sent = [[order.key for outcome in run for order in outcome.sent] for run in (rehearsed, done)]
    assert sent[0] == sent[1] and len(sent[1]) == 1, "the dry run tells the outbox's files as the run does"
    assert sorted(kinds(project)) == [("invitation", f"personne{n:02d}@exemple.fr") for n in range(3)]
    assert [row["État"][:9] for row in project.rows()] == ["Invité·e "] * 3
    journal = Journal(project.root / "state" / "journal.sqlite3")
    assert {entry.status for entry in journal.entries()} == {SENT}
    journal.close()
