"""The cooperative's working rows, as plain values: « Présences » (one invited person at one
session, and whether they came) and « Suivi » (one person who came, and their journey since).

Like referrals, a row that cannot be fully read carries its problems (French sentences naming the
column) and is still used for what could be read: a typo in « Motif de sortie » must not hide the
« Date CAPE » typed beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from automations import cells
from automations.model import Collector, parse_choice
from automations.schema import EXIT_REASONS, PRESENCE, STAFF_COLUMNS, STAGES, TURNOVER
from automations.tables import Row, Table

SEPARATOR = " / "
DATED = ("date_cape", "fin_cape", "date_cesa", "activite", "facture", "date_sortie")


def presence_reference(person: str, session_reference: str) -> str:
    """A « Présences » row is one person at one session: both Références, readable by staff."""
    return f"{person}{SEPARATOR}{session_reference}"


class StaffRow:
    """A row of « Présences » or « Suivi », named as staff typed it (a row they added has no
    Référence yet, so its name is what the cooperative's emails call it)."""

    row: Row

    @property
    def full_name(self) -> str:
        return f"{self.row.text('prenom')} {self.row.text('nom')}".strip()


@dataclass(frozen=True)
class Presence(StaffRow):
    row: Row
    reference: str
    """Empty on a row staff added by hand: Passerelle matches it to a person, or reports it."""
    person: str
    session: str
    presence: str | None
    problems: tuple[str, ...] = ()


def presence(table: Table, row: Row) -> Presence:
    c = Collector(table, row)
    reference = row.text("reference")
    person, _, session_reference = reference.partition(SEPARATOR)
    return Presence(
        row=row,
        reference=reference,
        person=person,
        session=session_reference or row.text("session"),
        presence=c.get("presence", lambda v: parse_choice(v, PRESENCE)),
        problems=tuple(c.problems),
    )


@dataclass(frozen=True)
class FollowUp(StaffRow):
    """A row of « Suivi »: what the cooperative's staff keep of one person's journey."""

    row: Row
    reference: str
    """The person's Référence (as in « Orientations »); empty on a row staff added by hand."""
    first_session: str
    stage: str | None
    cape_on: date | None
    cesa_on: date | None
    activity_on: date | None
    invoice_on: date | None
    exit_on: date | None
    exit_reason: str | None
    adviser: str
    staff: tuple[str, ...]
    """The staff columns as text, to notice when someone changed them."""
    problems: tuple[str, ...] = ()


def followup(table: Table, row: Row) -> FollowUp:
    c = Collector(table, row)
    dates = {key: c.get(key, cells.parse_date) for key in DATED}
    c.get("chiffre", lambda v: parse_choice(v, TURNOVER))  # read only to report a typo
    # A row written by an earlier version (one per person and session) still names its person.
    reference = row.text("reference").partition(SEPARATOR)[0]
    return FollowUp(
        row=row,
        reference=reference,
        first_session=row.text("session"),
        stage=c.get("etape", lambda v: parse_choice(v, STAGES)),
        cape_on=dates["date_cape"],
        cesa_on=dates["date_cesa"],
        activity_on=dates["activite"],
        invoice_on=dates["facture"],
        exit_on=dates["date_sortie"],
        exit_reason=c.get("motif_sortie", lambda v: parse_choice(v, EXIT_REASONS)),
        adviser=row.text("accompagnateur"),
        staff=tuple(row.text(key) for key in STAFF_COLUMNS),
        problems=tuple(c.problems),
    )
