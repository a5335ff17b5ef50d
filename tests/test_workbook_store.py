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
