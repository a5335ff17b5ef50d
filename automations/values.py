"""The plain values every layer shares: cells, grids, row keys, patches, appends, layouts.

They live in the core, not in the sheets package, because jobs plan with them, apply executes them
and every backend moves them: none of those layers should import another's internals to name a cell.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

CellValue = str | int | float | bool | datetime | date | None
"""A cell as read or written. ``str`` values are always literal text: backends never let a sheet
evaluate them as a formula, whoever typed them."""

Grid = list[list[CellValue]]
"""A sheet's used range, row 1 (the headers) first; rows may be shorter than the header."""


@dataclass(frozen=True)
class RowKey:
    """How a patch finds its row at write time, never by position.

    A row is found by its Référence; a row that has none yet (Passerelle is about to give it one),
    or shares its Référence with another row by mistake, is found by its fingerprint: the text of
    its cells when it was read.
    """

    reference: str | None
    fingerprint: tuple[str, ...] = ()
    assigned: str | None = None
    """For a row without a Référence: the one Passerelle is giving it in this run, which finds the
    row once written (its content, and so its fingerprint, then changed)."""
    occurrence: int = 0
    """Among rows with exactly this content and no Référence, which one (0: the first)."""


@dataclass(frozen=True)
class CellPatch:
    sheet: str
    row: RowKey
    column: str
    value: CellValue


@dataclass(frozen=True)
class RowAppend:
    sheet: str
    values: Mapping[str, CellValue]


@dataclass(frozen=True)
class SheetLayout:
    """What Passerelle expects of a sheet: its name, headers (in default order) and which it owns."""

    name: str
    headers: tuple[str, ...]
    reference: str | None = "Référence"
    required: tuple[str, ...] = ()
    owned: tuple[str, ...] = ()
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class ChartSpec:
    """A bar chart of one block of a grid Passerelle rewrites (the summary's funnel).

    Rows and columns are 0-based positions in that grid; the labels and values are the rows
    ``first_row`` to ``last_row`` inclusive of ``label_column`` and ``value_column``.
    """

    title: str
    label_column: int
    value_column: int
    first_row: int
    last_row: int
    anchor_column: int


@dataclass(frozen=True)
class Look:
    """How a sheet Passerelle rewrites whole should read as opened in Google Sheets, LibreOffice or
    Excel, without anyone widening a column: a date in a column too narrow shows `###`, a label
    cut by the next cell hides half of what it says.

    Rows and columns are 0-based positions in the rewritten grid.
    """

    widths: tuple[int, ...] = ()
    """Column widths in characters, column A first."""
    frozen_rows: int = 0
    bold_rows: tuple[int, ...] = ()
    """Titles and headers."""
    percent: tuple[tuple[int, int], ...] = ()
    """Cells holding a rate (a number from 0 to 1), shown as « 29 % »."""


PERCENT_FORMAT = "0%"
"""Understood alike by Excel, LibreOffice and Google Sheets (each spaces it as its locale says)."""


@dataclass
class WriteResult:
    """Patches that found no row (the row was deleted, or its Référence is now ambiguous)."""

    unresolved: list[CellPatch] = field(default_factory=list)


@dataclass(frozen=True)
class Prepared:
    """What ``ensure`` did, so ``passerelle setup`` can say it rather than a blanket « prêt ».

    ``headed``: sheets that existed with an empty row 1 (a tab added by hand) and got their headers.
    """

    created: tuple[str, ...] = ()
    headed: tuple[str, ...] = ()


def blank_row(row: Sequence[CellValue]) -> bool:
    """Whether a row holds nothing a person typed (``None`` or empty text in every cell)."""
    return all(value is None or value == "" for value in row)


def patches_to_json(patches: Sequence[CellPatch]) -> str:
    """Cell patches as text the send journal keeps until they have landed in the sheet."""

    def cell(value: CellValue) -> object:
        if isinstance(value, datetime):
            return {"datetime": value.isoformat()}
        if isinstance(value, date):
            return {"date": value.isoformat()}
        return value

    return json.dumps(
        [
            [
                p.sheet,
                p.row.reference,
                list(p.row.fingerprint),
                p.row.assigned,
                p.column,
                cell(p.value),
                p.row.occurrence,
            ]
            for p in patches
        ],
        ensure_ascii=False,
    )


def patches_from_json(text: str) -> list[CellPatch]:
    def cell(value: object) -> CellValue:
        if isinstance(value, dict):
            if "datetime" in value:
                return datetime.fromisoformat(value["datetime"])
            return date.fromisoformat(value["date"])
        return value  # type: ignore[return-value]

    return [
        CellPatch(sheet, RowKey(reference, tuple(fingerprint), assigned, occurrence), column, cell(value))
        for sheet, reference, fingerprint, assigned, column, value, occurrence in json.loads(text)
    ]
