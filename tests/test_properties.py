"""Properties (hypothesis): the cell parsers never fail with anything but CellProblem and read back
what they would print; the assignment rule never overfills a session, never gives one person two
sessions, respects referral-date order, and never seats anyone in a session that cannot take them."""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automations import cells
from automations.cells import CellProblem
from automations.config import CooperativeConfig
from automations.jobs import invitations
from automations.journal import JournalFacts
from automations.schema import ORIENTATIONS, REUNIONS
from automations.settings import Settings
from automations.tables import bind
from automations.world import build
from tests.conftest import NOW, referral, session

FAST = settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])

# --- cell parsers ------------------------------------------------------------------------------

# What a cell can hold, whatever the backend: text (any Unicode, control characters, emoji,
# right-to-left), numbers of any size, booleans, dates and times, empty.
ANY_CELL = st.one_of(
    st.none(),
    st.text(),
    st.text(alphabet="0123456789/-.:hH ,Tt+Zz²①٣"),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.datetimes(),
    st.dates(),
    st.times(),
)
PARSERS = (
    cells.parse_datetime,
    cells.parse_date,
    cells.parse_time,
    cells.parse_yes_no,
    cells.parse_count,
    cells.parse_email,
    cells.text,
    cells.shown,
)


KNOWN_CRASHES = [
    (cells.parse_time, 0.9999999),  # once rounded to 24:00 → ValueError("hour must be in 0..23")
    (cells.parse_datetime, 10**400),  # once float(int) → OverflowError
    (cells.parse_count, 10**400),
    (cells.parse_count, "²"),  # str.isdigit() but not int()
]


@pytest.mark.parametrize(
    ("parse", "value"), KNOWN_CRASHES, ids=lambda x: getattr(x, "__name__", repr(x)[:12])
)
def test_inputs_that_once_crashed_the_parsers_give_a_value_or_a_cell_problem(parse, value):
    with contextlib.suppress(CellProblem):
        parse(value)


@FAST
@given(st.one_of(ANY_CELL, st.integers(min_value=10**307), st.floats(0.999, 1, exclude_max=True)))
def test_parsers_return_a_value_or_raise_cell_problem_never_anything_else(value):
    for parse in PARSERS:
        try:
            parse(value)
        except CellProblem as problem:
            assert str(problem), f"{parse.__name__}: an empty explanation"


@FAST
@given(st.text())
def test_a_problem_message_stays_short_however_long_the_cell(value):
    for parse in (
        cells.parse_datetime,
        cells.parse_time,
        cells.parse_yes_no,
        cells.parse_count,
        cells.parse_email,
    ):
        try:
            parse(value * 50)
        except CellProblem as problem:
            assert len(str(problem)) < 300


MINUTES = st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(9999, 12, 31)).map(
    lambda moment: moment.replace(second=0, microsecond=0)
)


@FAST
@given(MINUTES)
def test_a_date_time_written_the_french_way_reads_back_the_same(moment):
    assert cells.parse_datetime(f"{moment:%d/%m/%Y %H:%M}") == moment
    assert cells.parse_datetime(moment.isoformat(timespec="minutes")) == moment
    assert cells.parse_date(f"{moment:%d/%m/%Y}") == moment.date()
    assert cells.parse_datetime(cells.text(moment)) == moment, "what text() shows is read back"


@FAST
@given(MINUTES)
def test_a_serial_number_from_sheets_reads_back_within_a_millisecond(moment):
    serial = (moment - cells.SHEETS_EPOCH) / timedelta(days=1)
    assert abs(cells.parse_datetime(serial) - moment) < timedelta(milliseconds=1)


@FAST
@given(st.integers(0, 23), st.integers(0, 59))
def test_a_time_reads_back_in_every_usual_spelling(hour, minute):
    expected = time(hour, minute)
    for spelling in (f"{hour:02d}:{minute:02d}", f"{hour}h{minute:02d}", f"{hour} h {minute:02d}"):
        assert cells.parse_time(spelling) == expected, spelling
    assert cells.parse_time((hour * 60 + minute) / 1440) == expected, "a fraction of a day (Sheets)"


@FAST
@given(st.floats(min_value=0, max_value=1, exclude_max=True))
def test_a_fraction_of_a_day_is_the_nearest_minute_never_past_midnight(fraction):
    parsed = cells.parse_time(fraction)
    nearest = min(round(fraction * 24 * 60), 24 * 60 - 1)
    assert parsed.hour * 60 + parsed.minute == nearest


@FAST
@given(
    st.sampled_from(["oui", "non", "o", "n", "x", "yes", "no", "vrai", "faux", "1", "0"]),
    st.sampled_from([str.upper, str.lower, str.title]),
    st.sampled_from(["", " ", "  ", "."]),
)
def test_yes_and_no_read_in_any_case_with_stray_spaces_or_a_full_stop(word, case, around):
    expected = word in ("oui", "o", "x", "yes", "vrai", "1")
    assert cells.parse_yes_no(f"{around.strip('.')}{case(word)}{around}") is expected


@FAST
@given(st.integers(0, 10**6), st.sampled_from(["{}", " {} ", "{}.0"]))
def test_a_count_reads_back(number, spelling):
    assert cells.parse_count(number) == number
    assert cells.parse_count(float(number)) == number
    if spelling != "{}.0":
        assert cells.parse_count(spelling.format(number)) == number


@FAST
@given(st.integers(max_value=-1))
def test_a_negative_count_is_a_problem(number):
    try:
        cells.parse_count(number)
    except CellProblem as problem:
        assert "négatif" in str(problem)
    else:
        raise AssertionError(f"{number} accepted as a number of seats")


@FAST
@given(st.emails())
def test_an_address_once_accepted_is_accepted_again_unchanged(address):
    try:
        normalized = cells.parse_email(address)
    except CellProblem:
        return
    assert cells.parse_email(normalized) == normalized
    assert cells.parse_email(f"  {normalized}\t") == normalized


# --- the assignment rule -----------------------------------------------------------------------

SETTINGS = Settings(
    CooperativeConfig("L'Ouvre-Boîtes", "accueil@ouvre-boites.example"), "ouvre-boites.example"
)
MIN_NOTICE = timedelta(days=SETTINGS.invitations.min_notice_days)


@dataclass(frozen=True)
class SessionRow:
    reference: str
    days_ahead: int
    hour: int
    seats: object
    cancelled: bool

    def row(self) -> dict[str, object]:
        return session(
            self.reference,
            self.days_ahead,
            self.seats,
            **{"Heure de début": f"{self.hour}:00", "Annulée": "Oui" if self.cancelled else "Non"},
        )

    @property
    def starts(self) -> datetime:
        return datetime.combine((NOW + timedelta(days=self.days_ahead)).date(), time(self.hour))

    @property
    def open(self) -> bool:
        """Takes people: not cancelled, a valid number of seats, far enough ahead."""
        return (
            not self.cancelled
            and isinstance(self.seats, int)
            and self.seats >= 0
            and self.starts >= NOW + MIN_NOTICE
        )


@dataclass(frozen=True)
class ReferralRow:
    person: int
    """Several rows may share a person (the same address twice)."""
    referred: int | None
    """Days after 1 September; None: no date."""
    valid: bool
    session: str
    answer: str | None

    @property
    def address(self) -> str:
        return f"personne{self.person:02d}@exemple.fr"

    def row(self, n: int) -> dict[str, object]:
        values: dict[str, object] = {
            "Email": self.address if self.valid else f"personne{self.person:02d}@",
            "Nom": f"Nom{n:02d}",
            "Date d'orientation": date(2026, 9, 1) + timedelta(days=self.referred)
            if self.referred is not None
            else None,
            "Référence": f"OR-{n:03d}",
        }
        if self.session:
            values.update({"Session": self.session, "Réponse": self.answer})
        return referral(n, **values)


session_rows = st.lists(
    st.builds(
        SessionRow,
        reference=st.just(""),
        days_ahead=st.integers(-3, 20),
        hour=st.sampled_from([8, 9, 14, 18]),
        seats=st.one_of(st.integers(0, 6), st.sampled_from(["treize", -1])),
        cancelled=st.sampled_from([False, False, False, True]),
    ),
    min_size=1,
    max_size=5,
).map(lambda rows: [replace(r, reference=f"S{i}") for i, r in enumerate(rows)])


@st.composite
def referral_rows(draw, sessions: list[SessionRow]) -> list[ReferralRow]:
    references = [s.reference for s in sessions]
    return draw(
        st.lists(
            st.builds(
                ReferralRow,
                person=st.integers(0, 30),
                referred=st.none() | st.integers(0, 60),
                valid=st.sampled_from([True, True, True, True, False]),
                session=st.just("") | st.sampled_from(references),
                answer=st.sampled_from([None, "Oui", "Non"]),
            ),
            max_size=30,
        )
    )


@st.composite
def situations(draw) -> tuple[list[SessionRow], list[ReferralRow]]:
    sessions = draw(session_rows)
    return sessions, draw(referral_rows(sessions))


def grid(headers: list[str], rows: list[dict[str, object]]) -> list[list[object]]:
    return [headers, *([row.get(h) for h in headers] for row in rows)]


def plan(sessions: list[SessionRow], referrals: list[ReferralRow]):
    tables = {
        "orientations": bind(
            ORIENTATIONS,
            grid(list(ORIENTATIONS.columns.values()), [r.row(n) for n, r in enumerate(referrals)]),
        ),
        "reunions": bind(REUNIONS, grid(list(session("x", 0, 0)), [s.row() for s in sessions])),
    }
    return invitations.plan(build(tables), JournalFacts(()), NOW, SETTINGS)


def declined(r: ReferralRow, sessions: list[SessionRow]) -> bool:
    """Answered Non for a session that was not cancelled: the seat is freed, another date follows."""
    cancelled = {s.reference for s in sessions if s.cancelled}
    return bool(r.session) and r.answer == "Non" and r.session not in cancelled


def candidates(referrals: list[ReferralRow], sessions: list[SessionRow]) -> list[tuple[int, ReferralRow]]:
    """Rows the rule must place, in the order it must place them: valid, first row of their
    address, without a session or having declined theirs; by referral date (no date last), then row."""
    seen: set[str] = set()
    waiting = []
    for n, r in enumerate(referrals):
        if not r.valid:
            continue
        if r.address in seen:
            continue
        seen.add(r.address)
        if not r.session or declined(r, sessions):
            waiting.append((n, r))
    return sorted(
        waiting, key=lambda item: (item[1].referred if item[1].referred is not None else 10**9, item[0])
    )


@FAST
@given(situations())
def test_the_assignment_rule(situation):
    sessions, referrals = situation
    p = plan(sessions, referrals)
    by_reference = {s.reference: s for s in sessions}
    invited = [e for e in p.emails if e.kind == "invitation"]
    waiting = [e for e in p.emails if e.kind == "liste_attente"]
    seat = {e.to_address: e.session for e in invited}

    # never two sessions for one person: one invitation at most, none for who already has a session
    assert len(seat) == len(invited), "one person invited twice"
    assert not {e.to_address for e in waiting} & set(seat), "invited and on the waiting list"
    order = candidates(referrals, sessions)
    assert set(seat) <= {r.address for _, r in order}, "someone seated, invalid or a duplicate got a seat"
    excluded = {r.address: {r.session} for _, r in order if declined(r, sessions)}
    assert all(seat[address] not in refused for address, refused in excluded.items() if address in seat)

    # cancelled, too close, past or unreadable sessions get nobody
    assert all(by_reference[e.session].open for e in invited)

    # never over capacity: seats taken are those assigned who did not answer Non
    taken = Counter(r.session for r in referrals if r.session and r.answer != "Non")
    new = Counter(e.session for e in invited)
    for reference, count in new.items():
        assert taken[reference] + count <= by_reference[reference].seats, f"{reference} overfilled"

    def full(s: SessionRow) -> bool:
        return taken[s.reference] + new[s.reference] >= s.seats

    # every candidate is either seated or told to wait, and waits only when every open session is full
    outcome = {r.address: seat.get(r.address) for _, r in order}
    assert set(outcome) == set(seat) | {e.to_address for e in waiting}
    for e in waiting:
        refused = excluded.get(e.to_address, set())
        assert all(full(s) for s in sessions if s.open and s.reference not in refused), e.to_address

    # the earliest session with a seat: every open session before one's own is full
    for address, reference in seat.items():
        mine, refused = by_reference[reference], excluded.get(address, set())
        assert all(
            full(s) for s in sessions if s.open and s.starts < mine.starts and s.reference not in refused
        ), address

    # referral-date order: if B got a seat in S, everyone before B got a seat in S or earlier
    for later_index, (_, later) in enumerate(order):
        if later.address not in seat:
            continue
        for _, earlier in order[:later_index]:
            if earlier.address in excluded:
                continue  # the only seats left may be at the session they declined
            assert earlier.address in seat, f"{earlier.address} waits while {later.address} is seated"
            assert by_reference[seat[earlier.address]].starts <= by_reference[seat[later.address]].starts


@FAST
@given(situations())
def test_planning_is_deterministic(situation):
    assert plan(*situation) == plan(*situation)


def test_the_generators_reach_the_interesting_cases():
    """A guard against vacuous properties: generated situations do invite, wait and overflow."""
    seen: Counter[str] = Counter()

    @settings(deadline=None, max_examples=60, database=None)
    @given(situations())
    def sample(situation):
        sessions, referrals = situation
        p = plan(sessions, referrals)
        kinds = {e.kind for e in p.emails}
        seen.update(kinds)
        if any(not s.open for s in sessions):
            seen["closed session"] += 1
        if any(r.session for r in referrals):
            seen["already seated"] += 1

    sample()
    assert seen["invitation"] and seen["liste_attente"] and seen["closed session"] and seen["already seated"]
