"""One read and one write per run, whatever the number of jobs.

Jobs run one after the other and each must see what the previous ones wrote (a Non frees a seat
before invitations are planned). This store reads every sheet of the run once, answers the jobs'
reads from memory with their writes applied, and hands all writes to the real store in one batch
at the end, where rows are located afresh by Référence. Emails already sent before a failed flush
are in the send journal, from which the next run repairs the sheets.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

from automations.sheets.base import SheetStore
from automations.sheets.locate import plan_positional_writes
from automations.values import CellPatch, ChartSpec, Grid, RowAppend, SheetLayout, WriteResult


class BufferedStore:
    def __init__(self, store: SheetStore, sheets: Sequence[str], create: Sequence[SheetLayout] = ()) -> None:
        """``create``: sheets Passerelle fills, made (with their headers) only when first written."""
        self.store = store
        self.grids = store.read(list(dict.fromkeys([*sheets, *(layout.name for layout in create)])))
        self.missing = [layout for layout in create if self.grids[layout.name] is None]
        for layout in self.missing:
            self.grids[layout.name] = [list(layout.headers)]
        self.layouts: dict[str, SheetLayout] = {}
        self.patches: list[CellPatch] = []
        self.appends: list[RowAppend] = []
        self.replaced: dict[str, tuple[SheetLayout, Grid, ChartSpec | None]] = {}

    def read(self, sheets: Sequence[str]) -> dict[str, Grid | None]:
        missing = [name for name in sheets if name not in self.grids]
        if missing:
            self.grids.update(self.store.read(missing))
        return {name: copy.deepcopy(self.grids[name]) for name in sheets}

    def write(
        self,
        layouts: Mapping[str, SheetLayout],
        patches: Sequence[CellPatch],
        appends: Sequence[RowAppend] = (),
    ) -> WriteResult:
        result = WriteResult()
        for name in dict.fromkeys([*(p.sheet for p in patches), *(a.sheet for a in appends)]):
            grid = self.grids.get(name) or [[]]
            mine = [p for p in patches if p.sheet == name]
            writes = plan_positional_writes(
                grid, layouts[name], mine, [a for a in appends if a.sheet == name]
            )
            _apply(grid, writes)
            self.grids[name] = grid
            result.unresolved.extend(writes.unresolved)
        self.layouts.update(layouts)
        unresolved = set(map(id, result.unresolved))
        self.patches.extend(p for p in patches if id(p) not in unresolved)
        self.appends.extend(appends)
        return result

    def replace(self, layout: SheetLayout, grid: Grid, chart: ChartSpec | None = None) -> None:
        self.grids[layout.name] = copy.deepcopy(grid)
        self.replaced[layout.name] = (layout, grid, chart)

    def flush(self) -> WriteResult:
        """Everything the jobs wrote, in one batch per spreadsheet; then the rewritten sheets."""
        written = {p.sheet for p in self.patches} | {a.sheet for a in self.appends}
        needed = [layout for layout in self.missing if layout.name in written]
        if needed:
            self.store.ensure(needed)
            self.missing = [layout for layout in self.missing if layout not in needed]
        result = (
            self.store.write(self.layouts, self.patches, self.appends)
            if self.patches or self.appends
            else WriteResult()
        )
        self.patches, self.appends = [], []
        for layout, grid, chart in self.replaced.values():
            self.store.replace(layout, grid, chart)
        self.replaced = {}
        return result


def _apply(grid: Grid, writes) -> None:
    def cell(row: int, column: int, value) -> None:
        while len(grid) <= row:
            grid.append([])
        line = grid[row]
        while len(line) <= column:
            line.append(None)
        line[column] = value

    for row, column, value in [*writes.in_place(), *writes.added()]:
        cell(row, column, value)
