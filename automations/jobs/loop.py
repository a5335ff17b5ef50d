"""The shared view every job plans from: referrals, sessions and follow-up rows, plus the helpers
that build emails and cell patches the same way for every job."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections import Counter
from typing import Any
from urllib.parse import urlencode

from automations import french
from automations.jobs.context import JobInput
from automations.model import FollowUp, Referral, Session, followup, referral, session
from automations.plan import CalendarEvent, EmailOrder, Plan, Problem
from automations.values import CellPatch, CellValue

ANNOUNCED = "session"
"""Memory namespace: the session details last announced to invitees (for "modification")."""


def person_code(secret: bytes, person: str) -> str:
    """The per-person answer Code: unguessable without the secret, stable, easy to read aloud."""
    digest = hmac.new(secret, person.encode(), hashlib.sha256).digest()
    letters = base64.b32encode(digest).decode()[:12]
    return "-".join(letters[i : i + 4] for i in range(0, 12, 4))


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


def announced(s: Session) -> str:
    """What invitees were told about a session: a change of any of these sends "modification"."""
    return json.dumps(
        {
            "starts": s.starts.isoformat(),
            "ends": s.ends.isoformat() if s.ends else "",
            "place": s.place,
            "address": s.address,
        },
        sort_keys=True,
    )


class Loop:
    def __init__(self, data: JobInput, job: str) -> None:
        self.data = data
        self.now = data.now
        self.settings = data.settings
        self.plan = Plan(job)
        self.emailed: set[str] = set()
        tables = data.tables
        self.orientations = tables.get("orientations")
        self.referrals = (
            [referral(self.orientations, row) for row in self.orientations] if self.orientations else []
        )
        self.people: dict[str, Referral] = {}
        for r in self.referrals:
            if not r.problems:
                self.people.setdefault(r.reference, r)
        reunions = tables.get("reunions")
        self.sessions = [session(reunions, row) for row in reunions] if reunions else []
        self.by_reference = {s.reference: s for s in self.sessions}
        suivi = tables.get("suivi")
        self.followups = [followup(suivi, row) for row in suivi] if suivi else []
        self.followups_of: dict[str, list[FollowUp]] = {}
        for f in self.followups:
            self.followups_of.setdefault(f.person, []).append(f)

    # Cells of "Orientations"

    @property
    def sheet(self) -> str:
        return self.orientations.spec.name

    def patch(self, r: Referral, key: str, value: CellValue) -> CellPatch:
        return CellPatch(self.sheet, r.row.key(), self.orientations.spec.label(key), value)

    def label(self, key: str) -> str:
        return self.orientations.spec.label(key)

    def set_status(self, r: Referral, status: str) -> None:
        if r.status != status:
            self.plan.patches.append(self.patch(r, "etat", status))

    def report(self, r: Referral, message: str) -> None:
        self.plan.problems.append(Problem(self.sheet, r.row.number, message))
        self.set_status(r, message)

    def reference_patch(self, r: Referral) -> list[CellPatch]:
        return [] if r.has_reference else [self.patch(r, "reference", r.reference)]

    # Seats

    def taken(self) -> Counter[str]:
        return Counter(r.session for r in self.referrals if r.session and r.answer is not False)

    def open_sessions(self) -> list[Session]:
        earliest = self.now + self.settings.min_notice
        usable = [
            s
            for s in self.sessions
            if not s.cancelled and not s.problems and s.starts and s.starts >= earliest
        ]
        return sorted(usable, key=lambda s: s.starts)

    def session_with_seat(self, taken: Counter[str]) -> Session | None:
        return next((s for s in self.open_sessions() if taken[s.reference] < s.seats), None)

    def assigned(self, s: Session) -> list[Referral]:
        return [r for r in self.people.values() if r.session == s.reference]

    # Emails

    def may_email(self, person: str) -> bool:
        """At most one email per person per day, all jobs together."""
        r = self.people.get(person)
        if r is not None and r.purged:
            return False
        return person not in self.emailed and not self.data.journal.emailed_on(person, self.now.date())

    def email(
        self,
        r: Referral,
        kind: str,
        s: Session | None,
        on_sent: list[CellPatch],
        key_session: str | None = None,
        event: CalendarEvent | None = None,
        remember: tuple[tuple[str, str, str], ...] = (),
        **context: Any,
    ) -> EmailOrder:
        coop = self.settings.cooperative
        order = EmailOrder(
            kind=kind,
            person=r.reference,
            session=key_session if key_session is not None else (s.reference if s else ""),
            to_name=r.full_name,
            to_address=r.email,
            reply_to=(s.contact if s else None) or coop.email,
            context={**self.context(r, s), **context},
            sheet=self.sheet,
            row=r.row.key(),
            status_column=self.orientations.spec.label("etat"),
            on_sent=tuple(on_sent),
            event=event,
            remember=remember,
        )
        self.plan.emails.append(order)
        self.emailed.add(r.reference)
        return order

    def email_staff(
        self,
        kind: str,
        to: str,
        person: str,
        key_session: str,
        context: dict[str, Any],
        name: str = "",
        remember: tuple[tuple[str, str, str], ...] = (),
    ) -> None:
        """An email to the cooperative's staff or an advisor: no "État" cell to report into."""
        self.plan.emails.append(
            EmailOrder(
                kind=kind,
                person=person,
                session=key_session,
                to_name=name,
                to_address=to,
                reply_to=None,
                context={"cooperative": self.cooperative_context(), **context},
                sheet="",
                row=None,
                status_column=None,
                remember=remember,
            )
        )

    def cooperative_context(self) -> dict[str, str]:
        coop = self.settings.cooperative
        return {"nom": coop.name, "email": coop.email, "telephone": coop.phone, "site": coop.website}

    def context(self, r: Referral, s: Session | None) -> dict[str, Any]:
        return {
            "personne": {"prenom": r.first_name, "nom": r.last_name, "nom_complet": r.full_name},
            "conseiller": {"nom": r.advisor, "email": r.advisor_email or ""},
            "cooperative": self.cooperative_context(),
            "reunion": session_context(s, self.settings.cooperative.email) if s else None,
            "reponses": self.answer_links(r.reference) if s else None,
        }

    def answer_links(self, person: str) -> dict[str, str] | None:
        form = self.settings.form
        if form is None:
            return None
        code = person_code(self.settings.code_secret, person)

        def link(answer: str) -> str:
            query = urlencode({"usp": "pp_url", form.code_entry: code, form.answer_entry: answer})
            return f"{form.url}?{query}"

        return {"oui": link(form.yes), "non": link(form.no), "code": code}

    def event(self, r: Referral, s: Session, sequence: int = 0, cancelled: bool = False) -> CalendarEvent:
        settings = self.settings
        contact = s.contact or settings.cooperative.email
        return CalendarEvent(
            uid=f"{s.reference}.{r.reference}@{settings.mail_domain}",
            starts=s.starts,
            ends=s.ends or s.starts.replace(hour=min(s.starts.hour + 2, 23)),
            summary=f"{settings.session_title} – {settings.cooperative.name}",
            location=", ".join(part for part in (s.place, s.address) if part),
            description=f"{settings.session_title} de {settings.cooperative.name}. Contact : {contact}",
            organizer=contact,
            sequence=sequence,
            cancelled=cancelled,
        )

    # Follow-up rows

    def report_followup_problems(self) -> None:
        sheet = self.data.tables["suivi"].spec.name
        for f in self.followups:
            self.plan.problems.extend(Problem(sheet, f.row.number, p) for p in f.problems)
