"""A whole ``SheetStore`` in memory: the fake that ships beside the protocol.

It locates rows with the same shared writer as the real backends and passes the same contract
suite (tests/contract), so a test or a dry run over it sees what a workbook or a Google
spreadsheet would. Grids are copied in and out: a caller editing what it read, or what it handed
over, never changes the store behind its back.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

from automations.sheets import writer
from automations.values import (
    CellPatch,
    ChartSpec,
    Grid,
    Look,
    Prepared,
    RowAppend,
    SheetLayout,
    WriteResult,
    blank_row,
)


class MemoryStore:
    """``grids``: each sheet's rows, headers first; ``charts`` and ``looks``: what each ``replace`` left."""

    def __init__(self, grids: Mapping[str, Grid | None] = {}) -> None:
        self.grids: dict[str, Grid] = {}
        self.charts: dict[str, ChartSpec | None] = {}
        self.looks: dict[str, Look | None] = {}
        self.load(grids)

    def load(self, grids: Mapping[str, Grid | None]) -> None:
        """Take sheets as read elsewhere; ``None`` says the sheet does not exist."""
        for name, grid in grids.items():
            if grid is None:
                self.grids.pop(name, None)
            else:
                self.grids[name] = copy.deepcopy(grid)

    def read(self, sheets: Sequence[str]) -> dict[str, Grid | None]:
        return {name: copy.deepcopy(self.grids.get(name)) for name in sheets}

    def write(
        self,
        layouts: Mapping[str, SheetLayout],
        patches: Sequence[CellPatch],
        appends: Sequence[RowAppend] = (),
    ) -> WriteResult:
        names = writer.sheets_written(patches, appends)
        missing = [name for name in names if name not in self.grids]
        if missing:
            raise writer.vanished(missing[0])
        located = writer.locate(self.grids, layouts, patches, appends)
        for name, writes in located.sheets.items():
            writer.apply_to_grid(self.grids[name], writes)  # cell values are immutable scalars
        return located.result

    def replace(
        self, layout: SheetLayout, grid: Grid, chart: ChartSpec | None = None, look: Look | None = None
    ) -> None:
        self.grids[layout.name] = copy.deepcopy(grid)
        self.charts[layout.name] = chart
        self.looks[layout.name] = look

    def ensure(self, layouts: Sequence[SheetLayout]) -> Prepared:
        created = [layout.name for layout in layouts if layout.name not in self.grids]
        headed = [
            layout.name
            for layout in layouts
            if layout.name in self.grids
            and (not self.grids[layout.name] or blank_row(self.grids[layout.name][0]))
        ]
        for layout in layouts:
            grid = self.grids.setdefault(layout.name, [])
            if layout.name in (*created, *headed):
                grid[:1] = [list(layout.headers)]
        return Prepared(tuple(created), tuple(headed))
