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

from automations.model import Referral, Session, referral, session
from automations.schema import SheetSpec
from automations.tables import Row, Table
from automations.tracking import FollowUp, Presence, followup, presence

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
    presences: tuple[Presence, ...] = ()
    followups: tuple[FollowUp, ...] = ()
    people: Mapping[str, Referral] = field(default_factory=dict)
    """Referrals without a problem, each person once, by Référence."""
    duplicates: Mapping[int, str] = field(default_factory=dict)
    """Rows that repeat a person already on an earlier row (same Référence or same address), by row
    number: what their « État » says."""
    by_reference: Mapping[str, Session] = field(default_factory=dict)
    """Sessions by Référence; a Référence two rows share is in none (neither is offered)."""
    shared: Mapping[str, tuple[Session, ...]] = field(default_factory=dict)
    """Sessions whose Référence another row also has, by that Référence."""
    presences_of: Mapping[str, tuple[Presence, ...]] = field(default_factory=dict)
    """« Présences » rows by the Référence of their person, in sheet order."""
    followup_of: Mapping[str, FollowUp] = field(default_factory=dict)
    """Each person's « Suivi » row by their Référence (the first, if staff repeated it)."""

    def spec(self, key: str) -> SheetSpec:
        return self.tables[key].spec

    def table(self, key: str) -> Table | None:
        return self.tables.get(key)

    def taken(self) -> Seats:
        """Seats taken per session: people assigned there who did not answer Non."""
        return Seats(Counter(r.session for r in self.referrals if r.session and r.answer is not False), self)

    def open_sessions(self, earliest: datetime) -> list[Session]:
        """Sessions a person may be invited to: not cancelled, readable, starting after ``earliest``,
        with a Référence of their own."""
        usable = [
            s
            for s in self.by_reference.values()  # a Référence two rows share is offered by neither
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

    def first_free(self, earliest: datetime, excluded: frozenset[str] = frozenset()) -> Session | None:
        """The earliest open session starting after ``earliest`` with a seat left, if any, but for
        the ``excluded`` ones (a person is never offered again a session they declined)."""
        assert self.world is not None, "Seats made by World.taken() know the sessions"
        sessions, cursor = self._open.get(earliest) or (self.world.open_sessions(earliest), 0)
        while cursor < len(sessions) and self[sessions[cursor].reference] >= sessions[cursor].seats:
            cursor += 1
        self._open[earliest] = (sessions, cursor)
        free = (s for s in sessions[cursor:] if s.reference not in excluded and self[s.reference] < s.seats)
        return next(free, None)


def build(tables: Mapping[str, Table], parsed: Parsed | None = None) -> World:
    parsed = parsed or Parsed()

    def parse_all(key: str, parse: Callable[[Table, Row], T]) -> tuple[T, ...]:
        table = tables.get(key)
        return parsed.of(table, parse) if table else ()

    referrals, sessions = parse_all("orientations", referral), parse_all("reunions", session)
    presences, followups = parse_all("presences", presence), parse_all("suivi", followup)
    people, duplicates = _people(referrals)
    presences_of: dict[str, list[Presence]] = {}
    for p in presences:
        presences_of.setdefault(p.person, []).append(p)
    followup_of: dict[str, FollowUp] = {}
    for f in followups:
        followup_of.setdefault(f.reference, f)
    by_reference: dict[str, list[Session]] = {}
    for s in sessions:
        by_reference.setdefault(s.reference, []).append(s)
    return World(
        tables=dict(tables),
        referrals=referrals,
        sessions=sessions,
        presences=presences,
        followups=followups,
        people=people,
        duplicates=duplicates,
        by_reference={reference: rows[0] for reference, rows in by_reference.items() if len(rows) == 1},
        shared={reference: tuple(rows) for reference, rows in by_reference.items() if len(rows) > 1},
        presences_of={person: tuple(found) for person, found in presences_of.items() if person},
        followup_of={person: f for person, f in followup_of.items() if person},
    )


def _people(referrals: tuple[Referral, ...]) -> tuple[dict[str, Referral], dict[int, str]]:
    """Each person once: a later row with the same Référence or address is a duplicate."""
    people: dict[str, Referral] = {}
    first: dict[str, int] = {}
    duplicates: dict[int, str] = {}
    for r in referrals:
        if r.purged:  # erased, still counted
            people.setdefault(r.reference, r)
            continue
        same = "même Référence" if r.reference in first else None
        address = r.email.casefold() if r.email else None
        if same is None and address and address in first:
            same = "même adresse email"
        if same:
            line = first[r.reference] if r.reference in first else first[address]
            duplicates[r.row.number] = f"Doublon de la ligne {line} ({same})"
            continue
        first[r.reference] = r.row.number
        if address:
            first[address] = r.row.number
        if not r.problems:
            people[r.reference] = r
    return people, duplicates
