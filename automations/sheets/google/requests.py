"""The bodies of Sheets API v4 requests, built from plain values: no HTTP here.

Keeping them pure lets tests read each body as a dict, and keeps the store down to the order of
its requests and what to do when one fails.

Text is written with valueInputOption=USER_ENTERED behind an apostrophe, so what people typed
("=HYPERLINK(…)", "0612345678", "+33…") stays text; datetimes are written as "10/12/2020 14:00"
(ISO in a spreadsheet whose locale is not French) so the sheet stores a real date. Sheets rewritten
whole get typed CellData instead, which is never parsed at all.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from automations.sheets.locate import PositionalWrites
from automations.tables import column_letter, header_positions
from automations.values import PERCENT_FORMAT, CellValue, ChartSpec, Grid, Look, SheetLayout

SHEETS_EPOCH = datetime(1899, 12, 30)
PROTECTION_NOTE = "Passerelle : colonne remplie automatiquement"
NEW_SHEET_ROWS = 1000
READ_OPTIONS = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"}
"""Values as the sheet holds them: dates as serial numbers, which ``automations.cells`` reads."""
WRITE_OPTIONS = {"valueInputOption": "USER_ENTERED"}
APPEND_OPTIONS = {"valueInputOption": "USER_ENTERED", "insertDataOption": "INSERT_ROWS"}
"""INSERT_ROWS: a row a person adds meanwhile is moved down, never overwritten."""
MAX_BODY = 2_000_000
"""Bytes of a request body: Google recommends at most 2 MB. 10,000 rows made 2.5 MB and 3.9 MB."""


# -- ranges and values ---------------------------------------------------------------------------


def quote(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def header_ranges(names: Sequence[str]) -> list[str]:
    return [f"{quote(name)}!1:1" for name in names]


def to_grid(values: list[list[Any]]) -> Grid:
    """Google's rows as the protocol wants them: empty cells are ``None``, whole numbers ints."""
    return [[_cell(v) for v in row] for row in values]


def _cell(value: Any) -> CellValue:
    if value == "" or value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _french(locale: str) -> bool:
    return locale.lower().startswith("fr")


def user_entered(value: CellValue, locale: str, empty: str | None) -> Any:
    """A value for valueInputOption=USER_ENTERED that the sheet stores as meant."""
    if value is None:
        return empty
    if isinstance(value, str):
        return "'" + value if value else ""
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M" if _french(locale) else "%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y" if _french(locale) else "%Y-%m-%d")
    return value


def value_ranges(name: str, writes: PositionalWrites, locale: str) -> list[dict]:
    """One range per touched row; cells in between that are not touched are sent as null."""
    cells: dict[int, dict[int, CellValue]] = defaultdict(dict)
    for row, column, value in writes.in_place():
        cells[row][column] = value
    ranges = []
    for row in sorted(cells):
        columns = cells[row]
        first, last = min(columns), max(columns)
        values = [
            user_entered(columns[c], locale, empty="") if c in columns else None
            for c in range(first, last + 1)
        ]
        a1 = f"{column_letter(first)}{row + 1}:{column_letter(last)}{row + 1}"
        ranges.append({"range": f"{quote(name)}!{a1}", "values": [values]})
    return ranges


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode())


def split(items: Sequence[Any], size: Callable[[Any], int] = _json_size, limit: int = MAX_BODY) -> list[list]:
    """Consecutive runs of ``items`` whose serialized size stays under ``limit`` (room is left for
    the rest of the body); an item alone over it goes alone. One run when everything fits, so the
    number of requests grows with the bytes written, never with the rows while they fit."""
    budget = limit - 1_000
    runs: list[list] = [[]]
    used = 0
    for item in items:
        cost = size(item) + 1
        if runs[-1] and used + cost > budget:
            runs.append([])
            used = 0
        runs[-1].append(item)
        used += cost
    return runs if runs[-1] else []


def first_header(grid: Grid, writes: PositionalWrites) -> int:
    """Column of the first non-empty header once the new headers are written."""
    headers = dict(enumerate(grid[0] if grid else []))
    headers |= dict(writes.new_headers)
    return min((c for c, h in headers.items() if h not in (None, "")), default=0)


def append(name: str, writes: PositionalWrites, anchor: int, locale: str) -> tuple[str, dict]:
    """The range and body of a values:append adding ``writes.appended`` after the last row read.

    Anchored at the last non-empty row, from the first header's column: at the header, Google
    would stop at the first blank line and insert in the middle; below the last row, the range
    may lie outside the grid.
    """
    [whole] = appends(name, writes, anchor, locale, limit=None)
    return whole


def appends(
    name: str, writes: PositionalWrites, anchor: int, locale: str, limit: int | None = MAX_BODY
) -> list[tuple[str, dict]]:
    """``append`` split into bodies under ``limit`` bytes, each anchored at the last row of the
    one before it (``limit=None``: one body)."""
    values = [[user_entered(v, locale, empty="") for v in row[anchor:]] for row in writes.appended]
    runs = [values] if limit is None else split(values, limit=limit)
    found, row = [], max(writes.first_appended_row, 1)
    for run in runs:
        found.append((f"{quote(name)}!{column_letter(anchor)}{row}", {"values": run}))
        row += len(run)
    return found


def cell_data(value: CellValue) -> dict:
    """A CellData for updateCells: typed, so text is never read as a formula."""
    if value is None or value == "":
        return {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, int | float):
        return {"userEnteredValue": {"numberValue": value}}
    if isinstance(value, datetime):
        return {
            "userEnteredValue": {"numberValue": (value - SHEETS_EPOCH).total_seconds() / 86400},
            "userEnteredFormat": {"numberFormat": {"type": "DATE_TIME", "pattern": "dd/mm/yyyy hh:mm"}},
        }
    if isinstance(value, date):
        serial = (datetime.combine(value, datetime.min.time()) - SHEETS_EPOCH).days
        return {
            "userEnteredValue": {"numberValue": serial},
            "userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": "dd/mm/yyyy"}},
        }
    return {"userEnteredValue": {"stringValue": str(value)}}


# -- sheets --------------------------------------------------------------------------------------


def new_sheet_id(used: Collection[int]) -> int:
    while True:
        candidate = random.randrange(1, 2**31)
        if candidate not in used:
            return candidate


def add_sheet(name: str, sheet_id: int, columns: int, rows: int = NEW_SHEET_ROWS) -> dict:
    return {
        "addSheet": {
            "properties": {
                "sheetId": sheet_id,
                "title": name,
                "gridProperties": {"rowCount": rows, "columnCount": columns, "frozenRowCount": 1},
            }
        }
    }


def add_sheet_for(name: str, sheet_id: int, grid: Grid) -> dict:
    """A new sheet big enough for ``grid``, which is to be written whole into it."""
    columns = max((len(row) for row in grid), default=0)
    return add_sheet(name, sheet_id, max(26, columns), max(NEW_SHEET_ROWS, len(grid)))


def room_for(entry: Mapping, grid: Grid) -> tuple[int, list[dict]]:
    """An existing sheet (its metadata) emptied of its charts and grown to the grid's size."""
    rows, columns = len(grid), max((len(row) for row in grid), default=0)
    properties = entry["properties"]
    sheet_id = properties["sheetId"]
    requests = [{"deleteEmbeddedObject": {"objectId": old["chartId"]}} for old in entry.get("charts", [])]
    size = properties.get("gridProperties", {})
    for dimension, wanted, has in (
        ("ROWS", rows, size.get("rowCount", 0)),
        ("COLUMNS", columns, size.get("columnCount", 0)),
    ):
        if wanted > has:
            requests.append(
                {"appendDimension": {"sheetId": sheet_id, "dimension": dimension, "length": wanted - has}}
            )
    return sheet_id, requests


PIXELS_PER_CHARACTER = 7
"""Google sizes columns in pixels; a character of its default font (Arial 10) is about 7."""


def fill(sheet_id: int, grid: Grid, chart: ChartSpec | None, look: Look | None = None) -> list[dict]:
    """Every cell of the grid, typed, from A1; its look (widths, frozen rows, bold titles,
    percentages); then the chart, if any."""
    look = look or Look()
    bold, percent = set(look.bold_rows), set(look.percent)

    def data(r: int, c: int, value: CellValue) -> dict:
        found = cell_data(value)
        if (r, c) in percent and isinstance(value, int | float) and not isinstance(value, bool):
            found["userEnteredFormat"] = {"numberFormat": {"type": "PERCENT", "pattern": PERCENT_FORMAT}}
        if r in bold and found:
            found.setdefault("userEnteredFormat", {})["textFormat"] = {"bold": True}
        return found

    cells = {
        "updateCells": {
            "range": {"sheetId": sheet_id},
            "rows": [{"values": [data(r, c, v) for c, v in enumerate(row)]} for r, row in enumerate(grid)],
            "fields": "userEnteredValue,userEnteredFormat.numberFormat,userEnteredFormat.textFormat.bold",
        }
    }
    requests = [cells, *_look(sheet_id, look)] if look != Look() else [cells]
    return requests if chart is None else [*requests, add_chart(sheet_id, chart)]


def _look(sheet_id: int, look: Look) -> list[dict]:
    frozen = {
        "updateSheetProperties": {
            "properties": {"sheetId": sheet_id, "gridProperties": {"frozenRowCount": look.frozen_rows}},
            "fields": "gridProperties.frozenRowCount",
        }
    }
    widths = [
        {
            "updateDimensionProperties": {
                "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": i, "endIndex": i + 1},
                "properties": {"pixelSize": width * PIXELS_PER_CHARACTER},
                "fields": "pixelSize",
            }
        }
        for i, width in enumerate(look.widths)
    ]
    return [frozen, *widths]


def new_sheet(layout: SheetLayout, sheet_id: int) -> list[dict]:
    """A sheet Passerelle creates: bold frozen headers, dropdowns and protections."""
    positions = {label: i for i, label in enumerate(layout.headers)}
    return [
        add_sheet(layout.name, sheet_id, max(26, len(layout.headers))),
        header_row(layout, sheet_id),
        *_column_requests(layout, sheet_id, positions),
    ]


def header_row(layout: SheetLayout, sheet_id: int) -> dict:
    """The layout's headers, bold, in row 1 of the sheet."""
    return {
        "updateCells": {
            "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0},
            "rows": [
                {
                    "values": [
                        {
                            "userEnteredValue": {"stringValue": h},
                            "userEnteredFormat": {"textFormat": {"bold": True}},
                        }
                        for h in layout.headers
                    ]
                }
            ],
            "fields": "userEnteredValue,userEnteredFormat.textFormat.bold",
        }
    }


def setup(layout: SheetLayout, entry: Mapping, headers: list[CellValue]) -> list[dict]:
    """For a sheet people made: freeze its header row, dropdowns and protections where found."""
    properties = entry["properties"]
    sheet_id = properties["sheetId"]
    labels = list(dict.fromkeys([*layout.choices, *layout.owned]))  # "Réponse" is both
    positions = header_positions(layout.name, headers, labels)
    requests: list[dict] = []
    if not properties.get("gridProperties", {}).get("frozenRowCount"):
        requests.append(
            {
                "updateSheetProperties": {
                    "properties": {"sheetId": sheet_id, "gridProperties": {"frozenRowCount": 1}},
                    "fields": "gridProperties.frozenRowCount",
                }
            }
        )
    return requests + _column_requests(layout, sheet_id, positions)


def needs_setup(layout: SheetLayout, entry: Mapping) -> bool:
    """An existing sheet is set up once its header row is frozen and its owned columns protected.

    Dropdowns are not listed in metadata: they are added with the rest, at the first set-up.
    """
    frozen = entry["properties"].get("gridProperties", {}).get("frozenRowCount", 0) >= 1
    protected = any(
        p.get("description", "").startswith(PROTECTION_NOTE) for p in entry.get("protectedRanges", [])
    )
    return not frozen or (bool(layout.owned) and not protected)


def _column_requests(layout: SheetLayout, sheet_id: int, positions: Mapping[str, int]) -> list[dict]:
    requests: list[dict] = []
    for label, choices in layout.choices.items():
        if label in positions:
            rule = {
                "condition": {
                    "type": "ONE_OF_LIST",
                    "values": [{"userEnteredValue": choice} for choice in choices],
                },
                "showCustomUi": True,
                "strict": False,
            }
            range_ = _column(sheet_id, positions[label], first_row=1)
            requests.append({"setDataValidation": {"range": range_, "rule": rule}})
    for label in layout.owned:
        if label in positions:
            protected = {
                "range": _column(sheet_id, positions[label], first_row=0),
                "description": f"{PROTECTION_NOTE} ({label})",
                "warningOnly": True,
            }
            requests.append({"addProtectedRange": {"protectedRange": protected}})
    return requests


def _column(sheet_id: int, column: int, first_row: int) -> dict:
    return {
        "sheetId": sheet_id,
        "startRowIndex": first_row,
        "startColumnIndex": column,
        "endColumnIndex": column + 1,
    }


def add_chart(sheet_id: int, chart: ChartSpec) -> dict:
    """A horizontal bar chart of one block of the grid, beside it."""

    def source(column: int) -> dict:
        return {
            "sourceRange": {
                "sources": [
                    {
                        "sheetId": sheet_id,
                        "startRowIndex": chart.first_row,
                        "endRowIndex": chart.last_row + 1,
                        "startColumnIndex": column,
                        "endColumnIndex": column + 1,
                    }
                ]
            }
        }

    return {
        "addChart": {
            "chart": {
                "spec": {
                    "title": chart.title,
                    "basicChart": {
                        "chartType": "BAR",
                        "legendPosition": "NO_LEGEND",
                        "axis": [{"position": "BOTTOM_AXIS"}, {"position": "LEFT_AXIS"}],
                        "domains": [{"domain": source(chart.label_column)}],
                        "series": [{"series": source(chart.value_column), "targetAxis": "BOTTOM_AXIS"}],
                        "headerCount": 0,
                    },
                },
                "position": {
                    "overlayPosition": {
                        "anchorCell": {
                            "sheetId": sheet_id,
                            "rowIndex": chart.first_row,
                            "columnIndex": chart.anchor_column,
                        }
                    }
                },
            }
        }
    }
