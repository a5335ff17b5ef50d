"""The run's world: every row of the sheets a job reads, parsed once into plain immutable values.

A job never looks at cells: it reads referrals, sessions and follow-up rows from a ``World``, with
the indexes every job needs (people by Référence, sessions by Référence, follow-up rows by person).
Jobs run one after the other and each must see what the previous ones wrote, so a world is built
again from the run's working copy of the sheets before each job; a ``Parsed`` cache, kept for the
whole run, makes that cheap: a row is parsed again only when its content changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TypeVar

from automations.model import FollowUp, Referral, Session, followup, referral, session
from automations.schema import SheetSpec
from automations.tables import Row, Table

T = TypeVar("T")


@dataclass
class Parsed:
    """Rows parsed so far in this run, by sheet, row number and content."""

    rows: dict[tuple, object] = field(default_factory=dict)

    def of(self, table: Table, parse: Callable[[Table, Row], T]) -> tuple[T, ...]:
        found = []
        for row in table:
            key = (table.spec.name, table.present, row.number, row.fingerprint)
            if key not in self.rows:
                self.rows[key] = parse(table, row)
            found.append(self.rows[key])
        return tuple(found)


@dataclass(frozen=True)
class World:
    tables: Mapping[str, Table]
    referrals: tuple[Referral, ...] = ()
    sessions: tuple[Session, ...] = ()
    followups: tuple[FollowUp, ...] = ()
    people: Mapping[str, Referral] = field(default_factory=dict)
    """Referrals without a problem, by Référence (the first row when one is used twice)."""
    by_reference: Mapping[str, Session] = field(default_factory=dict)
    """Sessions by Référence."""
    followups_of: Mapping[str, tuple[FollowUp, ...]] = field(default_factory=dict)
    """"Suivi" rows by the Référence of the person they follow."""

    def spec(self, key: str) -> SheetSpec:
        return self.tables[key].spec

    def table(self, key: str) -> Table | None:
        return self.tables.get(key)

    def taken(self) -> Seats:
        """Seats taken per session: people assigned there who did not answer Non."""
        return Seats(Counter(r.session for r in self.referrals if r.session and r.answer is not False), self)

    def open_sessions(self, earliest: datetime) -> list[Session]:
        """Sessions a person may be invited to: not cancelled, readable, starting after ``earliest``."""
        usable = [
            s
            for s in self.sessions
            if not s.cancelled and not s.problems and s.starts and s.starts >= earliest
        ]
        return sorted(usable, key=lambda s: s.starts)

    def assigned(self, s: Session) -> list[Referral]:
        return list(self._assigned.get(s.reference, ()))

    @cached_property
    def _assigned(self) -> dict[str, list[Referral]]:
        """People by session, built once: asking for every session scanned rows × sessions."""
        found: dict[str, list[Referral]] = {}
        for r in self.people.values():
            found.setdefault(r.session, []).append(r)
        return found

    def session_of(self, r: Referral) -> Session | None:
        return self.by_reference.get(r.session)


class Seats(Counter[str]):
    """Seats taken per session (a ``Counter`` a plan adds to as it places people), and the first
    open session with a free seat.

    Asking ``World.open_sessions`` for every referral sorted every session each time: rows ×
    sessions. Here the open sessions are listed once per ``earliest`` and a cursor walks them;
    counts only grow while a plan runs, so a session found full stays full and the cursor never
    goes back: amortised O(1) per question, and the same answer as scanning from the start.
    """

    def __init__(self, counts: Mapping[str, int] = {}, world: World | None = None) -> None:
        super().__init__(counts)
        self.world = world
        self._open: dict[datetime, tuple[list[Session], int]] = {}

    def first_free(self, earliest: datetime) -> Session | None:
        """The earliest open session starting after ``earliest`` with a seat left, if any."""
        assert self.world is not None, "Seats made by World.taken() know the sessions"
        sessions, cursor = self._open.get(earliest) or (self.world.open_sessions(earliest), 0)
        while cursor < len(sessions) and self[sessions[cursor].reference] >= sessions[cursor].seats:
            cursor += 1
        self._open[earliest] = (sessions, cursor)
        return sessions[cursor] if cursor < len(sessions) else None


def build(tables: Mapping[str, Table], parsed: Parsed | None = None) -> World:
    parsed = parsed or Parsed()
    orientations, reunions, suivi = (tables.get(k) for k in ("orientations", "reunions", "suivi"))
    referrals = parsed.of(orientations, referral) if orientations else ()
    sessions = parsed.of(reunions, session) if reunions else ()
    followups = parsed.of(suivi, followup) if suivi else ()
    people: dict[str, Referral] = {}
    for r in referrals:
        if not r.problems:
            people.setdefault(r.reference, r)
    followups_of: dict[str, list[FollowUp]] = {}
    for f in followups:
        followups_of.setdefault(f.person, []).append(f)
    return World(
        tables=dict(tables),
        referrals=referrals,
        sessions=sessions,
        followups=followups,
        people=people,
        by_reference={s.reference: s for s in sessions},
        followups_of={person: tuple(rows) for person, rows in followups_of.items()},
    )
