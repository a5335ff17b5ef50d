"""The configuration file (TOML) as frozen dataclasses, validated when loaded.

Every mistake is one sentence naming the file and the key: an unknown key, a wrong type, a
missing file. Relative paths are relative to the configuration file, so a config works from any
working directory. Secrets never live here: only the names of environment variables or files
that hold them.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from automations.errors import ConfigError

ENV_VAR = "PASSERELLE_CONFIG"
DEFAULT_PATH = Path("config/passerelle.toml")


@dataclass(frozen=True)
class CooperativeConfig:
    name: str = "L'Ouvre-Boîtes"
    email: str = "contact@ouvre-boites.example"
    phone: str = ""
    website: str = ""


@dataclass(frozen=True)
class GoogleConfig:
    credentials_file: Path | None = None
    """Service-account key; else $GOOGLE_APPLICATION_CREDENTIALS."""
    spreadsheet: str = ""
    """URL or key of the spreadsheet holding every sheet not listed in ``spreadsheets``."""
    spreadsheets: dict[str, str] = field(default_factory=dict)
    """Per logical sheet (orientations, reunions, suivi…): URL or key of its own spreadsheet."""
    retry_budget_seconds: float = 120.0


@dataclass(frozen=True)
class SheetsConfig:
    backend: Literal["workbook", "google"] = "workbook"
    workbook: Path = Path("passerelle.xlsx")
    names: dict[str, str] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    google: GoogleConfig = field(default_factory=GoogleConfig)


@dataclass(frozen=True)
class SmtpConfig:
    host: str = "localhost"
    port: int = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username_env: str = ""
    password_env: str = ""
    ca_file: Path | None = None
    timeout_seconds: float = 30.0
    rate_per_minute: int = 0
    bounce_address: str = ""
    """Envelope sender (where bounces go); the From address when empty."""
    local_hostname: str = ""
    """Name given in EHLO; the machine's name when empty."""


@dataclass(frozen=True)
class MailConfig:
    transport: Literal["outbox", "smtp"] = "outbox"
    outbox: Path = Path("outbox")
    sender_name: str = "L'Ouvre-Boîtes"
    sender_address: str = "contact@ouvre-boites.example"
    domain: str = "ouvre-boites.example"
    """Used in Message-ID and calendar UIDs."""
    templates: Path | None = None
    """Folder of email templates; the bundled French ones when absent."""
    smtp: SmtpConfig = field(default_factory=SmtpConfig)


@dataclass(frozen=True)
class InvitationsConfig:
    min_notice_days: int = 2
    session_title: str = "Réunion d'information collective"


@dataclass(frozen=True)
class AnswersConfig:
    """How seekers answer an invitation: by email, or in one click through a Google Form."""

    secret_file: Path | None = None
    """Holds the secret the answer Codes derive from; generated in the state folder when absent."""
    form_url: str = ""
    """The form's "viewform" address; empty for no form (seekers answer by email)."""
    code_entry: str = ""
    """The pre-fill id of the form's Code question, e.g. "entry.1234567"."""
    answer_entry: str = ""
    yes: str = "Oui, je viendrai"
    no: str = "Non, je ne pourrai pas"


@dataclass(frozen=True)
class FollowUpConfig:
    reminder_days: int = 2
    """"rappel" this many days before the session."""
    nudge_days: int = 2
    """"rappel_suivi" to the session's contact when Présence is still empty this many days after."""
    digest_weekday: int = 0
    """Advisors' weekly digest: 0 = Monday … 6 = Sunday, from ``digest_hour`` on."""
    digest_hour: int = 8
    suivi_link: str = ""
    """Where staff open "Suivi" (a URL), shown in their reminder."""
    synthese_link: str = ""
    """Where advisors open "Synthèse", shown in their digest."""


_EVERY_QUARTER = "every 15 minutes from 07:00 to 20:00"


@dataclass(frozen=True)
class ScheduleConfig:
    """When `passerelle serve` runs each job, in Europe/Paris time (see automations/scheduler.py):
    "every 15 minutes from 07:00 to 20:00", "daily at 09:00" (or "daily at 09:00, 14:00"),
    "monday at 08:00", or "off"."""

    invitations: str = _EVERY_QUARTER
    rsvp: str = _EVERY_QUARTER
    reminders: str = "daily at 09:00"
    followups: str = "daily at 09:00"
    suivi: str = _EVERY_QUARTER
    summary: str = _EVERY_QUARTER
    digests: str = "monday at 08:00"


@dataclass(frozen=True)
class Config:
    path: Path
    state_dir: Path = Path("state")
    cooperative: CooperativeConfig = field(default_factory=CooperativeConfig)
    sheets: SheetsConfig = field(default_factory=SheetsConfig)
    mail: MailConfig = field(default_factory=MailConfig)
    invitations: InvitationsConfig = field(default_factory=InvitationsConfig)
    answers: AnswersConfig = field(default_factory=AnswersConfig)
    followups: FollowUpConfig = field(default_factory=FollowUpConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)


def locate(explicit: str | os.PathLike | None) -> Path:
    """--config, else $PASSERELLE_CONFIG, else config/passerelle.toml."""
    return Path(explicit or os.environ.get(ENV_VAR) or DEFAULT_PATH)


def load(path: Path) -> Config:
    if not path.is_file():
        raise ConfigError(
            f"No configuration file at {path}: pass --config FILE, set ${ENV_VAR}, "
            "or run `passerelle demo` to see a working one."
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path} is not valid TOML: {error}.") from None
    return relative_defaults(
        _build(Config, {**data, "path": str(path.resolve())}, _Where(path.resolve(), ""))
    )


@dataclass(frozen=True)
class _Where:
    file: Path
    key: str

    def child(self, key: str) -> _Where:
        return _Where(self.file, f"{self.key}.{key}" if self.key else key)

    def fail(self, problem: str) -> typing.NoReturn:
        raise ConfigError(f"{self.file}: {self.key} {problem}.")


def _build(cls: type, data: Any, where: _Where) -> Any:
    if not isinstance(data, dict):
        where.fail("must be a table ([section])")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        known = ", ".join(sorted(names - {"path"}))
        where.child(unknown[0]).fail(f"is not a known setting (known here: {known})")
    values = {name: _convert(hints[name], value, where.child(name)) for name, value in data.items()}
    return cls(**values)


def _convert(hint: Any, value: Any, where: _Where) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [h for h in typing.get_args(hint) if h is not type(None)]
        return _convert(inner[0], value, where)
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            where.fail(f"must be one of {', '.join(map(repr, choices))}, not {value!r}")
        return value
    if origin is dict:
        if not isinstance(value, dict):
            where.fail("must be a table of names")
        value_hint = typing.get_args(hint)[1]
        return {str(k): _convert(value_hint, v, where.child(str(k))) for k, v in value.items()}
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    if hint is Path:
        if not isinstance(value, str) or not value:
            where.fail("must be a path written as text")
        return (where.file.parent / Path(value).expanduser()).resolve()
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        where.fail(f"must be {_TYPE_NAMES.get(hint, hint.__name__)}, not {value!r}")
    return value


_TYPE_NAMES = {str: "text in quotes", int: "a whole number", float: "a number", bool: "true or false"}


def relative_defaults(config: Config) -> Config:
    """Defaults for paths are relative to the config file too, not to the working directory."""
    base = config.path.parent

    def anchor(p: Path) -> Path:
        return p if p.is_absolute() else (base / p).resolve()

    return dataclasses.replace(
        config,
        state_dir=anchor(config.state_dir),
        sheets=dataclasses.replace(config.sheets, workbook=anchor(config.sheets.workbook)),
        mail=dataclasses.replace(config.mail, outbox=anchor(config.mail.outbox)),
    )
