"""A grid read from a sheet, bound to a ``SheetSpec``: rows addressed by column key.

Binding is where a renamed or missing header is found, before anything is planned or written,
with one French sentence naming the sheet and the header.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from automations.cells import text
from automations.errors import SheetError
from automations.headers import same_header
from automations.schema import SheetSpec
from automations.values import CellValue, Grid, RowKey


@dataclass(frozen=True)
class Row:
    number: int
    """1-based row number in the sheet when it was read: for messages, never for writing."""
    cells: dict[str, CellValue]
    fingerprint: tuple[str, ...]
    occurrence: int = 0
    """How many rows above have exactly the same content: tells identical rows apart."""

    def __getitem__(self, key: str) -> CellValue:
        return self.cells.get(key)

    def text(self, key: str) -> str:
        return text(self.cells.get(key))

    def key(self, reference_key: str = "reference", assigned: str | None = None) -> RowKey:
        """``assigned``: the Référence this run gives a row that has none, which finds it once written."""
        reference = self.text(reference_key) or None
        return RowKey(reference, self.fingerprint, assigned, occurrence=self.occurrence)


@dataclass(frozen=True)
class Table:
    spec: SheetSpec
    rows: tuple[Row, ...]
    present: frozenset[str]
    """Keys of the columns the sheet actually has."""

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)


def header_positions(sheet: str, headers: Sequence[CellValue], labels: Sequence[str]) -> dict[str, int]:
    """Column index of each label found in the header row; two columns for one label is an error."""
    found: dict[str, int] = {}
    for index, header in enumerate(headers):
        name = text(header)
        if not name:
            continue
        for label in labels:
            if same_header(name, label):
                if label in found:
                    raise SheetError(
                        f"La feuille « {sheet} » a deux colonnes « {label} » "
                        f"(colonnes {column_letter(found[label])} et {column_letter(index)}) : "
                        "renommez ou supprimez l'une des deux."
                    )
                found[label] = index
    return found


def fingerprint(row: Sequence[CellValue]) -> tuple[str, ...]:
    cells = [text(value) for value in row]
    while cells and not cells[-1]:
        cells.pop()
    return tuple(cells)


def bind(spec: SheetSpec, grid: Grid | None) -> Table:
    if grid is None:
        raise SheetError(
            f"La feuille « {spec.name} » est introuvable : créez-la (passerelle setup) "
            "ou corrigez son nom dans la configuration."
        )
    headers = grid[0] if grid else []
    positions = header_positions(spec.name, headers, list(spec.columns.values()))
    for key in spec.required:
        if spec.columns[key] not in positions:
            raise SheetError(
                f"La feuille « {spec.name} » n'a pas de colonne « {spec.columns[key]} » en ligne 1 : "
                "ajoutez-la ou rétablissez son nom."
            )
    by_key = {key: positions[label] for key, label in spec.columns.items() if label in positions}
    rows = []
    seen: Counter[tuple[str, ...]] = Counter()
    for number, values in enumerate(grid[1:], start=2):
        if not any(text(value) for value in values):
            continue
        cells = {key: values[i] if i < len(values) else None for key, i in by_key.items()}
        content = fingerprint(values)
        rows.append(Row(number, cells, content, seen[content]))
        seen[content] += 1
    return Table(spec, tuple(rows), frozenset(by_key))


def column_letter(index: int) -> str:
    """0 → A, 26 → AA: how people name columns."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
