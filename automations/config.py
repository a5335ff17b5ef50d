"""The configuration file (TOML) as frozen dataclasses, validated once, when loaded.

Every mistake is one French sentence naming the file and the key: an unknown key, a wrong type, a
value out of its bounds, a missing file. Bounds are declared beside each field
(``Annotated[int, at_least(0)]``) and checked in the same pass as types, so the code that reads a
section trusts it as it is and never re-checks or re-types it. Relative paths are relative to the
configuration file, so a config works from any working directory. Secrets never live here: only
the names of environment variables or files that hold them.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from automations.errors import ConfigError

ENV_VAR = "PASSERELLE_CONFIG"
DEFAULT_PATH = Path("config/passerelle.toml")


@dataclass(frozen=True)
class Bound:
    """A condition a value must meet, and how to say it in French after « doit être »."""

    holds: Callable[[Any], bool]
    requirement: str


def at_least(low: int) -> Bound:
    return Bound(lambda value: value >= low, f"supérieur ou égal à {low}")


def between(low: int, high: int) -> Bound:
    return Bound(lambda value: low <= value <= high, f"compris entre {low} et {high}")


MONTHS = Bound(
    lambda value: bool(value) and all(1 <= m <= 120 for m in value) and list(value) == sorted(set(value)),
    "une liste non vide de nombres de mois entre 1 et 120, croissants, par exemple [3, 6, 12]",
)
ADDRESSES = Bound(
    lambda value: all("@" in address and " " not in address.strip() for address in value.values()),
    'une table nom = adresse email, par exemple { "Karim Benhamou" = "karim@exemple.fr" }',
)
ADVISOR_VIEWS = Bound(
    lambda value: (
        all("@" in mail and " " not in mail.strip() and place.strip() for mail, place in value.items())
        and len({mail.strip().casefold() for mail in value}) == len(value)
    ),
    "une table adresse email de la conseillère ou du conseiller = classeur Google (adresse ou clé) ou "
    "fichier .xlsx, une fois par adresse, par exemple "
    '{ "sophie.legoff@agence.example" = "vues/sophie.xlsx" }',
)
POSITIVE = Bound(lambda value: value > 0, "strictement positif")
HOST_NAME = Bound(
    lambda value: bool(value) and not any(c.isspace() for c in value), "un nom d'hôte non vide, sans espace"
)


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
    retry_budget_seconds: Annotated[float, POSITIVE] = 120.0


@dataclass(frozen=True)
class SheetsConfig:
    backend: Literal["workbook", "google"] = "workbook"
    workbook: Path = Path("passerelle.xlsx")
    names: dict[str, str] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    google: GoogleConfig = field(default_factory=GoogleConfig)


DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to hand emails over (automations/mail/smtp reads it as it is)."""

    host: Annotated[str, HOST_NAME] = "localhost"
    port: Annotated[int, between(1, 65535)] | None = None
    """587 for starttls, 465 for tls, 25 for none when absent."""
    security: Literal["starttls", "tls", "none"] = "starttls"
    username_env: str = ""
    """Names of the environment variables holding the login; both or neither."""
    password_env: str = ""
    ca_file: Path | None = None
    """Replaces the system's authorities with a private one; verification cannot be turned off."""
    timeout_seconds: Annotated[float, POSITIVE] = 30.0
    rate_per_minute: Annotated[int, at_least(0)] = 0
    """At most that many messages in any 60 seconds; 0 for no limit."""
    bounce_address: str = ""
    """Envelope sender (where bounces go); the From address when empty."""
    local_hostname: str = ""
    """Name given in EHLO; the machine's name when empty."""

    @property
    def server_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]

    def inconsistencies(self) -> Iterator[tuple[str, str]]:
        if bool(self.username_env) != bool(self.password_env):
            yield (
                "username_env" if not self.username_env else "password_env",
                "manque : l'authentification SMTP demande à la fois username_env et password_env "
                "(les noms des deux variables d'environnement), ou aucun des deux pour un relais local",
            )
        if self.username_env and self.security == "none":
            yield (
                "security",
                '= "none" ne peut pas servir avec un identifiant : Passerelle n\'envoie jamais de mot de '
                'passe sur une connexion non chiffrée ; mettez "starttls" ou "tls", ou retirez '
                "username_env et password_env pour un relais local",
            )


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
    min_notice_days: Annotated[int, at_least(0)] = 2
    session_title: str = "Réunion d'information collective"
    waiting_alert_days: Annotated[int, at_least(1)] = 7
    """The cooperative hears when people wait this long and no session has a seat (weekly at most)."""


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
    no: str = "Non, pas à cette date"
    withdraw: str = "Je ne suis plus intéressé·e"


@dataclass(frozen=True)
class FollowUpConfig:
    reminder_days: Annotated[int, at_least(0)] = 2
    """"rappel" this many days before the session."""
    nudge_days: Annotated[int, at_least(0)] = 2
    """"rappel_presences" to the session's contact when Présence is still empty this many days after."""
    digest_weekday: Annotated[int, between(0, 6)] = 0
    """Advisors' weekly digest: 0 = Monday … 6 = Sunday, from ``digest_hour`` on."""
    digest_hour: Annotated[int, between(0, 23)] = 8
    presences_link: str = ""
    """Where staff open « Présences » (a URL), shown in "rappel_presences"."""
    suivi_link: str = ""
    """Where staff open « Suivi » (a URL), shown in their checkpoint reminders."""
    synthese_link: str = ""
    """Where advisors open "Synthèse", shown in their digest."""


@dataclass(frozen=True)
class CheckpointsConfig:
    """Points d'étape after the CAPE (PRODUCT.md §3 "checkpoints")."""

    months: Annotated[tuple[int, ...], MONTHS] = (3, 6, 12)
    """Months after « Date CAPE » at which each entrepreneur's row is due for an update."""
    accompagnateurs: Annotated[dict[str, str], ADDRESSES] = field(default_factory=dict)
    """« Accompagnateur·rice » as written in « Suivi » → their email address: the weekly
    "point_etape" goes to them; rows of anyone not listed (or blank) go to the cooperative."""


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
    checkpoints: CheckpointsConfig = field(default_factory=CheckpointsConfig)
    advisor_views: Annotated[dict[str, str], ADVISOR_VIEWS] = field(default_factory=dict)
    """Advisor email → their own view of « Synthèse », restricted to their people: a Google spreadsheet
    (URL or key) with the Google backend, a workbook file (relative to this file) with the workbook
    backend. Rewritten by the summary job; read and written nowhere else."""
    schedule: dict[str, str] = field(default_factory=dict)
    """Job name → when `passerelle serve` runs it, overriding the job's default; the job names and
    rules are checked by automations/scheduler.py, which knows the jobs (this module must not)."""


def locate(explicit: str | os.PathLike | None) -> Path:
    """--config, else $PASSERELLE_CONFIG, else config/passerelle.toml."""
    return Path(explicit or os.environ.get(ENV_VAR) or DEFAULT_PATH)


def load(path: Path) -> Config:
    if not path.is_file():
        raise ConfigError(
            f"Aucun fichier de configuration à {path} : indiquez --config FICHIER, définissez "
            f"${ENV_VAR}, ou lancez `passerelle demo` pour en voir un qui fonctionne."
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"{path} n'est pas un fichier TOML valide ({error}) : corrigez la ligne indiquée."
        ) from None
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
        where.fail("doit être une table ([section])")
    hints = typing.get_type_hints(cls, include_extras=True)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        known = ", ".join(sorted(names - {"path"}))
        where.child(unknown[0]).fail(f"n'est pas un réglage connu (réglages connus ici : {known})")
    values = {name: _convert(hints[name], value, where.child(name)) for name, value in data.items()}
    section = cls(**values)
    for key, problem in getattr(section, "inconsistencies", tuple)():
        where.child(key).fail(problem)
    return section


def _convert(hint: Any, value: Any, where: _Where) -> Any:
    origin = typing.get_origin(hint)
    if origin is Annotated:
        inner, *bounds = typing.get_args(hint)
        converted = _convert(inner, value, where)
        for bound in bounds:
            if not bound.holds(converted):
                where.fail(f"doit être {bound.requirement}, pas {value!r}")
        return converted
    if origin in (typing.Union, types.UnionType):
        inner = [h for h in typing.get_args(hint) if h is not type(None)]
        return _convert(inner[0], value, where)
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            *others, last = map(repr, choices)
            where.fail(f"doit valoir {', '.join(others)} ou {last}, pas {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            where.fail(f"doit être une liste entre crochets, pas {value!r}")
        item = typing.get_args(hint)[0]
        return tuple(_convert(item, v, where) for v in value)
    if origin is dict:
        if not isinstance(value, dict):
            where.fail("doit être une table de noms")
        value_hint = typing.get_args(hint)[1]
        return {str(k): _convert(value_hint, v, where.child(str(k))) for k, v in value.items()}
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    if hint is Path:
        if not isinstance(value, str) or not value:
            where.fail("doit être un chemin écrit entre guillemets")
        return (where.file.parent / Path(value).expanduser()).resolve()
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        where.fail(f"doit être {_TYPE_NAMES.get(hint, hint.__name__)}, pas {value!r}")
    return value


_TYPE_NAMES = {
    str: "du texte entre guillemets",
    int: "un nombre entier",
    float: "un nombre",
    bool: "true ou false",
}


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
