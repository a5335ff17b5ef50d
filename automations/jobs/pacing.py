"""At most one email per person per day, all jobs together (PRODUCT.md §3).

The journal knows what earlier runs (and earlier jobs of this run) sent; ``Pacing`` adds what the
job being planned has already decided to send.
"""

from __future__ import annotations

from datetime import datetime

from automations.jobs import journey
from automations.journal import JournalFacts
from automations.model import Referral


class Pacing:
    def __init__(self, facts: JournalFacts, now: datetime) -> None:
        self.facts, self.today = facts, now.date()
        self.planned: set[str] = set()

    def may_email(self, r: Referral) -> bool:
        if r.purged or r.reference in self.planned or journey.closed(self.facts, r.reference):
            return False
        return not self.facts.emailed_on(r.reference, self.today)

    def mark(self, r: Referral) -> None:
        self.planned.add(r.reference)
