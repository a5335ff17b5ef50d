"""Google Sheets backend, through gspread's HTTP client and a service account.

Requests per spreadsheet, whatever the number of rows:

- ``read``: one metadata GET (which sheets exist, the locale), one ``values:batchGet`` for every
  sheet asked for (unformatted values, dates as serial numbers);
- ``write``: one ``values:batchGet`` (re-read, to find each row by its Référence *now*), one
  ``values:batchUpdate`` (every cell and new header), and one ``values:append`` per sheet that
  gets new rows;
- ``replace``: one metadata GET, one ``spreadsheets:batchUpdate`` (adds the sheet if needed,
  rewrites it whole with typed cells, replaces its chart);
- ``ensure``: one metadata GET, one ``values:batchGet`` of the header rows when some sheets
  already exist, and at most one ``spreadsheets:batchUpdate``.

Values read come back as the sheet holds them: text, numbers, booleans. Dates and times are
serial numbers (days since 30/12/1899, a time is a fraction of a day); the shared parsers in
``automations.cells`` accept them. Empty cells are ``None``, as with the local workbook.

Text is written with valueInputOption=USER_ENTERED behind an apostrophe, so what people typed
("=HYPERLINK(…)", "0612345678", "+33…") stays text; datetimes are written as "10/12/2020 14:00"
(ISO in a spreadsheet whose locale is not French) so the sheet stores a real date.

Errors: 429 and 5xx are retried with exponential backoff and full jitter within a time budget per
operation (gspread's BackOffHTTPClient is not used: it never gives up). A values:append is only
retried on 429 (rejected, so not applied); after a 5xx it may or may not have happened, and
retrying could add the rows twice, so the operation stops and the next run, which re-reads the
sheet, decides again.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import gspread
import requests
from gspread.utils import extract_id_from_url

from automations.errors import ConfigError, SheetAccessError, SheetError
from automations.sheets.locate import PositionalWrites, plan_positional_writes
from automations.tables import column_letter, header_positions
from automations.values import CellPatch, CellValue, ChartSpec, Grid, RowAppend, SheetLayout, WriteResult

if TYPE_CHECKING:
    from automations.config import Config

SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
SHEETS_EPOCH = datetime(1899, 12, 30)
PROTECTION_NOTE = "Passerelle : colonne remplie automatiquement"
NEW_SHEET_ROWS = 1000
READ_OPTIONS = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"}

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# Building a store from the configuration
# ---------------------------------------------------------------------------------------------


def spreadsheet_key(url_or_key: str) -> str:
    """The key of a spreadsheet given by its browser URL or by the key itself."""
    text = url_or_key.strip()
    if "/" in text:
        try:
            return extract_id_from_url(text)
        except gspread.exceptions.NoValidUrlKeyFound:
            raise ConfigError(f"{text} is not a Google Sheets URL nor a spreadsheet key.") from None
    return text


def service_account_client(credentials_file: Path | None) -> tuple[gspread.Client, str]:
    """A gspread client for the service account key file, and the account's email address."""
    from google.oauth2 import service_account

    path = credentials_file or (
        Path(os.environ["GOOGLE_APPLICATION_CREDENTIALS"])
        if os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        else None
    )
    if path is None:
        raise ConfigError(
            "No Google service account key: set sheets.google.credentials_file in the configuration "
            "or the GOOGLE_APPLICATION_CREDENTIALS environment variable."
        )
    try:
        credentials = service_account.Credentials.from_service_account_file(str(path), scopes=SCOPES)
    except FileNotFoundError:
        raise ConfigError(f"The service account key file {path} does not exist.") from None
    except (ValueError, KeyError) as error:
        raise ConfigError(
            f"{path} is not a service account JSON key ({error}): download a key of type JSON "
            "from the Google Cloud console."
        ) from None
    return gspread.Client(auth=credentials), credentials.service_account_email


def store_from_config(config: Config, client: gspread.Client | None = None) -> GoogleSheetStore:
    """The store for ``[sheets.google]``: logical sheet keys in ``spreadsheets`` get their own."""
    from automations.runner import specs

    google = config.sheets.google
    if client is None:
        client, email = service_account_client(google.credentials_file)
    else:
        email = ""
    names = specs(config)
    by_name = {}
    for key, url in google.spreadsheets.items():
        if key not in names:
            raise ConfigError(
                f"{config.path}: sheets.google.spreadsheets names an unknown sheet « {key} » "
                f"(known: {', '.join(names)})."
            )
        by_name[names[key].name] = url
    if not google.spreadsheet and set(by_name) != {spec.name for spec in names.values()}:
        raise ConfigError(
            f"{config.path}: set sheets.google.spreadsheet to the URL of the spreadsheet holding the sheets."
        )
    return GoogleSheetStore(
        client,
        google.spreadsheet,
        by_name,
        service_account_email=email,
        retry=Retry(budget_seconds=google.retry_budget_seconds),
    )


# ---------------------------------------------------------------------------------------------
# Retries
# ---------------------------------------------------------------------------------------------


@dataclass
class Retry:
    """Exponential backoff with full jitter on 429 and 5xx, within a time budget per operation."""

    budget_seconds: float = 120.0
    first_delay: float = 1.0
    max_delay: float = 32.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = random.random
    """A number in [0, 1): the share of the backoff actually waited."""


class _GaveUp(Exception):
    def __init__(self, status: int | str, attempts: int, elapsed: float) -> None:
        self.status, self.attempts, self.elapsed = status, attempts, elapsed


class _Deadline:
    def __init__(self, retry: Retry) -> None:
        self.retry = retry
        self.ends = retry.clock() + retry.budget_seconds

    def run(self, attempt: Callable[[], T], *, retry_server_errors: bool = True) -> T:
        """Call ``attempt`` until it succeeds, fails for good, or the next wait overruns the budget."""
        retry = self.retry
        started = retry.clock()
        for number in itertools.count(1):
            try:
                return attempt()
            except gspread.exceptions.APIError as error:
                status: int | str = error.response.status_code
                if not (status == 429 or (retry_server_errors and 500 <= status < 600)):
                    raise
            except (requests.ConnectionError, requests.Timeout) as error:
                if not retry_server_errors:
                    raise
                status = type(error).__name__
            delay = retry.jitter() * min(retry.max_delay, retry.first_delay * 2 ** (number - 1))
            if retry.clock() + delay > self.ends:
                raise _GaveUp(status, number, retry.clock() - started)
            retry.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


# ---------------------------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------------------------


@dataclass
class _Book:
    """What a metadata GET told about a spreadsheet."""

    key: str
    locale: str
    sheets: dict[str, dict[str, Any]] = field(default_factory=dict)  # title -> sheet entry


class GoogleSheetStore:
    """A ``SheetStore`` over one or several Google spreadsheets.

    ``spreadsheet`` (URL or key) holds every sheet not named in ``spreadsheets``, which maps a
    sheet name to the URL or key of its own spreadsheet. ``service_account_email`` is shown in
    the message that asks to share a spreadsheet.
    """

    def __init__(
        self,
        client: gspread.Client,
        spreadsheet: str = "",
        spreadsheets: Mapping[str, str] | None = None,
        *,
        service_account_email: str = "",
        retry: Retry | None = None,
    ) -> None:
        self.client = client
        self.http = client.http_client
        if self.http.timeout is None:
            self.http.set_timeout((10, 120))
        self.default_key = spreadsheet_key(spreadsheet) if spreadsheet else ""
        self.keys = {name: spreadsheet_key(url) for name, url in (spreadsheets or {}).items()}
        self.email = service_account_email or "the service account's address (client_email in its key)"
        self.retry = retry or Retry()
        self._books: dict[str, _Book] = {}

    # -- the protocol ------------------------------------------------------------------------

    def read(self, sheets: Sequence[str]) -> dict[str, Grid | None]:
        deadline = _Deadline(self.retry)
        grids: dict[str, Grid | None] = {}
        for key, names in self._by_spreadsheet(sheets).items():
            book = self._metadata(key, deadline, "nothing was read")
            present = [name for name in names if name in book.sheets]
            grids |= {name: None for name in names if name not in book.sheets}
            grids |= self._read_grids(key, present, deadline, "nothing was read")
        return {name: grids[name] for name in sheets}

    def write(
        self,
        layouts: Mapping[str, SheetLayout],
        patches: Sequence[CellPatch],
        appends: Sequence[RowAppend] = (),
    ) -> WriteResult:
        result = WriteResult()
        names = list(dict.fromkeys([*(p.sheet for p in patches), *(a.sheet for a in appends)]))
        deadline = _Deadline(self.retry)
        for key, group in self._by_spreadsheet(names).items():
            book = self._books.get(key) or self._metadata(key, deadline, "nothing was written")
            plans, anchors = self._locate_and_update(book, group, layouts, patches, appends, deadline)
            for name, writes in plans.items():
                result.unresolved.extend(writes.unresolved)
                if writes.appended:
                    self._append(book, name, writes, anchors[name], deadline)
        return result

    def replace(self, layout: SheetLayout, grid: Grid, chart: ChartSpec | None = None) -> None:
        """Rewrite the sheet, and its chart, in one all-or-nothing spreadsheets:batchUpdate."""
        deadline = _Deadline(self.retry)
        key = self._key(layout.name)
        book = self._metadata(key, deadline, "the sheet was not rewritten")
        requests_: list[dict] = []
        rows, columns = len(grid), max((len(row) for row in grid), default=0)
        if layout.name in book.sheets:
            entry = book.sheets[layout.name]
            properties = entry["properties"]
            sheet_id = properties["sheetId"]
            requests_ += [
                {"deleteEmbeddedObject": {"objectId": old["chartId"]}} for old in entry.get("charts", [])
            ]
            size = properties.get("gridProperties", {})
            for dimension, wanted, has in (
                ("ROWS", rows, size.get("rowCount", 0)),
                ("COLUMNS", columns, size.get("columnCount", 0)),
            ):
                if wanted > has:
                    requests_.append(
                        {
                            "appendDimension": {
                                "sheetId": sheet_id,
                                "dimension": dimension,
                                "length": wanted - has,
                            }
                        }
                    )
        else:
            sheet_id = _new_sheet_id(book)
            requests_.append(_add_sheet(layout.name, sheet_id, max(26, columns), max(NEW_SHEET_ROWS, rows)))
        requests_.append(
            {
                "updateCells": {
                    "range": {"sheetId": sheet_id},
                    "rows": [{"values": [_cell_data(v) for v in row]} for row in grid],
                    "fields": "userEnteredValue,userEnteredFormat.numberFormat",
                }
            }
        )
        if chart is not None:
            requests_.append(_add_chart(sheet_id, chart))
        self._batch_update(key, requests_, deadline, "the sheet was not rewritten")

    def ensure(self, layouts: Sequence[SheetLayout]) -> None:
        deadline = _Deadline(self.retry)
        groups: dict[str, list[SheetLayout]] = defaultdict(list)
        for layout in layouts:
            groups[self._key(layout.name)].append(layout)
        for key, group in groups.items():
            book = self._metadata(key, deadline, "nothing was set up")
            existing = [
                layout
                for layout in group
                if layout.name in book.sheets and _needs_setup(layout, book.sheets[layout.name])
            ]
            headers = self._header_rows(key, [layout.name for layout in existing], deadline)
            requests_: list[dict] = []
            for layout in group:
                if layout.name not in book.sheets:
                    sheet_id = _new_sheet_id(book)
                    book.sheets[layout.name] = {"properties": {"sheetId": sheet_id}}
                    requests_ += _new_sheet_requests(layout, sheet_id)
                elif layout in existing:
                    entry = book.sheets[layout.name]
                    requests_ += _setup_requests(layout, entry, headers.get(layout.name, []))
            if requests_:
                self._batch_update(key, requests_, deadline, "nothing was set up")

    # -- reading -----------------------------------------------------------------------------

    def _key(self, name: str) -> str:
        key = self.keys.get(name, self.default_key)
        if not key:
            raise ConfigError(
                f"No spreadsheet for the sheet « {name} »: set sheets.google.spreadsheet "
                "in the configuration."
            )
        return key

    def _by_spreadsheet(self, names: Sequence[str]) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = defaultdict(list)
        for name in names:
            groups[self._key(name)].append(name)
        return groups

    def _metadata(self, key: str, deadline: _Deadline, consequence: str) -> _Book:
        data = self._call(key, deadline, consequence, lambda: self.http.fetch_sheet_metadata(key))
        book = _Book(key, data.get("properties", {}).get("locale", ""))
        book.sheets = {entry["properties"]["title"]: entry for entry in data.get("sheets", [])}
        self._books[key] = book
        return book

    def _read_grids(
        self, key: str, names: Sequence[str], deadline: _Deadline, consequence: str
    ) -> dict[str, Grid]:
        if not names:
            return {}
        ranges = [_quote(name) for name in names]
        answer = self._call(
            key, deadline, consequence, lambda: self.http.values_batch_get(key, ranges, dict(READ_OPTIONS))
        )
        value_ranges = answer.get("valueRanges", [])
        return {name: _grid(vr.get("values", [])) for name, vr in zip(names, value_ranges, strict=True)}

    def _header_rows(self, key: str, names: Sequence[str], deadline: _Deadline) -> dict[str, list[CellValue]]:
        if not names:
            return {}
        ranges = [f"{_quote(name)}!1:1" for name in names]
        answer = self._call(
            key,
            deadline,
            "nothing was set up",
            lambda: self.http.values_batch_get(key, ranges, dict(READ_OPTIONS)),
        )
        rows = [vr.get("values", [[]]) for vr in answer.get("valueRanges", [])]
        return {name: (row[0] if row else []) for name, row in zip(names, rows, strict=True)}

    # -- writing -----------------------------------------------------------------------------

    def _locate_and_update(
        self,
        book: _Book,
        names: Sequence[str],
        layouts: Mapping[str, SheetLayout],
        patches: Sequence[CellPatch],
        appends: Sequence[RowAppend],
        deadline: _Deadline,
    ) -> tuple[dict[str, PositionalWrites], dict[str, int]]:
        """Re-read, find every row by its Référence, write: retried as one unit.

        A retry re-reads first, so rows are located on a grid at most one request old even
        after waiting out a quota. Also returns, per sheet, the column of its first header: the
        cell new rows are appended from.
        """
        plans: dict[str, PositionalWrites] = {}
        anchors: dict[str, int] = {}

        def attempt() -> None:
            grids = self._read_grids_once(book.key, names)
            for name in names:
                plans[name] = plan_positional_writes(
                    grids[name],
                    layouts[name],
                    [p for p in patches if p.sheet == name],
                    [a for a in appends if a.sheet == name],
                )
                anchors[name] = _first_header(grids[name], plans[name])
            data = [vr for name in names for vr in _value_ranges(name, plans[name], book.locale)]
            if data:
                self.http.values_batch_update(book.key, {"valueInputOption": "USER_ENTERED", "data": data})

        self._call(book.key, deadline, "nothing was written to this spreadsheet", attempt)
        return plans, anchors

    def _read_grids_once(self, key: str, names: Sequence[str]) -> dict[str, Grid]:
        ranges = [_quote(name) for name in names]
        try:
            answer = self.http.values_batch_get(key, ranges, dict(READ_OPTIONS))
        except gspread.exceptions.APIError as error:
            missing = _unparsed_sheet(error, names)
            if missing:
                raise SheetError(
                    f"La feuille « {missing} » a disparu du classeur pendant l'exécution : "
                    "rétablissez-la (ou son nom) puis relancez."
                ) from None
            raise
        return {
            name: _grid(vr.get("values", []))
            for name, vr in zip(names, answer.get("valueRanges", []), strict=True)
        }

    def _append(
        self, book: _Book, name: str, writes: PositionalWrites, anchor: int, deadline: _Deadline
    ) -> None:
        """Add rows after the last row read, inserting grid rows.

        Anchored at the last non-empty row: at the header, Google would stop at the first blank
        line and insert in the middle; below the last row, the range may lie outside the grid.
        With INSERT_ROWS a row a person adds meanwhile is moved down, never overwritten.
        """
        rows = writes.appended
        values = [[_user_entered(v, book.locale, empty="") for v in row[anchor:]] for row in rows]
        params = {"valueInputOption": "USER_ENTERED", "insertDataOption": "INSERT_ROWS"}
        start = f"{_quote(name)}!{column_letter(anchor)}{max(writes.first_appended_row, 1)}"
        self._call(
            book.key,
            deadline,
            f"the cells were written but the {len(rows)} new rows of « {name} » were not added",
            lambda: self.http.values_append(book.key, start, params, {"values": values}),
            retry_server_errors=False,
        )

    def _batch_update(self, key: str, requests_: list[dict], deadline: _Deadline, consequence: str) -> None:
        self._call(key, deadline, consequence, lambda: self.http.batch_update(key, {"requests": requests_}))

    # -- errors ------------------------------------------------------------------------------

    def _call(
        self,
        key: str,
        deadline: _Deadline,
        consequence: str,
        attempt: Callable[[], T],
        *,
        retry_server_errors: bool = True,
    ) -> T:
        from google.auth import exceptions as auth_errors

        try:
            return deadline.run(attempt, retry_server_errors=retry_server_errors)
        except _GaveUp as gave_up:
            what = "429 (quota exceeded)" if gave_up.status == 429 else str(gave_up.status)
            raise SheetAccessError(
                f"Google Sheets kept failing with {what} on spreadsheet {key} "
                f"({gave_up.attempts} attempts in {gave_up.elapsed:.0f} s): {consequence}; "
                "run again later."
            ) from None
        except gspread.exceptions.APIError as error:
            raise self._refusal(key, error, consequence) from None
        except (requests.ConnectionError, requests.Timeout) as error:
            raise SheetAccessError(
                f"Google Sheets could not be reached for spreadsheet {key} ({type(error).__name__}): "
                f"{consequence}; check the network and run again."
            ) from None
        except auth_errors.GoogleAuthError as error:
            raise SheetAccessError(
                f"Google refused the service account's key ({error}): create a new JSON key for "
                f"{self.email} and point sheets.google.credentials_file to it."
            ) from None

    def _refusal(self, key: str, error: gspread.exceptions.APIError, consequence: str) -> SheetAccessError:
        status = error.response.status_code
        if status == 403:
            return SheetAccessError(
                f"Google refused access to spreadsheet {key}: share the spreadsheet with {self.email} "
                "as editor, then run again."
            )
        if status == 404:
            return SheetAccessError(
                f"There is no spreadsheet with the key {key}: check sheets.google.spreadsheet(s) "
                "in the configuration (copy the URL from the browser)."
            )
        if 500 <= status < 600:
            return SheetAccessError(
                f"Google Sheets failed with {status} for spreadsheet {key}: {consequence}; "
                "the next run will check what was done."
            )
        return SheetAccessError(
            f"Google Sheets refused a request on spreadsheet {key} ({status}: {_message(error)}): "
            f"{consequence}."
        )


# ---------------------------------------------------------------------------------------------
# Values in and out
# ---------------------------------------------------------------------------------------------


def _quote(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _grid(values: list[list[Any]]) -> Grid:
    """Google's rows as the protocol wants them: empty cells are ``None``, whole numbers ints."""
    return [[_cell(v) for v in row] for row in values]


def _cell(value: Any) -> CellValue:
    if value == "" or value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _first_header(grid: Grid, writes: PositionalWrites) -> int:
    """Column of the first non-empty header once the new headers are written."""
    headers = dict(enumerate(grid[0] if grid else []))
    headers |= dict(writes.new_headers)
    return min((c for c, h in headers.items() if h not in (None, "")), default=0)


def _french(locale: str) -> bool:
    return locale.lower().startswith("fr")


def _user_entered(value: CellValue, locale: str, empty: str | None) -> Any:
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


def _value_ranges(name: str, writes: PositionalWrites, locale: str) -> list[dict]:
    """One range per touched row; cells in between that are not touched are sent as null."""
    cells: dict[int, dict[int, CellValue]] = defaultdict(dict)
    for row, column, value in writes.in_place():
        cells[row][column] = value
    ranges = []
    for row in sorted(cells):
        columns = cells[row]
        first, last = min(columns), max(columns)
        values = [
            _user_entered(columns[c], locale, empty="") if c in columns else None
            for c in range(first, last + 1)
        ]
        a1 = f"{column_letter(first)}{row + 1}:{column_letter(last)}{row + 1}"
        ranges.append({"range": f"{_quote(name)}!{a1}", "values": [values]})
    return ranges


def _cell_data(value: CellValue) -> dict:
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


# ---------------------------------------------------------------------------------------------
# Set-up requests
# ---------------------------------------------------------------------------------------------


def _new_sheet_id(book: _Book) -> int:
    used = {entry["properties"]["sheetId"] for entry in book.sheets.values()}
    while True:
        candidate = random.randrange(1, 2**31)
        if candidate not in used:
            return candidate


def _add_sheet(name: str, sheet_id: int, columns: int, rows: int = NEW_SHEET_ROWS) -> dict:
    return {
        "addSheet": {
            "properties": {
                "sheetId": sheet_id,
                "title": name,
                "gridProperties": {"rowCount": rows, "columnCount": columns, "frozenRowCount": 1},
            }
        }
    }


def _new_sheet_requests(layout: SheetLayout, sheet_id: int) -> list[dict]:
    header = {
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
    positions = {label: i for i, label in enumerate(layout.headers)}
    return [
        _add_sheet(layout.name, sheet_id, max(26, len(layout.headers))),
        header,
        *_column_requests(layout, sheet_id, positions),
    ]


def _setup_requests(layout: SheetLayout, entry: dict, headers: list[CellValue]) -> list[dict]:
    """For a sheet people made: freeze its header row, dropdowns and protections where found."""
    properties = entry["properties"]
    sheet_id = properties["sheetId"]
    labels = list(dict.fromkeys([*layout.choices, *layout.owned]))  # "Réponse" is both
    positions = header_positions(layout.name, headers, labels)
    requests_: list[dict] = []
    if not properties.get("gridProperties", {}).get("frozenRowCount"):
        requests_.append(
            {
                "updateSheetProperties": {
                    "properties": {"sheetId": sheet_id, "gridProperties": {"frozenRowCount": 1}},
                    "fields": "gridProperties.frozenRowCount",
                }
            }
        )
    return requests_ + _column_requests(layout, sheet_id, positions)


def _column_requests(layout: SheetLayout, sheet_id: int, positions: Mapping[str, int]) -> list[dict]:
    requests_: list[dict] = []
    for label, choices in layout.choices.items():
        if label not in positions:
            continue
        column = positions[label]
        requests_.append(
            {
                "setDataValidation": {
                    "range": _column(sheet_id, column, first_row=1),
                    "rule": {
                        "condition": {
                            "type": "ONE_OF_LIST",
                            "values": [{"userEnteredValue": choice} for choice in choices],
                        },
                        "showCustomUi": True,
                        "strict": False,
                    },
                }
            }
        )
    for label in layout.owned:
        if label in positions:
            requests_.append(
                {
                    "addProtectedRange": {
                        "protectedRange": {
                            "range": _column(sheet_id, positions[label], first_row=0),
                            "description": f"{PROTECTION_NOTE} ({label})",
                            "warningOnly": True,
                        }
                    }
                }
            )
    return requests_


def _add_chart(sheet_id: int, chart: ChartSpec) -> dict:
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


def _column(sheet_id: int, column: int, first_row: int) -> dict:
    return {
        "sheetId": sheet_id,
        "startRowIndex": first_row,
        "startColumnIndex": column,
        "endColumnIndex": column + 1,
    }


def _needs_setup(layout: SheetLayout, entry: dict) -> bool:
    """An existing sheet is set up once its header row is frozen and its owned columns protected.

    Dropdowns are not listed in metadata: they are added with the rest, at the first set-up.
    """
    frozen = entry["properties"].get("gridProperties", {}).get("frozenRowCount", 0) >= 1
    protected = any(
        p.get("description", "").startswith(PROTECTION_NOTE) for p in entry.get("protectedRanges", [])
    )
    return not frozen or (bool(layout.owned) and not protected)


def _message(error: gspread.exceptions.APIError) -> str:
    try:
        return str(error.response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return error.response.text[:200]


def _unparsed_sheet(error: gspread.exceptions.APIError, names: Sequence[str]) -> str | None:
    """The sheet named in a 400 "Unable to parse range: 'X'" answer, if it is one of ``names``."""
    if error.response.status_code != 400:
        return None
    match = re.match(r"Unable to parse range: (.*)$", _message(error))
    if not match:
        return None
    for name in names:
        if match.group(1) in (_quote(name), name) or match.group(1).startswith(_quote(name) + "!"):
            return name
    return None
