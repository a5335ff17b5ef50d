"""Dates and times the way people in France write them, through babel."""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_date, format_time

LOCALE = "fr_FR"


def hour(moment: datetime) -> str:
    """14 h, 14 h 30: the typographic French form."""
    return format_time(moment, "H 'h'" if moment.minute == 0 else "H 'h' mm", locale=LOCALE)


def day(moment: datetime, year: bool = True) -> str:
    """jeudi 10 décembre 2020."""
    return format_date(moment, "EEEE d MMMM y" if year else "EEEE d MMMM", locale=LOCALE)


def day_at(moment: datetime, year: bool = True) -> str:
    """jeudi 10 décembre 2020 à 14 h."""
    return f"{day(moment, year)} à {hour(moment)}"
