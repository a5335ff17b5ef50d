"""The Sheets API request bodies, read as plain dicts: no HTTP, no gspread."""

from __future__ import annotations

import json
from datetime import date, datetime

from automations.sheets.google import requests as build
from automations.sheets.locate import PositionalWrites
from automations.values import ChartSpec, Look, SheetLayout


def test_text_is_sent_behind_an_apostrophe_and_dates_in_the_spreadsheets_locale():
    assert build.user_entered("=1+1", "fr_FR", empty="") == "'=1+1"
    assert build.user_entered("", "fr_FR", empty=None) == ""
    assert build.user_entered(None, "fr_FR", empty="") == ""
    assert build.user_entered(datetime(2026, 12, 1, 9, 30), "fr_FR", empty="") == "01/12/2026 09:30"
    assert build.user_entered(date(2026, 12, 1), "en_US", empty="") == "2026-12-01"
    assert build.user_entered(13, "fr_FR", empty="") == 13


def test_one_value_range_per_touched_row_with_untouched_cells_in_between_sent_as_null():
    writes = PositionalWrites(
        new_headers=[(4, "État")], cells=[(2, 1, "Alix"), (2, 3, None), (5, 4, "écrit")]
    )
    assert build.value_ranges("L'équipe", writes, "fr_FR") == [
        {"range": "'L''équipe'!E1:E1", "values": [["'État"]]},
        {"range": "'L''équipe'!B3:D3", "values": [["'Alix", None, ""]]},
        {"range": "'L''équipe'!E6:E6", "values": [["'écrit"]]},
    ]


def test_appended_rows_start_at_the_first_header_below_the_last_row_read():
    writes = PositionalWrites(appended=[[None, "R4", "Dina"], [None, None, "Eliott"]], first_appended_row=3)
    grid = [[None, "Référence", "Nom"], [None, "R1"], [None, "R2"]]
    anchor = build.first_header(grid, writes)
    assert anchor == 1
    assert build.append("Suivi", writes, anchor, "fr_FR") == (
        "'Suivi'!B3",
        {"values": [["'R4", "'Dina"], ["", "'Eliott"]]},
    )


def _size(body: dict) -> int:
    return len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())


def _status(n: int) -> str:
    return f"Invité·e à la réunion du jeudi 3 décembre à 14 h — ligne {n}, Hélène D'Arcy-Bénard"


def test_a_big_batch_update_is_split_under_2_mb_in_order_and_a_small_one_is_one_request():
    cells = [(n, c, _status(n)) for n in range(1, 30_001) for c in (12, 13, 17)]
    data = build.value_ranges("Orientations", PositionalWrites(cells=cells), "fr_FR")
    parts = build.split(data)
    assert len(parts) > 1 and [r for part in parts for r in part] == data
    assert all(_size({**build.WRITE_OPTIONS, "data": part}) < build.MAX_BODY for part in parts)
    small = data[:1_000]
    assert build.split(small) == [small]
    assert build.split([]) == []


def test_big_appends_are_split_under_2_mb_each_after_the_one_before_and_small_ones_are_one_request():
    rows = [[f"OR-{n:06d}", _status(n), "Sophie Le Goff", "Oui"] for n in range(20_000)]
    writes = PositionalWrites(appended=rows, first_appended_row=7)
    bodies = build.appends("Suivi", writes, 0, "fr_FR")
    assert len(bodies) > 1
    assert all(_size(body) < build.MAX_BODY for _, body in bodies)
    assert [row for _, body in bodies for row in body["values"]] == build.append("Suivi", writes, 0, "fr_FR")[
        1
    ]["values"]
    starts, row = [], 7
    for _, body in bodies:
        starts.append(f"'Suivi'!A{row}")
        row += len(body["values"])
    assert [start for start, _ in bodies] == starts
    few = PositionalWrites(appended=rows[:100], first_appended_row=7)
    assert build.appends("Suivi", few, 0, "fr_FR") == [build.append("Suivi", few, 0, "fr_FR")]


def test_read_values_become_a_grid_with_none_for_empty_cells_and_whole_numbers_as_ints():
    assert build.to_grid([["Places", ""], [13.0, 0.5, True]]) == [["Places", None], [13, 0.5, True]]


def test_typed_cell_data_never_lets_text_become_a_formula():
    assert build.cell_data("=1+1") == {"userEnteredValue": {"stringValue": "=1+1"}}
    assert build.cell_data(True) == {"userEnteredValue": {"boolValue": True}}
    assert build.cell_data(None) == {}
    assert build.cell_data(date(1900, 1, 1)) == {
        "userEnteredValue": {"numberValue": 2},
        "userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": "dd/mm/yyyy"}},
    }


def test_a_sheet_rewritten_in_place_loses_its_old_chart_and_grows_to_the_grid():
    entry = {
        "properties": {"sheetId": 7, "gridProperties": {"rowCount": 2, "columnCount": 26}},
        "charts": [{"chartId": 99}],
    }
    sheet_id, body = build.room_for(entry, [["a"], ["b"], ["c"]])
    assert sheet_id == 7
    assert body == [
        {"deleteEmbeddedObject": {"objectId": 99}},
        {"appendDimension": {"sheetId": 7, "dimension": "ROWS", "length": 1}},
    ]


def test_a_new_sheet_for_a_grid_is_at_least_the_default_size_with_a_frozen_header():
    assert build.add_sheet_for("Synthèse", 5, [["a"] * 30]) == {
        "addSheet": {
            "properties": {
                "sheetId": 5,
                "title": "Synthèse",
                "gridProperties": {"rowCount": 1000, "columnCount": 30, "frozenRowCount": 1},
            }
        }
    }


def test_fill_writes_every_cell_then_the_chart_beside_it():
    chart = ChartSpec("Parcours", label_column=0, value_column=1, first_row=1, last_row=2, anchor_column=3)
    cells, added = build.fill(5, [["Étape", "Nombre"]], chart)
    assert cells["updateCells"]["range"] == {"sheetId": 5}
    spec = added["addChart"]["chart"]
    series = spec["spec"]["basicChart"]["series"][0]["series"]["sourceRange"]["sources"][0]
    assert (series["startRowIndex"], series["endRowIndex"], series["startColumnIndex"]) == (1, 3, 1)
    assert spec["position"]["overlayPosition"]["anchorCell"] == {
        "sheetId": 5,
        "rowIndex": 1,
        "columnIndex": 3,
    }


def test_fill_gives_the_rewritten_sheet_its_widths_frozen_row_bold_titles_and_percentages():
    look = Look(widths=(20, 8), frozen_rows=1, bold_rows=(0,), percent=((1, 1),))
    cells, frozen, first, second = build.fill(5, [["Étape", "Taux"], ["Présent·es", 0.65]], None, look)
    header, line = cells["updateCells"]["rows"]
    assert header["values"][0]["userEnteredFormat"] == {"textFormat": {"bold": True}}
    assert line["values"][1]["userEnteredFormat"]["numberFormat"] == {"type": "PERCENT", "pattern": "0%"}
    assert "userEnteredFormat" not in line["values"][0]
    assert frozen["updateSheetProperties"]["properties"]["gridProperties"] == {"frozenRowCount": 1}
    assert [w["updateDimensionProperties"]["range"]["startIndex"] for w in (first, second)] == [0, 1]
    assert first["updateDimensionProperties"]["properties"]["pixelSize"] == 20 * build.PIXELS_PER_CHARACTER


LAYOUT = SheetLayout(
    "Réunions", ("Référence", "Date", "Annulée"), owned=("Référence",), choices={"Annulée": ("Oui", "Non")}
)


def test_a_new_sheet_gets_bold_headers_a_dropdown_below_the_header_and_a_warning_protection():
    add, header, dropdown, protection = build.new_sheet(LAYOUT, 5)
    assert add["addSheet"]["properties"]["title"] == "Réunions"
    assert [
        cell["userEnteredValue"]["stringValue"] for cell in header["updateCells"]["rows"][0]["values"]
    ] == [
        "Référence",
        "Date",
        "Annulée",
    ]
    assert dropdown["setDataValidation"]["range"] == {
        "sheetId": 5,
        "startRowIndex": 1,
        "startColumnIndex": 2,
        "endColumnIndex": 3,
    }
    assert protection["addProtectedRange"]["protectedRange"]["warningOnly"] is True
    assert protection["addProtectedRange"]["protectedRange"]["range"]["startColumnIndex"] == 0


def test_a_sheet_people_made_is_set_up_where_its_columns_are_and_only_once():
    entry = {"properties": {"sheetId": 8, "gridProperties": {}}}
    freeze, dropdown, protection = build.setup(LAYOUT, entry, ["Annulée", "Date", "Référence"])
    assert freeze["updateSheetProperties"]["properties"]["gridProperties"] == {"frozenRowCount": 1}
    assert dropdown["setDataValidation"]["range"]["startColumnIndex"] == 0
    assert protection["addProtectedRange"]["protectedRange"]["range"]["startColumnIndex"] == 2
    assert build.needs_setup(LAYOUT, entry)
    done = {
        "properties": {"sheetId": 8, "gridProperties": {"frozenRowCount": 1}},
        "protectedRanges": [{"description": f"{build.PROTECTION_NOTE} (Référence)"}],
    }
    assert not build.needs_setup(LAYOUT, done)
