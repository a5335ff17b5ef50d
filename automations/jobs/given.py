"""What every job plans from: the run's world, the journal's facts, the clock and the settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from automations.journal import JournalFacts
from automations.settings import Settings
from automations.world import World


@dataclass(frozen=True)
class Given:
    world: World
    facts: JournalFacts
    now: datetime
    """Local time in Europe/Paris, without tzinfo, like the dates people type in sheets."""
    settings: Settings
