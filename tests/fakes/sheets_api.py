"""A stateful, HTTP-level fake of the Google Sheets API v4 and Drive API v3, for tests only.

It answers what gspread sends for the calls Passerelle makes (and ``Client.create`` /
``Client.del_spreadsheet``), with the shapes Google returns: ranges quoted and clipped the same
way, trailing empty cells and rows trimmed, ``values`` absent for an empty range, the same error
bodies. The recordings in ``../shared/reference/gspread-cassettes`` are the ground truth;
``tests/test_fake_sheets_api.py`` replays them against this fake.

Mount it into gspread's own requests session; nothing in gspread is patched::

    adapter = make_adapter()
    client = gspread.Client(auth=Credentials(token="fake"))
    for prefix in PREFIXES:
        client.http_client.session.mount(prefix, adapter)

Test controls on the adapter:

- ``adapter.calls`` / ``adapter.count("values.batchGet")``: every request seen, by endpoint name;
- ``adapter.fail_next(429, times=3, when="values.batchUpdate")``: answer with an error instead
  (``times=None``: until ``reset_failures()``);
- ``adapter.disabled_in_project = "123"``: every Sheets request answers the 403 of an API not
  enabled in that Cloud project;
- ``adapter.on("values.batchUpdate", hook, skip=1)``: run ``hook(adapter, call)`` before a
  request is handled (a person sorting rows between a read and a write);
- ``adapter.create_spreadsheet(...)`` / ``adapter.spreadsheet(key)``: direct access to the cells
  (``sheet.rows()``, ``sheet.set_rows()``, ``sheet.cell("B2").formula``, ``sheet.sort_rows()``).

Behaviour not seen in the recordings is marked "unverified" where it is a guess about Google.
Anything outside what the fake models answers 501 with a message saying so, never a silent
approximation.
"""

from __future__ import annotations

import copy
import itertools
import json
import random
import re
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import requests
from requests.adapters import BaseAdapter

SHEETS = "https://sheets.googleapis.com"
DRIVE = "https://www.googleapis.com"
PREFIXES = (SHEETS, DRIVE)

SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"
EPOCH = datetime(1899, 12, 30)
DEFAULT_ROWS, DEFAULT_COLUMNS = 1000, 26

# ---------------------------------------------------------------------------------------------
# Errors, with Google's bodies
# ---------------------------------------------------------------------------------------------

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
}
_DEFAULT_MESSAGES = {
    # 403 and 404 are recorded (ClientTest.test_access_*); 429/500/503 were not recorded, these
    # are the messages Google documents and sends (unverified against the recordings).
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    429: (
        "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute"
        " per user' of service 'sheets.googleapis.com' for consumer 'project_number:0'."
    ),
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
}


class ApiError(Exception):
    """Raised inside the fake; turned into Google's JSON error body."""

    def __init__(self, code: int, message: str | None = None, body: dict | None = None):
        super().__init__(message)
        self.code = code
        self.body = body or {
            "error": {
                "code": code,
                "message": message or _DEFAULT_MESSAGES.get(code, "Error"),
                "status": _STATUS_NAMES.get(code, "UNKNOWN"),
            }
        }


def service_disabled(project: str) -> ApiError:
    """The 403 of a Cloud project where the Sheets API is not enabled.

    Not in the recordings (their project had it on): the message is the one Google has sent for
    years (quoted in many public bug reports), the details follow Google's documented
    google.rpc.ErrorInfo for SERVICE_DISABLED (unverified field by field).
    """
    activation = (
        f"https://console.developers.google.com/apis/api/sheets.googleapis.com/overview?project={project}"
    )
    message = (
        f"Google Sheets API has not been used in project {project} before or it is disabled. Enable it "
        f"by visiting {activation} then retry. If you enabled this API recently, wait a few minutes "
        "for the action to propagate to our systems and retry."
    )
    return ApiError(
        403,
        body={
            "error": {
                "code": 403,
                "message": message,
                "status": "PERMISSION_DENIED",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "SERVICE_DISABLED",
                        "domain": "googleapis.com",
                        "metadata": {
                            "consumer": f"projects/{project}",
                            "service": "sheets.googleapis.com",
                            "serviceTitle": "Google Sheets API",
                            "activationUrl": activation,
                        },
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.Help",
                        "links": [
                            {"description": "Google developers console API activation", "url": activation}
                        ],
                    },
                ],
            }
        },
    )


def error_body(code: int, message: str | None = None) -> dict:
    return ApiError(code, message).body


def _bad_range(text: str) -> ApiError:
    return ApiError(400, f"Unable to parse range: {text}")


def _unsupported(what: str) -> ApiError:
    return ApiError(501, f"The fake Sheets API does not model {what}.")


# ---------------------------------------------------------------------------------------------
# A1 notation
# ---------------------------------------------------------------------------------------------


def column_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def column_index(letters: str) -> int:
    index = 0
    for char in letters.upper():
        index = index * 26 + ord(char) - ord("A") + 1
    return index - 1


_CELL_LIKE = re.compile(r"^([A-Za-z]{1,3}\d+|[Rr]\d+[Cc]\d+|[A-Za-z]{1,3}|\d+)$")


def quote_title(title: str) -> str:
    """Quote a sheet title the way Google writes it in a returned range.

    Recorded: ``Sheet1`` bare; ``'D3'``, ``'Test ClientTest test_import_csv'`` and emoji titles
    quoted. Titles made of letters (any script), digits and ``_`` that do not look like a cell
    are written bare (unverified for accented letters such as "Réunions").
    """
    plain = all(ch.isalnum() or ch == "_" for ch in title)
    if title and plain and not _CELL_LIKE.match(title) and not title[0].isdigit():
        return title
    return "'" + title.replace("'", "''") + "'"


_A1_PART = re.compile(r"^([A-Za-z]{0,3})(\d*)$")


@dataclass(frozen=True)
class Box:
    """A rectangle of cells, 0-based, end exclusive; ``None`` ends are open (to the grid edge)."""

    row0: int
    col0: int
    row1: int | None
    col1: int | None

    def resolve(self, rows: int, cols: int) -> Box:
        row1 = rows if self.row1 is None else self.row1
        col1 = cols if self.col1 is None else self.col1
        return Box(self.row0, self.col0, row1, col1)

    def a1(self) -> str:
        assert self.row1 is not None and self.col1 is not None
        start = f"{column_letters(self.col0)}{self.row0 + 1}"
        end = f"{column_letters(self.col1 - 1)}{self.row1}"
        if self.row1 - self.row0 == 1 and self.col1 - self.col0 == 1:
            return start
        return f"{start}:{end}"

    @property
    def single_cell(self) -> bool:
        return self.row1 == self.row0 + 1 and self.col1 == self.col0 + 1


def _parse_a1(text: str) -> Box | None:
    """``A1``, ``A1:C3``, ``A:C``, ``2:3``, ``A2:2``, ``A1:C``; reversed corners are normalised."""
    parts = text.split(":")
    if len(parts) > 2:
        return None
    corners = []
    for part in parts:
        match = _A1_PART.match(part)
        if not match or part == "":
            return None
        letters, digits = match.groups()
        col = column_index(letters) if letters else None
        row = int(digits) - 1 if digits else None
        if row is not None and row < 0:
            return None
        corners.append((row, col))
    if len(corners) == 1:
        row, col = corners[0]
        if row is None or col is None:
            return None
        return Box(row, col, row + 1, col + 1)
    (r0, c0), (r1, c1) = corners
    rows = sorted(r for r in (r0, r1) if r is not None)
    cols = sorted(c for c in (c0, c1) if c is not None)
    if not rows and not cols:
        return None
    row0 = rows[0] if r0 is not None else 0
    col0 = cols[0] if c0 is not None else 0
    row1 = rows[-1] + 1 if r1 is not None else None
    col1 = cols[-1] + 1 if c1 is not None else None
    if r0 is not None and r1 is not None:
        row0, row1 = rows[0], rows[1] + 1
    if c0 is not None and c1 is not None:
        col0, col1 = cols[0], cols[1] + 1
    return Box(row0, col0, row1, col1)


def split_range(text: str) -> tuple[str | None, str | None]:
    """``'My ''x'''!A1:B2`` -> ("My 'x'", "A1:B2"); ``Sheet1`` -> ("Sheet1", None) as written."""
    if text.startswith("'"):
        end = 1
        title = ""
        while end < len(text):
            if text[end] == "'":
                if text[end + 1 : end + 2] == "'":
                    title += "'"
                    end += 2
                    continue
                break
            title += text[end]
            end += 1
        else:
            raise _bad_range(text)
        rest = text[end + 1 :]
        if rest == "":
            return title, None
        if not rest.startswith("!"):
            raise _bad_range(text)
        return title, rest[1:]
    if "!" in text:
        title, _, cells = text.rpartition("!")
        return title, cells
    return None, text


# ---------------------------------------------------------------------------------------------
# Cells and values
# ---------------------------------------------------------------------------------------------


@dataclass
class Cell:
    """One non-empty cell: its value, the formula that made it, the number format if any."""

    value: str | float | bool
    formula: str | None = None
    number_format: str | None = None  # a date/time pattern such as "dd/mm/yyyy"
    bold: bool = False

    @property
    def is_formula(self) -> bool:
        return self.formula is not None

    @property
    def is_date(self) -> bool:
        return self.number_format is not None and "%" not in self.number_format


@dataclass(frozen=True)
class Locale:
    decimal: str
    date_order: str  # "DMY" or "MDY"
    date_pattern: str
    datetime_pattern: str
    true: str
    false: str
    first_sheet: str


LOCALES = {
    "en_US": Locale(".", "MDY", "m/d/yyyy", "m/d/yyyy h:mm:ss", "TRUE", "FALSE", "Sheet1"),
    "fr_FR": Locale(",", "DMY", "dd/mm/yyyy", "dd/mm/yyyy hh:mm:ss", "VRAI", "FAUX", "Feuille 1"),
}


def _locale(name: str) -> Locale:
    return LOCALES.get(name, LOCALES["en_US"])


def to_serial(moment: datetime | date) -> float:
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time())
    return (moment - EPOCH) / timedelta(days=1)


def from_serial(serial: float) -> datetime:
    return EPOCH + timedelta(days=serial)


_NUMBER = {
    ".": re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"),
    ",": re.compile(r"^[+-]?(\d+(,\d*)?|,\d+)([eE][+-]?\d+)?$"),
}
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_SLASH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_ARITHMETIC = re.compile(r"^[\d\s.+\-*/()]+$")


def parse_user_entered(text: str, locale: Locale) -> Cell | None:
    """What the Sheets UI makes of typed text (valueInputOption=USER_ENTERED)."""
    if text == "":
        return None
    if text.startswith("'"):
        return Cell(text[1:])
    if text.startswith("="):
        return Cell(_evaluate(text), formula=text)
    stripped = text.strip()
    if _NUMBER[locale.decimal].match(stripped):
        return Cell(_number(float(stripped.replace(locale.decimal, "."))))
    if stripped.upper() in (locale.true, "TRUE"):
        return Cell(True)
    if stripped.upper() in (locale.false, "FALSE"):
        return Cell(False)
    match = _ISO_DATE.match(stripped)
    if match:
        year, month, day = int(match[1]), int(match[2]), int(match[3])
        if match[4] is None:
            return _date_cell(year, month, day, None, "yyyy-mm-dd") or Cell(text)
        clock = (int(match[4]), int(match[5]), int(match[6] or 0))
        return _date_cell(year, month, day, clock, "yyyy-mm-dd hh:mm:ss") or Cell(text)
    match = _SLASH_DATE.match(stripped)
    if match:
        first, second, year = int(match[1]), int(match[2]), int(match[3])
        day, month = (first, second) if locale.date_order == "DMY" else (second, first)
        clock = None
        if match[4] is not None:
            clock = (int(match[4]), int(match[5]), int(match[6] or 0))
        pattern = locale.datetime_pattern if clock else locale.date_pattern
        return _date_cell(year, month, day, clock, pattern) or Cell(text)
    match = _TIME.match(stripped)
    if match:
        hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
        if hours < 24 and minutes < 60 and seconds < 60:
            fraction = (hours * 3600 + minutes * 60 + seconds) / 86400
            return Cell(fraction, number_format="hh:mm:ss")
    return Cell(text)


def _date_cell(year, month, day, clock, pattern) -> Cell | None:
    try:
        moment = datetime(year, month, day, *(clock or (0, 0, 0)))
    except ValueError:
        return None
    return Cell(_number(to_serial(moment)), number_format=pattern)


def _evaluate(formula: str) -> str | float:
    """Plain arithmetic only (=4/2, =1+1); anything else shows Google's #NAME? error."""
    expression = formula[1:]
    if _ARITHMETIC.match(expression):
        try:
            return _number(float(eval(expression, {"__builtins__": {}}, {})))
        except (SyntaxError, ZeroDivisionError):
            return "#ERROR!"
    return "#NAME?"


def _number(value: float) -> float:
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


def cell_from_json(value: Any, input_option: str, locale: Locale) -> Cell | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return Cell(value)
    if isinstance(value, int | float):
        return Cell(_number(value))
    if not isinstance(value, str):
        raise ApiError(400, f"Invalid value at 'data.values' ({type(value).__name__})")
    if input_option == "RAW":
        return Cell(value)
    return parse_user_entered(value, locale)


def _format_number(value: float, locale: Locale) -> str:
    if isinstance(value, int):
        return str(value)
    text = repr(round(value, 10)).rstrip("0").rstrip(".") if "." in repr(value) else repr(value)
    return text.replace(".", locale.decimal)


def format_date(serial: float, pattern: str) -> str:
    moment = from_serial(serial)
    moment = (moment + timedelta(microseconds=500_000)).replace(microsecond=0)
    replacements = [
        ("yyyy", f"{moment.year:04d}"),
        ("dd", f"{moment.day:02d}"),
        ("hh", f"{moment.hour:02d}"),
        ("ss", f"{moment.second:02d}"),
    ]
    out = pattern
    # minutes: "mm" after an hour field is minutes, otherwise a month
    out = re.sub(r"(h+:)mm", lambda m: m.group(1) + f"{moment.minute:02d}", out)
    for token, text in replacements:
        out = out.replace(token, text)
    out = out.replace("mm", f"{moment.month:02d}")
    out = re.sub(r"(?<![0-9])m(?![a-z])", str(moment.month), out)
    out = re.sub(r"(?<![0-9])d(?![a-z])", str(moment.day), out)
    out = re.sub(r"(?<![0-9])h(?![a-z])", str(moment.hour), out)
    return out


def render(cell: Cell, value_option: str, datetime_option: str, locale: Locale) -> Any:
    if value_option == "FORMULA" and cell.formula is not None:
        return cell.formula
    value = cell.value
    if value_option == "FORMATTED_VALUE":
        if isinstance(value, bool):
            return locale.true if value else locale.false
        if isinstance(value, str):
            return value
        if cell.number_format and "%" in cell.number_format:
            return f"{round(value * 100)}%"
        if cell.number_format:
            return format_date(value, cell.number_format)
        return _format_number(value, locale)
    # UNFORMATTED_VALUE and FORMULA (for non-formula cells): raw numbers
    if cell.is_date and datetime_option == "FORMATTED_STRING" and value_option != "FORMULA":
        return format_date(value, cell.number_format)
    return value


# ---------------------------------------------------------------------------------------------
# Spreadsheets and sheets
# ---------------------------------------------------------------------------------------------


@dataclass
class FakeSheet:
    sheet_id: int
    title: str
    index: int
    row_count: int = DEFAULT_ROWS
    column_count: int = DEFAULT_COLUMNS
    frozen_rows: int = 0
    frozen_columns: int = 0
    hidden: bool = False
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    validations: list[tuple[Box, dict]] = field(default_factory=list)
    protected_ranges: list[dict] = field(default_factory=list)
    charts: list[dict] = field(default_factory=list)
    locale: Locale = LOCALES["en_US"]
    column_widths: dict[int, int] = field(default_factory=dict)
    """Pixel widths set by updateDimensionProperties, by column index."""

    # -- direct access for tests -------------------------------------------------------------

    def cell(self, a1: str) -> Cell | None:
        box = _parse_a1(a1)
        assert box is not None and box.single_cell, a1
        return self.cells.get((box.row0, box.col0))

    def extent(self) -> tuple[int, int]:
        """(rows, columns) of the used range."""
        if not self.cells:
            return 0, 0
        return max(r for r, _ in self.cells) + 1, max(c for _, c in self.cells) + 1

    def rows(self, value_option: str = "UNFORMATTED_VALUE") -> list[list[Any]]:
        """The used range as Google would return it (trailing blanks trimmed)."""
        rows, cols = self.extent()
        return _trim(self.read(Box(0, 0, rows, cols), value_option, "SERIAL_NUMBER"))

    def set_rows(self, rows: Sequence[Sequence[Any]], start: str = "A1", user_entered=True):
        """Type rows into the sheet as a person would (USER_ENTERED) or store them RAW."""
        box = _parse_a1(start)
        assert box is not None
        option = "USER_ENTERED" if user_entered else "RAW"
        self.write(box.row0, box.col0, [list(r) for r in rows], option, clear_blanks=True)

    def sort_rows(self, key: Callable[[list[Any]], Any], header_rows: int = 1, reverse=False):
        """Reorder the data rows the way a person sorting the sheet would."""
        rows, _ = self.extent()
        body = list(range(header_rows, rows))
        snapshot = {r: {c: cell for (rr, c), cell in self.cells.items() if rr == r} for r in body}
        values = {r: self._row_values(r) for r in body}
        order = sorted(body, key=lambda r: key(values[r]), reverse=reverse)
        for r, c in [k for k in self.cells if k[0] >= header_rows]:
            del self.cells[(r, c)]
        for target, source in zip(body, order, strict=True):
            for c, cell in snapshot[source].items():
                self.cells[(target, c)] = cell

    def insert_rows(self, at: int, count: int = 1) -> None:
        """Insert blank rows before 0-based row ``at`` (the grid grows)."""
        moved = {}
        for (r, c), cell in self.cells.items():
            moved[(r + count if r >= at else r, c)] = cell
        self.cells = moved
        self.row_count += count

    def validation_at(self, a1: str) -> dict | None:
        box = _parse_a1(a1)
        assert box is not None
        for area, rule in reversed(self.validations):
            if _contains(area, box.row0, box.col0):
                return rule
        return None

    # -- reading and writing ---------------------------------------------------------------

    def _row_values(self, r: int) -> list[Any]:
        _, cols = self.extent()
        return [self.cells[(r, c)].value if (r, c) in self.cells else "" for c in range(cols)]

    def read(self, box: Box, value_option: str, datetime_option: str) -> list[list[Any]]:
        assert box.row1 is not None and box.col1 is not None
        used_rows, used_cols = self.extent()
        out = []
        for r in range(box.row0, min(box.row1, used_rows)):
            row = []
            for c in range(box.col0, min(box.col1, used_cols)):
                cell = self.cells.get((r, c))
                row.append("" if cell is None else render(cell, value_option, datetime_option, self.locale))
            out.append(row)
        return out

    def write(self, row0, col0, rows, input_option, clear_blanks=False) -> None:
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                if value is None and not clear_blanks:
                    continue  # JSON null: the cell is left as it is
                cell = cell_from_json(value, input_option, self.locale)
                key = (row0 + i, col0 + j)
                if cell is None:
                    self.cells.pop(key, None)
                else:
                    self.cells[key] = cell
        self.row_count = max(self.row_count, row0 + len(rows))
        self.column_count = max(self.column_count, col0 + max((len(r) for r in rows), default=0))

    def clear(self, box: Box) -> None:
        for key in [k for k in self.cells if _contains(box, *k)]:
            del self.cells[key]

    def properties(self) -> dict:
        grid: dict[str, Any] = {"rowCount": self.row_count, "columnCount": self.column_count}
        if self.frozen_rows:
            grid["frozenRowCount"] = self.frozen_rows
        if self.frozen_columns:
            grid["frozenColumnCount"] = self.frozen_columns
        props: dict[str, Any] = {
            "sheetId": self.sheet_id,
            "title": self.title,
            "index": self.index,
            "sheetType": "GRID",
            "gridProperties": grid,
        }
        if self.hidden:
            props["hidden"] = True
        return props


def _contains(box: Box, r: int, c: int) -> bool:
    return (
        box.row0 <= r
        and (box.row1 is None or r < box.row1)
        and box.col0 <= c
        and (box.col1 is None or c < box.col1)
    )


def _trim(rows: list[list[Any]]) -> list[list[Any]]:
    """Google drops trailing empty cells of each row and trailing empty rows."""
    trimmed = []
    for row in rows:
        end = len(row)
        while end and row[end - 1] == "":
            end -= 1
        trimmed.append(row[:end])
    while trimmed and not trimmed[-1]:
        trimmed.pop()
    return trimmed


@dataclass
class FakeSpreadsheet:
    id: str
    title: str
    locale_name: str = "en_US"
    time_zone: str = "Etc/GMT"
    sheets: list[FakeSheet] = field(default_factory=list)
    accessible: bool = True  # False: the service account was not given access (403)
    owner: str = "passerelle-tests@example.iam.gserviceaccount.com"
    created: str = "2024-01-01T00:00:00.000Z"

    @property
    def locale(self) -> Locale:
        return _locale(self.locale_name)

    def sheet(self, title: str) -> FakeSheet:
        for sheet in self.sheets:
            if sheet.title == title:
                return sheet
        raise KeyError(title)

    def sheet_by_id(self, sheet_id: int) -> FakeSheet | None:
        return next((s for s in self.sheets if s.sheet_id == sheet_id), None)

    def add_sheet(
        self, title: str, rows=DEFAULT_ROWS, columns=DEFAULT_COLUMNS, sheet_id=None, index=None
    ) -> FakeSheet:
        if any(s.title.lower() == title.lower() for s in self.sheets):
            raise ApiError(
                400,
                f'A sheet with the name "{title}" already exists. Please enter another name.',
            )
        if sheet_id is None:
            sheet_id = 0 if not self.sheets else random.randrange(1, 2**31)
        position = len(self.sheets) if index is None else min(index, len(self.sheets))
        sheet = FakeSheet(sheet_id, title, position, rows, columns, locale=self.locale)
        self.sheets.insert(position, sheet)
        self._reindex()
        return sheet

    def _reindex(self) -> None:
        for i, sheet in enumerate(self.sheets):
            sheet.index = i
            sheet.locale = self.locale

    def resolve(self, text: str, *, for_write: bool = False) -> tuple[FakeSheet, Box]:
        """A1 text -> (sheet, box with closed ends); 400 "Unable to parse range" otherwise."""
        title, cells = split_range(text)
        if title is None:
            # A bare name is a sheet when one has that name, otherwise cells on the first sheet.
            assert cells is not None
            matching = [s for s in self.sheets if s.title == cells]
            if matching:
                title, cells = cells, None
            else:
                visible = [s for s in self.sheets if not s.hidden] or self.sheets
                sheet = visible[0]
                box = _parse_a1(cells)
                if box is None:
                    raise _bad_range(text)
                return sheet, self._clip(sheet, box, text, for_write)
        try:
            sheet = self.sheet(title)
        except KeyError:
            raise _bad_range(text) from None
        if cells is None:
            return sheet, Box(0, 0, sheet.row_count, sheet.column_count)
        box = _parse_a1(cells)
        if box is None:
            raise _bad_range(text)
        return sheet, self._clip(sheet, box, text, for_write)

    @staticmethod
    def _clip(sheet: FakeSheet, box: Box, text: str, for_write: bool) -> Box:
        if for_write:
            return box.resolve(sheet.row_count, sheet.column_count)
        # Open and overlong ends stop at the grid edge (recorded: A:A -> A1:A10 on 10 rows).
        # A range starting outside the grid is an error (message unverified).
        if box.row0 >= sheet.row_count or box.col0 >= sheet.column_count:
            corner = Box(box.row0, box.col0, box.row0 + 1, box.col0 + 1).a1()
            raise ApiError(
                400,
                f"Range ({quote_title(sheet.title)}!{corner}) exceeds grid limits. Max rows: "
                f"{sheet.row_count}, max columns: {sheet.column_count}",
            )
        row1 = sheet.row_count if box.row1 is None else min(box.row1, sheet.row_count)
        col1 = sheet.column_count if box.col1 is None else min(box.col1, sheet.column_count)
        return Box(box.row0, box.col0, row1, col1)

    def metadata(self) -> dict:
        sheets = []
        for sheet in self.sheets:
            entry: dict[str, Any] = {"properties": sheet.properties()}
            if sheet.protected_ranges:
                # Listed with the owner as an editor (recorded), whatever the request said.
                entry["protectedRanges"] = [
                    {**copy.deepcopy(p), "editors": {"users": [self.owner]}} for p in sheet.protected_ranges
                ]
            if sheet.charts:
                entry["charts"] = copy.deepcopy(sheet.charts)
            sheets.append(entry)
        return {
            "spreadsheetId": self.id,
            "properties": {
                "title": self.title,
                "locale": self.locale_name,
                "autoRecalc": "ON_CHANGE",
                "timeZone": self.time_zone,
                "defaultFormat": copy.deepcopy(_DEFAULT_FORMAT),
                "spreadsheetTheme": copy.deepcopy(_THEME),
            },
            "sheets": sheets,
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{self.id}/edit",
        }


_DEFAULT_FORMAT = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
}
_THEME = {
    "primaryFontFamily": "Arial",
    "themeColors": [
        {"colorType": "TEXT", "color": {"rgbColor": {}}},
        {"colorType": "BACKGROUND", "color": {"rgbColor": {"red": 1, "green": 1, "blue": 1}}},
    ],
}


# ---------------------------------------------------------------------------------------------
# The adapter: routing, controls
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request as the fake saw it: ``endpoint`` names what it was, e.g. "values.batchGet"."""

    method: str
    endpoint: str
    path: str  # percent-decoded
    query: dict[str, list[str]]
    body: Any
    spreadsheet_id: str | None


@dataclass
class _Failure:
    status: int
    remaining: int | None
    when: Callable[[Call], bool]
    message: str | None


@dataclass
class _Hook:
    when: Callable[[Call], bool]
    action: Callable[[FakeSheetsAdapter, Call], None]
    skip: int
    remaining: int | None


Predicate = str | Callable[[Call], bool] | None


def _predicate(when: Predicate) -> Callable[[Call], bool]:
    if when is None:
        return lambda call: True
    if isinstance(when, str):
        return lambda call: call.endpoint == when
    return when


_ROUTES: list[tuple[str, str, re.Pattern[str]]] = [
    ("GET", "values.batchGet", re.compile(r"^/v4/spreadsheets/([^/]+)/values:batchGet$")),
    ("POST", "values.batchUpdate", re.compile(r"^/v4/spreadsheets/([^/]+)/values:batchUpdate$")),
    ("POST", "values.batchClear", re.compile(r"^/v4/spreadsheets/([^/]+)/values:batchClear$")),
    ("POST", "values.append", re.compile(r"^/v4/spreadsheets/([^/]+)/values/(.+):append$")),
    ("POST", "values.clear", re.compile(r"^/v4/spreadsheets/([^/]+)/values/(.+):clear$")),
    ("GET", "values.get", re.compile(r"^/v4/spreadsheets/([^/]+)/values/(.+)$")),
    ("PUT", "values.update", re.compile(r"^/v4/spreadsheets/([^/]+)/values/(.+)$")),
    ("POST", "spreadsheets.batchUpdate", re.compile(r"^/v4/spreadsheets/([^/:]+):batchUpdate$")),
    ("GET", "spreadsheets.get", re.compile(r"^/v4/spreadsheets/([^/:]+)$")),
    ("POST", "drive.files.create", re.compile(r"^/drive/v3/files$")),
    ("GET", "drive.files.get", re.compile(r"^/drive/v3/files/([^/]+)$")),
    ("DELETE", "drive.files.delete", re.compile(r"^/drive/v3/files/([^/]+)$")),
]


class FakeSheetsAdapter(BaseAdapter):
    """A requests transport adapter that is Google Sheets (and the bit of Drive gspread needs)."""

    def __init__(self) -> None:
        super().__init__()
        self.reset()

    # -- state -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every spreadsheet, request, failure and hook."""
        self.spreadsheets: dict[str, FakeSpreadsheet] = {}
        self.calls: list[Call] = []
        self._failures: list[_Failure] = []
        self._hooks: list[_Hook] = []
        self._ids = itertools.count(1)
        self.account_email = "passerelle-tests@example.iam.gserviceaccount.com"
        self.disabled_in_project: str | None = None  # a project number: the Sheets API is off there

    def create_spreadsheet(
        self,
        title: str = "Passerelle test",
        *,
        locale: str = "fr_FR",
        time_zone: str = "Europe/Paris",
        sheets: Iterable[str] | None = None,
        key: str | None = None,
    ) -> FakeSpreadsheet:
        """A spreadsheet made as a person would make it (French locale by default)."""
        key = key or self._new_key()
        book = FakeSpreadsheet(key, title, locale, time_zone, owner=self.account_email)
        for name in sheets or [_locale(locale).first_sheet]:
            book.add_sheet(name)
        self.spreadsheets[key] = book
        return book

    def spreadsheet(self, key: str) -> FakeSpreadsheet:
        return self.spreadsheets[key]

    def _new_key(self) -> str:
        return f"fake{next(self._ids):04d}" + "x" * 36

    # -- controls ----------------------------------------------------------------------------

    def count(self, when: Predicate = None) -> int:
        """Requests seen so far, all of them or those matching an endpoint name or predicate."""
        match = _predicate(when)
        return sum(1 for call in self.calls if match(call))

    def endpoints(self) -> list[str]:
        return [call.endpoint for call in self.calls]

    def fail_next(
        self, status: int, times: int | None = 1, when: Predicate = None, message: str | None = None
    ) -> None:
        """Answer the next matching request(s) with Google's error ``status`` instead.

        ``times=None`` keeps failing until ``reset_failures()``: a storm that does not end.
        """
        self._failures.append(_Failure(status, times, _predicate(when), message))

    def reset_failures(self) -> None:
        self._failures.clear()

    def on(
        self,
        when: Predicate,
        action: Callable[[FakeSheetsAdapter, Call], None],
        *,
        skip: int = 0,
        times: int | None = 1,
    ) -> None:
        """Run ``action(adapter, call)`` before handling a matching request, after ``skip`` of them."""
        self._hooks.append(_Hook(_predicate(when), action, skip, times))

    # -- requests' adapter API ---------------------------------------------------------------

    def close(self) -> None:
        pass

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        split = urllib.parse.urlsplit(request.url)
        raw_path = split.path
        query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        body = _json_body(request.body)
        endpoint, args = self._route(request.method, raw_path)
        spreadsheet_id = args[0] if args and endpoint != "drive.files.create" else None
        call = Call(request.method, endpoint, urllib.parse.unquote(raw_path), query, body, spreadsheet_id)
        self.calls.append(call)
        for hook in self._hooks:
            if hook.remaining != 0 and hook.when(call):
                if hook.skip:
                    hook.skip -= 1
                    continue
                if hook.remaining is not None:
                    hook.remaining -= 1
                hook.action(self, call)
        status, payload = self._failure(call) or self._handle(call, args)
        return _response(request, status, payload)

    def _failure(self, call: Call) -> tuple[int, dict] | None:
        for failure in self._failures:
            if failure.remaining != 0 and failure.when(call):
                if failure.remaining is not None:
                    failure.remaining -= 1
                return failure.status, error_body(failure.status, failure.message)
        return None

    def _route(self, method: str, path: str) -> tuple[str, list[str]]:
        for route_method, name, pattern in _ROUTES:
            match = pattern.match(path)
            if match and route_method == method:
                return name, [urllib.parse.unquote(g) for g in match.groups()]
        return f"unknown {method} {path}", []

    def _handle(self, call: Call, args: list[str]) -> tuple[int, Any]:
        handler = getattr(self, "_" + call.endpoint.replace(".", "_"), None)
        if handler is None:
            return 501, error_body(501, f"The fake Sheets API does not model {call.endpoint}.")
        try:
            if call.endpoint.startswith("drive."):
                return 200, handler(call, *args)
            if self.disabled_in_project:
                raise service_disabled(self.disabled_in_project)
            book = self.spreadsheets.get(args[0])
            if book is None:
                raise ApiError(404)
            if not book.accessible:
                raise ApiError(403)
            return 200, handler(call, book, *args[1:])
        except ApiError as error:
            return error.code, error.body

    # -- Drive -------------------------------------------------------------------------------

    def _drive_files_create(self, call: Call) -> dict:
        body = call.body or {}
        if body.get("mimeType") != SPREADSHEET_MIME:
            raise _unsupported("Drive files other than spreadsheets")
        book = self.create_spreadsheet(
            body.get("name", "Untitled spreadsheet"), locale="en_US", time_zone="Etc/GMT"
        )
        return {"kind": "drive#file", "id": book.id, "name": book.title, "mimeType": SPREADSHEET_MIME}

    def _drive_not_found(self, file_id: str) -> ApiError:
        message = f"File not found: {file_id}."
        return ApiError(
            404,
            body={
                "error": {
                    "code": 404,
                    "message": message,
                    "errors": [
                        {
                            "message": message,
                            "domain": "global",
                            "reason": "notFound",
                            "location": "fileId",
                            "locationType": "parameter",
                        }
                    ],
                }
            },
        )

    def _drive_files_get(self, call: Call, file_id: str) -> dict:
        book = self.spreadsheets.get(file_id)
        if book is None:
            raise self._drive_not_found(file_id)
        return {"id": book.id, "name": book.title, "createdTime": book.created, "modifiedTime": book.created}

    def _drive_files_delete(self, call: Call, file_id: str) -> None:
        if file_id not in self.spreadsheets:
            raise self._drive_not_found(file_id)
        del self.spreadsheets[file_id]

    # -- spreadsheets ------------------------------------------------------------------------

    def _spreadsheets_get(self, call: Call, book: FakeSpreadsheet) -> dict:
        unsupported = set(call.query) - {"includeGridData"}
        if unsupported or call.query.get("includeGridData", ["false"])[0].lower() != "false":
            raise _unsupported(f"spreadsheets.get with {sorted(call.query)}")
        return book.metadata()

    def _values_get(self, call: Call, book: FakeSpreadsheet, range_text: str) -> dict:
        return _value_range(book, range_text, _options(call.query))

    def _values_batchGet(self, call: Call, book: FakeSpreadsheet) -> dict:
        options = _options(call.query)
        ranges = call.query.get("ranges", [])
        return {
            "spreadsheetId": book.id,
            "valueRanges": [_value_range(book, text, options) for text in ranges],
        }

    def _values_update(self, call: Call, book: FakeSpreadsheet, range_text: str) -> dict:
        input_option = _input_option(call.query.get("valueInputOption", [None])[0])
        data = dict(call.body or {})
        data.setdefault("range", range_text)
        plan = _plan_update(book, data)
        response = _apply_update(book, plan, input_option)
        return response

    def _values_batchUpdate(self, call: Call, book: FakeSpreadsheet) -> dict:
        body = call.body or {}
        input_option = _input_option(body.get("valueInputOption"))
        if body.get("includeValuesInResponse"):
            raise _unsupported("includeValuesInResponse")
        plans = [_plan_update(book, data) for data in body.get("data", [])]  # validate all first
        responses = [_apply_update(book, plan, input_option) for plan in plans]
        response: dict[str, Any] = {"spreadsheetId": book.id}
        if responses:
            touched = [
                (p.sheet.sheet_id, r, c) for p in plans for r, c in _touched(p.box.row0, p.box.col0, p.rows)
            ]
            rows = {(sheet, r) for sheet, r, _ in touched}
            cols = {(sheet, c) for sheet, _, c in touched}
            response |= {
                "totalUpdatedRows": len(rows),
                "totalUpdatedColumns": len(cols),
                "totalUpdatedCells": sum(r["updatedCells"] for r in responses),
                "totalUpdatedSheets": len({p.sheet.sheet_id for p in plans}),
                "responses": responses,
            }
        return response

    def _values_append(self, call: Call, book: FakeSpreadsheet, range_text: str) -> dict:
        query = call.query
        input_option = _input_option(query.get("valueInputOption", [None])[0])
        insert = query.get("insertDataOption", ["OVERWRITE"])[0]
        if query.get("includeValuesInResponse", ["false"])[0].lower() == "true":
            raise _unsupported("includeValuesInResponse")
        body = call.body or {}
        rows = _rows_of(body)
        sheet, box = book.resolve(range_text)
        table = _find_table(sheet, box)
        response: dict[str, Any] = {"spreadsheetId": book.id}
        if table is None:
            row0, col0 = box.row0, box.col0
        else:
            response["tableRange"] = f"{quote_title(sheet.title)}!{table.a1()}"
            assert table.row1 is not None
            row0, col0 = table.row1, table.col0
        if insert == "INSERT_ROWS":
            sheet.insert_rows(row0, len(rows))
        sheet.write(row0, col0, rows, input_option)
        response["updates"] = {"spreadsheetId": book.id} | _updated(sheet, row0, col0, rows)
        return response

    def _values_clear(self, call: Call, book: FakeSpreadsheet, range_text: str) -> dict:
        sheet, box = book.resolve(range_text)
        sheet.clear(box)
        return {"spreadsheetId": book.id, "clearedRange": f"{quote_title(sheet.title)}!{box.a1()}"}

    def _values_batchClear(self, call: Call, book: FakeSpreadsheet) -> dict:
        resolved = [book.resolve(text) for text in (call.body or {}).get("ranges", [])]
        for sheet, box in resolved:
            sheet.clear(box)
        return {
            "spreadsheetId": book.id,
            "clearedRanges": [f"{quote_title(s.title)}!{b.a1()}" for s, b in resolved],
        }

    def _spreadsheets_batchUpdate(self, call: Call, book: FakeSpreadsheet) -> dict:
        # All or nothing, as Google does: on an error, the spreadsheet is put back as it was
        # (objects a test held on to keep the failed half-changes; fetch them again).
        snapshot = copy.deepcopy(book.__dict__)
        replies = []
        try:
            for number, request in enumerate((call.body or {}).get("requests", [])):
                ((kind, params),) = request.items()
                apply = _REQUESTS.get(kind)
                if apply is None:
                    raise _unsupported(f"the batchUpdate request {kind}")
                try:
                    replies.append(apply(book, params))
                except ApiError as error:
                    if error.code != 400:
                        raise
                    message = error.body["error"]["message"]
                    raise ApiError(400, f"Invalid requests[{number}].{kind}: {message}") from None
        except ApiError:
            book.__dict__.update(snapshot)
            raise
        return {"spreadsheetId": book.id, "replies": replies}


def make_adapter() -> FakeSheetsAdapter:
    """A fresh fake, to mount on ``PREFIXES`` of gspread's session."""
    return FakeSheetsAdapter()


# ---------------------------------------------------------------------------------------------
# Helpers of the handlers
# ---------------------------------------------------------------------------------------------


def _json_body(body: bytes | str | None) -> Any:
    if not body:
        return None
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return json.loads(body)


def _response(request, status: int, payload: Any) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.reason = {200: "OK", 204: "No Content"}.get(status, _STATUS_NAMES.get(status, ""))
    response.url = request.url
    response.request = request
    response.encoding = "utf-8"
    if payload is None:
        response.status_code = 204 if status == 200 else status
        response._content = b""
        response.headers["Content-Type"] = "text/html"
    else:
        response._content = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        response.headers["Content-Type"] = "application/json; charset=UTF-8"
    return response


@dataclass(frozen=True)
class _ReadOptions:
    major: str
    value: str
    datetime: str


def _options(query: dict[str, list[str]]) -> _ReadOptions:
    major = query.get("majorDimension", ["ROWS"])[0]
    value = query.get("valueRenderOption", ["FORMATTED_VALUE"])[0]
    moment = query.get("dateTimeRenderOption", ["SERIAL_NUMBER"])[0]
    if major not in ("ROWS", "COLUMNS"):
        raise ApiError(400, f"Invalid value at 'major_dimension' ({major})")
    if value not in ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"):
        raise ApiError(400, f"Invalid value at 'value_render_option' ({value})")
    if moment not in ("SERIAL_NUMBER", "FORMATTED_STRING"):
        raise ApiError(400, f"Invalid value at 'date_time_render_option' ({moment})")
    return _ReadOptions(major, value, moment)


def _input_option(option: str | None) -> str:
    if option not in ("RAW", "USER_ENTERED"):
        raise ApiError(400, "'valueInputOption' is required but not specified")
    return option


def _value_range(book: FakeSpreadsheet, text: str, options: _ReadOptions) -> dict:
    sheet, box = book.resolve(text)
    rows = sheet.read(box, options.value, options.datetime)
    if options.major == "COLUMNS":
        width = max((len(r) for r in rows), default=0)
        rows = [[r[j] if j < len(r) else "" for r in rows] for j in range(width)]
    result: dict[str, Any] = {
        "range": f"{quote_title(sheet.title)}!{box.a1()}",
        "majorDimension": options.major,
    }
    values = _trim(rows)
    if values:
        result["values"] = values
    return result


def _rows_of(data: dict) -> list[list[Any]]:
    values = data.get("values", [])
    if not isinstance(values, list) or not all(isinstance(r, list) for r in values):
        shown = json.dumps(values)
        message = "Invalid value at 'data.values' (type.googleapis.com/google.protobuf.ListValue), " + shown
        raise ApiError(
            400,
            body={
                "error": {
                    "code": 400,
                    "message": message,
                    "status": "INVALID_ARGUMENT",
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.rpc.BadRequest",
                            "fieldViolations": [{"field": "data.values", "description": message}],
                        }
                    ],
                }
            },
        )
    if data.get("majorDimension") == "COLUMNS":
        height = max((len(c) for c in values), default=0)
        values = [[c[i] if i < len(c) else None for c in values] for i in range(height)]
    return values


@dataclass
class _UpdatePlan:
    sheet: FakeSheet
    box: Box
    rows: list[list[Any]]
    text: str


def _plan_update(book: FakeSpreadsheet, data: dict) -> _UpdatePlan:
    text = data.get("range", "")
    sheet, box = book.resolve(text, for_write=True)
    rows = _rows_of(data)
    assert box.row1 is not None and box.col1 is not None
    height, width = box.row1 - box.row0, box.col1 - box.col0
    # A single cell is an anchor: the values spread from it. A larger range is a limit.
    if not box.single_cell and (len(rows) > height or any(len(r) > width for r in rows)):
        too_far = next(i for i, r in enumerate(rows) if i >= height or len(r) > width)
        raise ApiError(
            400,
            f"Requested writing within range [{text}], but tried writing to row [{box.row0 + too_far + 1}]",
        )
    return _UpdatePlan(sheet, box, rows, text)


def _apply_update(book: FakeSpreadsheet, plan: _UpdatePlan, input_option: str) -> dict:
    plan.sheet.write(plan.box.row0, plan.box.col0, plan.rows, input_option)
    response: dict[str, Any] = {"spreadsheetId": book.id}
    if any(plan.rows):
        response |= _updated(plan.sheet, plan.box.row0, plan.box.col0, plan.rows)
    return response


def _touched(row0: int, col0: int, rows: list[list[Any]]) -> list[tuple[int, int]]:
    """Cells a write sets: JSON nulls leave a cell as it is and are not counted (recorded)."""
    return [(row0 + i, col0 + j) for i, r in enumerate(rows) for j, v in enumerate(r) if v is not None]


def _updated(sheet: FakeSheet, row0: int, col0: int, rows: list[list[Any]]) -> dict:
    """``updatedRange`` spans the values sent; the counts are of the cells actually set."""
    width = max((len(r) for r in rows), default=0)
    written = Box(row0, col0, row0 + len(rows), col0 + width)
    touched = _touched(row0, col0, rows)
    return {
        "updatedRange": f"{quote_title(sheet.title)}!{written.a1()}",
        "updatedRows": len({r for r, _ in touched}),
        "updatedColumns": len({c for _, c in touched}),
        "updatedCells": len(touched),
    }


def _find_table(sheet: FakeSheet, box: Box) -> Box | None:
    """The "table" values.append writes after.

    Modelled on the recordings: from a single cell, the block of filled cells connected to it
    (none when the cell is empty: the rows go there); from a larger range, the block connected
    to the last filled cell in it (A1 and C1 filled, B1 empty -> table C1, append at C2).
    """
    if box.single_cell:
        start = (box.row0, box.col0) if (box.row0, box.col0) in sheet.cells else None
    else:
        inside = [k for k in sheet.cells if _contains(box, *k)]
        start = max(inside) if inside else None
    if start is None:
        return None
    seen = {start}
    todo = [start]
    while todo:
        r, c = todo.pop()
        for nr, nc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
            allowed = box.single_cell or _contains(box, nr, nc)
            if allowed and (nr, nc) in sheet.cells and (nr, nc) not in seen:
                seen.add((nr, nc))
                todo.append((nr, nc))
    return Box(
        min(r for r, _ in seen),
        min(c for _, c in seen),
        max(r for r, _ in seen) + 1,
        max(c for _, c in seen) + 1,
    )


# -- spreadsheets.batchUpdate requests ---------------------------------------------------------


def _grid_box(book: FakeSpreadsheet, grid_range: dict) -> tuple[FakeSheet, Box]:
    sheet = _sheet(book, grid_range.get("sheetId", 0))
    return sheet, Box(
        grid_range.get("startRowIndex", 0),
        grid_range.get("startColumnIndex", 0),
        grid_range.get("endRowIndex", sheet.row_count),
        grid_range.get("endColumnIndex", sheet.column_count),
    )


def _sheet(book: FakeSpreadsheet, sheet_id: int) -> FakeSheet:
    sheet = book.sheet_by_id(sheet_id)
    if sheet is None:
        raise ApiError(400, f"No grid with id: {sheet_id}")
    return sheet


def _range_json(grid_range: dict) -> dict:
    """A GridRange as Google echoes it: a 0 sheetId is left out (proto3 default)."""
    return {k: v for k, v in grid_range.items() if not (k == "sheetId" and v == 0)}


def _add_sheet(book: FakeSpreadsheet, params: dict) -> dict:
    props = params.get("properties", {})
    grid = props.get("gridProperties", {})
    sheet = book.add_sheet(
        props.get("title") or f"Sheet{len(book.sheets) + 1}",
        grid.get("rowCount", DEFAULT_ROWS),
        grid.get("columnCount", DEFAULT_COLUMNS),
        props.get("sheetId"),
        props.get("index"),
    )
    sheet.frozen_rows = grid.get("frozenRowCount", 0)
    sheet.frozen_columns = grid.get("frozenColumnCount", 0)
    return {"addSheet": {"properties": sheet.properties()}}


def _delete_sheet(book: FakeSpreadsheet, params: dict) -> dict:
    sheet = _sheet(book, params.get("sheetId", 0))
    if len(book.sheets) == 1:
        raise ApiError(400, "You can't remove all the sheets in a document.")
    book.sheets.remove(sheet)
    book._reindex()
    return {}


def _update_sheet_properties(book: FakeSpreadsheet, params: dict) -> dict:
    props = params.get("properties", {})
    sheet = _sheet(book, props.get("sheetId", 0))
    grid = props.get("gridProperties", {})
    setters = {
        "title": lambda: setattr(sheet, "title", props["title"]),
        "hidden": lambda: setattr(sheet, "hidden", bool(props.get("hidden"))),
        "gridProperties/rowCount": lambda: setattr(sheet, "row_count", grid["rowCount"]),
        "gridProperties/columnCount": lambda: setattr(sheet, "column_count", grid["columnCount"]),
        "gridProperties/frozenRowCount": lambda: setattr(sheet, "frozen_rows", grid.get("frozenRowCount", 0)),
        "gridProperties/frozenColumnCount": lambda: setattr(
            sheet, "frozen_columns", grid.get("frozenColumnCount", 0)
        ),
    }
    for name in params.get("fields", "").replace(".", "/").split(","):
        name = name.strip()
        if name not in setters:
            raise _unsupported(f"updateSheetProperties of {name!r}")
        setters[name]()
    if sheet.hidden and all(s.hidden for s in book.sheets):
        raise ApiError(400, "You can't hide all the sheets in a document.")
    if sheet.row_count < sheet.extent()[0] or sheet.column_count < sheet.extent()[1]:
        # shrinking a grid drops the cells outside it
        sheet.cells = {
            k: v for k, v in sheet.cells.items() if k[0] < sheet.row_count and k[1] < sheet.column_count
        }
    return {}


def _update_spreadsheet_properties(book: FakeSpreadsheet, params: dict) -> dict:
    props = params.get("properties", {})
    for name in params.get("fields", "").split(","):
        if name == "locale":
            book.locale_name = props["locale"]
        elif name == "timeZone":
            book.time_zone = props["timeZone"]
        elif name == "title":
            book.title = props["title"]
        else:
            raise _unsupported(f"updateSpreadsheetProperties of {name!r}")
    book._reindex()
    return {}


def _set_data_validation(book: FakeSpreadsheet, params: dict) -> dict:
    sheet, box = _grid_box(book, params.get("range", {}))
    rule = params.get("rule")
    sheet.validations = [(b, r) for b, r in sheet.validations if b != box]
    if rule is not None:
        sheet.validations.append((box, copy.deepcopy(rule)))
    return {}


def _add_protected_range(book: FakeSpreadsheet, params: dict) -> dict:
    wanted = params.get("protectedRange", {})
    sheet, _ = _grid_box(book, wanted.get("range", {}))
    protected = {
        "protectedRangeId": wanted.get("protectedRangeId") or random.randrange(1, 2**31),
        "range": _range_json(wanted.get("range", {})),
    }
    if wanted.get("description"):
        protected["description"] = wanted["description"]
    if wanted.get("warningOnly"):
        protected["warningOnly"] = True
    protected["requestingUserCanEdit"] = True
    # Echoed without its empty lists (recorded: {"users": [], "groups": []} -> {}).
    protected["editors"] = {k: v for k, v in (wanted.get("editors") or {}).items() if v}
    sheet.protected_ranges.append(protected)
    return {"addProtectedRange": {"protectedRange": copy.deepcopy(protected)}}


def _delete_protected_range(book: FakeSpreadsheet, params: dict) -> dict:
    wanted = params.get("protectedRangeId")
    for sheet in book.sheets:
        for protected in sheet.protected_ranges:
            if protected["protectedRangeId"] == wanted:
                sheet.protected_ranges.remove(protected)
                return {}
    raise ApiError(400, f"No protected range with id: {wanted}")


def _add_chart(book: FakeSpreadsheet, params: dict) -> dict:
    chart = copy.deepcopy(params.get("chart", {}))
    chart.setdefault("chartId", random.randrange(1, 2**31))
    anchor = chart.get("position", {}).get("overlayPosition", {}).get("anchorCell", {})
    sheet = _sheet(book, anchor.get("sheetId", book.sheets[0].sheet_id))
    sheet.charts.append(chart)
    return {"addChart": {"chart": copy.deepcopy(chart)}}


_CELL_FIELDS = {"userEnteredValue", "userEnteredFormat.numberFormat", "userEnteredFormat.textFormat.bold"}


@dataclass
class _CellUpdate:
    """A CellData of updateCells/repeatCell, read through its field mask."""

    fields: set[str]
    cell: Cell | None
    number_format: str | None
    bold: bool

    @classmethod
    def parse(cls, data: dict, mask: str) -> _CellUpdate:
        fields = {f.strip() for f in mask.split(",") if f.strip()}
        if "*" in fields:
            fields = set(_CELL_FIELDS)
        if not fields <= _CELL_FIELDS:
            raise _unsupported(f"cell fields {mask!r}")
        entered = data.get("userEnteredValue")
        cell = None
        if entered:
            ((kind, value),) = entered.items()
            if kind == "stringValue":
                cell = Cell(value)
            elif kind == "numberValue":
                cell = Cell(_number(value))
            elif kind == "boolValue":
                cell = Cell(bool(value))
            elif kind == "formulaValue":
                cell = Cell(_evaluate(value), formula=value)
            else:
                raise _unsupported(f"userEnteredValue.{kind}")
        entered_format = data.get("userEnteredFormat", {})
        number_format = (entered_format.get("numberFormat") or {}).get("pattern")
        bold = bool(entered_format.get("textFormat", {}).get("bold"))
        return cls(fields, cell, number_format, bold)

    def store(self, sheet: FakeSheet, key: tuple[int, int]) -> None:
        if key[0] >= sheet.row_count or key[1] >= sheet.column_count:
            where = f"{quote_title(sheet.title)}!{Box(key[0], key[1], key[0] + 1, key[1] + 1).a1()}"
            raise ApiError(
                400,
                f"Range ({where}) exceeds grid limits. Max rows: {sheet.row_count}, "
                f"max columns: {sheet.column_count}",
            )
        if "userEnteredValue" in self.fields:
            if self.cell is None:
                sheet.cells.pop(key, None)
            else:
                sheet.cells[key] = copy.copy(self.cell)
        if key in sheet.cells:
            if "userEnteredFormat.numberFormat" in self.fields:
                sheet.cells[key].number_format = self.number_format
            if "userEnteredFormat.textFormat.bold" in self.fields:
                sheet.cells[key].bold = self.bold


def _update_cells(book: FakeSpreadsheet, params: dict) -> dict:
    mask = params.get("fields", "")
    if "start" in params:
        start = params["start"]
        sheet = _sheet(book, start.get("sheetId", 0))
        row0, col0 = start.get("rowIndex", 0), start.get("columnIndex", 0)
    else:
        # With a range, the fields of cells in it that ``rows`` does not cover are cleared.
        sheet, box = _grid_box(book, params.get("range", {}))
        row0, col0 = box.row0, box.col0
        empty = _CellUpdate.parse({}, mask)
        for key in [k for k in sheet.cells if _contains(box, *k)]:
            empty.store(sheet, key)
    for i, row in enumerate(params.get("rows", [])):
        for j, data in enumerate(row.get("values", [])):
            _CellUpdate.parse(data, mask).store(sheet, (row0 + i, col0 + j))
    return {}


def _repeat_cell(book: FakeSpreadsheet, params: dict) -> dict:
    sheet, box = _grid_box(book, params.get("range", {}))
    update = _CellUpdate.parse(params.get("cell", {}), params.get("fields", ""))
    assert box.row1 is not None and box.col1 is not None
    for r in range(box.row0, box.row1):
        for c in range(box.col0, box.col1):
            update.store(sheet, (r, c))
    return {}


def _update_dimension_properties(book: FakeSpreadsheet, params: dict) -> dict:
    grid = params.get("range", {})
    sheet = _sheet(book, grid.get("sheetId", 0))
    if grid.get("dimension") != "COLUMNS" or params.get("fields") != "pixelSize":
        raise _unsupported("updateDimensionProperties other than the pixelSize of columns")
    for column in range(grid.get("startIndex", 0), grid.get("endIndex", sheet.column_count)):
        sheet.column_widths[column] = params["properties"]["pixelSize"]
    return {}


def _append_dimension(book: FakeSpreadsheet, params: dict) -> dict:
    sheet = _sheet(book, params.get("sheetId", 0))
    if params.get("dimension") == "ROWS":
        sheet.row_count += params.get("length", 0)
    else:
        sheet.column_count += params.get("length", 0)
    return {}


def _insert_dimension(book: FakeSpreadsheet, params: dict) -> dict:
    grid = params.get("range", {})
    sheet = _sheet(book, grid.get("sheetId", 0))
    if grid.get("dimension") != "ROWS":
        raise _unsupported("insertDimension of columns")
    start, end = grid.get("startIndex", 0), grid.get("endIndex", 0)
    sheet.insert_rows(start, end - start)
    return {}


def _delete_embedded_object(book: FakeSpreadsheet, params: dict) -> dict:
    wanted = params.get("objectId")
    for sheet in book.sheets:
        for chart in sheet.charts:
            if chart["chartId"] == wanted:
                sheet.charts.remove(chart)
                return {}
    raise ApiError(400, f"No embedded object with id: {wanted}")  # message unverified


_REQUESTS: dict[str, Callable[[FakeSpreadsheet, dict], dict]] = {
    "deleteEmbeddedObject": _delete_embedded_object,
    "addSheet": _add_sheet,
    "deleteSheet": _delete_sheet,
    "updateSheetProperties": _update_sheet_properties,
    "updateSpreadsheetProperties": _update_spreadsheet_properties,
    "setDataValidation": _set_data_validation,
    "addProtectedRange": _add_protected_range,
    "deleteProtectedRange": _delete_protected_range,
    "addChart": _add_chart,
    "updateCells": _update_cells,
    "repeatCell": _repeat_cell,
    "appendDimension": _append_dimension,
    "updateDimensionProperties": _update_dimension_properties,
    "insertDimension": _insert_dimension,
}

__all__ = [
    "DRIVE",
    "PREFIXES",
    "SHEETS",
    "Call",
    "Cell",
    "FakeSheet",
    "FakeSheetsAdapter",
    "FakeSpreadsheet",
    "column_letters",
    "from_serial",
    "make_adapter",
    "quote_title",
    "to_serial",
]
