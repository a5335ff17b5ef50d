"""The SheetStore contract: one suite, run on every backend.

``store_factory`` (tests/contract/conftest.py) seeds sheets, as a person would type them, in
memory, in a real .xlsx workbook, or in a spreadsheet of the fake Sheets API read and written by
GoogleSheetStore through gspread, and returns the store with the hands of a person editing the
sheets between a read and a write. Every test below holds for all three: a behaviour that
differs is a bug of one backend.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from automations.cells import parse_datetime
from automations.errors import SheetError
from automations.tables import fingerprint
from automations.values import CellPatch, CellValue, ChartSpec, RowAppend, RowKey, SheetLayout
from tests.contract.backends import SHEET, Backend, trimmed

LAYOUT = SheetLayout(
    SHEET,
    ("Référence", "Nom", "Conseiller·ère", "État", "Envoyé le"),
    owned=("Référence", "État", "Envoyé le"),
)
LAYOUTS = {SHEET: LAYOUT}
HEADERS = ["Référence", "Nom", "Conseiller·ère", "État", "Envoyé le"]
PEOPLE = [
    ["R1", "Alix", "Sophie Le Goff"],
    ["R2", "Bastien", "Nadia Benali"],
    ["R3", "Chloé", "Sophie Le Goff"],
]


@pytest.fixture
def people(store_factory) -> Backend:
    return store_factory({SHEET: [HEADERS, *PEOPLE], "Autre": [["Clé", "Valeur"], ["a", 1]]})


def patch(reference: str | None, column: str, value: CellValue, row_fingerprint=()) -> CellPatch:
    return CellPatch(SHEET, RowKey(reference, tuple(row_fingerprint)), column, value)


# -- reading -------------------------------------------------------------------------------------


def test_read_gives_each_sheet_headers_first_and_none_for_a_missing_sheet(store_factory):
    backend = store_factory(
        {SHEET: [HEADERS, ["R1", "Alix", None, "Invité·e", None], ["R2", "Bastien", "Nadia", None, None]]}
        | {"Réunions": [["Référence", "Places"], ["S1", 13]]}
    )
    grids = backend.store.read([SHEET, "Manquante", "Réunions"])
    assert list(grids) == [SHEET, "Manquante", "Réunions"]
    assert grids["Manquante"] is None
    assert trimmed(grids[SHEET]) == [HEADERS, ["R1", "Alix", None, "Invité·e"], ["R2", "Bastien", "Nadia"]]
    assert trimmed(grids["Réunions"]) == [["Référence", "Places"], ["S1", 13]]
    assert type(grids["Réunions"][1][1]) is int


# -- finding the row of a patch ------------------------------------------------------------------


def test_headers_are_matched_whatever_case_accents_and_inclusive_form(store_factory):
    typed = ["REFERENCE", "nom", "Conseillere", "etat", "ENVOYE LE"]
    backend = store_factory({SHEET: [typed, *PEOPLE]})
    backend.store.write(
        LAYOUTS,
        [patch("R2", "État", "écrit"), patch("R2", "Envoyé le", "lundi")],
        [RowAppend(SHEET, {"Référence": "R4", "Conseiller·ère": "Nadia Benali"})],
    )
    grid = backend.grid()
    assert grid[0] == typed  # no column added: each label found its column
    assert grid[2] == ["R2", "Bastien", "Nadia Benali", "écrit", "lundi"]
    assert grid[4] == ["R4", None, "Nadia Benali"]


def test_rows_are_found_by_reference_after_a_person_sorts_the_sheet(people):
    people.store.read([SHEET])
    people.sheets.reorder_rows(SHEET, [3, 1, 2])  # C, A, B
    result = people.store.write(LAYOUTS, [patch("R1", "État", "pour R1"), patch("R3", "État", "pour R3")])
    assert result.unresolved == []
    assert [row[:4] for row in people.grid()[1:]] == [
        ["R3", "Chloé", "Sophie Le Goff", "pour R3"],
        ["R1", "Alix", "Sophie Le Goff", "pour R1"],
        ["R2", "Bastien", "Nadia Benali"],
    ]


def test_rows_are_found_by_reference_after_a_person_inserts_rows(people):
    people.store.read([SHEET])
    people.sheets.insert_rows(SHEET, 1, [["R7", "Inséré·e"], [None]])
    people.sheets.insert_rows(SHEET, 4, [["", "Sans référence"]])
    people.store.write(LAYOUTS, [patch("R1", "État", "pour R1"), patch("R2", "État", "pour R2")])
    assert people.grid()[1:] == [
        ["R7", "Inséré·e"],
        [],
        ["R1", "Alix", "Sophie Le Goff", "pour R1"],
        [None, "Sans référence"],
        ["R2", "Bastien", "Nadia Benali", "pour R2"],
        ["R3", "Chloé", "Sophie Le Goff"],
    ]


def test_a_row_without_reference_is_found_by_its_fingerprint_and_can_be_given_one(store_factory):
    backend = store_factory({SHEET: [HEADERS, [None, "Alix", "Sophie"], [None, "Bastien", "Nadia"]]})
    grid = backend.store.read([SHEET])[SHEET]
    bastien = fingerprint(grid[2])
    backend.sheets.reorder_rows(SHEET, [2, 1])
    backend.store.write(
        LAYOUTS,
        [
            patch(None, "Référence", "OR-B", bastien),
            patch("OR-B", "État", "trouvé"),  # a Référence written earlier in the batch finds its row
        ],
    )
    assert backend.grid()[1:] == [["OR-B", "Bastien", "Nadia", "trouvé"], [None, "Alix", "Sophie"]]


def test_two_rows_sharing_a_reference_are_told_apart_by_their_content(store_factory):
    backend = store_factory({SHEET: [HEADERS, ["R1", "Alix"], ["R1", "Bastien"], ["R2", "Chloé"]]})
    grid = backend.store.read([SHEET])[SHEET]
    result = backend.store.write(
        LAYOUTS,
        [
            patch("R1", "État", "pour Bastien", fingerprint(grid[2])),
            patch("R1", "État", "pour personne", ("R1", "Zoé")),
            patch("R2", "État", "pour Chloé", ("R2", "autre contenu")),  # a unique Référence suffices
        ],
    )
    assert [p.value for p in result.unresolved] == ["pour personne"]
    assert backend.grid()[1:] == [
        ["R1", "Alix"],
        ["R1", "Bastien", None, "pour Bastien"],
        ["R2", "Chloé", None, "pour Chloé"],
    ]


def test_a_patch_whose_row_was_deleted_is_returned_and_written_nowhere(people):
    people.store.read([SHEET])
    people.sheets.delete_rows(SHEET, 2)  # R2
    result = people.store.write(
        LAYOUTS, [patch("R1", "État", "pour R1"), patch("R2", "État", "pour R2"), patch("R9", "Nom", "x")]
    )
    assert [(p.row.reference, p.value) for p in result.unresolved] == [("R2", "pour R2"), ("R9", "x")]
    assert people.grid() == [
        HEADERS,
        ["R1", "Alix", "Sophie Le Goff", "pour R1"],
        ["R3", "Chloé", "Sophie Le Goff"],
    ]


# -- columns and new rows ------------------------------------------------------------------------


def test_missing_owned_columns_are_added_as_headers_after_the_last_one(store_factory):
    backend = store_factory({SHEET: [["Référence", "Nom", "Notes"], ["R1", "Alix", "à rappeler"], ["R2"]]})
    for _ in range(2):  # the second time the columns are there: nothing is added again
        backend.store.write(LAYOUTS, [patch("R2", "Envoyé le", "mardi"), patch("R1", "État", "écrit")])
    assert backend.grid() == [
        ["Référence", "Nom", "Notes", "Envoyé le", "État"],
        ["R1", "Alix", "à rappeler", None, "écrit"],
        ["R2", None, None, "mardi"],
    ]


def test_appended_rows_land_after_the_last_row(people):
    people.store.write(
        LAYOUTS,
        [patch("R3", "État", "écrit")],
        [
            RowAppend(SHEET, {"Référence": "R4", "Nom": "Dina", "État": "nouvelle"}),
            RowAppend(SHEET, {"Nom": "Eliott"}),
        ],
    )
    assert people.grid()[1:] == [
        *PEOPLE[:2],
        [*PEOPLE[2], "écrit"],
        ["R4", "Dina", None, "nouvelle"],
        [None, "Eliott"],
    ]


def test_appended_rows_land_after_the_last_row_even_below_a_blank_line(people):
    people.sheets.insert_rows(SHEET, 2, [[None]])  # a person left an empty line after R1
    people.store.write(LAYOUTS, [], [RowAppend(SHEET, {"Référence": "R4", "Nom": "Dina"})])
    assert people.grid()[1:] == [PEOPLE[0], [], *PEOPLE[1:], ["R4", "Dina"]]


def test_appends_with_new_columns_and_an_empty_sheet(store_factory):
    backend = store_factory({SHEET: [["Référence", "Nom"]]})
    backend.store.write(
        LAYOUTS, [], [RowAppend(SHEET, {"Nom": "Alix", "État": "nouvelle", "Référence": "R1"})]
    )
    assert backend.grid() == [["Référence", "Nom", "État"], ["R1", "Alix", "nouvelle"]]


# -- values --------------------------------------------------------------------------------------

TEXTS = [
    '=HYPERLINK("x")',
    "=1+1",
    "+33 6 12 34 56 78",
    "0612345678",
    "'entre apostrophes",
    "12/10/2026",
    "TRUE",
]


def test_text_stays_text_never_a_formula_a_number_or_a_date(people):
    people.store.write(
        LAYOUTS,
        [patch("R1", "État", TEXTS[0]), patch("R2", "État", TEXTS[1]), patch("R3", "Nom", TEXTS[2])],
        [RowAppend(SHEET, {"Référence": f"T{i}", "Nom": t, "État": t}) for i, t in enumerate(TEXTS)],
    )
    rows = people.by_reference()
    assert (rows["R1"]["État"], rows["R2"]["État"], rows["R3"]["Nom"]) == tuple(TEXTS[:3])
    assert [(rows[f"T{i}"]["Nom"], rows[f"T{i}"]["État"]) for i in range(len(TEXTS))] == [
        (t, t) for t in TEXTS
    ]
    assert people.sheets.formulas(SHEET) == []


@pytest.mark.parametrize("locale", ["fr_FR", "en_US"])
def test_dates_and_datetimes_read_back_as_the_same_moment(store_factory, locale):
    people = store_factory({SHEET: [HEADERS, *PEOPLE]}, locale=locale)
    moment, day = datetime(2026, 12, 1, 9, 30), date(2026, 12, 3)
    people.store.write(
        LAYOUTS,
        [patch("R1", "Envoyé le", moment), patch("R2", "Envoyé le", day)],
        [RowAppend(SHEET, {"Référence": "R4", "Envoyé le": datetime(2026, 11, 26, 18, 45)})],
    )
    rows = people.by_reference()
    sent = {reference: rows[reference]["Envoyé le"] for reference in ("R1", "R2", "R4")}
    assert not any(isinstance(value, str) for value in sent.values()), sent  # real dates, not text
    assert {reference: parse_datetime(value) for reference, value in sent.items()} == {
        "R1": moment,
        "R2": datetime(2026, 12, 3),
        "R4": datetime(2026, 11, 26, 18, 45),
    }


def test_numbers_booleans_and_emptied_cells(people):
    people.store.write(
        LAYOUTS,
        [
            patch("R1", "État", 13),
            patch("R2", "État", 2.5),
            patch("R3", "État", True),
            patch("R3", "Conseiller·ère", None),  # None empties the cell
        ],
        [RowAppend(SHEET, {"Référence": "R4", "État": 0, "Nom": False})],
    )
    rows = people.by_reference()
    assert [rows[r]["État"] for r in ("R1", "R2", "R3", "R4")] == [13, 2.5, True, 0]
    assert [type(rows[r]["État"]) for r in ("R1", "R2", "R3", "R4")] == [int, float, bool, int]
    assert rows["R4"]["Nom"] is False
    assert people.grid()[3] == ["R3", "Chloé", None, True]


def test_other_cells_extra_columns_and_other_sheets_are_untouched(store_factory):
    grid = [
        ["Référence", "Notes de l'équipe", "Nom", "État", None, "Colonne à part"],
        ["R1", "note 1", "Alix", "ancien", None, "à garder"],
        ["R2", "note 2", "Bastien", None, None, 42],
    ]
    other = [["Clé", "Valeur"], ["a", 1], [None, None, "loin"]]
    backend = store_factory({SHEET: grid, "Autre": other})
    backend.store.write(
        LAYOUTS,
        [patch("R2", "État", "écrit"), patch("R1", "Envoyé le", "mardi")],
        [RowAppend(SHEET, {"Référence": "R3", "Nom": "Chloé"})],
    )
    assert backend.grid() == [
        ["Référence", "Notes de l'équipe", "Nom", "État", None, "Colonne à part", "Envoyé le"],
        ["R1", "note 1", "Alix", "ancien", None, "à garder", "mardi"],
        ["R2", "note 2", "Bastien", "écrit", None, 42],
        ["R3", None, "Chloé"],
    ]
    assert backend.grid("Autre") == trimmed(other)


def test_nothing_to_write_changes_nothing(people):
    before = people.sheets.snapshot()
    assert people.store.write(LAYOUTS, [], []).unresolved == []
    assert people.sheets.snapshot() == before


# -- set-up and rewrite --------------------------------------------------------------------------

SUIVI = SheetLayout(
    "Suivi", ("Référence", "Nom", "Présence"), owned=("Référence",), choices={"Présence": ("Oui", "Non")}
)
JOURNAL = SheetLayout("Journal", ("Date", "Tâches"), reference=None)


def test_ensure_creates_missing_sheets_with_their_headers_and_is_idempotent(people):
    people.store.ensure([LAYOUT, SUIVI, JOURNAL])
    assert people.grid("Suivi") == [list(SUIVI.headers)]
    assert people.grid("Journal") == [list(JOURNAL.headers)]
    assert people.grid() == [HEADERS, *PEOPLE]  # an existing sheet keeps its headers and rows
    before = people.sheets.snapshot()
    people.store.ensure([LAYOUT, SUIVI, JOURNAL])
    assert people.sheets.snapshot() == before
    people.store.write({"Suivi": SUIVI}, [], [RowAppend("Suivi", {"Référence": "R1 / A", "Présence": "Oui"})])
    assert people.grid("Suivi") == [list(SUIVI.headers), ["R1 / A", None, "Oui"]]


def test_replace_rewrites_a_sheet_whole_with_its_chart(people):
    layout = SheetLayout("Synthèse", ("Indicateur", "Valeur"), reference=None)
    funnel = ChartSpec("Parcours", label_column=0, value_column=1, first_row=1, last_row=3, anchor_column=3)
    people.store.replace(
        layout,
        [
            ["Indicateur", "Valeur"],
            ["Orienté·es", 17],
            ["=1+1", 0.5],
            ["Le", date(2026, 11, 26)],
            ["x", "y", "z"],
        ],
        funnel,
    )
    first = people.grid("Synthèse")
    assert first[:3] == [["Indicateur", "Valeur"], ["Orienté·es", 17], ["=1+1", 0.5]]
    assert parse_datetime(first[3][1]) == datetime(2026, 11, 26) and not isinstance(first[3][1], str)
    people.store.replace(layout, [["Indicateur", "Valeur"], ["Invité·es", 13]], funnel)
    assert people.grid("Synthèse") == [["Indicateur", "Valeur"], ["Invité·es", 13]]
    assert people.sheets.formulas("Synthèse") == []
    assert people.grid() == [HEADERS, *PEOPLE]
    assert people.grid("Autre") == [["Clé", "Valeur"], ["a", 1]]


def test_writing_to_a_sheet_that_is_gone_names_it_and_writes_nothing(people):
    gone = SheetLayout("Disparue", ("Référence", "Nom"))
    before = people.sheets.snapshot()
    with pytest.raises(SheetError, match="La feuille « Disparue » a disparu du classeur"):
        people.store.write(
            {"Disparue": gone, **LAYOUTS},
            [patch("R1", "État", "écrit")],
            [RowAppend("Disparue", {"Référence": "R1"})],
        )
    assert people.sheets.snapshot() == before
