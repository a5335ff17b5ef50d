"""The invitations job (PRODUCT.md §3): every valid referral gets a seat at the earliest session
with room, in referral-date order, or a place on the waiting list; invitees hear about a session
that moved ("modification") or was cancelled ("annulation", then a new invitation)."""

from __future__ import annotations

import json
from datetime import date

from automations import french
from automations.jobs.context import JobInput
from automations.jobs.loop import ANNOUNCED, Loop, announced
from automations.journal import PENDING, SENT, Entry
from automations.model import Referral, Session
from automations.plan import Plan, Problem, unconfirmed
from automations.values import CellPatch

INVITATION, WAITING = "invitation", "liste_attente"
MODIFICATION, CANCELLATION = "modification", "annulation"
SHEETS = ("orientations", "reunions")


def invited_status(s: Session) -> str:
    return f"Invité·e à la réunion du {french.day_at(s.starts, year=False)}"


def waiting_status(on: date) -> str:
    return f"Liste d'attente (prévenu·e le {on:%d/%m/%Y}) : invitation dès qu'une place se libère"


class _Invitations(Loop):
    def run(self) -> Plan:
        self.report_sessions()
        self.taken_now = self.taken()
        for s in self.sessions:
            self.announce_changes(s)
        for r in self.valid_unassigned():
            self.place(r)
        return self.plan

    def report_sessions(self) -> None:
        reunions = self.data.tables["reunions"].spec
        for s in self.sessions:
            self.plan.problems.extend(Problem(reunions.name, s.row.number, p) for p in s.problems)
            upcoming = not s.problems and not s.cancelled and s.starts > self.now
            if upcoming and s.seats == 0:
                message = f"{reunions.label('places')} : 0 place, personne ne peut y être invité·e"
                self.plan.problems.append(Problem(reunions.name, s.row.number, message))
            if not s.row.text("reference") and not s.problems:
                self.plan.patches.append(
                    CellPatch(reunions.name, s.row.key(), reunions.label("reference"), s.reference)
                )

    def valid_unassigned(self) -> list[Referral]:
        seen_refs: dict[str, int] = {}
        seen_emails: dict[str, int] = {}
        waiting = []
        for r in self.referrals:
            if r.reference in seen_refs:
                self.report(
                    r,
                    f"{self.label('reference')} : déjà utilisée à la ligne {seen_refs[r.reference]} "
                    "(ligne en double ?)",
                )
                continue
            seen_refs[r.reference] = r.row.number
            if r.purged:
                continue
            if r.problems:
                self.report(r, " ; ".join(r.problems))
                continue
            address = r.email.casefold()
            if address in seen_emails:
                self.report(
                    r,
                    f"{self.label('email')} : personne déjà orientée à la ligne {seen_emails[address]} "
                    "(même adresse)",
                )
                continue
            seen_emails[address] = r.row.number
            if not r.session:
                waiting.append(r)
        return sorted(waiting, key=lambda r: (r.referred_on or date.max, r.row.number))

    # Session changes

    def announce_changes(self, s: Session) -> None:
        if s.problems or s.starts is None:
            return
        remembered = self.data.journal.recalled(ANNOUNCED, s.reference)
        invitees = [r for r in self.assigned(s) if r.invited_on]
        if s.cancelled:
            for r in invitees:
                self.cancel(r, s, json.loads(remembered)["sequence"] + 1 if remembered else 1)
            return
        if remembered is None:
            return  # nobody was told anything yet: the first invitation records what it announced
        previous = json.loads(remembered)
        if previous["details"] != announced(s):
            sequence = previous["sequence"] + 1
            for r in invitees:
                if r.answer is not False:
                    self.modify(r, s, sequence)
            self.remember(s, sequence)

    def remember(self, s: Session, sequence: int) -> None:
        self.plan.memory.append(self.announcement(s, sequence))

    @staticmethod
    def announcement(s: Session, sequence: int) -> tuple[str, str, str]:
        return ANNOUNCED, s.reference, json.dumps({"details": announced(s), "sequence": sequence})

    def modify(self, r: Referral, s: Session, sequence: int) -> None:
        status = f"Réunion modifiée : invité·e à la réunion du {french.day_at(s.starts, year=False)}"
        self.email(
            r,
            MODIFICATION,
            s,
            [self.patch(r, "etat", status)],
            key_session=f"{s.reference}#{sequence}",
            event=self.event(r, s, sequence),
        )

    def cancel(self, r: Referral, s: Session, sequence: int) -> None:
        """Re-queue the person: the next run invites them to the next session with a seat."""
        requeue = [self.patch(r, key, None) for key in ("session", "invitation", "rappel", "reponse")]
        status = f"Réunion du {french.day(s.starts, year=False)} annulée : une nouvelle invitation va suivre"
        if r.answer is False:
            self.plan.patches.extend([*requeue, self.patch(r, "etat", status)])
            return
        self.email(
            r,
            CANCELLATION,
            s,
            [*requeue, self.patch(r, "etat", status)],
            event=self.event(r, s, sequence, cancelled=True),
        )

    # New invitations

    def place(self, r: Referral) -> None:
        history = [e for e in self.data.journal.of(INVITATION, r.reference) if e.status in (SENT, PENDING)]
        latest = history[-1] if history else None
        if latest and latest.session in self.by_reference and not self.by_reference[latest.session].cancelled:
            self.recover(r, latest)
            return
        if not self.may_email(r.reference):
            return
        target = self.session_with_seat(self.taken_now)
        if target is None:
            self.wait(r)
            return
        self.taken_now[target.reference] += 1
        first = self.data.journal.recalled(ANNOUNCED, target.reference) is None
        self.email(
            r,
            INVITATION,
            target,
            self.sent_patches(r, target),
            event=self.event(r, target),
            remember=(self.announcement(target, 0),) if first else (),
        )

    def recover(self, r: Referral, entry: Entry) -> None:
        """The journal knows more than the sheet (a run stopped after sending): repair, never resend."""
        s = self.by_reference[entry.session]
        self.taken_now[s.reference] += 1
        if entry.status == PENDING:
            self.report(r, unconfirmed(entry.updated_at))
            return
        self.plan.patches.extend(self.sent_patches(r, s, entry.updated_at))

    def sent_patches(self, r: Referral, s: Session, at=None) -> list[CellPatch]:
        return [
            *self.reference_patch(r),
            self.patch(r, "session", s.reference),
            self.patch(r, "invitation", at or self.now),
            self.patch(r, "etat", invited_status(s)),
        ]

    def wait(self, r: Referral) -> None:
        entry = next(iter(self.data.journal.of(WAITING, r.reference)[-1:]), None)
        if entry is None or entry.status not in (SENT, PENDING):
            status = waiting_status(self.now.date())
            self.email(r, WAITING, None, [*self.reference_patch(r), self.patch(r, "etat", status)])
        elif entry.status == PENDING:
            self.report(r, unconfirmed(entry.updated_at))
        elif not r.status.startswith("Liste d'attente"):
            self.set_status(r, waiting_status(entry.updated_at.date()))


def plan(data: JobInput) -> Plan:
    return _Invitations(data, "invitations").run()
