"""What gspread, requests and google-auth raise, as one French sentence saying what to do.

``FAILURES`` is read top to bottom: the first row whose test holds for an exception gives the
sentence. Everything the Google backend lets out is a ``SheetAccessError`` from here, or one of
Passerelle's own errors raised on purpose; an exception no row knows is a bug and stays loud.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gspread
import requests
from google.auth import exceptions as auth

from automations.errors import SheetAccessError
from automations.sheets.google.requests import quote
from automations.sheets.retry import GaveUp

SHEETS_LIBRARY = "https://console.cloud.google.com/apis/library/sheets.googleapis.com"
NETWORK = (requests.ConnectionError, requests.Timeout, auth.TransportError)


@dataclass(frozen=True)
class Where:
    """What the sentence names: the spreadsheet, what the failure left undone, the account."""

    key: str
    consequence: str
    account: str


# -- what Google said ----------------------------------------------------------------------------


def _status(error: BaseException) -> int | None:
    return error.response.status_code if isinstance(error, gspread.exceptions.APIError) else None


def _body(error: BaseException) -> dict[str, Any]:
    """The ``error`` object of Google's JSON answer; empty if there is none."""
    if not isinstance(error, gspread.exceptions.APIError):
        return {}
    try:
        body = error.response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return {}
    return body if isinstance(body, dict) else {}


def message(error: gspread.exceptions.APIError) -> str:
    return str(_body(error).get("message") or error.response.text[:200])


def _disabled_api(error: BaseException) -> bool:
    """The Sheets API is off for the key's Cloud project (recorded by Google as SERVICE_DISABLED)."""
    if _status(error) != 403:
        return False
    body = _body(error)
    reasons = {d.get("reason") for d in body.get("details", []) if isinstance(d, dict)}
    reasons |= {e.get("reason") for e in body.get("errors", []) if isinstance(e, dict)}
    text = str(body.get("message", ""))
    return bool(reasons & {"SERVICE_DISABLED", "accessNotConfigured"}) or bool(
        re.search(r"has not been used in project .* or it is disabled", text)
    )


def _project(error: BaseException) -> tuple[str, str]:
    """The Cloud project whose API is off, and the page that turns it on."""
    body = _body(error)
    info = next((d for d in body.get("details", []) if isinstance(d, dict) and "metadata" in d), {})
    metadata = info.get("metadata", {})
    found = re.search(r"in project (\S+)", str(body.get("message", "")))
    project = str(metadata.get("consumer", "")).removeprefix("projects/") or (found.group(1) if found else "")
    link = re.search(r"https://\S+?project=[\w-]+", str(body.get("message", "")))
    url = metadata.get("activationUrl") or (link.group(0) if link else SHEETS_LIBRARY)
    return project or "du compte de service", url


def _network(error: BaseException) -> bool:
    """A connection that failed, even where google-auth wraps it in a RefreshError."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, NETWORK) or any(isinstance(arg, NETWORK) for arg in seen.args):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def retryable(error: Exception) -> bool:
    """Worth another attempt: a quota (429), a server error (5xx), a dropped connection."""
    status = _status(error)
    if status is not None:
        return status == 429 or 500 <= status < 600
    return isinstance(error, requests.ConnectionError | requests.Timeout)


def rejected(error: Exception) -> bool:
    """Refused before anything happened (429): the only failure after which an append is repeated."""
    return _status(error) == 429


# -- the sentences -------------------------------------------------------------------------------


def _what(error: Exception) -> str:
    status = _status(error)
    if status == 429:
        return "429, quota dépassé"
    return str(status) if status else f"réseau : {type(error).__name__}"


def _reason(error: BaseException) -> str:
    """google-auth's own words (its first argument; the second is the raw answer)."""
    return str(error.args[0]) if error.args else type(error).__name__


def _enable_the_api(project: str, url: str) -> str:
    return (
        f"L'API Google Sheets n'est pas activée pour le projet Google Cloud {project} : activez l'API "
        f"Google Sheets dans le projet {project} ({url}), attendez quelques minutes puis relancez."
    )


Sentence = Callable[[BaseException, Where], str]

FAILURES: list[tuple[Callable[[BaseException], bool], Sentence]] = [
    (_disabled_api, lambda e, w: _enable_the_api(*_project(e))),
    (
        lambda e: _status(e) == 403,
        lambda e, w: (
            f"Google refuse l'accès au classeur {w.key} : partagez le classeur avec {w.account} "
            "en tant qu'éditeur, puis relancez."
        ),
    ),
    (
        lambda e: _status(e) == 404,
        lambda e, w: (
            f"Aucun classeur Google n'a la clé {w.key} : vérifiez sheets.google.spreadsheet "
            "et sheets.google.spreadsheets dans la configuration (copiez l'adresse depuis le navigateur)."
        ),
    ),
    (
        lambda e: 500 <= (_status(e) or 0) < 600,
        lambda e, w: (
            f"Google Sheets a échoué ({_status(e)}) pour le classeur {w.key} : {w.consequence} ; "
            "la prochaine exécution vérifiera ce qui a été fait."
        ),
    ),
    (
        lambda e: _status(e) is not None,
        lambda e, w: (
            f"Google Sheets a refusé une requête sur le classeur {w.key} ({_status(e)} : "
            f"{message(e)}) : {w.consequence}."
        ),
    ),
    (
        lambda e: _network(e) and isinstance(e, auth.GoogleAuthError),
        lambda e, w: (
            "Le service d'authentification de Google est injoignable : "
            f"{w.consequence} ; vérifiez la connexion réseau (ou le proxy) puis relancez."
        ),
    ),
    (
        _network,
        lambda e, w: (
            f"Google Sheets est injoignable pour le classeur {w.key} ({type(e).__name__}) : "
            f"{w.consequence} ; vérifiez la connexion réseau (ou le proxy) puis relancez."
        ),
    ),
    (
        lambda e: isinstance(e, auth.GoogleAuthError),
        lambda e, w: (
            f"Google refuse la clé du compte de service ({_reason(e)}) : créez une nouvelle clé JSON pour "
            f"{w.account} et indiquez son chemin dans sheets.google.credentials_file."
        ),
    ),
]


def translate(error: Exception, where: Where) -> SheetAccessError | None:
    """The sentence for ``error``, or ``None`` if it is not a failure of Google's edge."""
    if isinstance(error, GaveUp):
        return SheetAccessError(
            f"Google Sheets a échoué à chaque essai pour le classeur {where.key} ({_what(error.last)}, "
            f"{error.attempts} essais en {error.elapsed:.0f} s) : {where.consequence} ; relancez plus tard."
        )
    for test, sentence in FAILURES:
        if test(error):
            return SheetAccessError(sentence(error, where))
    return None


def unparsed_sheet(error: Exception, names: Sequence[str]) -> str | None:
    """The sheet named in a 400 "Unable to parse range: 'X'" answer, if it is one of ``names``."""
    if _status(error) != 400:
        return None
    match = re.match(r"Unable to parse range: (.*)$", message(error))
    if not match:
        return None
    for name in names:
        if match.group(1) in (quote(name), name) or match.group(1).startswith(quote(name) + "!"):
            return name
    return None
