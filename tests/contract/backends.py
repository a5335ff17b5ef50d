"""Every SheetStore the contract runs on, each with the hands of a person editing its sheets.

``Backend`` is what a contract test gets: the store, and ``sheets`` (``MemorySheets``,
``WorkbookSheets`` or ``GoogleSheets``) to seed the sheets and change them behind the store's back,
as someone sorting or deleting rows between a run's read and its write.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from automations.sheets.base import SheetStore
from automations.sheets.memory import MemoryStore
from automations.values import CellValue, Grid
from tests.conftest import BACKENDS, GoogleSheets, WorkbookSheets

STORES = ("memory", *BACKENDS)
SHEET = "Personnes"
Seed = Mapping[str, Sequence[Sequence[CellValue]]]


class MemorySheets:
    """Sheets held by a MemoryStore; a person's edits change its grids directly."""

    backend = "memory"

    def __init__(self) -> None:
        self.memory = MemoryStore()

    def store(self) -> SheetStore:
        return self.memory  # the state lives in the store: every "new" store is this one

    def seed(self, sheets: Seed) -> None:
        self.memory = MemoryStore({name: typed(rows) for name, rows in sheets.items()})

    def reorder_rows(self, name: str, order: Sequence[int]) -> None:
        grid = self.memory.grids[name]
        rows = {source: grid[source] for source in order}
        for target, source in enumerate(order, start=1):
            grid[target] = rows[source]

    def insert_rows(self, name: str, at: int, rows: Sequence[Sequence[CellValue]]) -> None:
        self.memory.grids[name][at:at] = typed(rows)

    def delete_rows(self, name: str, at: int, count: int = 1) -> None:
        del self.memory.grids[name][at : at + count]

    def formulas(self, name: str) -> list[str]:
        return []  # nothing in memory is ever evaluated

    def snapshot(self) -> object:
        return copy.deepcopy((self.memory.grids, self.memory.charts))


def typed(rows: Sequence[Sequence[CellValue]]) -> Grid:
    """What a person leaves in a cell: an empty one reads as ``None``, as in a workbook or Google."""
    return [[None if value == "" else value for value in row] for row in rows]


@dataclass
class Backend:
    """A store over seeded sheets, and a person (``sheets``) editing them behind its back."""

    name: str
    store: SheetStore
    sheets: MemorySheets | WorkbookSheets | GoogleSheets

    def grid(self, sheet: str = SHEET) -> Grid | None:
        """Read afresh through a store, trailing empty cells and rows trimmed (as Google does)."""
        grid = self.store.read([sheet])[sheet]
        return None if grid is None else trimmed(grid)

    def by_reference(self, sheet: str = SHEET) -> dict[str, dict[str, CellValue]]:
        grid = self.grid(sheet)
        assert grid is not None
        headers = grid[0]
        return {
            row[0]: dict(zip(headers, row + [None] * (len(headers) - len(row)), strict=True))
            for row in grid[1:]
            if row and row[0]
        }


def trimmed(grid: Grid) -> Grid:
    rows = []
    for row in grid:
        row = list(row)
        while row and row[-1] in (None, ""):
            row.pop()
        rows.append(row)
    while rows and not rows[-1]:
        rows.pop()
    return rows


StoreFactory = Callable[..., Backend]


def backend(kind: str, folder: Path, sheets: Seed, locale: str = "fr_FR") -> Backend:
    """``kind`` with ``sheets`` (name → rows, headers first) typed in; ``locale`` is the Google
    spreadsheet's (a workbook or memory has none)."""
    handle: MemorySheets | WorkbookSheets | GoogleSheets
    if kind == "memory":
        handle = MemorySheets()
        handle.seed(sheets)
    elif kind == "workbook":
        handle = WorkbookSheets(folder / "contract.xlsx")
        handle.seed(sheets)
    else:
        handle = GoogleSheets()
        handle.seed(sheets, locale=locale)
    return Backend(kind, handle.store(), handle)
