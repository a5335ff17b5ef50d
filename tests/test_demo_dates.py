"""The demo's session falls on a working day, at least a week after the demo is built."""

from __future__ import annotations

from datetime import datetime, timedelta

from automations.demo import session_day


def test_for_every_weekday_the_session_is_on_a_working_day_at_least_seven_days_ahead():
    monday = datetime(2027, 6, 21, 9, 30)
    for offset in range(7):
        today = monday + timedelta(days=offset)
        day = session_day(today)
        assert day.weekday() < 5, today.strftime("%A")
        assert timedelta(days=7) <= day - today.date() <= timedelta(days=9), today.strftime("%A")


def test_a_demo_built_on_a_weekday_keeps_its_session_exactly_one_week_later():
    wednesday = datetime(2027, 6, 23, 9, 30)
    assert session_day(wednesday) == (wednesday + timedelta(days=7)).date()


def test_no_demo_session_falls_on_a_french_public_holiday():
    assert session_day(datetime(2026, 12, 18, 9, 0)) == datetime(2026, 12, 28).date(), "25th: Noël"
    assert session_day(datetime(2027, 4, 29, 9, 0)) == datetime(2027, 5, 7).date(), "6 May: Ascension"
