"""« Historique » (PRODUCT.md §2): the dated journey, one appended row per change Passerelle sees in
a staff column of « Présences » or « Suivi », and per checkpoint answer. Staff overwrite cells
(a CESA date typed over the CAPE date, a stage moved on); this sheet keeps what was there before.

What a row looked like when last seen lives in the journal's memory, committed only after the
flush that carried the appended rows. One window is left: the rows landed and the process died
before the memory was committed. The sheet itself closes it: a change whose « Après » is already
the last one written for that Référence and column is not written again (only remembered), so a
crash, or a lost state folder, never doubles a row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from automations import cells
from automations.plan import Plan
from automations.schema import STAFF_COLUMNS
from automations.tracking import DATED
from automations.values import RowAppend
from automations.world import World

SHEET = "historique"
_SERIAL = re.compile(r"\d+(?:\.\d+)?")


def readable(key: str, value: str) -> str:
    """A cell as Historique shows it: a date column's serial number (how Google hands dates over,
    and how earlier versions remembered them) as 04/01/2027; anything else as typed."""
    if key in DATED and _SERIAL.fullmatch(value):
        day = cells.or_none(cells.parse_date, float(value))
        return f"{day:%d/%m/%Y}" if day else value
    return value


def remembered_staff(value: str | None) -> dict[str, str]:
    """The staff columns of a « Suivi » row as the suivi job remembered them (a JSON list in
    STAFF_COLUMNS order, the format « Mis à jour le » has always used); empty when never seen."""
    texts = json.loads(value) if value else []
    return {key: texts[i] if i < len(texts) else "" for i, key in enumerate(STAFF_COLUMNS)}


class Log:
    """The Historique rows this plan appends, and what the sheet already holds (never written twice):
    a change is there when the last row of its Référence and column already says its « Après »; an
    answer, when a row with its moment and text is there."""

    def __init__(self, world: World, plan: Plan, now: datetime) -> None:
        self.plan, self.now = plan, now
        table = world.table(SHEET)
        self.spec = world.spec(SHEET) if table is not None else None
        self.last: dict[tuple[str, str], str] = {}
        self.rows: set[tuple[str, str, str, str]] = set()
        for row in table or ():
            key = (row.text("reference"), row.text("colonne"))
            self.last[key] = row.text("apres")
            moment = cells.or_none(cells.parse_datetime, row["date"])
            self.rows.add((*key, row.text("apres"), _minute(moment)))

    def add(self, reference: str, column: str, before: str, after: str, at: datetime | None = None) -> None:
        """A change seen now; or, with ``at``, an answer given then (the form's timestamp)."""
        if self.spec is None:
            return
        at = at.replace(second=0, microsecond=0) if at else None  # what the sheet will keep of it
        if at is None and self.last.get((reference, column)) == after:
            return
        if at is not None and (reference, column, after, _minute(at)) in self.rows:
            return
        self.last[(reference, column)] = after
        self.rows.add((reference, column, after, _minute(at or self.now)))
        values = {
            "date": at or self.now,
            "reference": reference,
            "colonne": column,
            "avant": before or None,
            "apres": after or None,
        }
        labelled = {self.spec.label(k): v for k, v in values.items()}
        self.plan.appends.append(RowAppend(self.spec.name, labelled))

    def changes(
        self, reference: str, labels: Iterable[tuple[str, str]], before: dict[str, str], after: dict[str, str]
    ) -> bool:
        """One row per column whose readable value changed; whether any did."""
        changed = False
        for key, label in labels:
            old, new = readable(key, before.get(key, "")), readable(key, after.get(key, ""))
            if old != new:
                changed = True
                self.add(reference, label, old, new)
        return changed


def _minute(moment: datetime | None) -> str:
    """To the nearest minute: what a sheet keeps of a moment (Google hands a serial number back,
    a hair under the minute it was written at)."""
    return f"{moment + timedelta(seconds=30):%Y-%m-%d %H:%M}" if moment else ""
