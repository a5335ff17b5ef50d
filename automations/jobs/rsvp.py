"""The rsvp job: answers from the form ("Réponses", by Code) into "Réponse"; a Non frees the seat.

The latest answer of a Code wins. An answer is applied once: if an advisor later types another
Oui/Non in "Réponse" by hand, Passerelle does not overwrite it with the older form answer.
"""

from __future__ import annotations

from datetime import datetime

from automations import cells, french
from automations.jobs.context import JobInput
from automations.jobs.loop import Loop, normalise_code, person_code
from automations.model import Referral
from automations.plan import Plan, Problem

SHEETS = ("orientations", "reunions", "reponses")
APPLIED = "rsvp"


def answer_status(r: Referral, answer: bool, starts: datetime | None) -> str:
    when = f" du {french.day_at(starts, year=False)}" if starts else ""
    if answer:
        return f"A confirmé sa venue à la réunion{when}"
    return f"A répondu Non pour la réunion{when} : sa place est libérée"


def _answer(value: cells.CellValue) -> bool:
    """ "Oui, je viendrai" / "Non, je ne pourrai pas": the first word decides."""
    first = cells.text(value).split(",")[0].split()[:1]
    return cells.parse_yes_no(first[0] if first else "")


class _Rsvp(Loop):
    def run(self) -> Plan:
        latest = self.latest_answers()
        by_code = {person_code(self.settings.code_secret, ref): r for ref, r in self.people.items()}
        changed = set()
        for code, (at, answer, row) in latest.items():
            r = by_code.get(code)
            if r is None:
                unknown = f"code inconnu « {code} » : réponse ignorée"
                self.plan.problems.append(Problem(self.responses.name, row, unknown))
            elif self.apply_answer(r, at, answer):
                changed.add(r.reference)
        for r in self.people.values():
            starts = self.starts(r)
            upcoming = starts is not None and starts > self.now  # afterwards, "État" tells the follow-up
            if upcoming and r.answer is not None and r.reference not in changed:
                self.set_status(r, answer_status(r, r.answer, self.starts(r)))
        return self.plan

    @property
    def responses(self):
        return self.data.tables["reponses"].spec

    def latest_answers(self) -> dict[str, tuple[datetime, bool, int]]:
        latest: dict[str, tuple[datetime, bool, int]] = {}
        for row in self.data.tables["reponses"]:
            try:
                at = cells.parse_datetime(row["horodateur"]) or datetime.min
                answer = _answer(row["reponse"])
            except cells.CellProblem as problem:
                self.plan.problems.append(Problem(self.responses.name, row.number, str(problem)))
                continue
            code = normalise_code(row.text("code"))
            if answer is not None and code and (code not in latest or at >= latest[code][0]):
                latest[code] = (at, answer, row.number)
        return latest

    def apply_answer(self, r: Referral, at: datetime, answer: bool) -> bool:
        """Write a form answer not applied yet; False when it was (a hand-typed answer may follow)."""
        applied = self.data.journal.recalled(APPLIED, r.reference)
        if applied is not None and datetime.fromisoformat(applied) >= at:
            return False
        self.plan.memory.append((APPLIED, r.reference, at.isoformat()))
        if r.answer is not answer:
            self.plan.patches.append(self.patch(r, "reponse", "Oui" if answer else "Non"))
        starts = self.starts(r)
        if starts is not None and starts > self.now:
            self.set_status(r, answer_status(r, answer, starts))
        return True

    def starts(self, r: Referral) -> datetime | None:
        s = self.by_reference.get(r.session)
        return s.starts if s else None


def plan(data: JobInput) -> Plan:
    return _Rsvp(data, "rsvp").run()
