"""Turning row-keyed patches into positions on a freshly read grid: shared by every backend.

``automations.sheets.writer`` calls this on the grid a backend read right before writing, so a
row found here is where the row is now, even if a person sorted the sheet or inserted rows since
the run's first read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from automations.cells import text
from automations.tables import fingerprint, header_positions
from automations.values import CellPatch, CellValue, Grid, RowAppend, RowKey, SheetLayout


@dataclass
class PositionalWrites:
    """0-based positions in the grid; row 0 is the header row."""

    new_headers: list[tuple[int, str]] = field(default_factory=list)
    cells: list[tuple[int, int, CellValue]] = field(default_factory=list)
    appended: list[list[CellValue]] = field(default_factory=list)
    first_appended_row: int = 0
    unresolved: list[CellPatch] = field(default_factory=list)

    def in_place(self) -> Iterator[tuple[int, int, CellValue]]:
        """(row, column, value) of every existing-row write: new headers on row 0, then patches."""
        yield from ((0, column, label) for column, label in self.new_headers)
        yield from self.cells

    def added(self) -> Iterator[tuple[int, int, CellValue]]:
        """(row, column, value) of the appended rows' non-empty cells, below the last row read."""
        for offset, values in enumerate(self.appended):
            for column, value in enumerate(values):
                if value is not None:
                    yield self.first_appended_row + offset, column, value


def _column_index(label: str, positions: dict[str, int], writes: PositionalWrites, width: int) -> int:
    if label not in positions:
        positions[label] = width + len(writes.new_headers)
        writes.new_headers.append((positions[label], label))
    return positions[label]


def _row_finder(grid: Grid, layout: SheetLayout, positions: dict[str, int]):
    by_reference: dict[str, list[int]] = defaultdict(list)
    by_fingerprint: dict[tuple[str, ...], list[int]] = defaultdict(list)
    fingerprints = {index: fingerprint(row) for index, row in enumerate(grid[1:], start=1)}
    ref_col = positions.get(layout.reference) if layout.reference else None
    for index, row in enumerate(grid[1:], start=1):
        reference = text(row[ref_col]) if ref_col is not None and ref_col < len(row) else ""
        if reference:
            by_reference[reference].append(index)
        else:
            by_fingerprint[fingerprints[index]].append(index)

    def find(key: RowKey) -> int | None:
        """By Référence; where a person typed one Référence twice, the row's content decides. A row
        that had none is found by its content, or once given one, by the Référence it was given."""
        if key.reference:
            matches = by_reference[key.reference]
            if len(matches) > 1:
                matches = [index for index in matches if fingerprints[index] == key.fingerprint]
            return matches[0] if len(matches) == 1 else None
        matches = by_fingerprint[key.fingerprint]
        if len(matches) > key.occurrence and len(matches) > 1:
            return matches[key.occurrence]  # identical rows: the n-th is the n-th
        if len(matches) != 1 and key.assigned:
            matches = by_reference[key.assigned]
        return matches[0] if len(matches) == 1 else None

    def referenced(row: int, reference: str) -> None:
        """A reference written earlier in the batch finds its row for the patches that follow."""
        by_reference[reference].append(row)

    return find, referenced


def plan_positional_writes(
    grid: Grid,
    layout: SheetLayout,
    patches: Sequence[CellPatch],
    appends: Sequence[RowAppend] = (),
) -> PositionalWrites:
    headers = grid[0] if grid else []
    labels = list(dict.fromkeys([*layout.headers, *(p.column for p in patches)]))
    labels += [label for append in appends for label in append.values if label not in labels]
    positions = header_positions(layout.name, headers, labels)
    width = max((i + 1 for i, h in enumerate(headers) if text(h)), default=0)
    writes = PositionalWrites()
    find, referenced = _row_finder(grid, layout, positions)
    for patch in patches:
        row = find(patch.row)
        if row is None:
            writes.unresolved.append(patch)
            continue
        if patch.column == layout.reference and not patch.row.reference and text(patch.value):
            referenced(row, text(patch.value))
        writes.cells.append((row, _column_index(patch.column, positions, writes, width), patch.value))
    last = max((i for i, row in enumerate(grid) if any(text(v) for v in row)), default=0)
    writes.first_appended_row = last + 1
    for append in appends:
        columns = {_column_index(label, positions, writes, width): v for label, v in append.values.items()}
        row_width = max(columns, default=-1) + 1
        writes.appended.append([columns.get(i) for i in range(row_width)])
    return writes
