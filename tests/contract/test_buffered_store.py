"""BufferedStore over every real store: one read, writes seen at once, one flush located afresh.

The buffer must behave the same whatever it buffers (memory, workbook, Google): each test below
runs on all three through ``store_factory``.
"""

from __future__ import annotations

import pytest

from automations.sheets.buffered import BufferedStore
from automations.values import CellPatch, ChartSpec, RowAppend, RowKey, SheetLayout
from tests.contract.backends import SHEET, Backend

HEADERS = ["Référence", "Nom", "État"]
LAYOUT = SheetLayout(SHEET, tuple(HEADERS), owned=("Référence", "État"))
JOURNAL = SheetLayout("Journal", ("Date", "Détail"), reference=None)
LAYOUTS = {SHEET: LAYOUT, JOURNAL.name: JOURNAL}
PEOPLE = [["R1", "Alix"], ["R2", "Bastien"], ["R3", "Chloé"]]


@pytest.fixture
def people(store_factory) -> Backend:
    return store_factory({SHEET: [HEADERS, *PEOPLE], "Réunions": [["Référence"], ["S1"]]})


def state(reference: str, value: str) -> CellPatch:
    return CellPatch(SHEET, RowKey(reference), "État", value)


def test_sheets_are_read_once_at_the_start(people):
    buffered = BufferedStore(people.store, [SHEET])
    people.sheets.delete_rows(SHEET, 1)  # a person deletes R1 after the run's read
    assert buffered.read([SHEET])[SHEET][1][:2] == ["R1", "Alix"]


def test_a_sheet_not_read_at_the_start_is_read_when_first_asked_for(people):
    buffered = BufferedStore(people.store, [SHEET])
    assert buffered.read(["Réunions", "Manquante"]) == {
        "Réunions": [["Référence"], ["S1"]],
        "Manquante": None,
    }


def test_writes_are_seen_by_later_reads_and_reach_the_real_store_only_at_flush(people):
    buffered = BufferedStore(people.store, [SHEET])
    before = people.sheets.snapshot()
    assert not buffered.pending
    buffered.write(LAYOUTS, [state("R2", "invité·e")], [RowAppend(SHEET, {"Référence": "R4", "Nom": "Dina"})])
    assert buffered.read([SHEET])[SHEET][2] == ["R2", "Bastien", "invité·e"]
    assert buffered.read([SHEET])[SHEET][4][:2] == ["R4", "Dina"]
    assert buffered.pending and people.sheets.snapshot() == before
    assert buffered.flush().unresolved == []
    assert not buffered.pending
    assert people.grid() == [
        HEADERS,
        ["R1", "Alix"],
        ["R2", "Bastien", "invité·e"],
        ["R3", "Chloé"],
        ["R4", "Dina"],
    ]


def test_reads_are_copies(people):
    buffered = BufferedStore(people.store, [SHEET])
    buffered.read([SHEET])[SHEET][1][1] = "changé par l'appelant"
    assert buffered.read([SHEET])[SHEET][1][1] == "Alix"


def test_the_flush_finds_rows_by_reference_after_a_person_sorted_the_sheet(people):
    buffered = BufferedStore(people.store, [SHEET])
    buffered.write(LAYOUTS, [state("R1", "pour R1"), state("R3", "pour R3")])
    people.sheets.reorder_rows(SHEET, [3, 2, 1])
    assert buffered.flush().unresolved == []
    assert people.grid()[1:] == [["R3", "Chloé", "pour R3"], ["R2", "Bastien"], ["R1", "Alix", "pour R1"]]


def test_a_patch_without_a_row_is_returned_at_once_and_never_sent(people):
    buffered = BufferedStore(people.store, [SHEET])
    result = buffered.write(LAYOUTS, [state("R9", "personne"), state("R1", "écrit")])
    assert [p.row.reference for p in result.unresolved] == ["R9"]
    people.sheets.delete_rows(SHEET, 1)  # R1 goes too, after the write: the flush says so
    assert [p.row.reference for p in buffered.flush().unresolved] == ["R1"]
    assert people.grid()[1:] == [["R2", "Bastien"], ["R3", "Chloé"]]


def test_a_sheet_to_create_is_made_with_its_headers_only_when_written(people):
    untouched = BufferedStore(people.store, [SHEET], [JOURNAL])
    assert untouched.read(["Journal"]) == {"Journal": [["Date", "Détail"]]}
    untouched.flush()
    assert people.grid("Journal") is None
    buffered = BufferedStore(people.store, [SHEET], [JOURNAL])
    buffered.write(LAYOUTS, [], [RowAppend("Journal", {"Date": "lundi", "Détail": "3 emails"})])
    buffered.flush()
    assert people.grid("Journal") == [["Date", "Détail"], ["lundi", "3 emails"]]


def test_a_replaced_sheet_is_read_back_at_once_and_rewritten_at_flush(people):
    layout = SheetLayout("Synthèse", ("Indicateur", "Valeur"), reference=None)
    funnel = ChartSpec("Parcours", label_column=0, value_column=1, first_row=1, last_row=1, anchor_column=3)
    grid = [["Indicateur", "Valeur"], ["Orienté·es", 17]]
    buffered = BufferedStore(people.store, [SHEET])
    buffered.replace(layout, grid, funnel)
    grid[1][1] = 0  # the caller's list is not the buffer's
    assert buffered.read(["Synthèse"])["Synthèse"] == [["Indicateur", "Valeur"], ["Orienté·es", 17]]
    assert buffered.pending and people.grid("Synthèse") is None
    buffered.flush()
    assert people.grid("Synthèse") == [["Indicateur", "Valeur"], ["Orienté·es", 17]]


def test_a_flush_with_nothing_pending_changes_nothing(people):
    buffered = BufferedStore(people.store, [SHEET, "Réunions"], [JOURNAL])
    buffered.read([SHEET])
    before = people.sheets.snapshot()
    assert buffered.flush().unresolved == []
    assert people.sheets.snapshot() == before
