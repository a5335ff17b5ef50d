"""Dates, times and names the way people in France write and sort them, through babel.

``hour`` and ``day`` are memoised: a plan writes the same few session dates into thousands of
emails, and babel takes ~20 µs a call.
"""

from __future__ import annotations

import functools
import unicodedata
from datetime import date, datetime

from babel.dates import format_date, format_time

LOCALE = "fr_FR"

# Letters that Unicode does not decompose into a base letter plus an accent.
_UNFOLDED = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "ı": "i", "ł": "l", "đ": "d", "ð": "d", "þ": "th"})


@functools.lru_cache(maxsize=4096)
def hour(moment: datetime) -> str:
    """14 h, 14 h 30: the typographic French form."""
    return format_time(moment, "H 'h'" if moment.minute == 0 else "H 'h' mm", locale=LOCALE)


@functools.lru_cache(maxsize=4096)
def day(moment: date, year: bool = True) -> str:
    """jeudi 1er juillet 2027, jeudi 8 juillet: French writes the first of the month as an ordinal,
    which CLDR's "d" pattern cannot express, so the day number is written here."""
    weekday = format_date(moment, "EEEE", locale=LOCALE)
    month = format_date(moment, "MMMM y" if year else "MMMM", locale=LOCALE)
    number = "1er" if moment.day == 1 else str(moment.day)
    return f"{weekday} {number} {month}"


def day_at(moment: datetime, year: bool = True) -> str:
    """jeudi 1er juillet 2027 à 14 h."""
    return f"{day(moment, year)} à {hour(moment)}"


def sort_key(text: str) -> tuple[str, str, str]:
    """Alphabetical order as a French reader expects it: Péron before Prigent, Le Floc'h with the
    L's, Çağla with the C's; Python's default puts every accented letter after z.

    Accents and case are ignored first (Unicode decomposition, then casefold), then break ties
    (« Peron » before « Péron »), then the text itself, so the order is total and stable. Babel has
    no collation, and PyICU would bring a compiled ICU for a few lists of names: not worth it.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_UNFOLDED))
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(folded.split()), unicodedata.normalize("NFC", text.casefold()), text


def people(count: int) -> str:
    """« 1 personne », « 4 personnes »: counts in sentences staff read."""
    return f"{count} personne{'s' if count > 1 else ''}"
