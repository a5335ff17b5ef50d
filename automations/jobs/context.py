"""What every job receives: the tables it asked for, the journal snapshot, the clock, the settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from automations.journal import JournalFacts
from automations.tables import Table


@dataclass(frozen=True)
class Cooperative:
    name: str
    email: str
    phone: str = ""
    website: str = ""


@dataclass(frozen=True)
class JobSettings:
    cooperative: Cooperative
    mail_domain: str
    min_notice: timedelta = timedelta(days=2)
    session_title: str = "Réunion d'information"


@dataclass(frozen=True)
class JobInput:
    tables: Mapping[str, Table]
    journal: JournalFacts
    now: datetime
    """Local time in Europe/Paris, without tzinfo, like the dates people type in sheets."""
    settings: JobSettings
