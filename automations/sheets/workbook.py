"""The embedded default backend: a local .xlsx workbook, through openpyxl.

The workbook is loaded whole and saved atomically (temporary file in the same folder, then
rename), so a crash never leaves half a workbook.

Loading and saving are most of a run's time at 10,000 rows (openpyxl parses and writes every
cell), so a store keeps the workbook it loaded or saved, with the file's identity then (inode, size,
modification time): the next operation uses it as long as nobody changed the file meanwhile, and
loads it again otherwise. Inside ``batch()`` (one flush of the run's writes: sheets created, cells
written, sheets rewritten) the workbook is saved once, at the end, or not at all if any step
failed, so a failed flush leaves the file as it was. Everything Passerelle does not write (other
sheets, cells, formats, column widths, dropdowns) is kept as openpyxl loaded it. openpyxl cannot
keep images and charts it did not create: keep those in another file.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, MergedCell
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.styles import Font
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from automations.errors import SheetError
from automations.sheets import writer
from automations.sheets.locate import PositionalWrites
from automations.tables import column_letter
from automations.values import (
    PERCENT_FORMAT,
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

UNREADABLE = (OSError, KeyError, ValueError, EOFError, SyntaxError, zipfile.BadZipFile, zlib.error)
"""What openpyxl raises on a file that is not a whole .xlsx (SyntaxError: XML parse errors)."""
XLSX_SIGNATURE = b"PK\x03\x04"
DATE_FORMAT = "DD/MM/YYYY"
DATETIME_FORMAT = "DD/MM/YYYY HH:MM"


class WorkbookStore:
    def __init__(self, path: Path, create: bool = False) -> None:
        """``create``: ``replace`` makes the file when it is missing (an advisor's view, which only
        Passerelle writes); the main workbook is made by `passerelle setup`, never by a rewrite."""
        self.path = path
        self.create = create
        self._book: Workbook | None = None
        self._identity: tuple[int, int, int] | None = None
        self._batched = False
        self._unsaved = False

    def _current(self) -> tuple[int, int, int] | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def _keep(self, workbook: Workbook) -> Workbook:
        self._book, self._identity = workbook, self._current()
        return workbook

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Everything inside saved once at the end; nothing saved (nor kept) if it raises."""
        self._batched, self._unsaved = True, False
        try:
            yield
        except BaseException:
            self._book = None  # holds changes that were never saved
            raise
        finally:
            self._batched = False
        if self._unsaved and self._book is not None:
            self._unsaved = False
            self._save(self._book)

    def _lock_files(self) -> list[Path]:
        folder, name = self.path.parent, self.path.name
        return [folder / f".~lock.{name}#", folder / f"~${name}"]

    def _load(self) -> Workbook:
        held = [lock for lock in self._lock_files() if lock.exists()]  # checked every time: cheap
        if held:
            raise SheetError(
                f"Le classeur {self.path.name} est ouvert dans un tableur ({held[0].name} existe) : "
                "fermez-le puis relancez."
            )
        if self._book is not None and (self._unsaved or self._identity == self._current()):
            return self._book
        if not self.path.exists():
            raise SheetError(f"Le classeur {self.path} est introuvable : lancez « passerelle setup ».")
        try:
            return self._keep(openpyxl.load_workbook(self.path))
        except UNREADABLE as error:
            raise _unreadable(self.path, error) from None

    def _save(self, workbook: Workbook) -> None:
        if self._batched:
            self._book, self._unsaved = workbook, True
            return
        try:
            self._replace_with(workbook)
        except OSError as error:
            raise SheetError(
                f"Le classeur {self.path} ne peut pas être enregistré ({error.strerror or error}) : donnez "
                "à Passerelle le droit d'écrire dans son dossier, ou libérez de la place sur le disque."
            ) from None

    def _replace_with(self, workbook: Workbook) -> None:
        self._book = None  # until saved: a failed save must not leave unsaved changes in use
        prefix = f".{self.path.stem}-"
        for stale in self.path.parent.glob(f"{prefix}*.xlsx"):
            stale.unlink(missing_ok=True)  # left by a run killed mid-save; runs hold the lock
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=prefix, suffix=".xlsx")
        os.close(handle)
        try:
            if self.path.exists():
                os.chmod(temporary, self.path.stat().st_mode & 0o7777)  # keep who may read it
            workbook.save(temporary)
            with open(temporary, "rb") as stream:
                os.fsync(stream.fileno())
            os.replace(temporary, self.path)
            self._keep(workbook)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)

    def read(self, sheets: Sequence[str]) -> dict[str, Grid | None]:
        workbook = self._load()
        return {name: _grid(workbook[name]) if name in workbook.sheetnames else None for name in sheets}

    def write(
        self,
        layouts: Mapping[str, SheetLayout],
        patches: Sequence[CellPatch],
        appends: Sequence[RowAppend] = (),
    ) -> WriteResult:
        if not patches and not appends:
            return WriteResult()
        workbook = self._load()
        sheets = {}
        for name in writer.sheets_written(patches, appends):
            if name not in workbook.sheetnames:
                raise writer.vanished(name)
            sheets[name] = workbook[name]
        grids = {name: _grid(sheet) for name, sheet in sheets.items()}
        located = writer.locate(grids, layouts, patches, appends)
        for name, writes in located.sheets.items():
            _apply(sheets[name], writes)
        self._save(workbook)
        return located.result

    def replace(
        self, layout: SheetLayout, grid: Grid, chart: ChartSpec | None = None, look: Look | None = None
    ) -> None:
        if self.create and not self.path.exists():
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise SheetError(
                    f"Le dossier de {self.path} ne peut pas être créé ({error.strerror or error}) : créez-le "
                    "ou donnez à Passerelle le droit d'y écrire."
                ) from None
            workbook = openpyxl.Workbook()
            workbook.remove(workbook.active)
        else:
            workbook = self._load()
        sheet = _fresh_sheet(workbook, layout.name)
        for r, row in enumerate(grid, start=1):
            for c, value in enumerate(row, start=1):
                _set(sheet.cell(r, c), value)
        if look:
            _dress_rewritten(sheet, look)
        if chart:
            sheet.add_chart(
                _bar_chart(sheet, chart), f"{column_letter(chart.anchor_column)}{chart.first_row}"
            )
        self._save(workbook)

    def ensure(self, layouts: Sequence[SheetLayout]) -> Prepared:
        if self.path.exists():
            workbook = self._load()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            workbook = openpyxl.Workbook()
            workbook.remove(workbook.active)
        missing = [layout for layout in layouts if layout.name not in workbook.sheetnames]
        headless = [
            layout
            for layout in layouts
            if layout.name in workbook.sheetnames and _headless(workbook[layout.name])
        ]
        for layout in missing:
            _dress(workbook.create_sheet(layout.name), layout)
        for layout in headless:
            _dress(workbook[layout.name], layout)
        if missing or headless or not self.path.exists():
            self._save(workbook)
        return Prepared(tuple(layout.name for layout in missing), tuple(layout.name for layout in headless))


def _unreadable(path: Path, error: BaseException) -> SheetError:
    """Why a workbook cannot be opened, said as what to do about it."""
    if isinstance(error, PermissionError):
        return SheetError(
            f"Le classeur {path} ne peut pas être ouvert : donnez à Passerelle le droit de le lire "
            "et de le modifier."
        )
    with open(path, "rb") as stream:
        start = stream.read(len(XLSX_SIGNATURE))
    if not start:
        return SheetError(
            f"Le classeur {path} est vide (0 octet) : remettez une sauvegarde, ou supprimez-le et "
            "lancez « passerelle setup » pour en créer un neuf."
        )
    if start != XLSX_SIGNATURE:
        return SheetError(
            f"Le classeur {path} n'est pas au format .xlsx (peut-être un fichier CSV renommé) : "
            "ouvrez-le dans un tableur et enregistrez-le au format « Classeur Excel (.xlsx) »."
        )
    return SheetError(
        f"Le classeur {path} est endommagé (fichier tronqué ou mal copié) : remettez une sauvegarde, "
        "ou ouvrez-le dans un tableur qui sait le réparer et enregistrez-le au format .xlsx."
    )


def _grid(sheet: Worksheet) -> Grid:
    """The sheet's values, leaving the sheet as loaded.

    openpyxl has no public way to read a position without creating a cell there: ``iter_rows``
    filled the whole used rectangle with empty cells, which doubled the workbook in memory at
    10,000 rows (100,000 cells added to 90,000; more at 50,000 than openpyxl's bare load holds in
    all). Each empty cell it made is deleted again (``del sheet[coordinate]``, public): one with no
    value, style, comment or link, which openpyxl never writes to the file anyway."""
    rows = []
    for cells in sheet.iter_rows():
        rows.append([cell.value for cell in cells])
        for cell in cells:
            if cell.value is None and _unwritten(cell):
                del sheet[cell.coordinate]
    while rows and not any(v not in (None, "") for v in rows[-1]):
        rows.pop()
    return rows


def _unwritten(cell: Cell | MergedCell) -> bool:
    """A cell openpyxl leaves out of the file: nothing in it, nothing on it (and not part of a merge)."""
    return isinstance(cell, Cell) and not cell.has_style and cell.comment is None and cell.hyperlink is None


def _set(cell, value: CellValue) -> None:
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters a sheet cannot hold
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # text stays text: "=HYPERLINK(…)" typed by a person is never a formula
    elif isinstance(value, datetime):
        cell.number_format = DATETIME_FORMAT
    elif isinstance(value, date):
        cell.number_format = DATE_FORMAT


def _apply(sheet: Worksheet, writes: PositionalWrites) -> None:
    for row, column, value in [*writes.in_place(), *writes.added()]:
        _set(sheet.cell(row + 1, column + 1), value)
    for column, _ in writes.new_headers:
        sheet.cell(1, column + 1).font = Font(bold=True)


def _fresh_sheet(workbook: Workbook, name: str) -> Worksheet:
    """An empty sheet in place of ``name``, at its position, with its column widths and frozen panes.

    Recreating it is openpyxl's public way to drop the previous run's chart with its cells.
    """
    if name not in workbook.sheetnames:
        return workbook.create_sheet(name)
    old = workbook[name]
    index, was_active = workbook.index(old), workbook.active is old
    workbook.remove(old)
    sheet = workbook.create_sheet(name, index)
    for letter, dimension in old.column_dimensions.items():
        sheet.column_dimensions[letter].width = dimension.width
    sheet.freeze_panes = old.freeze_panes
    if was_active:
        workbook.active = sheet
    return sheet


def _dress_rewritten(sheet: Worksheet, look: Look) -> None:
    """Widths, frozen rows, bold titles and percentages, so the sheet reads as opened."""
    for column, width in enumerate(look.widths):
        sheet.column_dimensions[column_letter(column)].width = width
    sheet.freeze_panes = f"A{look.frozen_rows + 1}" if look.frozen_rows else None
    bold = Font(bold=True)
    for row in look.bold_rows:
        for cell in sheet[row + 1]:
            if cell.value is not None:
                cell.font = bold
    for row, column in look.percent:
        sheet.cell(row + 1, column + 1).number_format = PERCENT_FORMAT
    sheet.page_setup.orientation = "landscape"  # its tables are wider than tall


def _bar_chart(sheet: Worksheet, spec: ChartSpec) -> BarChart:
    chart = BarChart()
    chart.type = "bar"
    chart.title = spec.title
    chart.legend = None
    rows = {"min_row": spec.first_row + 1, "max_row": spec.last_row + 1}
    chart.add_data(Reference(sheet, min_col=spec.value_column + 1, max_col=spec.value_column + 1, **rows))
    labels = Reference(sheet, min_col=spec.label_column + 1, **rows)
    chart.series[0].cat = AxDataSource(strRef=StrRef(f=str(labels)))  # text: set_categories says numbers
    chart.y_axis.scaling.orientation = "minMax"
    chart.x_axis.scaling.orientation = "maxMin"  # first stage on top, like a funnel
    chart.width, chart.height = 16, 8
    return chart


def _headless(sheet: Worksheet) -> bool:
    """Row 1 holds nothing: a tab added by hand, which would otherwise never get its headers."""
    return blank_row(next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), ()))


def _dress(sheet: Worksheet, layout: SheetLayout) -> None:
    """Headers in row 1 (bold, frozen, wide enough) and the dropdowns below them."""
    for column, header in enumerate(layout.headers, start=1):
        cell = sheet.cell(1, column, header)
        cell.font = Font(bold=True)
        sheet.column_dimensions[column_letter(column - 1)].width = max(12, len(header) + 4)
    sheet.freeze_panes = "A2"
    for header, values in layout.choices.items():
        column = column_letter(layout.headers.index(header))
        validation = DataValidation(
            type="list", formula1='"' + ",".join(values) + '"', allow_blank=True, showErrorMessage=False
        )
        validation.add(f"{column}2:{column}10000")
        sheet.add_data_validation(validation)
