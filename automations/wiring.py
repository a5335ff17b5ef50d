"""Configuration → the edges of a run: sheet store, mail transport, renderer, sender, settings.

The one place that turns a validated ``Config`` into the objects a run works with, so `run`,
`check`, `preview`, `purge`, `setup` and the tests all build them the same way.
"""

from __future__ import annotations

import os
import secrets
from email.headerregistry import Address
from pathlib import Path

import automations
from automations import schema
from automations.config import Config
from automations.errors import ConfigError
from automations.mail.base import Transport
from automations.mail.outbox import OutboxTransport
from automations.mail.recording import RecordingTransport
from automations.mail.render import Renderer
from automations.schema import SheetSpec
from automations.settings import Settings
from automations.sheets.base import SheetStore


def specs(config: Config) -> dict[str, SheetSpec]:
    unknown = (set(config.sheets.names) | set(config.sheets.headers)) - set(schema.SPECS)
    if unknown:
        raise ConfigError(
            f"{config.path} : sheets.names ou sheets.headers nomme une feuille inconnue "
            f"« {sorted(unknown)[0]} » (feuilles connues : {', '.join(schema.SPECS)})."
        )
    return {
        key: spec.renamed(config.sheets.names.get(key), config.sheets.headers.get(key, {}))
        for key, spec in schema.SPECS.items()
    }


def sheet_names(config: Config) -> dict[str, str]:
    return {key: spec.name for key, spec in specs(config).items()}


def make_store(config: Config) -> SheetStore:
    if config.sheets.backend == "google":
        from automations.sheets.google import store_from_config

        return store_from_config(config, sheet_names(config))
    from automations.sheets.workbook import WorkbookStore

    return WorkbookStore(config.sheets.workbook)


def view_places(config: Config) -> dict[str, str]:
    """Each advisor's view, by case-folded email: as configured for Google (URL or key), as an
    absolute path for a workbook (relative to the configuration file, like every path)."""
    places = {}
    for email, place in config.advisor_views.items():
        if config.sheets.backend == "workbook":
            place = str((config.path.parent / Path(place.strip()).expanduser()).resolve())
        places[email.strip().casefold()] = place
    return places


def view_stores(config: Config, main: SheetStore) -> dict[str, SheetStore]:
    """A store per advisor's view ([advisor_views]); for Google, through ``main``'s account when it is
    a Google store (one client, one key file read), else through the key the configuration names.

    A view in the run's own spreadsheet or workbook would overwrite « Synthèse » with one advisor's
    part, or let one advisor read everyone's: refused, naming the view."""
    places = view_places(config)
    if not places:
        return {}
    if config.sheets.backend == "google":
        from automations.sheets.google import GoogleSheetStore, spreadsheet_key, store_from_config

        google = (
            main if isinstance(main, GoogleSheetStore) else store_from_config(config, sheet_names(config))
        )
        configured = config.sheets.google
        own = {spreadsheet_key(p) for p in (configured.spreadsheet, *configured.spreadsheets.values()) if p}
        for email, place in places.items():
            if spreadsheet_key(place) in own:
                raise ConfigError(_own_place(config, email))
        _one_each(config, {email: spreadsheet_key(place) for email, place in places.items()})
        return {email: google.elsewhere(place) for email, place in places.items()}
    from automations.sheets.workbook import WorkbookStore

    for email, place in places.items():
        if Path(place) == config.sheets.workbook:
            raise ConfigError(_own_place(config, email))
    _one_each(config, places)
    return {email: WorkbookStore(Path(place), create=True) for email, place in places.items()}


def _own_place(config: Config, email: str) -> str:
    return (
        f"{config.path} : advisor_views donne à {email} le classeur des feuilles de Passerelle : "
        "la vue d'une conseillère ou d'un conseiller doit être un classeur à part, qui ne contient que "
        "ses personnes."
    )


def _one_each(config: Config, places: dict[str, str]) -> None:
    """Two advisors given one view would each read the other's people there."""
    seen: dict[str, str] = {}
    for email, place in places.items():
        if place in seen:
            raise ConfigError(
                f"{config.path} : advisor_views donne le même classeur à {seen[place]} et à {email} : "
                "chaque conseillère ou conseiller a sa propre vue, qui ne contient que ses personnes."
            )
        seen[place] = email


def view_stand_ins(config: Config) -> dict[str, SheetStore]:
    """Empty in-memory views, for a dry run or `check`: a view is rewritten whole, never read."""
    from automations.sheets.memory import MemoryStore

    return {email: MemoryStore() for email in view_places(config)}


def make_transport(config: Config) -> Transport:
    if config.mail.transport == "smtp":
        from automations.mail.smtp import transport_from_config

        return transport_from_config(config)
    return OutboxTransport(config.mail.outbox)


def stand_in_transport(config: Config) -> RecordingTransport:
    """A dry run's transport: records, sends nothing, and tells of an email a stopped run left
    "pending" what the configured transport will tell the real run (without connecting to it)."""
    if config.mail.transport == "smtp":
        return RecordingTransport()
    return RecordingTransport(OutboxTransport(config.mail.outbox).delivered)


def bundled_templates() -> Path:
    package = Path(automations.__file__).parent
    for candidate in (package / "templates" / "emails", package.parent / "templates" / "emails"):
        if candidate.is_dir():
            return candidate
    return package / "templates" / "emails"


def make_renderer(config: Config) -> Renderer:
    return Renderer(config.mail.templates or bundled_templates())


def sender(config: Config) -> Address:
    return Address(config.mail.sender_name, addr_spec=config.mail.sender_address)


def code_secret(config: Config) -> bytes:
    """The secret answer Codes derive from: a file named in the config, else one made once."""
    if config.answers.secret_file:
        try:
            return config.answers.secret_file.read_bytes().strip()
        except OSError as error:
            raise ConfigError(
                f"{config.path} : le fichier answers.secret_file ne peut pas être lu ({error.strerror})."
            ) from None
    path = config.state_dir / "code-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".code-secret-{os.getpid()}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as stream:
            stream.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)  # atomic, and never replaces a secret that codes were sent with
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    return path.read_bytes().strip()


def settings(config: Config) -> Settings:
    answers = config.answers
    if answers.form_url and not (answers.code_entry and answers.answer_entry):
        raise ConfigError(
            f"{config.path} : answers.form_url demande aussi answers.code_entry et answers.answer_entry."
        )
    return Settings.of(config, code_secret(config), sheet_names(config))
