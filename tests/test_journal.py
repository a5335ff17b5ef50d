"""The send journal on its own: what planning reads from it, and how an email a stopped run left
"pending" is settled when the transport can tell whether it was handed over."""

from __future__ import annotations

from datetime import timedelta

import pytest

from automations.journal import DEFERRED, PENDING, SENT, Handover, Journal
from tests.conftest import NOW

LATER = NOW + timedelta(days=1)
CELLS = '[["Orientations", 2, "etat", "Invité·e"]]'


@pytest.fixture
def journal(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite3")
    yield journal
    journal.close()


def handover(key: str = "k1", person: str = "R-1") -> Handover:
    return Handover(key, "invitation", person, "S", "zoe@exemple.fr", [("invitation", person, "S")], CELLS)


def test_a_snapshot_follows_every_kind_of_write_and_is_reused_while_none_happened(journal):
    empty = journal.facts()
    assert journal.facts() is empty  # nothing written: the same snapshot

    journal.pending([handover()], NOW, durable=False, provable=True)
    assert journal.facts().get("k1").status == PENDING
    journal.sent(["k1"], NOW)
    facts = journal.facts()
    assert facts.get("k1").status == SENT and facts.recalled("invitation", "R-1") == "S"
    journal.settle("k1", DEFERRED, NOW, "plus tard")
    assert journal.facts().get("k1").status == DEFERRED
    journal.remember([("seen", "R-1", "Oui")])
    assert journal.facts().recalled("seen", "R-1") == "Oui"
    journal.landed([], [("seen", "R-1", "Non")])
    assert journal.facts().recalled("seen", "R-1") == "Non"
    journal.erase_recipients(["R-1"])
    assert journal.facts().get("k1").recipient == ""


def test_what_an_email_carries_is_committed_only_once_it_is_sent(journal):
    journal.pending([handover("k1", "R-1"), handover("k2", "R-2")], NOW, durable=False, provable=True)
    assert journal.memory() == {} and journal.unlanded() == {}
    journal.sent(["k1"], NOW)
    journal.settle("k2", DEFERRED, NOW, "le serveur a demandé de réessayer")
    journal.sent(["k2"], NOW)  # nothing staged any more: a deferred email carries nothing
    assert journal.memory() == {("invitation", "R-1"): "S"}
    assert journal.unlanded() == {"k1": CELLS}


def test_a_pending_email_the_outbox_holds_is_sent_at_the_time_it_left(journal):
    journal.pending([handover()], NOW, durable=False, provable=True)
    journal.confirm(lambda key: True, LATER)
    entry = journal.entry("k1")
    assert (entry.status, entry.updated_at) == (SENT, NOW)
    assert journal.memory() == {("invitation", "R-1"): "S"}
    assert journal.unlanded() == {"k1": CELLS}, "its cells are written by the next run"


def test_a_pending_email_the_outbox_does_not_hold_is_due_again_and_carries_nothing(journal):
    journal.pending([handover()], NOW, durable=False, provable=True)
    journal.confirm(lambda key: False, LATER)
    assert journal.entry("k1").status == DEFERRED
    assert journal.memory() == {} and journal.unlanded() == {}


@pytest.mark.parametrize("provable, answer", [(True, None), (False, True), (False, False)])
def test_a_pending_email_nobody_can_vouch_for_stays_a_verifier(journal, provable, answer):
    """An SMTP server keeps no trace (None); an email handed to one is never settled by an outbox
    that happens to be configured later."""
    journal.pending([handover()], NOW, durable=not provable, provable=provable)
    journal.confirm(lambda key: answer, LATER)
    assert journal.entry("k1").status == PENDING
    assert journal.memory() == {}
