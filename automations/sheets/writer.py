"""The one write algorithm every backend runs: group by sheet, locate rows afresh, collect misses.

A backend reads the sheets it is about to write (in whatever way it reads), hands the grids here,
and applies the positions it gets back in its own terms (cells of an openpyxl sheet, value ranges
of a Google request, lists in memory). So where a patch lands, which headers are added and which
patches found no row are decided in one place, and no backend can drift from the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from automations.errors import SheetError
from automations.sheets.locate import PositionalWrites, plan_positional_writes
from automations.values import CellPatch, Grid, RowAppend, SheetLayout, WriteResult


def sheets_written(patches: Sequence[CellPatch], appends: Sequence[RowAppend] = ()) -> list[str]:
    """The sheets a batch touches, in the order they first appear in it."""
    return list(dict.fromkeys([*(p.sheet for p in patches), *(a.sheet for a in appends)]))


@dataclass
class Located:
    """Per sheet, where each write goes on the grid just read (``dict`` order: first touched first)."""

    sheets: dict[str, PositionalWrites]

    @property
    def result(self) -> WriteResult:
        return WriteResult([patch for writes in self.sheets.values() for patch in writes.unresolved])


def locate(
    grids: Mapping[str, Grid],
    layouts: Mapping[str, SheetLayout],
    patches: Sequence[CellPatch],
    appends: Sequence[RowAppend] = (),
) -> Located:
    """``grids`` holds every sheet of ``sheets_written(patches, appends)``, read right now."""
    return Located(
        {
            name: plan_positional_writes(
                grids[name],
                layouts[name],
                [p for p in patches if p.sheet == name],
                [a for a in appends if a.sheet == name],
            )
            for name in sheets_written(patches, appends)
        }
    )


def apply_to_grid(grid: Grid, writes: PositionalWrites) -> None:
    """Writes applied to a grid held in memory, growing its rows and columns as needed."""
    for row, column, value in [*writes.in_place(), *writes.added()]:
        while len(grid) <= row:
            grid.append([])
        line = grid[row]
        while len(line) <= column:
            line.append(None)
        line[column] = value


def vanished(name: str) -> SheetError:
    """A sheet read at the start of the run is gone when its writes come: the same words everywhere."""
    return SheetError(
        f"La feuille « {name} » a disparu du classeur pendant l'exécution : "
        "rétablissez-la (ou son nom) puis relancez."
    )
