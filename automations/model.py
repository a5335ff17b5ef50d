"""Referrals and sessions as plain values, parsed from bound table rows.

Parsing never raises for one row: a row that cannot be used carries its problems (French
sentences naming the column), so the job reports it in "État" and carries on with the others.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time

from automations import cells
from automations.cells import CellProblem
from automations.headers import same_header
from automations.schema import ACTIONS
from automations.tables import Row, Table
from automations.values import RowKey


@dataclass(frozen=True)
class Referral:
    row: Row
    reference: str
    """The Référence in the sheet, or the one Passerelle derives for a row that has none yet."""
    first_name: str
    last_name: str
    email: str | None
    advisor: str
    advisor_email: str | None
    referred_on: date | None
    consent: bool
    activ_crea: bool | None
    session: str
    answer: bool | None
    """Oui (True), Non or « Plus intéressé·e » (False), or no answer yet."""
    invited_on: datetime | None
    status: str
    problems: tuple[str, ...] = ()
    purged: bool = False
    withdrawn: bool = False
    """Answered « Plus intéressé·e »: the referral closes."""
    action: str | None = None
    """What the advisor asks in « Action » (Réinviter, Renvoyer, Clôturer)."""
    notes: tuple[str, ...] = ()
    """What is wrong in « Action »: reported, and the person's journey goes on meanwhile."""

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def has_reference(self) -> bool:
        return bool(self.row.text("reference"))

    @property
    def key(self) -> RowKey:
        """How every write to this row finds it, before and after its Référence is written."""
        return self.row.key(assigned=self.reference)


@dataclass(frozen=True)
class Session:
    row: Row
    reference: str
    starts: datetime | None
    ends: datetime | None
    place: str
    address: str
    seats: int
    host: str
    contact: str | None
    cancelled: bool
    problems: tuple[str, ...] = field(default=())
    """What keeps the session from being offered (its date, start, seats or « Annulée » unreadable)."""
    notes: tuple[str, ...] = field(default=())
    """What is wrong in an optional column: reported, and the session is still offered."""


class Collector:
    """Parses cells of one row, remembering each problem with the column it came from."""

    def __init__(self, table: Table, row: Row) -> None:
        self.table, self.row = table, row
        self.problems: list[str] = []
        self.failed: set[str] = set()

    def get(self, key: str, parse: Callable, default=None):
        if key not in self.table.present:
            return default
        try:
            value = parse(self.row[key])
        except CellProblem as problem:
            self.problems.append(f"{self.table.spec.label(key)} : {problem}")
            self.failed.add(key)
            return default
        return default if value is None else value


def derived_reference(prefix: str, *parts: str) -> str:
    """A Référence computed from what identifies a row, so a run that crashed before writing it
    derives the same one next time and the send journal still recognises the person.

    80 bits, as 16 base32 characters in groups of four (``OR-K3ZQ-7XMA-2BHD-WQ4N``: no 0/1/8/9 to
    mistake for O/I/B/g, read aloud in four breaths). The 32 bits used before collided at scale
    (among 100,000 people, a pair shares a 32-bit value with probability ~69 %): the second person
    was reported as a duplicate and never invited. At 80 bits the odds for a million rows are
    ~4·10⁻¹³. Shorter Références already typed in sheets are kept as they are."""
    digest = hashlib.sha256("\x1f".join(p.casefold().strip() for p in parts).encode()).digest()
    letters = base64.b32encode(digest[:10]).decode()
    return f"{prefix}-" + "-".join(letters[i : i + 4] for i in range(0, 16, 4))


PURGED = "Données personnelles effacées"
"""Start of "État" on a row whose personal data `passerelle purge` erased: still counted, never contacted."""


def referral(table: Table, row: Row) -> Referral:
    if row.text("etat").startswith(PURGED):
        return _purged(row)
    c, optional = Collector(table, row), Collector(table, row)
    for key in ("nom", "prenom"):
        if not row.text(key):
            c.problems.append(f"{table.spec.label(key)} : la case est vide")
    email = c.get("email", cells.parse_email)
    referred_on = c.get("date_orientation", cells.parse_date)
    reference = row.text("reference") or derived_reference(
        "OR", row.text("email"), row.text("nom"), row.text("prenom"), row.text("date_orientation")
    )
    return Referral(
        row=row,
        reference=reference,
        first_name=row.text("prenom"),
        last_name=row.text("nom"),
        email=email,
        advisor=row.text("conseiller"),
        advisor_email=c.get("email_conseiller", _optional_email),
        referred_on=referred_on,
        consent=bool(c.get("accord", cells.parse_yes_no, False)),
        activ_crea=c.get("activ_crea", cells.parse_yes_no),
        session=row.text("session"),
        answer=c.get("reponse", parse_answer),
        invited_on=c.get("invitation", cells.parse_datetime),
        status=row.text("etat"),
        problems=tuple(c.problems),
        withdrawn=withdrawn(row["reponse"]),
        action=optional.get("action", lambda v: parse_choice(v, ACTIONS)),
        notes=tuple(optional.problems),
    )


def _purged(row: Row) -> Referral:
    return Referral(
        row=row,
        reference=row.text("reference"),
        first_name="",
        last_name="",
        email=None,
        advisor=row.text("conseiller"),
        advisor_email=None,
        referred_on=cells.or_none(cells.parse_date, row["date_orientation"]),
        consent=bool(cells.or_none(cells.parse_yes_no, row["accord"])),
        activ_crea=cells.or_none(cells.parse_yes_no, row["activ_crea"]),
        session=row.text("session"),
        answer=cells.or_none(parse_answer, row["reponse"]),
        invited_on=cells.or_none(cells.parse_datetime, row["invitation"]),
        status=row.text("etat"),
        purged=True,
    )


def session(table: Table, row: Row) -> Session:
    c, optional = Collector(table, row), Collector(table, row)
    day = c.get("date", cells.parse_date)
    start = c.get("debut", cells.parse_time)
    end = optional.get("fin", cells.parse_time)
    seats = c.get("places", cells.parse_count)
    for key, value, missing in (
        ("date", day, "la date est vide"),
        ("places", seats, "le nombre de places est vide"),
    ):
        if value is None and key not in c.failed:
            c.problems.append(f"{table.spec.label(key)} : {missing}")
    starts = datetime.combine(day, start or time(0)) if day else None
    reference = row.text("reference") or (
        f"R-{starts:%Y%m%d-%H%M}" if starts else derived_reference("R", *row.fingerprint)
    )
    return Session(
        row=row,
        reference=reference,
        starts=starts,
        ends=datetime.combine(day, end) if day and end else None,
        place=row.text("lieu"),
        address=row.text("adresse"),
        seats=seats or 0,
        host=row.text("animateur"),
        contact=optional.get("email_contact", _optional_email),
        cancelled=bool(c.get("annulee", cells.parse_yes_no, False)),
        problems=tuple(c.problems),
        notes=tuple(optional.problems),
    )


def parse_choice(value: cells.CellValue, choices: tuple[str, ...]) -> str | None:
    """ "cape", "Cape signé " or "CAPE SIGNE" → "CAPE signé"; anything unknown is reported, not guessed."""
    typed = cells.text(value)
    if not typed:
        return None
    for choice in choices:
        first_word = choice.split()[0]
        if same_header(typed, choice) or same_header(typed, first_word):
            return choice
    raise CellProblem(f"{cells.shown(value)} n'est pas dans la liste ({', '.join(choices)})")


def withdrawn(value: cells.CellValue) -> bool:
    """« Plus intéressé·e », « Je ne suis plus intéressée »…: the person leaves the loop."""
    return "plus interess" in cells.folded(cells.text(value))


def parse_answer(value: cells.CellValue) -> bool | None:
    """Oui; Non (« Non, pas à cette date »); « Plus intéressé·e », also a no. The first word of a
    form's answer decides (« Oui, je viendrai »)."""
    if isinstance(value, bool) or withdrawn(value):
        return value if isinstance(value, bool) else False
    first = cells.text(value).split(",")[0].split()[:1]
    return cells.parse_yes_no(first[0] if first else "")


def _optional_email(value: cells.CellValue) -> str | None:
    return cells.parse_email(value) if cells.text(value) else None
