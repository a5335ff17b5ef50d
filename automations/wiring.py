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


def make_transport(config: Config) -> Transport:
    if config.mail.transport == "smtp":
        from automations.mail.smtp import transport_from_config

        return transport_from_config(config)
    return OutboxTransport(config.mail.outbox)


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
