"""The edge between Passerelle and wherever the sheets live.

A backend only moves grids of cell values in and out. Everything that gives them meaning
(matching headers, parsing cells, finding the row a patch belongs to) is shared code in
``automations.sheets.writer`` (with ``locate``) and ``automations.headers``, so every backend
behaves the same and reports the same errors. ``automations.sheets.memory.MemoryStore`` is the
whole protocol in memory; tests/contract holds every implementation to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from automations.values import (
    CellPatch,
    ChartSpec,
    Grid,
    Look,
    Prepared,
    RowAppend,
    SheetLayout,
    WriteResult,
)


class SheetStore(Protocol):
    def read(self, sheets: Sequence[str]) -> dict[str, Grid | None]:
        """Every named sheet in as few requests as the backend allows; ``None`` for a missing sheet."""
        ...

    def write(
        self,
        layouts: Mapping[str, SheetLayout],
        patches: Sequence[CellPatch],
        appends: Sequence[RowAppend] = (),
    ) -> WriteResult:
        """Locate each patch's row afresh, add missing owned headers, write, append: one batch."""
        ...

    def replace(
        self, layout: SheetLayout, grid: Grid, chart: ChartSpec | None = None, look: Look | None = None
    ) -> None:
        """Rewrite a sheet Passerelle owns whole (the summary), creating it if needed, with its chart
        and ``look`` (widths, frozen rows, bold titles, rates as percentages) where the backend can."""
        ...

    def ensure(self, layouts: Sequence[SheetLayout]) -> Prepared:
        """Create missing sheets with their header row, write it into existing sheets whose row 1 is
        empty; add dropdowns and protections where supported."""
        ...
