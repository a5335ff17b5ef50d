"""Google Sheets backend, through gspread's HTTP client and a service account.

Requests per spreadsheet, whatever the number of rows:

- ``read``: one metadata GET (which sheets exist, the locale), one ``values:batchGet`` for every
  sheet asked for (unformatted values, dates as serial numbers);
- ``write``: one ``values:batchGet`` (re-read, to find each row by its Référence *now*), one
  ``values:batchUpdate`` (every cell and new header), and one ``values:append`` per sheet that
  gets new rows; a body that would pass the 2 MB Google recommends is split in as many requests
  as its bytes need (so up to 2 MB, the number of requests does not grow with the rows);
- ``replace``: one metadata GET, one ``spreadsheets:batchUpdate`` (adds the sheet if needed,
  rewrites it whole with typed cells, replaces its chart);
- ``ensure``: one metadata GET, one ``values:batchGet`` of the header rows when some sheets
  already exist, and at most one ``spreadsheets:batchUpdate``.

Values read come back as the sheet holds them: text, numbers, booleans; dates and times as serial
numbers (days since 30/12/1899), which the shared parsers in ``automations.cells`` accept. Empty
cells are ``None``, as with the local workbook.

Failures: 429 and 5xx are retried within a time budget per operation (``automations.sheets.retry``;
gspread's BackOffHTTPClient is not used: it never gives up). A values:append is only retried on
429 (rejected, so not applied); after a 5xx it may or may not have happened, and retrying could
add the rows twice, so the operation stops and the next run, which re-reads the sheet, decides
again. Every failure leaves as one French sentence (``errors``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import gspread
from gspread.utils import extract_id_from_url

from automations.errors import ConfigError
from automations.sheets import writer
from automations.sheets.google import errors
from automations.sheets.google import requests as build
from automations.sheets.locate import PositionalWrites
from automations.sheets.retry import Deadline, Retry
from automations.values import (
    CellPatch,
    CellValue,
    ChartSpec,
    Grid,
    Look,
    Prepared,
    RowAppend,
    SheetLayout,
    WriteResult,
    blank_row,
)

T = TypeVar("T")
UNKNOWN_ACCOUNT = "l'adresse du compte de service (client_email dans sa clé JSON)"


def spreadsheet_key(url_or_key: str) -> str:
    """The key of a spreadsheet given by its browser URL or by the key itself."""
    text = url_or_key.strip()
    if "/" in text:
        try:
            return extract_id_from_url(text)
        except gspread.exceptions.NoValidUrlKeyFound:
            raise ConfigError(
                f"« {text} » n'est ni l'adresse d'un classeur Google Sheets ni sa clé : copiez l'adresse "
                "du classeur depuis le navigateur."
            ) from None
    return text


@dataclass
class _Book:
    """What a metadata GET told about a spreadsheet."""

    key: str
    locale: str
    sheets: dict[str, dict[str, Any]] = field(default_factory=dict)  # title -> sheet entry

    def new_sheet_id(self) -> int:
        return build.new_sheet_id({entry["properties"]["sheetId"] for entry in self.sheets.values()})


class GoogleSheetStore:
    """A ``SheetStore`` over one or several Google spreadsheets.

    ``spreadsheet`` (URL or key) holds every sheet not named in ``spreadsheets``, which maps a
    sheet name to the URL or key of its own spreadsheet. ``service_account_email`` is shown in
    the sentence that asks to share a spreadsheet.
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
        self.email = service_account_email or UNKNOWN_ACCOUNT
        self.retry = retry or Retry()
        self._books: dict[str, _Book] = {}

    def elsewhere(self, spreadsheet: str) -> GoogleSheetStore:
        """The same account and retry budget over another spreadsheet (an advisor's view): the key
        file is read once, and a refusal names the same address to share with."""
        return GoogleSheetStore(
            self.client,
            spreadsheet,
            service_account_email="" if self.email == UNKNOWN_ACCOUNT else self.email,
            retry=self.retry,
        )

    # -- the protocol ------------------------------------------------------------------------

    def read(self, sheets: Sequence[str]) -> dict[str, Grid | None]:
        deadline = self.retry.deadline()
        grids: dict[str, Grid | None] = {}
        for key, names in self._by_spreadsheet(sheets).items():
            book = self._metadata(key, deadline, "rien n'a été lu")
            present = [name for name in names if name in book.sheets]
            grids |= {name: None for name in names if name not in book.sheets}
            if present:
                grids |= self._call(key, deadline, "rien n'a été lu", partial(self._grids, key, present))
        return {name: grids[name] for name in sheets}

    def write(
        self,
        layouts: Mapping[str, SheetLayout],
        patches: Sequence[CellPatch],
        appends: Sequence[RowAppend] = (),
    ) -> WriteResult:
        result = WriteResult()
        deadline = self.retry.deadline()
        for key, names in self._by_spreadsheet(writer.sheets_written(patches, appends)).items():
            book = self._books.get(key) or self._metadata(key, deadline, "rien n'a été écrit")
            located, anchors = self._locate_and_update(book, names, layouts, patches, appends, deadline)
            result.unresolved += located.result.unresolved
            for name, writes in located.sheets.items():
                if writes.appended:
                    self._append(book, name, writes, anchors[name], deadline)
        return result

    def replace(
        self, layout: SheetLayout, grid: Grid, chart: ChartSpec | None = None, look: Look | None = None
    ) -> None:
        """Rewrite the sheet, its chart and its look, in one all-or-nothing spreadsheets:batchUpdate."""
        deadline = self.retry.deadline()
        key = self._key(layout.name)
        book = self._metadata(key, deadline, "la feuille n'a pas été réécrite")
        if layout.name in book.sheets:
            sheet_id, body = build.room_for(book.sheets[layout.name], grid)
        else:
            sheet_id = book.new_sheet_id()
            body = [build.add_sheet_for(layout.name, sheet_id, grid)]
        self._batch_update(
            key, body + build.fill(sheet_id, grid, chart, look), deadline, "la feuille n'a pas été réécrite"
        )

    def ensure(self, layouts: Sequence[SheetLayout]) -> Prepared:
        deadline = self.retry.deadline()
        groups: dict[str, list[SheetLayout]] = defaultdict(list)
        for layout in layouts:
            groups[self._key(layout.name)].append(layout)
        created: list[str] = []
        headed: list[str] = []
        for key, group in groups.items():
            book = self._metadata(key, deadline, "rien n'a été préparé")
            existing = [layout.name for layout in group if layout.name in book.sheets]
            headers = self._header_rows(key, existing, deadline)
            body: list[dict] = []
            for layout in group:
                if layout.name not in book.sheets:
                    created.append(layout.name)
                    body += self._add(book, layout)
                elif blank_row(headers[layout.name]):
                    headed.append(layout.name)
                    body += self._head(book.sheets[layout.name], layout)
                elif build.needs_setup(layout, book.sheets[layout.name]):
                    body += build.setup(layout, book.sheets[layout.name], headers[layout.name])
            if body:
                self._batch_update(key, body, deadline, "rien n'a été préparé")
        return Prepared(tuple(created), tuple(headed))

    @staticmethod
    def _add(book: _Book, layout: SheetLayout) -> list[dict]:
        sheet_id = book.new_sheet_id()
        book.sheets[layout.name] = {"properties": {"sheetId": sheet_id}}
        return build.new_sheet(layout, sheet_id)

    @staticmethod
    def _head(entry: dict[str, Any], layout: SheetLayout) -> list[dict]:
        """Headers for a sheet whose row 1 is empty, then its set-up (once) as if people had typed them."""
        header = build.header_row(layout, entry["properties"]["sheetId"])
        if not build.needs_setup(layout, entry):
            return [header]
        return [header, *build.setup(layout, entry, list(layout.headers))]

    # -- reading -----------------------------------------------------------------------------

    def _key(self, name: str) -> str:
        key = self.keys.get(name, self.default_key)
        if not key:
            raise ConfigError(
                f"Aucun classeur Google pour la feuille « {name} » : renseignez sheets.google.spreadsheet "
                "dans la configuration."
            )
        return key

    def _by_spreadsheet(self, names: Sequence[str]) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = defaultdict(list)
        for name in names:
            groups[self._key(name)].append(name)
        return groups

    def _metadata(self, key: str, deadline: Deadline, consequence: str) -> _Book:
        data = self._call(key, deadline, consequence, lambda: self.http.fetch_sheet_metadata(key))
        book = _Book(key, data.get("properties", {}).get("locale", ""))
        book.sheets = {entry["properties"]["title"]: entry for entry in data.get("sheets", [])}
        self._books[key] = book
        return book

    def _values(self, key: str, ranges: list[str]) -> list[list[list[Any]]]:
        """One values:batchGet, each range's rows in order (no retry or translation here)."""
        answer = self.http.values_batch_get(key, ranges, dict(build.READ_OPTIONS))
        return [value_range.get("values", []) for value_range in answer.get("valueRanges", [])]

    def _grids(self, key: str, names: Sequence[str]) -> dict[str, Grid]:
        rows = self._values(key, [build.quote(name) for name in names])
        return {name: build.to_grid(values) for name, values in zip(names, rows, strict=True)}

    def _header_rows(self, key: str, names: Sequence[str], deadline: Deadline) -> dict[str, list[CellValue]]:
        if not names:
            return {}
        rows = self._call(
            key, deadline, "rien n'a été préparé", lambda: self._values(key, build.header_ranges(names))
        )
        return {name: (row[0] if row else []) for name, row in zip(names, rows, strict=True)}

    # -- writing -----------------------------------------------------------------------------

    def _locate_and_update(
        self,
        book: _Book,
        names: Sequence[str],
        layouts: Mapping[str, SheetLayout],
        patches: Sequence[CellPatch],
        appends: Sequence[RowAppend],
        deadline: Deadline,
    ) -> tuple[writer.Located, dict[str, int]]:
        """Re-read, find every row by its Référence, write: retried as one unit.

        A retry re-reads first, so rows are located on a grid at most one request old even
        after waiting out a quota. Also returns, per sheet, the column of its first header: the
        cell new rows are appended from.
        """
        mine = [p for p in patches if p.sheet in names], [a for a in appends if a.sheet in names]

        def attempt() -> tuple[writer.Located, dict[str, int]]:
            grids = self._fresh_grids(book.key, names)
            located = writer.locate(grids, layouts, *mine)
            data = [
                value_range
                for name, writes in located.sheets.items()
                for value_range in build.value_ranges(name, writes, book.locale)
            ]
            for part in build.split(data):  # one request unless the data passes 2 MB
                self.http.values_batch_update(book.key, {**build.WRITE_OPTIONS, "data": part})
            return located, {name: build.first_header(grids[name], w) for name, w in located.sheets.items()}

        return self._call(book.key, deadline, "rien n'a été écrit dans ce classeur", attempt)

    def _fresh_grids(self, key: str, names: Sequence[str]) -> dict[str, Grid]:
        """The sheets about to be written, read again; one deleted meanwhile is named."""
        try:
            return self._grids(key, names)
        except gspread.exceptions.APIError as error:
            missing = errors.unparsed_sheet(error, names)
            if missing:
                raise writer.vanished(missing) from None
            raise

    def _append(
        self, book: _Book, name: str, writes: PositionalWrites, anchor: int, deadline: Deadline
    ) -> None:
        """Retried on 429 only: after a 5xx the rows may be there already, and the next run sees.
        Rows past 2 MB go in further requests, each after the one before."""
        for start, body in build.appends(name, writes, anchor, book.locale):
            self._call(
                book.key,
                deadline,
                f"les cellules ont été écrites mais {len(body['values'])} nouvelles lignes de « {name} » "
                "n'ont pas été ajoutées",
                partial(self.http.values_append, book.key, start, dict(build.APPEND_OPTIONS), body),
                retryable=errors.rejected,
            )

    def _batch_update(self, key: str, body: list[dict], deadline: Deadline, consequence: str) -> None:
        self._call(key, deadline, consequence, lambda: self.http.batch_update(key, {"requests": body}))

    def _call(
        self,
        key: str,
        deadline: Deadline,
        consequence: str,
        attempt: Callable[[], T],
        *,
        retryable: Callable[[Exception], bool] = errors.retryable,
    ) -> T:
        """``attempt`` under the deadline; a failure leaves as one sentence naming ``key``."""
        try:
            return deadline.run(attempt, retryable)
        except Exception as error:
            sentence = errors.translate(error, errors.Where(key, consequence, self.email))
            if sentence is None:
                raise
            raise sentence from None
