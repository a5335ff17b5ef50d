"""One person's calendar event through invitation, modification, reminder and cancellation, read
from the outbox as a calendar client would (vobject, not icalendar, which wrote them): one event
that Google Calendar and Outlook update in place, then remove."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import vobject

from tests.conftest import NOW, Project, referral, session

pytestmark = pytest.mark.backends("workbook", "google")

PARIS = ZoneInfo("Europe/Paris")


def calendar_of(project: Project, kind: str):
    """The calendar of the one email of ``kind`` in the outbox, parsed.

    It comes twice, inline for the clients that show answer buttons and as reunion.ics for the
    others: both must be the same event.
    """
    [path] = project.outbox.glob(f"{kind}_*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    [text] = {p.get_content() for p in message.walk() if p.get_content_type() == "text/calendar"}
    return vobject.readOne(text)


def paris_start(calendar) -> datetime:
    """DTSTART read with this file's own VTIMEZONE, as a client does.

    vobject keeps the first « Europe/Paris » it parsed for the whole process; Passerelle trims each
    VTIMEZONE to the transitions around its session, so a summer email read earlier would lend its
    definition to this December one.
    """
    return calendar.vevent.dtstart.value.replace(tzinfo=calendar.vtimezone.gettzinfo())


def test_one_event_from_invitation_to_cancellation(project):
    project.create([referral(1)], [session("A", 7, 5)])  # jeudi 3 décembre, 14 h
    project.run()
    project.set("Réunions", 0, "Heure de début", "15:30")
    project.run(now=NOW + timedelta(days=1))
    project.run(now=NOW + timedelta(days=5))  # two days before the session: the reminder
    project.set("Réunions", 0, "Annulée", "Oui")
    project.run(now=NOW + timedelta(days=6))

    kinds = ("invitation", "modification", "rappel", "annulation")
    calendars = [calendar_of(project, kind) for kind in kinds]
    events = [calendar.vevent for calendar in calendars]
    assert len({event.uid.value for event in events}) == 1, "the same event, updated in place"
    sequences = [int(event.sequence.value) for event in events]
    assert sequences == sorted(set(sequences)), f"SEQUENCE must strictly increase: {sequences}"
    assert [calendar.method.value for calendar in calendars] == ["REQUEST", "REQUEST", "REQUEST", "CANCEL"]
    assert events[-1].status.value == "CANCELLED"
    assert [calendar.vtimezone.tzid.value for calendar in calendars] == ["Europe/Paris"] * 4
    starts = [paris_start(calendar) for calendar in calendars]
    assert [start.utcoffset() for start in starts] == [timedelta(hours=1)] * 4, "Paris time in December"
    assert [start.astimezone(PARIS).strftime("%d/%m %H:%M") for start in starts] == [
        "03/12 14:00",
        "03/12 15:30",
        "03/12 15:30",
        "03/12 15:30",
    ]
