"""What a job decided to do, as plain data: emails to send, cells to write, sheets to rewrite.

A job never performs I/O; it returns a ``Plan`` and ``apply`` executes it (against the real edges,
or against in-memory stand-ins for a dry run). Every effect carries its own bookkeeping: the cells
that record a sending ("Invitation envoyée le") and the memory that acknowledges it travel with
their email; ``Plan.memory`` acknowledges the plan's cell writes and is committed only once they
have landed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from automations.values import CellPatch, ChartSpec, Grid, Look, RowAppend, RowKey

Memo = tuple[str, str, str]
"""(namespace, key, value) in the journal's memory: what Passerelle saw or said last."""


@dataclass(frozen=True)
class CalendarEvent:
    """The session as the seeker's calendar should show it (.ics attachment)."""

    uid: str
    starts: datetime
    ends: datetime
    summary: str
    location: str
    description: str
    organizer: str | None
    sequence: int = 0
    """Strictly increasing over every email about this UID (invitation, reminder, change,
    cancellation): calendars ignore an update whose SEQUENCE is not above the last one seen."""
    cancelled: bool = False
    organizer_name: str = ""
    attendee: str | None = None
    """The recipient's address; compose fills it (and attendee_name) from the email's recipient."""
    attendee_name: str = ""


@dataclass(frozen=True)
class EmailOrder:
    kind: str
    """Template name, e.g. "invitation"."""
    person: str
    session: str
    to_name: str
    to_address: str
    reply_to: str | None
    context: Mapping[str, Any]
    sheet: str
    row: RowKey | None
    status_column: str | None
    """Where a failure is written ("État"); None for emails to staff and advisors."""
    on_sent: tuple[CellPatch, ...] = ()
    event: CalendarEvent | None = None
    remember: tuple[Memo, ...] = ()
    """Memory committed with this email's "sent" record, never without it (what it told)."""

    @property
    def key(self) -> str:
        """Idempotency key: one email of a kind per person and session, ever."""
        return f"{self.kind}|{self.person}|{self.session}"


def unconfirmed(at: datetime) -> str:
    """ "État" of a person whose email may or may not have left (a run stopped mid-send)."""
    return (
        f"À vérifier : l'envoi du {at:%d/%m/%Y à %H:%M} a été interrompu ; "
        "vérifiez auprès de la personne si l'email est arrivé"
    )


@dataclass(frozen=True)
class Problem:
    sheet: str
    row: int | None
    message: str

    def __str__(self) -> str:
        return f"{self._place()} : {self.message}"

    def where(self) -> str:
        """Sheet, row and column, without the cell's content (which may be personal data)."""
        column, separator, _ = self.message.partition(" : ")
        return f"{self._place()} : {column if separator else 'voir « État »'}"

    def _place(self) -> str:
        return f"« {self.sheet} », ligne {self.row}" if self.row else f"« {self.sheet} »"


@dataclass(frozen=True)
class Rewrite:
    """A sheet rewritten whole somewhere else than the run's sheets: an advisor's view of « Synthèse ».

    It carries its own memory, like an email: what it acknowledges is committed only once this
    destination was written, so a view that could not be written is written again by the next run
    while the others, and the run's own sheets, are not held back by it."""

    destination: str
    """The advisor's email, as [advisor_views] names it (case-folded): the runner knows where it is."""
    sheet: str
    grid: Grid
    chart: ChartSpec | None
    look: Look | None
    remember: tuple[Memo, ...] = ()


@dataclass
class Plan:
    job: str
    emails: list[EmailOrder] = field(default_factory=list)
    patches: list[CellPatch] = field(default_factory=list)
    appends: list[RowAppend] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    memory: list[Memo] = field(default_factory=list)
    """What this plan's cell writes acknowledge: committed once they have landed in the sheets."""
    observed: list[Memo] = field(default_factory=list)
    """What the sheets said that this plan's own writes erase (a Non, before its row is re-queued):
    committed before any write, because afterwards only the journal remembers it."""
    retry: list[str] = field(default_factory=list)
    """Keys of emails left « À vérifier » that an advisor asked to send again (« Renvoyer »)."""
    replaced: list[tuple[str, Grid, ChartSpec | None, Look | None]] = field(default_factory=list)
    """Sheets Passerelle owns, rewritten whole (sheet name, grid, chart, how it reads as opened)."""
    elsewhere: list[Rewrite] = field(default_factory=list)
    """Sheets rewritten whole in another spreadsheet or workbook (per-advisor views)."""
