"""The workbook's own edges: a file that is not a readable .xlsx is one French sentence naming it,
never a traceback; the rewritten summary keeps its place, its widths and a single chart."""

from __future__ import annotations

import zipfile

import openpyxl
import pytest

from automations.errors import SheetError
from automations.sheets.workbook import WorkbookStore
from automations.values import ChartSpec, SheetLayout


def truncated_workbook(path) -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["Référence", "Nom"])
    book.save(path)
    whole = path.read_bytes()
    return whole[: len(whole) // 2]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (lambda path: b"", "est vide (0 octet) : remettez une sauvegarde"),
        (
            lambda path: "Référence;Nom\nR1;Alix\n".encode(),
            "n'est pas au format .xlsx (peut-être un fichier CSV",
        ),
        (truncated_workbook, "est endommagé (fichier tronqué ou mal copié) : remettez une sauvegarde"),
    ],
    ids=["empty", "csv", "truncated"],
)
def test_a_file_that_is_not_a_whole_xlsx_is_named_with_what_to_do(tmp_path, content, says):
    path = tmp_path / "passerelle.xlsx"
    path.write_bytes(content(path))
    with pytest.raises(SheetError) as error:
        WorkbookStore(path).read(["Orientations"])
    assert str(error.value) == str(error.value).strip() and "\n" not in str(error.value)
    assert str(path) in str(error.value) and says in str(error.value)


def test_replace_keeps_the_sheet_in_its_place_with_one_chart_and_its_column_widths(tmp_path):
    path = tmp_path / "passerelle.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "Orientations"
    book.create_sheet("Synthèse").column_dimensions["A"].width = 30
    book.create_sheet("Journal")
    book.save(path)
    store = WorkbookStore(path)
    layout = SheetLayout("Synthèse", ("Étape", "Nombre"), reference=None)
    funnel = ChartSpec("Parcours", label_column=0, value_column=1, first_row=1, last_row=2, anchor_column=3)
    for count in (17, 18):
        store.replace(layout, [["Étape", "Nombre"], ["Orienté·es", count], ["Invité·es", 13]], funnel)
    saved = openpyxl.load_workbook(path)
    assert saved.sheetnames == ["Orientations", "Synthèse", "Journal"]
    assert saved["Synthèse"].column_dimensions["A"].width == 30
    assert [row for row in saved["Synthèse"].iter_rows(values_only=True)][1] == ("Orienté·es", 18)
    charts = [name for name in zipfile.ZipFile(path).namelist() if name.startswith("xl/charts/chart")]
    assert len(charts) == 1  # the previous run's chart is gone with its sheet


def test_reading_a_sparse_sheet_adds_no_cell_to_the_workbook_and_keeps_formatted_and_merged_ones(tmp_path):
    """openpyxl makes a cell wherever it is read: read, the sheet gave up the empty ones again, or
    a 10,000-row sheet doubled in memory. A formatted empty cell and a merge are the person's: kept."""
    from openpyxl.styles import PatternFill

    path = tmp_path / "passerelle.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Orientations"
    sheet["A1"], sheet["D1"], sheet["B3"], sheet["D40"] = "Référence", "Nom", "R1", "Alix"
    sheet["C20"].fill = PatternFill("solid", fgColor="FFFF00")
    sheet.merge_cells("A30:B31")
    book.save(path)
    store = WorkbookStore(path)
    kept = openpyxl.load_workbook(path)["Orientations"]._cells.keys()  # private: only openpyxl knows

    grid = store.read(["Orientations"])["Orientations"]
    assert grid[0] == ["Référence", None, None, "Nom"] and grid[2][1] == "R1" and grid[39][3] == "Alix"
    assert len(grid) == 40 and all(len(row) == 4 for row in grid)
    assert store._book["Orientations"]._cells.keys() <= kept  # an empty merge anchor may go: never written
    assert store.read(["Orientations"])["Orientations"] == grid
    store.write(
        {"Orientations": SheetLayout("Orientations", ("Référence", "Nom"), reference="Référence")}, []
    )
    saved = openpyxl.load_workbook(path)["Orientations"]
    assert saved["C20"].fill.fgColor.rgb == "00FFFF00" and "A30:B31" in saved.merged_cells
