"""The calendar part moves or removes the event people already have, in Google Calendar and
Outlook alike (iTIP/iMIP): read back with vobject, a parser independent of the icalendar library
that writes it, and with ical.js when node is there."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import json
import shutil
import subprocess
from datetime import datetime
from email.headerregistry import Address
from zoneinfo import ZoneInfo

import pytest
import vobject

from automations.mail.compose import compose
from automations.mail.render import Rendered
from automations.plan import CalendarEvent, EmailOrder

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2027, 6, 24, 10, 0)
SENDER = Address("L'Ouvre-Boîtes", addr_spec="accueil@ouvre-boites.example")


def event(sequence: int = 0, cancelled: bool = False, day: int = 1) -> CalendarEvent:
    return CalendarEvent(
        uid="R-1.P-7@ouvre-boites.example",
        starts=datetime(2027, 7, day, 14, 0),
        ends=datetime(2027, 7, day, 16, 30),
        summary="Réunion d'information collective – L'Ouvre-Boîtes",
        location="Maison de l'emploi, 1 rue de la Paix",
        description="Contact : camille.roux@ouvre-boites.example",
        organizer="camille.roux@ouvre-boites.example",
        organizer_name="L'Ouvre-Boîtes",
        sequence=sequence,
        cancelled=cancelled,
    )


def message(ev: CalendarEvent, kind: str = "invitation") -> email.message.EmailMessage:
    order = EmailOrder(
        kind=kind,
        person="P-7",
        session="R-1",
        to_name="Anaïs Péron",
        to_address="anais.peron@exemple.fr",
        reply_to="camille.roux@ouvre-boites.example",
        context={},
        sheet="Orientations",
        row=None,
        status_column="État",
        event=ev,
    )
    composed = compose(
        order, Rendered("Sujet", "Texte\n", "<p>Texte</p>\n"), SENDER, NOW, "ouvre-boites.example"
    )
    return email.message_from_bytes(composed.data, policy=email.policy.default)


def calendar_parts(received: email.message.EmailMessage) -> list[email.message.EmailMessage]:
    return [part for part in received.walk() if part.get_content_type() == "text/calendar"]


def parsed(part: email.message.EmailMessage):
    return vobject.readOne(part.get_content())


def test_an_invitation_is_a_request_for_the_recipient_with_the_method_on_the_mime_part_too():
    received = message(event())
    parts = calendar_parts(received)
    assert [p.get_param("method") for p in parts] == ["REQUEST", "REQUEST"]
    assert parts[0].get_content_disposition() is None  # inline alternative: Outlook's meeting request
    assert parts[1].get_filename() == "reunion.ics"
    calendar = parsed(parts[0])
    assert calendar.method.value == "REQUEST"
    vevent = calendar.vevent
    assert vevent.uid.value == "R-1.P-7@ouvre-boites.example"
    assert int(vevent.sequence.value) == 0
    assert vevent.organizer.value.lower() == "mailto:camille.roux@ouvre-boites.example"
    assert vevent.organizer.params["CN"] == ["L'Ouvre-Boîtes"]
    assert vevent.attendee.value.lower() == "mailto:anais.peron@exemple.fr"
    assert vevent.attendee.params["CN"] == ["Anaïs Péron"]
    assert vevent.attendee.params["PARTSTAT"] == ["NEEDS-ACTION"]
    assert vevent.attendee.params["RSVP"] == ["FALSE"]
    assert vevent.dtstart.value == datetime(2027, 7, 1, 14, 0, tzinfo=PARIS)
    assert vevent.dtstart.value.utcoffset().total_seconds() == 2 * 3600
    assert vevent.dtend.value == datetime(2027, 7, 1, 16, 30, tzinfo=PARIS)
    assert vevent.dtstamp.value.utcoffset().total_seconds() == 0  # DTSTAMP is UTC
    assert vevent.status.value == "CONFIRMED"
    assert parsed(parts[1]).vevent.uid.value == vevent.uid.value


def test_a_change_keeps_the_uid_and_raises_the_sequence():
    first = parsed(calendar_parts(message(event()))[0]).vevent
    moved = parsed(calendar_parts(message(event(sequence=1, day=8), "modification"))[0])
    assert moved.method.value == "REQUEST"
    assert moved.vevent.uid.value == first.uid.value
    assert int(moved.vevent.sequence.value) > int(first.sequence.value)
    assert moved.vevent.dtstart.value == datetime(2027, 7, 8, 14, 0, tzinfo=PARIS)


def test_a_cancellation_is_a_cancel_of_the_same_uid_with_a_higher_sequence():
    parts = calendar_parts(message(event(sequence=2, cancelled=True), "annulation"))
    assert {p.get_param("method") for p in parts} == {"CANCEL"}
    calendar = parsed(parts[0])
    assert calendar.method.value == "CANCEL"
    assert calendar.vevent.uid.value == "R-1.P-7@ouvre-boites.example"
    assert int(calendar.vevent.sequence.value) == 2
    assert calendar.vevent.status.value == "CANCELLED"
    assert calendar.vevent.attendee.value.lower() == "mailto:anais.peron@exemple.fr"
    assert calendar.vevent.organizer.value.lower() == "mailto:camille.roux@ouvre-boites.example"


ICAL_JS = """
const ICAL = require(process.argv[1]);
const input = require('fs').readFileSync(0, 'utf8');
const comp = new ICAL.Component(ICAL.parse(input));
const ev = new ICAL.Event(comp.getFirstSubcomponent('vevent'));
console.log(JSON.stringify({method: comp.getFirstPropertyValue('method'), uid: ev.uid,
  sequence: ev.sequence, start: ev.startDate.toString(), tz: ev.startDate.zone.tzid,
  attendee: ev.attendees[0].getFirstValue()}));
"""


def test_ical_js_reads_the_same_event():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: ical.js cannot be run (vobject above covers CI)")
    found = subprocess.run(
        ["node", "-e", "console.log(require.resolve('ical.js'))"], capture_output=True, text=True
    )
    if found.returncode != 0:
        pytest.skip("the ical.js package is not installed for node (npm install ical.js)")
    ics = calendar_parts(message(event(sequence=3)))[0].get_content()
    result = subprocess.run(
        [node, "-e", ICAL_JS, found.stdout.strip()], input=ics, capture_output=True, text=True, check=True
    )
    read = json.loads(result.stdout)
    assert read["method"] == "REQUEST" and read["uid"] == "R-1.P-7@ouvre-boites.example"
    assert read["sequence"] == 3 and read["start"] == "2027-07-01T14:00:00" and read["tz"] == "Europe/Paris"
    assert read["attendee"].lower() == "mailto:anais.peron@exemple.fr"


def test_two_people_at_one_session_each_get_their_own_uid_sequence_and_attendee_in_one_valid_calendar():
    """The session's lines are serialised once and shared: nothing of one person reaches another's."""
    import icalendar

    from automations.mail.calendar import ics

    first = ics(dataclasses.replace(event(), attendee="anais.peron@exemple.fr", attendee_name="Anaïs"), NOW)
    other = dataclasses.replace(
        event(sequence=4), uid="R-1.P-8@ouvre-boites.example", attendee="zoe@exemple.fr", attendee_name="Zoé"
    )
    for data, uid, sequence, attendee in (
        (first, "R-1.P-7@ouvre-boites.example", 0, "anais.peron@exemple.fr"),
        (ics(other, NOW), "R-1.P-8@ouvre-boites.example", 4, "zoe@exemple.fr"),
    ):
        assert all(len(line) <= 75 for line in data.split(b"\r\n"))
        (vevent,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
        assert str(vevent["UID"]) == uid and vevent["SEQUENCE"] == sequence
        assert str(vevent["ATTENDEE"]).lower() == f"mailto:{attendee}"
        assert vevent["SUMMARY"] == "Réunion d'information collective – L'Ouvre-Boîtes"
        assert vevent.decoded("DTSTART") == datetime(2027, 7, 1, 14, 0, tzinfo=PARIS)
        assert data.count(b"BEGIN:VEVENT") == data.count(b"UID:") == data.count(b"ATTENDEE") == 1
        assert vobject.readOne(data.decode()).vevent.uid.value == uid
