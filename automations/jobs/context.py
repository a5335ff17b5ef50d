"""What every job receives: the tables it asked for, the journal snapshot, the clock, the settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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
class FormSettings:
    """A Google Form whose pre-filled links let a seeker answer in one click."""

    url: str
    code_entry: str
    answer_entry: str
    yes: str = "Oui"
    no: str = "Non"


@dataclass(frozen=True)
class JobSettings:
    cooperative: Cooperative
    mail_domain: str
    min_notice: timedelta = timedelta(days=2)
    session_title: str = "Réunion d'information collective"
    reminder_days: int = 2
    nudge_days: int = 2
    code_secret: bytes = b""
    form: FormSettings | None = None
    links: Mapping[str, str] = field(default_factory=dict)
    """Where people find the sheets ("suivi", "synthese"), shown in staff and advisor emails."""
    digest_weekday: int = 0
    digest_hour: int = 8
    names: Mapping[str, str] = field(default_factory=dict)
    """Sheet names by key, as configured: for sheets a job writes without reading them."""


@dataclass(frozen=True)
class JobInput:
    tables: Mapping[str, Table]
    journal: JournalFacts
    now: datetime
    """Local time in Europe/Paris, without tzinfo, like the dates people type in sheets."""
    settings: JobSettings
