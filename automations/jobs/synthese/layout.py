"""Blocks of figures laid out one under the other as the grid of « Synthèse », with what it takes
to read it as opened (``Look``) and the funnel chart's ranges, both computed from where each block
landed, never from hand-counted row numbers (a chart that plotted the header as a bar and dropped
the last step came from such a count).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from automations.values import CellValue, ChartSpec, Grid, Look

MIN_WIDTH, MAX_WIDTH = 8, 80
"""Columns in characters: wide enough for « 100 % », at most what a screen shows at once."""
SPREAD, PADDING = 1.2, 2
"""A column's unit is the width of a digit; capitals and « · » are wider: a margin for them."""


@dataclass(frozen=True)
class Block:
    """A titled table: its header, its rows, which columns hold rates (0 to 1)."""

    title: str
    header: Sequence[CellValue]
    rows: Sequence[Sequence[CellValue]]
    percent_columns: frozenset[int] = field(default_factory=frozenset)
    chart: str = ""
    """A chart title, to chart column 1 against column 0 of every row."""


def shown_width(value: CellValue) -> int:
    """How many characters a cell takes as a spreadsheet shows it."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        return len("00/00/0000 00:00")
    if isinstance(value, date):
        return len("00/00/0000")
    if isinstance(value, float):
        return len(f"{value:.1f}")
    return len(str(value))


def lay_out(
    top: Sequence[Sequence[CellValue]], blocks: Sequence[Block]
) -> tuple[Grid, Look, ChartSpec | None]:
    """``top`` rows (« Données du »), a blank row, then each block: title, header, rows, blank."""
    grid: Grid = [list(row) for row in top]
    bold: list[int] = [0] if top else []
    percent: list[tuple[int, int]] = []
    chart: ChartSpec | None = None
    for block in blocks:
        grid.append([])
        bold += [len(grid), len(grid) + 1]
        grid += [[block.title], list(block.header)]
        first = len(grid)
        for row in block.rows:
            percent += [
                (len(grid), c)
                for c in block.percent_columns
                if c < len(row) and isinstance(row[c], int | float) and not isinstance(row[c], bool)
            ]
            grid.append([rate if rate is not None else "—" for rate in row])
        if block.chart and block.rows:
            anchor = len(block.header) + 1
            chart = ChartSpec(block.chart, 0, 1, first, len(grid) - 1, anchor_column=anchor)
    return grid, Look(widths(grid, percent), 1, tuple(bold), tuple(percent)), chart


def widths(grid: Grid, percent: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    """Each column as wide as its widest cell, titles included: on screen a title would run over
    the empty cells beside it, but printed, a page may end right after column A and cut it."""
    rates = set(percent)
    columns = max((len(row) for row in grid), default=0)
    found = [MIN_WIDTH] * columns
    for r, row in enumerate(grid):
        for c, value in enumerate(row):
            width = len("100 %") if (r, c) in rates else shown_width(value)
            found[c] = max(found[c], min(MAX_WIDTH, round(width * SPREAD) + PADDING))
    return tuple(found)
