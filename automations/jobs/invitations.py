"""The invitations job: give every valid referral a seat at the earliest session, or a place on
the waiting list, in referral-date order (PRODUCT.md §3)."""

from __future__ import annotations

from collections import Counter
from datetime import date

from automations import french
from automations.jobs.context import JobInput
from automations.journal import DEFERRED, PENDING, REFUSED, SENT, Entry
from automations.model import Referral, Session, referral, session
from automations.plan import CalendarEvent, EmailOrder, Plan, Problem
from automations.sheets.base import CellPatch, CellValue

INVITATION, WAITING = "invitation", "liste_attente"
SHEETS = ("orientations", "reunions")


def invited_status(s: Session) -> str:
    return f"Invité·e à la réunion du {french.day_at(s.starts, year=False)}"


def waiting_status(on: date) -> str:
    return f"Liste d'attente (prévenu·e le {on:%d/%m/%Y}) : invitation dès qu'une place se libère"


def unconfirmed_status(kind: str, entry: Entry) -> str:
    what = "l'invitation" if kind == INVITATION else "l'email de liste d'attente"
    return (
        f"À vérifier : l'envoi de {what} a été interrompu le {entry.updated_at:%d/%m/%Y à %H:%M} ; "
        "vérifiez s'il est arrivé avant toute relance"
    )


class _Planner:
    def __init__(self, data: JobInput) -> None:
        self.data = data
        self.plan = Plan("invitations")
        self.orientations = data.tables["orientations"]
        self.sheet = self.orientations.spec.name
        self.referrals = [referral(self.orientations, row) for row in self.orientations]
        table = data.tables["reunions"]
        self.sessions = [session(table, row) for row in table]
        self.by_reference = {s.reference: s for s in self.sessions}
        self.taken = Counter(r.session for r in self.referrals if r.session and r.answer is not False)

    def patch(self, r: Referral, key: str, value: CellValue) -> CellPatch:
        return CellPatch(self.sheet, r.row.key(), self.orientations.spec.label(key), value)

    def set_status(self, r: Referral, status: str) -> None:
        if r.status != status:
            self.plan.patches.append(self.patch(r, "etat", status))

    def report(self, r: Referral, message: str) -> None:
        self.plan.problems.append(Problem(self.sheet, r.row.number, message))
        self.set_status(r, message)

    def open_sessions(self) -> list[Session]:
        earliest = self.data.now + self.data.settings.min_notice
        usable = [
            s
            for s in self.sessions
            if not s.cancelled and not s.problems and s.starts and s.starts >= earliest
        ]
        return sorted(usable, key=lambda s: s.starts)

    def session_with_seat(self) -> Session | None:
        return next((s for s in self.open_sessions() if self.taken[s.reference] < s.seats), None)

    def run(self) -> Plan:
        self.report_session_problems()
        for r in self.valid_unassigned():
            self.place(r)
        return self.plan

    def report_session_problems(self) -> None:
        sheet = self.data.tables["reunions"].spec.name
        for s in self.sessions:
            self.plan.problems.extend(Problem(sheet, s.row.number, p) for p in s.problems)
            if not s.row.text("reference") and not s.problems:
                label = self.data.tables["reunions"].spec.label("reference")
                self.plan.patches.append(CellPatch(sheet, s.row.key(), label, s.reference))

    def valid_unassigned(self) -> list[Referral]:
        seen_refs: dict[str, int] = {}
        seen_emails: dict[str, int] = {}
        waiting = []
        for r in self.referrals:
            if r.reference in seen_refs:
                self.report(
                    r, f"Référence déjà utilisée à la ligne {seen_refs[r.reference]} : ligne en double ?"
                )
                continue
            seen_refs[r.reference] = r.row.number
            if r.problems:
                self.report(r, " ; ".join(r.problems))
                continue
            if r.email.casefold() in seen_emails:
                self.report(
                    r, f"Personne déjà orientée à la ligne {seen_emails[r.email.casefold()]} (même adresse email)"
                )
                continue
            seen_emails[r.email.casefold()] = r.row.number
            if not r.session:
                waiting.append(r)
        return sorted(waiting, key=lambda r: (r.referred_on or date.max, r.row.number))

    def place(self, r: Referral) -> None:
        history = self.data.journal.of(INVITATION, r.reference)
        if history and history[-1].status in (SENT, PENDING) and history[-1].session in self.by_reference:
            self.recover(r, history[-1])
            return
        refused = [e for e in history if e.status == REFUSED and e.recipient == r.email]
        if refused:
            self.set_status(r, f"Adresse refusée par le serveur : {refused[-1].detail}")
            return
        target = self.session_with_seat()
        if target is None:
            self.wait(r)
            return
        self.taken[target.reference] += 1
        self.plan.emails.append(self.invitation(r, target))

    def recover(self, r: Referral, entry: Entry) -> None:
        """The journal knows more than the sheet (a run stopped after sending): repair, never resend."""
        s = self.by_reference[entry.session]
        self.taken[s.reference] += 1
        if entry.status == PENDING:
            self.report(r, unconfirmed_status(INVITATION, entry))
            return
        self.plan.patches.extend(self.sent_patches(r, s, entry.updated_at))

    def sent_patches(self, r: Referral, s: Session, at) -> list[CellPatch]:
        patches = [] if r.has_reference else [self.patch(r, "reference", r.reference)]
        return [
            *patches,
            self.patch(r, "session", s.reference),
            self.patch(r, "invitation", at),
            self.patch(r, "etat", invited_status(s)),
        ]

    def wait(self, r: Referral) -> None:
        entry = next(iter(self.data.journal.of(WAITING, r.reference)[-1:]), None)
        if entry is None or entry.status == DEFERRED:
            self.plan.emails.append(
                self.order(
                    r,
                    WAITING,
                    "",
                    None,
                    (
                        *([] if r.has_reference else [self.patch(r, "reference", r.reference)]),
                        self.patch(r, "etat", waiting_status(self.data.now.date())),
                    ),
                )
            )
        elif entry.status == PENDING:
            self.report(r, unconfirmed_status(WAITING, entry))
        elif entry.status == SENT and not r.status.startswith("Liste d'attente"):
            self.set_status(r, waiting_status(entry.updated_at.date()))

    def invitation(self, r: Referral, s: Session) -> EmailOrder:
        return self.order(r, INVITATION, s.reference, s, tuple(self.sent_patches(r, s, self.data.now)))

    def order(self, r: Referral, kind: str, session_ref: str, s: Session | None, on_sent) -> EmailOrder:
        coop = self.data.settings.cooperative
        return EmailOrder(
            kind=kind,
            person=r.reference,
            session=session_ref,
            to_name=r.full_name,
            to_address=r.email,
            reply_to=(s.contact if s else None) or coop.email,
            context=self.context(r, s),
            sheet=self.sheet,
            row=r.row.key(),
            status_column=self.orientations.spec.label("etat"),
            on_sent=on_sent,
            event=self.event(r, s) if s else None,
        )

    def context(self, r: Referral, s: Session | None) -> dict:
        coop = self.data.settings.cooperative
        return {
            "personne": {"prenom": r.first_name, "nom": r.last_name, "nom_complet": r.full_name},
            "conseiller": {"nom": r.advisor, "email": r.advisor_email or ""},
            "cooperative": {
                "nom": coop.name,
                "email": coop.email,
                "telephone": coop.phone,
                "site": coop.website,
            },
            "reunion": session_context(s, coop.email) if s else None,
            "reponses": None,
        }

    def event(self, r: Referral, s: Session) -> CalendarEvent:
        settings = self.data.settings
        return CalendarEvent(
            uid=f"{s.reference}.{r.reference}@{settings.mail_domain}",
            starts=s.starts,
            ends=s.ends or s.starts.replace(hour=min(s.starts.hour + 2, 23)),
            summary=f"{settings.session_title} – {settings.cooperative.name}",
            location=", ".join(part for part in (s.place, s.address) if part),
            description=f"{settings.session_title} de {settings.cooperative.name}. "
            f"Contact : {s.contact or settings.cooperative.email}",
            organizer=s.contact or settings.cooperative.email,
        )


def session_context(s: Session, fallback_contact: str) -> dict:
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


def plan(data: JobInput) -> Plan:
    return _Planner(data).run()
