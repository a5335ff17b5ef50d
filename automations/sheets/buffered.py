"""One read and one write per run, whatever the number of jobs.

Jobs run one after the other and each must see what the previous ones wrote (a Non frees a seat
before invitations are planned). This store reads every sheet of the run once into a
``MemoryStore``, answers the jobs' reads from it with their writes applied, and hands all writes
to the real store in one batch at the end, where rows are located afresh by Référence. Emails
already sent before a failed flush are in the send journal, from which the next run repairs the
sheets.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

from automations.sheets.base import SheetStore
from automations.sheets.memory import MemoryStore
from automations.values import CellPatch, ChartSpec, Grid, Look, RowAppend, SheetLayout, WriteResult


class BufferedStore:
    def __init__(self, store: SheetStore, sheets: Sequence[str], create: Sequence[SheetLayout] = ()) -> None:
        """``create``: sheets Passerelle fills, made (with their headers) only when first written."""
        self.store = store
        names = list(dict.fromkeys([*sheets, *(layout.name for layout in create)]))
        grids = store.read(names)
        self.read_already = set(names)
        self.missing = [layout for layout in create if grids[layout.name] is None]
        self.memory = MemoryStore()
        self._take(grids)
        self.memory.ensure(self.missing)
        self.layouts: dict[str, SheetLayout] = {}
        self.patches: list[CellPatch] = []
        self.appends: list[RowAppend] = []
        self.replaced: dict[str, tuple[SheetLayout, Grid, ChartSpec | None, Look | None]] = {}
        self.versions: dict[str, int] = {}
        """How many times each sheet was written in this run: an unchanged version means a grid
        read before (and whatever was made of it) still holds."""

    @property
    def pending(self) -> bool:
        """Whether anything written or replaced still waits for ``flush``."""
        return bool(self.patches or self.appends or self.replaced)

    def read(self, sheets: Sequence[str]) -> dict[str, Grid | None]:
        self._read_once(sheets)
        return {name: _rows(self.memory.grids.get(name)) for name in sheets}

    def write(
        self,
        layouts: Mapping[str, SheetLayout],
        patches: Sequence[CellPatch],
        appends: Sequence[RowAppend] = (),
    ) -> WriteResult:
        """Applied now for later reads; a patch that finds no row here is returned, never sent."""
        self._read_once([*(p.sheet for p in patches), *(a.sheet for a in appends)])
        result = self.memory.write(layouts, patches, appends)
        for name in {p.sheet for p in patches} | {a.sheet for a in appends}:
            self.versions[name] = self.versions.get(name, 0) + 1
        self.layouts.update(layouts)
        unresolved = set(map(id, result.unresolved))
        self.patches.extend(p for p in patches if id(p) not in unresolved)
        self.appends.extend(appends)
        return result

    def replace(
        self, layout: SheetLayout, grid: Grid, chart: ChartSpec | None = None, look: Look | None = None
    ) -> None:
        self.memory.replace(layout, grid, chart, look)
        self.versions[layout.name] = self.versions.get(layout.name, 0) + 1
        self.read_already.add(layout.name)
        self.replaced[layout.name] = (layout, _rows(grid), chart, look)

    def flush(self) -> WriteResult:
        """Everything the jobs wrote, in one batch per spreadsheet; then the rewritten sheets.

        A store with a ``batch()`` context (the workbook) saves all of it once, at the end."""
        batch = getattr(self.store, "batch", contextlib.nullcontext)
        with batch():
            return self._flush()

    def _flush(self) -> WriteResult:
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
        for layout, grid, chart, look in self.replaced.values():
            self.store.replace(layout, grid, chart, look)
        self.replaced = {}
        return result

    def _read_once(self, sheets: Sequence[str]) -> None:
        """Sheets not read yet come from the real store, once."""
        unread = [name for name in dict.fromkeys(sheets) if name not in self.read_already]
        if unread:
            self._take(self.store.read(unread))
            self.read_already.update(unread)

    def _take(self, grids: Mapping[str, Grid | None]) -> None:
        """Grids the real store just read, copied into the working copy (``None``: no such sheet)."""
        for name, grid in grids.items():
            if grid is None:
                self.memory.grids.pop(name, None)
            else:
                self.memory.grids[name] = [list(row) for row in grid]


def _rows(grid: Grid | None) -> Grid | None:
    """A copy of the grid's lists (cell values are immutable: they are shared)."""
    return None if grid is None else [list(row) for row in grid]
