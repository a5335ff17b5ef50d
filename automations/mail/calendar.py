"""The session as an iTIP message (RFC 5546) carried by email (iMIP, RFC 6047), built with icalendar.

Why METHOD:REQUEST and METHOD:CANCEL rather than PUBLISH: Google Calendar and Outlook file a
PUBLISH attachment as a new, independent event, so a later change or cancellation added a second
event instead of moving or removing the first. They apply an update only to a scheduling message:

- REQUEST (RFC 5546 §3.2.2) needs ORGANIZER, ATTENDEE, DTSTAMP, DTSTART, SEQUENCE, SUMMARY and
  UID; a REQUEST with the same UID and a higher SEQUENCE replaces the event (§2.1.5, §3.2.2.1);
- CANCEL (§3.2.5) needs ORGANIZER, ATTENDEE, DTSTAMP, SEQUENCE and UID, with STATUS:CANCELLED;
  clients remove the event of that UID;
- the MIME part's ``method`` parameter must equal the METHOD property (RFC 6047 §2.4; IANA's
  text/calendar registration), else Outlook shows a plain attachment;
- DTSTAMP is in UTC (RFC 5545 §3.8.7.2); one sent with a TZID is invalid.

Public reports of the failure this avoids: "ICS update not working in Google Calendar" (itecnote,
same UID sent twice without iTIP headers adds a second event) and ical4j issue #423 (a cancel
without METHOD:CANCEL creates a second meeting in Google and Outlook).

The ATTENDEE is the recipient with PARTSTAT=NEEDS-ACTION and RSVP=FALSE: people answer through the
form or by replying to the email, so no client should expect a calendar reply; a client that still
offers Yes/No buttons mails the ORGANIZER, the session's contact, a person who reads it.
Times carry Europe/Paris with its VTIMEZONE so every client shows local time.
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar

from automations.plan import CalendarEvent

PARIS = ZoneInfo("Europe/Paris")
REQUEST, CANCEL = "REQUEST", "CANCEL"
_BEGIN, _END = b"BEGIN:VEVENT\r\n", b"END:VEVENT\r\n"


def method(event: CalendarEvent) -> str:
    """The iTIP method, for the METHOD property and the MIME part's ``method`` parameter alike."""
    return CANCEL if event.cancelled else REQUEST


def _address(email: str, name: str, **params: str) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = icalendar.vText(" ".join(name.split()))
    for key, value in params.items():
        address.params[key] = icalendar.vText(value)
    return address


def ics(event: CalendarEvent, stamp: datetime) -> bytes:
    """The calendar of one email: the session's lines, shared by everyone invited to it, around the
    lines that are the recipient's own (UID, SEQUENCE, ATTENDEE).

    Serialising a whole calendar (folding ~30 content lines) was a quarter of a first run at 10,000
    invitations, although all but three lines are the same for everyone at a session; so the
    session's part is serialised once per session, and only the person's lines per message. The
    person's lines open the VEVENT: the order of properties in a component carries no meaning
    (RFC 5545 §3.6), and each line is produced and folded by icalendar all the same."""
    shared = dataclasses.replace(event, uid="", sequence=0, attendee=None, attendee_name="")
    head, tail = _session(shared, stamp)
    return head + _person(event) + tail


@functools.lru_cache(maxsize=256)
def _session(event: CalendarEvent, stamp: datetime) -> tuple[bytes, bytes]:
    """The calendar without the person's lines, cut just inside its VEVENT: (up to BEGIN:VEVENT, rest)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Passerelle//Invitations//FR")
    calendar.add("version", "2.0")
    calendar.add("method", method(event))
    vevent = icalendar.Event()
    vevent.add("dtstamp", stamp.replace(tzinfo=PARIS).astimezone(UTC))
    vevent.add("dtstart", event.starts.replace(tzinfo=PARIS))
    vevent.add("dtend", event.ends.replace(tzinfo=PARIS))
    vevent.add("summary", event.summary)
    vevent.add("location", event.location)
    vevent.add("description", event.description)
    vevent.add("status", "CANCELLED" if event.cancelled else "CONFIRMED")
    vevent.add("transp", "OPAQUE")
    if event.organizer:
        vevent.add("organizer", _address(event.organizer, event.organizer_name))
    calendar.add_component(_paris(event.starts.date(), event.ends.date() + timedelta(days=1)))
    calendar.add_component(vevent)
    head, opening, tail = calendar.to_ical().partition(_BEGIN)
    assert opening, "icalendar wrote no VEVENT"
    return head + opening, tail


def _person(event: CalendarEvent) -> bytes:
    """The UID, SEQUENCE and ATTENDEE content lines, folded, as icalendar writes them in a VEVENT."""
    vevent = icalendar.Event()
    vevent.add("uid", event.uid)
    vevent.add("sequence", event.sequence)
    if event.attendee:
        vevent.add(
            "attendee",
            _address(
                event.attendee,
                event.attendee_name,
                CUTYPE="INDIVIDUAL",
                ROLE="REQ-PARTICIPANT",
                PARTSTAT="NEEDS-ACTION",
                RSVP="FALSE",
            ),
        )
    lines = vevent.to_ical()
    assert lines.startswith(_BEGIN) and lines.endswith(_END)
    return lines[len(_BEGIN) : -len(_END)]


@functools.lru_cache(maxsize=256)
def _paris(first: date, last: date) -> icalendar.Timezone:
    """Europe/Paris with only the transitions around the session (a VTIMEZONE from 1970 weighs more
    than the email), built once per session dates: it was half the time of composing a message."""
    probe, moment = icalendar.Calendar(), icalendar.Event()
    moment.add("dtstart", datetime.combine(first, time(12), PARIS))
    probe.add_component(moment)
    probe.add_missing_timezones(first_date=first, last_date=last)
    return next(c for c in probe.subcomponents if c.name == "VTIMEZONE")
