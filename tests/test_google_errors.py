"""Every way the Google edge can fail is one French sentence saying what to do, never a traceback.

The key files are real files; the token endpoint is a real local HTTP server (or a port nobody
listens on), reached by google-auth itself; the Sheets API is the fake (tests/fakes).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import gspread
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import exceptions as auth
from google.oauth2.credentials import Credentials

from automations import config as config_module
from automations.errors import ConfigError, SheetAccessError
from automations.schema import SPECS
from automations.sheets.google import GoogleSheetStore, Retry, store_from_config
from automations.sheets.google.errors import Where, translate
from tests.fakes.sheets_api import PREFIXES, make_adapter

ACCOUNT = "passerelle@agence-test.iam.gserviceaccount.com"
SHEET_NAMES = {key: spec.name for key, spec in SPECS.items()}


def config_with_key(folder: Path, key: Path) -> config_module.Config:
    path = folder / "passerelle.toml"
    path.write_text(
        '[sheets]\nbackend = "google"\n[sheets.google]\nspreadsheet = "abc"\n'
        f"credentials_file = {json.dumps(str(key))}\nretry_budget_seconds = 1\n",
        encoding="utf-8",
    )
    return config_module.load(path)


def service_account_key(token_uri: str) -> dict:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": "agence-test",
        "private_key_id": "0" * 40,
        "private_key": pem,
        "client_email": ACCOUNT,
        "client_id": "1",
        "token_uri": token_uri,
    }


# -- the key file --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "est un dossier, pas un fichier de clé"),
        ("[1, 2]", "le JSON n'est pas un objet"),
        ("nom,email\nAlix,a@b.fr\n", "ce n'est pas du JSON"),
        ('{"type": "authorized_user", "client_id": "x"}', "clé de type « authorized_user »"),
        ('{"type": "service_account", "client_email": "x@y"}', "il manque private_key, token_uri"),
    ],
)
def test_a_key_file_that_is_not_a_service_account_key_is_named_with_the_fix(tmp_path, content, says):
    key = tmp_path / "cle.json"
    if content is None:
        key.mkdir()
    else:
        key.write_text(content, encoding="utf-8")
    with pytest.raises(SheetAccessError) as error:  # the configuration is right: exit 1, not 2
        store_from_config(config_with_key(tmp_path, key), SHEET_NAMES)
    sentence = str(error.value)
    assert str(key) in sentence and says in sentence
    assert "sheets.google.credentials_file" in sentence


def test_a_missing_key_file_is_named(tmp_path):
    key = tmp_path / "absente.json"
    with pytest.raises(ConfigError, match=f"{key} n'existe pas"):
        store_from_config(config_with_key(tmp_path, key), SHEET_NAMES)


# -- the token endpoint --------------------------------------------------------------------------


class _RefusingTokenEndpoint(BaseHTTPRequestHandler):
    """Google's answer to a key it does not accept (a deleted key, a clock far off)."""

    hits = 0

    def do_POST(self) -> None:
        type(self).hits += 1
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def refusing_endpoint() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _RefusingTokenEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/token"
    server.shutdown()
    server.server_close()


def unreachable_endpoint() -> str:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    return f"http://127.0.0.1:{port}/token"  # closed again: nobody listens there


def store_with_token_endpoint(tmp_path, token_uri: str) -> GoogleSheetStore:
    key = tmp_path / "cle.json"
    key.write_text(json.dumps(service_account_key(token_uri)), encoding="utf-8")
    return store_from_config(config_with_key(tmp_path, key), SHEET_NAMES)


def test_an_unreachable_token_endpoint_is_a_network_problem_not_a_bad_key(tmp_path):
    store = store_with_token_endpoint(tmp_path, unreachable_endpoint())
    with pytest.raises(SheetAccessError) as error:
        store.read(["Orientations"])
    sentence = str(error.value)
    assert "service d'authentification de Google est injoignable" in sentence
    assert "vérifiez la connexion réseau" in sentence and "clé" not in sentence


def test_a_key_google_refuses_asks_for_a_new_key_for_the_account(tmp_path, refusing_endpoint):
    store = store_with_token_endpoint(tmp_path, refusing_endpoint)
    with pytest.raises(SheetAccessError) as error:
        store.read(["Orientations"])
    assert _RefusingTokenEndpoint.hits >= 1
    sentence = str(error.value)
    assert sentence.startswith(
        "Google refuse la clé du compte de service (invalid_grant: Invalid JWT Signature.)"
    )
    assert f"créez une nouvelle clé JSON pour {ACCOUNT}" in sentence


def refresh_failed_on_the_network() -> auth.RefreshError:
    """What google-auth raises when it wraps the connection error of a token request."""
    try:
        try:
            raise requests.ConnectionError("Connection reset by peer")
        except requests.ConnectionError as cause:
            raise auth.RefreshError("Failed to retrieve token") from cause
    except auth.RefreshError as error:
        return error


@pytest.mark.parametrize(
    "failure", [auth.TransportError("Connection refused"), refresh_failed_on_the_network()]
)
def test_a_token_request_that_failed_on_the_network_is_a_network_problem(failure):
    sentence = str(translate(failure, Where("clé-du-classeur", "rien n'a été lu", ACCOUNT)))
    assert "injoignable" in sentence and "rien n'a été lu" in sentence and "nouvelle clé" not in sentence


# -- what the Sheets API refuses -----------------------------------------------------------------


@pytest.fixture
def adapter():
    return make_adapter()


@pytest.fixture
def store(adapter) -> GoogleSheetStore:
    client = gspread.Client(auth=Credentials(token="fake"))
    for prefix in PREFIXES:
        client.http_client.session.mount(prefix, adapter)
    book = adapter.create_spreadsheet("Agence", sheets=["Orientations"])
    return GoogleSheetStore(client, book.id, service_account_email=ACCOUNT, retry=Retry(budget_seconds=1))


def test_a_403_for_an_api_not_enabled_says_to_enable_it_in_the_project(adapter, store):
    adapter.disabled_in_project = "123456789012"
    with pytest.raises(SheetAccessError) as error:
        store.read(["Orientations"])
    sentence = str(error.value)
    assert "activez l'API Google Sheets dans le projet 123456789012" in sentence
    assert (
        "https://console.developers.google.com/apis/api/sheets.googleapis.com/overview?project=" in sentence
    )
    assert "partagez" not in sentence


def test_a_403_without_access_says_which_address_to_share_the_spreadsheet_with(adapter, store):
    adapter.spreadsheet(store.default_key).accessible = False
    with pytest.raises(SheetAccessError) as error:
        store.read(["Orientations"])
    assert f"partagez le classeur avec {ACCOUNT} en tant qu'éditeur" in str(error.value)


def test_server_errors_that_do_not_end_give_up_within_the_budget(adapter, store):
    adapter.fail_next(503, times=None)
    with pytest.raises(
        SheetAccessError, match=r"a échoué à chaque essai .*\(503, .* rien n'a été lu ; relancez plus tard"
    ):
        store.read(["Orientations"])


def test_a_spreadsheet_url_that_is_not_one_is_a_configuration_error(adapter):
    client = gspread.Client(auth=Credentials(token="fake"))
    with pytest.raises(ConfigError, match="n'est ni l'adresse d'un classeur Google Sheets ni sa clé"):
        GoogleSheetStore(client, "https://example.org/pas-un-classeur")


def test_an_unknown_sheet_in_spreadsheets_is_named_in_french(tmp_path, adapter):
    path = tmp_path / "passerelle.toml"
    path.write_text(
        '[sheets]\nbackend = "google"\n[sheets.google]\nspreadsheet = "abc"\n'
        'spreadsheets = { inconnue = "x" }\n',
        encoding="utf-8",
    )
    client = gspread.Client(auth=Credentials(token="fake"))
    with pytest.raises(
        ConfigError, match=r"sheets\.google\.spreadsheets nomme une feuille inconnue « inconnue »"
    ):
        store_from_config(config_module.load(path), SHEET_NAMES, client=client)
