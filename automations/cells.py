"""Reading what people type into cells: dates, times, Oui/Non, numbers, email addresses.

Every parser returns a value or raises ``CellProblem`` whose message is a French sentence fit for
the "État" column or a check report. No I/O: addresses are checked for syntax only, never by DNS.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TypeVar
from zoneinfo import ZoneInfo

from babel import Locale
from email_validator import EmailNotValidError, validate_email

from automations.values import CellValue

PARIS = ZoneInfo("Europe/Paris")
SHEETS_EPOCH = datetime(1899, 12, 30)
"""Day zero of Google Sheets and Excel serial dates (1900 leap-year bug included)."""

_YES = {"oui", "o", "x", "yes", "y", "true", "vrai", "1"}
_NO = {"non", "n", "no", "false", "faux", "0"}
_DATE_FORMATS = ("%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d")
_TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%Hh%M", "%Hh", "%H h %M", "%H h")
_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"[0-9]+")


def folded(words: str) -> str:
    """Lower case without accents or inclusive marks: « Intéressé·e » → « interessee »."""
    return _ascii(words.casefold()).replace("·", "")


def loose(words: str) -> str:
    """« Karim  BENHAMOU » is « karim benhamou »: names typed by hand, matched loosely."""
    return " ".join(folded(words).split())


def _ascii(word: str) -> str:
    """décembre → decembre: month names typed without accents."""
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode()


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MONTHS = {
    spelling: number
    for number, name in Locale("fr", "FR").months["format"]["wide"].items()
    for spelling in (name.casefold(), _ascii(name.casefold()))
}
_LONG_DATE = re.compile(r"(?:[a-zé]+\s+)?(\d{1,2})(?:er)?\s+([a-zéû]+)\s+(\d{4})(?:\s+(?:à\s+)?(.+))?$")


T = TypeVar("T")


class CellProblem(ValueError):
    """A cell that cannot be understood; the message says so in French."""


def text(value: CellValue) -> str:
    """A cell as one line of text: what people typed, without stray spaces or line breaks."""
    if value is None:
        return ""
    if type(value) is str and value.isprintable() and "  " not in value:
        # Most cells: no control character and no whitespace but single spaces (every other
        # whitespace character is not printable), so only the ends can change. Two million calls
        # a first run at 10,000 rows: the regular expressions below were 5 % of it.
        return value.strip()
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M") if value.time() != time() else value.strftime("%d/%m/%Y")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return _SPACES.sub(" ", _CONTROL.sub("", str(value))).strip()


def shown(value: CellValue, limit: int = 60) -> str:
    """A cell quoted for a message, shortened so a 5,000-character cell stays readable."""
    raw = text(value)
    return f"« {raw[:limit]}… »" if len(raw) > limit else f"« {raw} »"


def or_none(parse: Callable[[CellValue], T], value: CellValue) -> T | None:
    """What still parses, else None: for erased rows and activity dates, never reported."""
    try:
        return parse(value)
    except CellProblem:
        return None


def parse_yes_no(value: CellValue) -> bool | None:
    """Oui/Non in their usual spellings; ``None`` when the cell is empty."""
    if isinstance(value, bool):
        return value
    raw = text(value).casefold().rstrip(".")
    if not raw:
        return None
    if raw in _YES:
        return True
    if raw in _NO:
        return False
    raise CellProblem(f"{shown(value)} n'est ni Oui ni Non")


def _from_serial(serial: float) -> datetime:
    if not 0 < serial < 2_958_466:  # 31/12/9999
        raise CellProblem(f"« {serial} » n'est pas une date")
    return SHEETS_EPOCH + timedelta(days=serial)


def parse_datetime(value: CellValue) -> datetime | None:
    """A date, with its time when the cell has one; ``None`` when empty.

    Accepts what openpyxl and Google return (datetime objects, serial numbers) and what people
    type in France: "10/12/2020", "10/12/2020 14:00", "2020-12-10T14:00", "10.12.2020".
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return _paris(value)
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return _from_serial(float(value))
        except OverflowError:
            raise CellProblem(f"{shown(value)} n'est pas une date") from None
    raw = text(value)
    if not raw:
        return None
    try:
        return _paris(datetime.fromisoformat(raw))
    except ValueError:
        pass
    long_form = _LONG_DATE.match(raw.casefold())
    if long_form and long_form.group(2) in _MONTHS:
        number, month, year, clock = long_form.groups()
        try:
            parsed = datetime(int(year), _MONTHS[month.strip()], int(number))
        except ValueError:
            raise CellProblem(f"{shown(value)} n'est pas une date qui existe") from None
        return datetime.combine(parsed.date(), parse_time(clock)) if clock else parsed
    day, _, clock = raw.partition(" ")
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(day, fmt)
        except ValueError:
            continue
        return datetime.combine(parsed.date(), parse_time(clock)) if clock else parsed
    raise CellProblem(f"{shown(value)} n'est pas une date (écrivez-la jj/mm/aaaa)")


def _paris(moment: datetime) -> datetime:
    """Wall-clock time in Europe/Paris, like everything Passerelle compares: "14:00+00:00" is 15:00."""
    return moment.astimezone(PARIS).replace(tzinfo=None) if moment.tzinfo else moment


def parse_date(value: CellValue) -> date | None:
    parsed = parse_datetime(value)
    return parsed.date() if parsed else None


def parse_time(value: CellValue) -> time | None:
    """A time of day: "14:00", "14h", "14 h 30", a datetime, or a fraction of a day (Sheets)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.time()
    if isinstance(value, time):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1:
        minutes = min(round(float(value) * 24 * 60), 24 * 60 - 1)  # 23:59:59.9 is not midnight
        return time(minutes // 60, minutes % 60)
    raw = text(value).lower()
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(raw, fmt).time()
        except ValueError:
            continue
    raise CellProblem(f"{shown(value)} n'est pas une heure (écrivez-la 14:00 ou 14h)")


def parse_count(value: CellValue) -> int | None:
    """A whole number of seats: "13", 13, 13.0; ``None`` when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _DIGITS.fullmatch(text(value)):
        number = int(text(value))
    else:
        raise CellProblem(f"{shown(value)} n'est pas un nombre entier")
    if number < 0:
        raise CellProblem(f"{shown(value)} est négatif")
    return number


def parse_email(value: CellValue) -> str:
    """A deliverable-looking address, normalised; syntax only, no DNS lookup."""
    raw = value.strip() if isinstance(value, str) else text(value)
    if not raw:
        raise CellProblem("Adresse email manquante")
    normalized, problem = _validated(raw)
    if problem:
        raise CellProblem(problem)
    return normalized


@lru_cache(maxsize=65536)
def _validated(raw: str) -> tuple[str, str]:
    """Cached: every job of a run reads the same addresses, and validation is the costly part."""
    try:
        return validate_email(raw, check_deliverability=False).normalized, ""
    except EmailNotValidError as error:
        return "", f"Adresse email invalide : {shown(raw)} ({_explain(error)})"


_EXPLANATIONS = (
    ("must have an @-sign", "il manque le @"),
    ("something after the @-sign", "il manque la partie après le @"),
    ("SPACE", "elle contient un espace"),
    ("should have a period", "le nom de domaine après le @ est incomplet"),
    ("period", "un point est mal placé"),
    ("angle brackets", "n'écrivez que l'adresse, sans nom ni chevrons"),
    ("invalid characters", "elle contient un caractère interdit"),
)


def _explain(error: EmailNotValidError) -> str:
    """email-validator speaks English; advisors read French."""
    message = str(error)
    for clue, french in _EXPLANATIONS:
        if clue in message:
            return french
    return "vérifiez l'orthographe"
