"""Email orders and the values their templates see, built the same way by every job.

An ``EmailOrder`` is plain data: who gets which kind of email about what, the template context,
the calendar event attached, and the bookkeeping that travels with it (the cells that record the
sending, the memory to commit once it has gone).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from automations import french
from automations.model import Referral, Session
from automations.plan import CalendarEvent, EmailOrder, Memo
from automations.settings import Settings
from automations.values import CellPatch
from automations.world import World


def person_code(secret: bytes, person: str) -> str:
    """The per-person answer Code: unguessable without the secret, stable, easy to read aloud."""
    digest = hmac.new(secret, person.encode(), hashlib.sha256).digest()
    letters = base64.b32encode(digest).decode()[:12]
    return "-".join(letters[i : i + 4] for i in range(0, 12, 4))


def people_by_code(world: World, secret: bytes) -> dict[str, Referral]:
    """Who answered, by the Code a form answer carries (« Réponses » never holds a Référence)."""
    return {person_code(secret, ref): r for ref, r in world.people.items()}


def normalise_code(text: str) -> str:
    plain = "".join(ch for ch in text.upper() if ch.isalnum())
    return "-".join(plain[i : i + 4] for i in range(0, len(plain), 4))


def session_context(s: Session, fallback_contact: str) -> dict[str, str]:
    return {
        "reference": s.reference,
        "date": french.day(s.starts),
        "date_heure": french.day_at(s.starts),
        "debut": french.hour(s.starts),
        "fin": french.hour(s.ends) if s.ends else "",
        "lieu": s.place,
        "adresse": s.address,
        "lien": s.address if s.address.startswith(("http://", "https://")) else "",
        "animateur": s.host,
        "contact": s.contact or fallback_contact,
    }


def cooperative_context(settings: Settings) -> dict[str, str]:
    coop = settings.cooperative
    return {"nom": coop.name, "email": coop.email, "telephone": coop.phone, "site": coop.website}


def answer_links(settings: Settings, person: str) -> dict[str, str] | None:
    form = settings.form
    if form is None:
        return None
    code = person_code(settings.code_secret, person)

    def link(answer: str) -> str:
        query = urlencode({"usp": "pp_url", form.code_entry: code, form.answer_entry: answer})
        return f"{form.form_url}?{query}"

    return {"oui": link(form.yes), "non": link(form.no), "plus": link(form.withdraw), "code": code}


def seeker_context(settings: Settings, r: Referral, s: Session | None) -> dict[str, Any]:
    return {
        "personne": {"prenom": r.first_name, "nom": r.last_name, "nom_complet": r.full_name},
        "conseiller": {"nom": r.advisor, "email": r.advisor_email or ""},
        "cooperative": cooperative_context(settings),
        "reunion": session_context(s, settings.cooperative.email) if s else None,
        "reponses": answer_links(settings, r.reference) if s else None,
    }


def calendar_event(
    settings: Settings, r: Referral, s: Session, sequence: int, cancelled: bool = False
) -> CalendarEvent:
    """One event per person and session: its UID never changes, its SEQUENCE grows with each email."""
    contact = s.contact or settings.cooperative.email
    title = settings.invitations.session_title
    return CalendarEvent(
        uid=f"{s.reference}.{r.reference}@{settings.mail_domain}",
        starts=s.starts,
        ends=s.ends or s.starts.replace(hour=min(s.starts.hour + 2, 23)),
        summary=f"{title} – {settings.cooperative.name}",
        location=", ".join(part for part in (s.place, s.address) if part),
        description=f"{title} de {settings.cooperative.name}. Contact : {contact}",
        organizer=contact,
        organizer_name=settings.cooperative.name,
        sequence=sequence,
        cancelled=cancelled,
    )


def seeker_email(
    world: World,
    settings: Settings,
    r: Referral,
    kind: str,
    s: Session | None,
    on_sent: Iterable[CellPatch],
    *,
    key_session: str | None = None,
    event: CalendarEvent | None = None,
    remember: Iterable[Memo] = (),
    **extra: Any,
) -> EmailOrder:
    spec = world.spec("orientations")
    return EmailOrder(
        kind=kind,
        person=r.reference,
        session=key_session if key_session is not None else (s.reference if s else ""),
        to_name=r.full_name,
        to_address=r.email,
        reply_to=(s.contact if s else None) or settings.cooperative.email,
        context={**seeker_context(settings, r, s), **extra},
        sheet=spec.name,
        row=r.key,
        status_column=spec.label("etat"),
        on_sent=tuple(on_sent),
        event=event,
        remember=tuple(remember),
    )


def week_of(now: datetime) -> str:
    """« 2026-W49 »: the key of an email sent at most once a week (digest, alert, checkpoint)."""
    return "{}-W{:02d}".format(*now.isocalendar()[:2])


def staff_email(
    settings: Settings,
    kind: str,
    to: str,
    person: str,
    key_session: str,
    context: dict[str, Any],
    name: str = "",
    remember: Iterable[Memo] = (),
) -> EmailOrder:
    """An email to the cooperative's staff or an advisor: no "État" cell to report into."""
    return EmailOrder(
        kind=kind,
        person=person,
        session=key_session,
        to_name=name,
        to_address=to,
        reply_to=None,
        context={"cooperative": cooperative_context(settings), **context},
        sheet="",
        row=None,
        status_column=None,
        remember=tuple(remember),
    )
