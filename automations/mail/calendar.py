"""The session as an .ics attachment (RFC 5545), built with icalendar.

METHOD:PUBLISH rather than REQUEST: the seeker answers through the form or by email, not through
calendar RSVP buttons that would mail the organiser; Gmail and Outlook both offer "add to
calendar" for it. Times carry Europe/Paris with its VTIMEZONE so every client shows local time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from automations.plan import CalendarEvent

PARIS = ZoneInfo("Europe/Paris")


def ics(event: CalendarEvent, stamp: datetime) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Passerelle//Invitations//FR")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if event.cancelled else "PUBLISH")
    vevent = icalendar.Event()
    vevent.add("uid", event.uid)
    vevent.add("sequence", event.sequence)
    vevent.add("dtstamp", stamp.replace(tzinfo=PARIS))
    vevent.add("dtstart", event.starts.replace(tzinfo=PARIS))
    vevent.add("dtend", event.ends.replace(tzinfo=PARIS))
    vevent.add("summary", event.summary)
    vevent.add("location", event.location)
    vevent.add("description", event.description)
    vevent.add("status", "CANCELLED" if event.cancelled else "CONFIRMED")
    if event.organizer:
        vevent.add("organizer", f"mailto:{event.organizer}")
    calendar.add_component(vevent)
    # Only the transitions around the session: a VTIMEZONE from 1970 weighs more than the email.
    calendar.add_missing_timezones(
        first_date=event.starts.date(), last_date=event.ends.date() + timedelta(days=1)
    )
    return calendar.to_ical()
