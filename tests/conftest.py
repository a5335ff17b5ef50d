"""Fixtures: one per real component. Workbooks are real .xlsx files, the outbox a real folder,
Google spreadsheets live in the fake Sheets API (tests/fakes/sheets_api.py) behind real gspread.

``project`` is a Passerelle set-up in a folder. A test module opts in to both sheet backends with
``pytestmark = pytest.mark.backends("workbook", "google")``: each of its tests using ``project``
then runs once on a local workbook and once on Google Sheets (fake), through the same
backend-neutral API (``create``, ``run``, ``rows``, ``set``, ``reverse_rows``, ``insert_rows``,
``insert_column``, ``add_sheet``, ``snapshot``…). Without the marker, ``project`` is a workbook
project, as it always was. ``workbook_project`` is for tests about the .xlsx file itself.
"""

from __future__ import annotations

import copy
import dataclasses
import email
import email.policy
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import gspread
import openpyxl
import pytest
from google.oauth2.credentials import Credentials
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

from automations import config as config_module
from automations import runner, wiring
from automations.cells import parse_datetime, text
from automations.schema import ORIENTATIONS, REUNIONS
from automations.sheets.base import SheetStore
from automations.sheets.google import GoogleSheetStore, Retry, store_from_config
from automations.sheets.workbook import WorkbookStore
from automations.values import CellValue, Grid
from tests.fakes.sheets_api import PREFIXES, FakeSheetsAdapter, FakeSpreadsheet, column_letters, make_adapter
from tests.fakes.smtp_server import (  # noqa: F401 (importing registers smtp_certs, smtp_server, smtp_server_tls)
    smtp_certs_fixture,
    smtp_server_fixture,
    smtp_server_tls_fixture,
)

NOW = datetime(2026, 11, 26, 9, 0)
BACKENDS = ("workbook", "google")

CONFIG = """\
state_dir = "state"
[cooperative]
name = "L'Ouvre-Boîtes"
email = "accueil@ouvre-boites.example"
[sheets]
workbook = "passerelle.xlsx"
[mail]
outbox = "outbox"
sender_address = "accueil@ouvre-boites.example"
domain = "ouvre-boites.example"
"""

GOOGLE_CONFIG = """\
state_dir = "state"
[cooperative]
name = "L'Ouvre-Boîtes"
email = "accueil@ouvre-boites.example"
[sheets]
backend = "google"
[sheets.google]
spreadsheet = "https://docs.google.com/spreadsheets/d/{agency}/edit#gid=0"
spreadsheets = {{ presences = "{cooperative}", suivi = "{cooperative}", historique = "{cooperative}" }}
retry_budget_seconds = 5
[mail]
outbox = "outbox"
sender_address = "accueil@ouvre-boites.example"
domain = "ouvre-boites.example"
"""
"""The agency's spreadsheet holds every sheet but « Présences », « Suivi » and « Historique », in the
cooperative's.
[mail] stays the last table: tests append keys to it through ``extra_config``."""

WRITE_ENDPOINTS = frozenset(
    {
        "values.batchUpdate",
        "values.append",
        "values.update",
        "values.clear",
        "values.batchClear",
        "spreadsheets.batchUpdate",
        "drive.files.create",
        "drive.files.delete",
    }
)

DATE_COLUMNS = frozenset(
    {
        "Date d'orientation",
        "Invitation envoyée le",
        "Rappel envoyé le",
        "Relance envoyée le",
        "Date",
        "Première réunion",
        "Date CAPE",
        "Fin de CAPE prévue",
        "Date CESA",
        "Activité démarrée le",
        "1re facture le",
        "Date de sortie",
        "Mis à jour le",
        "Prochain point",
        "Horodateur",
    }
)
"""Headers whose cells hold dates: Google returns them as serial numbers, openpyxl as datetimes."""


def referral(n: int, **overrides) -> dict[str, object]:
    """A valid referral row (header label → value); ``n`` orders the referral dates."""
    row = {
        "Nom": f"Nom{n:02d}",
        "Prénom": f"Prénom{n:02d}",
        "Email": f"personne{n:02d}@exemple.fr",
        "Conseiller·ère": "Sophie Le Goff",
        "Email conseiller·ère": "sophie.legoff@francetravail.example",
        "Accord de partage": "Oui",
        "Date d'orientation": date(2026, 10, 1) + timedelta(days=n),
    }
    row.update(overrides)
    return row


def session(reference: str, days_ahead: int, seats: int, **overrides) -> dict[str, object]:
    row = {
        "Référence": reference,
        "Date": (NOW + timedelta(days=days_ahead)).date(),
        "Heure de début": "14:00",
        "Heure de fin": "16:30",
        "Lieu": "Maison de l'emploi",
        "Adresse ou lien": "1 rue de la Paix, Saint-Nazaire",
        "Places": seats,
        "Animateur·rice": "Camille Roux",
        "Email contact": "camille.roux@ouvre-boites.example",
        "Annulée": "Non",
    }
    row.update(overrides)
    return row


def write_sheet(sheet, headers: Sequence[str], rows: Sequence[Mapping[str, object]]) -> None:
    """Text stays text, as when a person types it: "=HYPERLINK(…)" in a name is not a formula."""
    sheet.append(list(headers))
    for row in rows:
        sheet.append([row.get(h) for h in headers])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"


# ---------------------------------------------------------------------------------------------
# The sheets of a backend, and the hands of a person editing them between two runs
# ---------------------------------------------------------------------------------------------
# Positions are 0-based grid positions: row 0 is the header row, column 0 is A.


def _set_text_cell(cell, value: CellValue) -> None:
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # typed text, never a formula


def _fill(sheet, rows: Sequence[Sequence[CellValue]]) -> None:
    """Type rows into a new sheet, text as text, as a person would."""
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is not None:
                _set_text_cell(sheet.cell(r, c), value)


class WorkbookSheets:
    """Sheets in a real .xlsx file, edited through openpyxl as a spreadsheet program would."""

    backend = "workbook"

    def __init__(self, path: Path) -> None:
        self.path = path

    def store(self, config: config_module.Config | None = None) -> SheetStore:
        return WorkbookStore(self.path)

    def seed(self, sheets: Mapping[str, Sequence[Sequence[CellValue]]]) -> None:
        book = openpyxl.Workbook()
        book.remove(book.active)
        for name, rows in sheets.items():
            _fill(book.create_sheet(name), rows)
        book.save(self.path)

    def _edit(self, name: str, change) -> None:
        book = openpyxl.load_workbook(self.path)
        change(book[name])
        book.save(self.path)

    def grid(self, name: str) -> Grid | None:
        """Every row openpyxl sees, read without the store's lock-file check."""
        book = openpyxl.load_workbook(self.path)
        if name not in book.sheetnames:
            return None
        return [list(row) for row in book[name].iter_rows(values_only=True)]

    def set_cell(self, name: str, row: int, column: int, value: CellValue) -> None:
        self._edit(name, lambda sheet: _set_text_cell(sheet.cell(row + 1, column + 1), value))

    def reorder_rows(self, name: str, order: Sequence[int]) -> None:
        """Data rows in a new order: ``order[i]`` is the grid row that goes to row ``i + 1``."""

        def change(sheet) -> None:
            rows = {r: [sheet.cell(r + 1, c).value for c in range(1, sheet.max_column + 1)] for r in order}
            for target, source in enumerate(order, start=1):
                for c, value in enumerate(rows[source], start=1):
                    _set_text_cell(sheet.cell(target + 1, c), value)

        self._edit(name, change)

    def insert_rows(self, name: str, at: int, rows: Sequence[Sequence[CellValue]]) -> None:
        def change(sheet) -> None:
            sheet.insert_rows(at + 1, len(rows))
            for r, row in enumerate(rows, start=at + 1):
                for c, value in enumerate(row, start=1):
                    if value is not None:
                        _set_text_cell(sheet.cell(r, c), value)

        self._edit(name, change)

    def delete_rows(self, name: str, at: int, count: int = 1) -> None:
        self._edit(name, lambda sheet: sheet.delete_rows(at + 1, count))

    def insert_column(self, name: str, at: int, values: Sequence[CellValue]) -> None:
        def change(sheet) -> None:
            sheet.insert_cols(at + 1)
            for r, value in enumerate(values, start=1):
                _set_text_cell(sheet.cell(r, at + 1), value)

        self._edit(name, change)

    def add_sheet(self, name: str, rows: Sequence[Sequence[CellValue]]) -> None:
        book = openpyxl.load_workbook(self.path)
        _fill(book.create_sheet(name), rows)
        book.save(self.path)

    def formulas(self, name: str) -> list[str]:
        """Cells the sheet would evaluate (formulas) or show as an error."""
        sheet = openpyxl.load_workbook(self.path)[name]
        return [cell.coordinate for row in sheet.iter_rows() for cell in row if cell.data_type in ("f", "e")]

    def snapshot(self) -> object:
        """The workbook's bytes: equal snapshots mean the file was not even saved again."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest() if self.path.exists() else None


def typed(value: CellValue, french: bool = True) -> Any:
    """What a person types in a Google sheet for ``value`` (USER_ENTERED).

    Dates and numbers become dates and numbers, as in the Sheets UI; text that the sheet would
    turn into a formula or a number ("=…", "+33…") is typed behind an apostrophe, so it stays
    text, as ``write_sheet`` keeps it text in a workbook.
    """
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M" if french else "%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y" if french else "%Y-%m-%d")
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "'"):
        return "'" + value
    return value


class GoogleSheets:
    """Sheets in the fake Sheets API, read and written by GoogleSheetStore through gspread.

    ``placed`` puts a sheet in its own spreadsheet (e.g. « Suivi » in the cooperative's); every
    other sheet lives in ``default``. Edits go straight to the fake's cells, as a person typing
    in the browser.
    """

    backend = "google"

    def __init__(self, adapter: FakeSheetsAdapter | None = None) -> None:
        self.adapter = adapter or make_adapter()
        self.client = gspread.Client(auth=Credentials(token="fake"))
        for prefix in PREFIXES:
            self.client.http_client.session.mount(prefix, self.adapter)
        self.default: FakeSpreadsheet | None = None
        self.placed: dict[str, FakeSpreadsheet] = {}

    def store(self, config: config_module.Config | None = None) -> GoogleSheetStore:
        if config is not None:
            return store_from_config(config, wiring.sheet_names(config), client=self.client)
        assert self.default is not None
        return GoogleSheetStore(
            self.client,
            self.default.id,
            {name: book.id for name, book in self.placed.items()},
            retry=Retry(budget_seconds=5),
        )

    def seed(
        self,
        sheets: Mapping[str, Sequence[Sequence[CellValue]]],
        placed: Mapping[str, Sequence[str]] = {},
        locale: str = "fr_FR",
    ) -> None:
        """The default spreadsheet holds ``sheets``; ``placed`` maps a title to sheets of its own
        spreadsheet (a sheet named there but not in ``sheets`` is left for set-up to create)."""
        own = [name for name in sheets if not any(name in names for names in placed.values())]
        self.default = self.adapter.create_spreadsheet("Agence", sheets=own, locale=locale)
        for title, names in placed.items():
            present = [n for n in names if n in sheets]
            book = self.adapter.create_spreadsheet(title, sheets=present or None, locale=locale)
            for name in names:
                self.placed[name] = book
        for name, rows in sheets.items():
            self._type(self.sheet(name), 0, 0, rows)

    def book(self, name: str) -> FakeSpreadsheet:
        book = self.placed.get(name, self.default)
        assert book is not None
        return book

    def sheet(self, name: str):
        return self.book(name).sheet(name)

    @staticmethod
    def _type(sheet, row: int, column: int, rows: Sequence[Sequence[CellValue]]) -> None:
        french = sheet.locale.date_order == "DMY"
        values = [[typed(value, french) for value in line] for line in rows]
        sheet.write(row, column, values, "USER_ENTERED", clear_blanks=True)

    def grid(self, name: str) -> Grid | None:
        return self.store().read([name])[name]

    def set_cell(self, name: str, row: int, column: int, value: CellValue) -> None:
        self._type(self.sheet(name), row, column, [[value]])

    def reorder_rows(self, name: str, order: Sequence[int]) -> None:
        sheet = self.sheet(name)
        moved = {}
        target_of = {source: target for target, source in enumerate(order, start=1)}
        for (r, c), cell in sheet.cells.items():
            moved[(target_of.get(r, r), c)] = cell
        sheet.cells = moved

    def insert_rows(self, name: str, at: int, rows: Sequence[Sequence[CellValue]]) -> None:
        sheet = self.sheet(name)
        sheet.insert_rows(at, len(rows))
        self._type(sheet, at, 0, rows)

    def delete_rows(self, name: str, at: int, count: int = 1) -> None:
        sheet = self.sheet(name)
        sheet.cells = {
            (r - count if r >= at + count else r, c): cell
            for (r, c), cell in sheet.cells.items()
            if not at <= r < at + count
        }
        sheet.row_count -= count

    def insert_column(self, name: str, at: int, values: Sequence[CellValue]) -> None:
        """As Google does: cells, dropdowns and protected ranges right of ``at`` move right."""
        sheet = self.sheet(name)
        sheet.cells = {(r, c + 1 if c >= at else c): cell for (r, c), cell in sheet.cells.items()}
        sheet.column_count += 1
        sheet.validations = [
            (
                dataclasses.replace(
                    box,
                    col0=box.col0 + 1 if box.col0 >= at else box.col0,
                    col1=box.col1 + 1 if box.col1 is not None and box.col1 > at else box.col1,
                ),
                rule,
            )
            for box, rule in sheet.validations
        ]
        for protected in sheet.protected_ranges:
            area = protected["range"]
            for key in ("startColumnIndex", "endColumnIndex"):
                if key in area and (area[key] >= at if key == "startColumnIndex" else area[key] > at):
                    area[key] += 1
        self._type(sheet, 0, at, [[value] for value in values])

    def add_sheet(self, name: str, rows: Sequence[Sequence[CellValue]]) -> None:
        assert self.default is not None
        self._type(self.default.add_sheet(name), 0, 0, rows)

    def formulas(self, name: str) -> list[str]:
        cells = self.sheet(name).cells.items()
        return [f"{column_letters(c)}{r + 1}" for (r, c), cell in sorted(cells) if cell.is_formula]

    def writes(self) -> int:
        return self.adapter.count(lambda call: call.endpoint in WRITE_ENDPOINTS)

    def snapshot(self) -> object:
        """Every spreadsheet as the fake holds it (cells with formulas and formats, grid sizes,
        frozen rows, dropdowns, protections, charts) and the number of write requests so far:
        equal snapshots mean nothing was changed and nothing was even sent."""
        books = []
        for key in sorted(self.adapter.spreadsheets):
            book = self.adapter.spreadsheets[key]
            sheets = [
                (
                    s.title,
                    {k: dataclasses.astuple(cell) for k, cell in s.cells.items()},
                    s.row_count,
                    s.column_count,
                    s.frozen_rows,
                    copy.deepcopy(s.validations),
                    copy.deepcopy(s.protected_ranges),
                    copy.deepcopy(s.charts),
                )
                for s in book.sheets
            ]
            books.append((key, sheets))
        return books, self.writes()


# ---------------------------------------------------------------------------------------------
# A Passerelle project
# ---------------------------------------------------------------------------------------------


@dataclass
class Project:
    """A Passerelle set-up in a folder: config, sheets, outbox and state, as a user would have.

    ``backend`` is "workbook" (a real .xlsx next to the config) or "google" (two spreadsheets
    in the fake Sheets API: the agency's, and the cooperative's holding « Suivi »).
    """

    root: Path
    backend: str = "workbook"
    sheets: WorkbookSheets | GoogleSheets = field(init=False)

    def __post_init__(self) -> None:
        self.sheets = GoogleSheets() if self.backend == "google" else WorkbookSheets(self.workbook)

    @property
    def config_path(self) -> Path:
        return self.root / "passerelle.toml"

    @property
    def workbook(self) -> Path:
        return self.root / "passerelle.xlsx"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def adapter(self) -> FakeSheetsAdapter:
        assert isinstance(self.sheets, GoogleSheets), "only a Google project has a fake Sheets API"
        return self.sheets.adapter

    def create(
        self,
        referrals: Sequence[Mapping[str, object]],
        sessions: Sequence[Mapping[str, object]],
        orientation_headers: Sequence[str] | None = None,
        extra_config: str = "",
    ) -> Project:
        headers = list(orientation_headers or ORIENTATIONS.columns.values())
        session_headers = list(session("x", 0, 0))
        if isinstance(self.sheets, WorkbookSheets):
            self.config_path.write_text(CONFIG + extra_config, encoding="utf-8")
            book = openpyxl.Workbook()
            write_sheet(book.active, headers, referrals)
            book.active.title = ORIENTATIONS.name
            write_sheet(book.create_sheet(REUNIONS.name), session_headers, sessions)
            book.save(self.workbook)
            return self
        self.sheets.seed(
            {
                ORIENTATIONS.name: [headers, *([r.get(h) for h in headers] for r in referrals)],
                REUNIONS.name: [session_headers, *([s.get(h) for h in session_headers] for s in sessions)],
            },
            placed={"CAE": ["Présences", "Suivi", "Historique"]},
        )
        keys = {"agency": self.sheets.default.id, "cooperative": self.sheets.placed["Suivi"].id}
        self.config_path.write_text(GOOGLE_CONFIG.format(**keys) + extra_config, encoding="utf-8")
        return self

    def run(
        self, *jobs: str, now: datetime = NOW, dry_run: bool = False, transport=None, wrap=None, **options
    ):
        """``wrap``: a function given the real sheet store, returning the one the run uses (faults);
        ``options`` go to ``runner.run`` (``journal``, ``stop``)."""
        config = config_module.load(self.config_path)
        store = self.sheets.store(config)
        store = wrap(store) if wrap else store
        return runner.run(
            config, list(jobs), now, dry_run=dry_run, store=store, transport=transport, **options
        )

    # -- reading back ----------------------------------------------------------------------------

    def grid(self, sheet: str) -> Grid:
        """The sheet's values as its backend reads them, row 1 (the headers) first."""
        grid = self.sheets.grid(sheet)
        assert grid is not None, f"no sheet « {sheet} »"
        return grid

    def headers(self, sheet: str = "Orientations") -> list[CellValue]:
        return list(self.grid(sheet)[0])

    def rows(self, sheet: str = "Orientations") -> list[dict[str, object]]:
        """header → value per data row; date cells as datetimes on both backends.

        Google returns a date as a serial number: it is turned into a datetime (to the second,
        the precision of a sheet). Text in a date column stays text, so a date written as text
        never equals a datetime.
        """
        values = self.grid(sheet)
        headers = values[0]
        rows = []
        for row in values[1:]:
            padded = list(row) + [None] * (len(headers) - len(row))
            record = dict(zip(headers, padded, strict=False))
            if self.backend == "google":
                for header, value in record.items():
                    serial = isinstance(value, int | float) and not isinstance(value, bool)
                    if header in DATE_COLUMNS and serial:
                        moment = parse_datetime(value)
                        record[header] = (moment + timedelta(microseconds=500_000)).replace(microsecond=0)
            rows.append(record)
        return rows

    def formulas(self, sheet: str = "Orientations") -> list[str]:
        """Cells the sheet evaluates: never any where people's text was written."""
        return self.sheets.formulas(sheet)

    def snapshot(self) -> object:
        """Equal snapshots: no sheet changed (workbook: not even saved; Google: no write request)."""
        return self.sheets.snapshot()

    def emails(self) -> list[EmailMessage]:
        files = sorted(self.outbox.glob("*.eml")) if self.outbox.exists() else []
        return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]

    # -- a person editing the sheets between two runs -------------------------------------------
    # ``row`` is a data row index, as in ``rows()``: 0 is the row right under the headers.

    def _column(self, sheet: str, header: str) -> int:
        found = [i for i, h in enumerate(self.headers(sheet)) if text(h) == header]
        assert len(found) == 1, f"« {sheet} » has {len(found)} columns « {header} »"
        return found[0]

    def set(self, sheet: str, row: int, header: str, value: CellValue) -> None:
        """Type ``value`` in the column headed ``header``."""
        self.sheets.set_cell(sheet, row + 1, self._column(sheet, header), value)

    def put(self, sheet: str, a1: str, value: CellValue) -> None:
        """Type ``value`` in cell ``a1`` ("Z2")."""
        letters, number = coordinate_from_string(a1)
        self.sheets.set_cell(sheet, number - 1, column_index_from_string(letters) - 1, value)

    def reverse_rows(self, sheet: str) -> None:
        count = len(self.grid(sheet)) - 1
        self.sheets.reorder_rows(sheet, list(range(count, 0, -1)))

    def sort_rows(self, sheet: str, header: str, reverse: bool = False) -> None:
        column = self._column(sheet, header)
        grid = self.grid(sheet)
        order = sorted(
            range(1, len(grid)),
            key=lambda r: text(grid[r][column]) if column < len(grid[r]) else "",
            reverse=reverse,
        )
        self.sheets.reorder_rows(sheet, order)

    def insert_rows(self, sheet: str, at: int, rows: Sequence[Mapping[str, CellValue]]) -> None:
        """Insert rows (header → value; ``{}`` for a blank row) before data row ``at``."""
        headers = [text(h) for h in self.headers(sheet)]
        self.sheets.insert_rows(sheet, at + 1, [[row.get(h) for h in headers] for row in rows])

    def insert_column(self, sheet: str, at: int, header: str, values: Sequence[CellValue] = ()) -> None:
        """Insert a column before column ``at`` (0 is A), with its header and data cells."""
        self.sheets.insert_column(sheet, at, [header, *values])

    def add_sheet(self, name: str, rows: Sequence[Sequence[CellValue]]) -> None:
        """A new sheet, its header row first (in the agency's spreadsheet for Google)."""
        self.sheets.add_sheet(name, rows)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "backends(*names): the sheet backends ('workbook', 'google') the `project` fixture runs a test on",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("backends")
    if marker and "project" in metafunc.fixturenames:
        metafunc.parametrize("project", marker.args or BACKENDS, indirect=True)


@pytest.fixture
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Project:
    """A workbook project, or one per backend named by the module's ``backends`` marker."""
    return Project(tmp_path, getattr(request, "param", "workbook"))


@pytest.fixture
def workbook_project(tmp_path: Path) -> Project:
    """For what only a local workbook has: the office lock file, the file's bytes and formats."""
    return Project(tmp_path)
