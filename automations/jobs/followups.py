"""The followups job, after each session, from what staff filled in "Suivi" (PRODUCT.md §3):
absent → "relance_absent" with the next session (re-queued); present → "suite_presence";
presence still empty a few days later → one "rappel_suivi" to the session's contact."""

from __future__ import annotations

from datetime import timedelta

from automations import french
from automations.jobs.context import JobInput
from automations.jobs.loop import Loop, session_context
from automations.model import FollowUp, Referral, Session
from automations.plan import Plan

SHEETS = ("orientations", "reunions", "suivi")
ABSENT, PRESENT, NUDGE = "relance_absent", "suite_presence", "rappel_suivi"


def nudge_context(session: dict, rows: list[dict], link: str, sheet: str) -> dict:
    """What "rappel_suivi" shows staff; `passerelle check` renders it with sample rows."""
    return {"reunion": session, "lignes": rows, "lien_suivi": link, "feuille": sheet}


class _Followups(Loop):
    def run(self) -> Plan:
        self.report_followup_problems()
        self.taken_now = self.taken()
        unfilled: dict[str, list[FollowUp]] = {}
        for f in self.followups:
            s = self.by_reference.get(f.session)
            r = self.people.get(f.person)
            if s is None or r is None or s.starts is None or self.now < (s.ends or s.starts):
                continue
            if f.presence == "Présent·e":
                self.thank(r, s, f)
            elif f.presence in ("Absent·e", "Excusé·e"):
                self.reinvite(r, s)
            elif not f.row.text("presence") and not (r.answer is False and r.session == s.reference):
                unfilled.setdefault(s.reference, []).append(f)
        for reference, rows in unfilled.items():
            self.nudge(self.by_reference[reference], rows)
        return self.plan

    def thank(self, r: Referral, s: Session, f: FollowUp) -> None:
        if any(e.session == s.reference for e in self.data.journal.of(PRESENT, r.reference)):
            return
        if not self.may_email(r.reference):
            return
        day = french.day(s.starts, year=False)
        status = f"Présent·e à la réunion du {day} : suite envoyée le {self.now:%d/%m/%Y}"
        self.email(r, PRESENT, s, [self.patch(r, "etat", status)], accompagnateur=f.adviser)

    def reinvite(self, r: Referral, s: Session) -> None:
        """Only while the person is still on that session: once re-queued, the row is history."""
        if r.session != s.reference or not self.may_email(r.reference):
            return
        target = self.session_with_seat(self.taken_now)
        missed = french.day(s.starts, year=False)
        patches = [self.patch(r, key, None) for key in ("rappel", "reponse")]
        patches.append(self.patch(r, "relance", self.now))
        if target is None:
            status = f"Absent·e le {missed} : sera invité·e à la prochaine réunion"
            patches += [self.patch(r, "session", None), self.patch(r, "invitation", None)]
            self.email(
                r,
                ABSENT,
                None,
                [*patches, self.patch(r, "etat", status)],
                key_session=s.reference,
                precedente=session_context(s, self.settings.cooperative.email),
            )
            return
        self.taken_now[target.reference] += 1
        status = (
            f"Absent·e le {missed} : réinvité·e à la réunion du {french.day_at(target.starts, year=False)}"
        )
        patches += [self.patch(r, "session", target.reference), self.patch(r, "invitation", self.now)]
        self.email(
            r,
            ABSENT,
            target,
            [*patches, self.patch(r, "etat", status)],
            key_session=s.reference,
            event=self.event(r, target),
            precedente=session_context(s, self.settings.cooperative.email),
        )

    def nudge(self, s: Session, rows: list[FollowUp]) -> None:
        if self.now < s.starts + timedelta(days=self.settings.nudge_days):
            return
        suivi = self.data.tables["suivi"].spec
        people = [
            {
                "nom_complet": f"{f.row.text('prenom')} {f.row.text('nom')}".strip() or f.reference,
                "ligne": f.row.number,
            }
            for f in rows
        ]
        self.email_staff(
            NUDGE,
            s.contact or self.settings.cooperative.email,
            f"reunion-{s.reference}",
            s.reference,
            nudge_context(
                session_context(s, self.settings.cooperative.email),
                people,
                self.settings.links.get("suivi", ""),
                suivi.name,
            ),
        )


def plan(data: JobInput) -> Plan:
    return _Followups(data, "followups").run()
