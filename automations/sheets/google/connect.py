"""From the configuration to a connected store: the key file, the client, each sheet's spreadsheet.

The key file is read here, not by google-auth, so that each way it can be wrong (missing, a
folder, not JSON, a list, another kind of key) gets a sentence naming the file and the fix. A key
named nowhere, or at a path where there is nothing, is a configuration error (exit 2); a file that
is there but is not a usable key is a ``SheetAccessError`` (exit 1): the configuration is right,
the file must be replaced.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gspread
from google.oauth2 import service_account

from automations.errors import ConfigError, SheetAccessError
from automations.sheets.google.store import GoogleSheetStore
from automations.sheets.retry import Retry

if TYPE_CHECKING:
    from automations.config import Config

SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
REQUIRED = ("client_email", "private_key", "token_uri")
NOT_A_KEY = (
    "{path} n'est pas une clé de compte de service Google ({why}) : téléchargez une clé de type JSON "
    "pour le compte de service depuis la console Google Cloud et indiquez son chemin dans "
    "sheets.google.credentials_file."
)


def key_file(credentials_file: Path | None) -> Path:
    """The key named in the configuration, else by GOOGLE_APPLICATION_CREDENTIALS."""
    from_environment = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    path = credentials_file or (Path(from_environment) if from_environment else None)
    if path is None:
        raise ConfigError(
            "Aucune clé de compte de service Google : renseignez sheets.google.credentials_file dans la "
            "configuration, ou la variable d'environnement GOOGLE_APPLICATION_CREDENTIALS."
        )
    return path


def read_key(path: Path) -> dict[str, Any]:
    """The service account key as a JSON object, or a sentence saying what is wrong with the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"Le fichier de clé du compte de service {path} n'existe pas : vérifiez le chemin indiqué dans "
            "sheets.google.credentials_file (ou GOOGLE_APPLICATION_CREDENTIALS)."
        ) from None
    except IsADirectoryError:
        raise SheetAccessError(
            f"{path} est un dossier, pas un fichier de clé : indiquez dans sheets.google.credentials_file "
            "le chemin du fichier .json de la clé du compte de service."
        ) from None
    except PermissionError:
        raise SheetAccessError(
            f"Le fichier de clé {path} ne peut pas être lu : donnez à Passerelle le droit de le lire."
        ) from None
    except (OSError, UnicodeDecodeError):
        raise SheetAccessError(NOT_A_KEY.format(path=path, why="fichier illisible")) from None
    try:
        info = json.loads(text)
    except ValueError:
        raise SheetAccessError(NOT_A_KEY.format(path=path, why="ce n'est pas du JSON")) from None
    if not isinstance(info, dict):
        raise SheetAccessError(NOT_A_KEY.format(path=path, why="le JSON n'est pas un objet"))
    if info.get("type", "service_account") != "service_account":
        raise SheetAccessError(NOT_A_KEY.format(path=path, why=f"clé de type « {info['type']} »"))
    return info


def service_account_client(credentials_file: Path | None) -> tuple[gspread.Client, str]:
    """A gspread client for the service account key file, and the account's email address."""
    path = key_file(credentials_file)
    info = read_key(path)
    missing = [name for name in REQUIRED if not info.get(name)]
    if missing:
        raise SheetAccessError(NOT_A_KEY.format(path=path, why=f"il manque {', '.join(missing)}"))
    try:
        credentials = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
    except ValueError:
        raise SheetAccessError(NOT_A_KEY.format(path=path, why="clé privée illisible")) from None
    return gspread.Client(auth=credentials), credentials.service_account_email


def store_from_config(
    config: Config, sheet_names: Mapping[str, str], client: gspread.Client | None = None
) -> GoogleSheetStore:
    """The store for ``[sheets.google]``.

    ``sheet_names`` maps each logical sheet key ("orientations", "suivi"…) to its configured sheet
    name; keys listed in ``sheets.google.spreadsheets`` get their own spreadsheet.
    """
    google = config.sheets.google
    if client is None:
        client, email = service_account_client(google.credentials_file)
    else:
        email = ""
    by_name = {}
    for key, url in google.spreadsheets.items():
        if key not in sheet_names:
            raise ConfigError(
                f"{config.path} : sheets.google.spreadsheets nomme une feuille inconnue « {key} » "
                f"(feuilles connues : {', '.join(sheet_names)})."
            )
        by_name[sheet_names[key]] = url
    if not google.spreadsheet and set(by_name) != set(sheet_names.values()):
        raise ConfigError(
            f"{config.path} : renseignez sheets.google.spreadsheet avec l'adresse du classeur Google "
            "qui contient les feuilles."
        )
    return GoogleSheetStore(
        client,
        google.spreadsheet,
        by_name,
        service_account_email=email,
        retry=Retry(budget_seconds=google.retry_budget_seconds),
    )
