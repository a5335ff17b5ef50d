"""The fake Sheets API against Google's recorded answers, and its own test controls.

The first part replays HTTP exchanges recorded between gspread's test suite and the real Sheets
v4 / Drive v3 APIs (``../shared/reference/gspread-cassettes``) against the fake, request by
request, and compares the answers: status, every key present or absent, range strings, values.
Only identifiers Google generates (spreadsheet, sheet and protected range ids) and timestamps are
mapped; the theme and default format blobs are compared by presence.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path
from typing import Any

import gspread
import pytest
import requests
from google.oauth2.credentials import Credentials

from tests.fakes.sheets_api import PREFIXES, FakeSheetsAdapter, make_adapter

CASSETTES = Path(__file__).resolve().parents[2] / "shared" / "reference" / "gspread-cassettes"

# Recordings of what Passerelle does through gspread: open by key, metadata, add/delete sheets,
# values get / batchGet / update / batchUpdate / append / clear / batchClear, render and input
# options, freeze, data validation, protected ranges, create/delete, 403/404 and 400 errors.
RELEVANT = [
    "ClientTest.test_access_non_existing_spreadsheet",
    "ClientTest.test_access_private_spreadsheet",
    "ClientTest.test_create",
    "ClientTest.test_open_by_key_has_metadata",
    "SpreadsheetTest.test_add_del_worksheet",
    "SpreadsheetTest.test_get_worksheet",
    "SpreadsheetTest.test_sheet1",
    "SpreadsheetTest.test_timezone_and_locale",
    "SpreadsheetTest.test_values_batch_get",
    "SpreadsheetTest.test_values_get",
    "SpreadsheetTest.test_worksheets",
    "WorksheetTest.test_acell",
    "WorksheetTest.test_add_protected_range_normal",
    "WorksheetTest.test_add_protected_range_warning",
    "WorksheetTest.test_add_validation",
    "WorksheetTest.test_append_row",
    "WorksheetTest.test_append_row_with_empty_value",
    "WorksheetTest.test_append_row_with_empty_value_and_table_range",
    "WorksheetTest.test_batch_clear",
    "WorksheetTest.test_batch_get",
    "WorksheetTest.test_batch_update",
    "WorksheetTest.test_clear",
    "WorksheetTest.test_freeze",
    "WorksheetTest.test_get_all_records_numericise_unformatted",
    "WorksheetTest.test_get_all_records_value_render_options",
    "WorksheetTest.test_get_all_values",
    "WorksheetTest.test_get_all_values_date_time_render_options",
    "WorksheetTest.test_get_all_values_title_is_a1_notation",
    "WorksheetTest.test_insert_row",
    "WorksheetTest.test_range_reversed",
    "WorksheetTest.test_range_unbounded",
    "WorksheetTest.test_update_acell",
    "WorksheetTest.test_update_and_get",
    "WorksheetTest.test_update_cell",
    "WorksheetTest.test_update_cells",
    "WorksheetTest.test_update_cells_noncontiguous",
    "WorksheetTest.test_get_all_records",
    "WorksheetTest.test_get_all_records_with_some_values_blank",
    "WorksheetTest.test_get_values_and_maintain_size",
    "WorksheetTest.test_find",
]

needs_cassettes = pytest.mark.skipif(
    not CASSETTES.is_dir(),
    reason=f"the recorded Google answers are not at {CASSETTES} (../shared/reference is absent)",
)

GENERATED_IDS = ("sheetId", "protectedRangeId", "chartId")
TIMESTAMPS = ("createdTime", "modifiedTime")
BLOBS = ("defaultFormat", "spreadsheetTheme")
RECORDING_ACCOUNT = "telegram-budgeter@telegram-budgeter.iam.gserviceaccount.com"


class Replay:
    """Sends recorded requests to the fake, learning how recorded ids map to the fake's."""

    def __init__(self, adapter: FakeSheetsAdapter) -> None:
        self.adapter = adapter
        self.session = requests.Session()
        for prefix in PREFIXES:
            self.session.mount(prefix, adapter)
        self.keys: dict[str, str] = {}  # recorded spreadsheet id -> fake id
        self.ids: dict[int, int] = {}  # recorded generated number -> fake one

    def send(self, recorded: dict) -> requests.Response:
        uri = recorded["uri"]
        body = recorded["body"]
        for old, new in self.keys.items():
            uri = uri.replace(old, new)
            body = body.replace(old, new) if body else body
        if body:
            body = json.dumps(self._map_ids(json.loads(body)))
        headers = {"Content-Type": "application/json"} if body else {}
        return self.session.request(recorded["method"], uri, data=body, headers=headers)

    def _map_ids(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: self.ids.get(v, v) if k in GENERATED_IDS else self._map_ids(v) for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._map_ids(v) for v in value]
        return value

    def compare(self, recorded: Any, fake: Any, where: str = "") -> list[str]:
        """Differences between a recorded JSON answer and the fake's, learning generated ids."""
        if isinstance(recorded, dict) and isinstance(fake, dict):
            problems = []
            if set(recorded) != set(fake):
                problems.append(f"{where or '.'}: keys {sorted(recorded)} != {sorted(fake)}")
            for key in set(recorded) & set(fake):
                path = f"{where}.{key}"
                if key in TIMESTAMPS or key in BLOBS:
                    continue
                if key in GENERATED_IDS and isinstance(recorded[key], int):
                    expected = self.ids.setdefault(recorded[key], fake[key])
                    if expected != fake[key]:
                        problems.append(f"{path}: {fake[key]} is not the id mapped {expected}")
                    continue
                if key in ("id", "spreadsheetId") and isinstance(recorded[key], str):
                    expected = self.keys.setdefault(recorded[key], fake[key])
                    if expected != fake[key]:
                        problems.append(f"{path}: {fake[key]!r} != {expected!r}")
                    continue
                problems += self.compare(recorded[key], fake[key], path)
            return problems
        if isinstance(recorded, list) and isinstance(fake, list):
            if len(recorded) != len(fake):
                return [f"{where}: {len(recorded)} items recorded, {len(fake)} from the fake"]
            return [
                p
                for i, (r, f) in enumerate(zip(recorded, fake, strict=True))
                for p in self.compare(r, f, f"{where}[{i}]")
            ]
        if isinstance(recorded, str) and isinstance(fake, str):
            for old, new in self.keys.items():
                recorded = recorded.replace(old, new)
        same = recorded == fake and type(recorded) is type(fake)
        return [] if same else [f"{where}: recorded {recorded!r}, fake {fake!r}"]


def _interactions(name: str) -> list[dict]:
    return json.loads((CASSETTES / f"{name}.json").read_text(encoding="utf-8"))["interactions"]


def _describe(request: dict) -> str:
    return f"{request['method']} {urllib.parse.unquote(request['uri'])}"


@needs_cassettes
@pytest.mark.parametrize("name", RELEVANT)
def test_fake_answers_like_the_recordings(name: str) -> None:
    adapter = make_adapter()
    adapter.account_email = RECORDING_ACCOUNT  # the service account gspread's tests ran as
    replay = Replay(adapter)
    interactions = _interactions(name)
    # Equivalent state for what was set up outside the recording: a spreadsheet nobody shared
    # with the account (403). Everything else is created by the recorded requests themselves.
    for interaction in interactions:
        if interaction["response"]["status"]["code"] == 403:
            key = urllib.parse.urlsplit(interaction["request"]["uri"]).path.split("/")[-1]
            adapter.create_spreadsheet("private", key=key, locale="en_US").accessible = False
    for number, interaction in enumerate(interactions):
        request, recorded = interaction["request"], interaction["response"]
        response = replay.send(request)
        where = f"{name} #{number}: {_describe(request)}"
        assert response.status_code == recorded["status"]["code"], (where, response.text)
        text = recorded["body"]["string"]
        if not text:
            assert not response.content, where
            continue
        problems = replay.compare(json.loads(text), response.json())
        assert not problems, f"{where}\n" + "\n".join(problems)


@needs_cassettes
def test_the_comparison_can_fail() -> None:
    """A fake answer that differs from the recording in one key or one value is caught."""
    replay = Replay(make_adapter())
    recorded = {"range": "Sheet1!A1:D2", "majorDimension": "ROWS"}
    assert replay.compare(recorded, dict(recorded)) == []
    assert replay.compare(recorded, {**recorded, "values": []})
    assert replay.compare(recorded, {**recorded, "range": "'Sheet1'!A1:D2"})
    assert replay.compare({"values": [[2]]}, {"values": [["2"]]})


@needs_cassettes
def test_every_relevant_recording_exists() -> None:
    missing = [name for name in RELEVANT if not (CASSETTES / f"{name}.json").is_file()]
    assert not missing


# ---------------------------------------------------------------------------------------------
# Behaviour the recordings do not show: a French-locale sheet, formulas, the test controls
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def adapter() -> FakeSheetsAdapter:
    return make_adapter()


@pytest.fixture
def client(adapter: FakeSheetsAdapter) -> gspread.Client:
    client = gspread.Client(auth=Credentials(token="fake"))
    for prefix in PREFIXES:
        client.http_client.session.mount(prefix, adapter)
    return client


def test_gspread_creates_opens_and_deletes(adapter, client) -> None:
    created = client.create("Suivi CAE")
    opened = client.open_by_url(created.url)
    assert (opened.id, opened.title, opened.sheet1.title) == (created.id, "Suivi CAE", "Sheet1")
    client.del_spreadsheet(created.id)
    with pytest.raises(gspread.SpreadsheetNotFound):
        client.open_by_key(created.id)
    assert adapter.endpoints() == [
        "drive.files.create",
        "spreadsheets.get",
        "spreadsheets.get",
        "spreadsheets.get",
        "drive.files.delete",
        "spreadsheets.get",
    ]


def test_user_entered_in_a_french_sheet(adapter, client) -> None:
    book = adapter.create_spreadsheet(sheets=["Réunions"])
    sheet = client.open_by_key(book.id).worksheet("Réunions")
    sheet.update(
        [["10/12/2020", "10/12/2020 14:00", "'=1+1", "=1+1", "0612345678", "'0612345678", "1,5"]],
        "A1",
        value_input_option="USER_ENTERED",
    )
    unformatted = sheet.get_values(value_render_option="UNFORMATTED_VALUE")
    assert unformatted == [[44175, 44175 + 14 / 24, "=1+1", 2, 612345678, "0612345678", 1.5]]
    formatted = sheet.get_values()
    assert formatted == [["10/12/2020", "10/12/2020 14:00:00", "=1+1", "2", "612345678", "0612345678", "1,5"]]
    serial_strings = sheet.get_values(
        value_render_option="UNFORMATTED_VALUE", date_time_render_option="FORMATTED_STRING"
    )
    assert serial_strings[0][:2] == ["10/12/2020", "10/12/2020 14:00:00"]
    raw = book.sheet("Réunions")
    assert raw.cell("D1").is_formula and raw.cell("D1").formula == "=1+1"
    assert not raw.cell("C1").is_formula and raw.cell("C1").value == "=1+1"
    assert raw.cell("A1").is_date


def test_raw_input_is_never_interpreted(adapter, client) -> None:
    book = adapter.create_spreadsheet()
    sheet = client.open_by_key(book.id).sheet1
    sheet.update([["=1+1", "'x", "0042"]], "A1", value_input_option="RAW")
    assert sheet.get_values(value_render_option="FORMULA") == [["=1+1", "'x", "0042"]]


def test_quoted_titles_and_bad_ranges(adapter, client) -> None:
    book = adapter.create_spreadsheet(sheets=["Feuille 1", "L'équipe", "Orientations"])
    spreadsheet = client.open_by_key(book.id)
    book.sheet("L'équipe").set_rows([["a", "b"]])
    book.sheet("Orientations").set_rows([["Référence", "Nom"], ["R1", "Dupont"]])
    answer = spreadsheet.values_batch_get(["'L''équipe'!A1:C3", "Orientations", "'Feuille 1'"])
    assert answer["valueRanges"] == [
        {"range": "'L''équipe'!A1:C3", "majorDimension": "ROWS", "values": [["a", "b"]]},
        {
            "range": "Orientations!A1:Z1000",
            "majorDimension": "ROWS",
            "values": [["Référence", "Nom"], ["R1", "Dupont"]],
        },
        {"range": "'Feuille 1'!A1:Z1000", "majorDimension": "ROWS"},
    ]
    with pytest.raises(gspread.exceptions.APIError) as caught:
        spreadsheet.values_batch_get(["Orientations", "'Réponses'!A1:B2"])
    assert caught.value.response.json() == {
        "error": {
            "code": 400,
            "message": "Unable to parse range: 'Réponses'!A1:B2",
            "status": "INVALID_ARGUMENT",
        }
    }


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (403, "PERMISSION_DENIED"),
        (404, "NOT_FOUND"),
        (429, "RESOURCE_EXHAUSTED"),
        (500, "INTERNAL"),
        (503, "UNAVAILABLE"),
    ],
)
def test_injected_failures_have_google_bodies(adapter, client, status, reason) -> None:
    book = adapter.create_spreadsheet()
    spreadsheet = client.open_by_key(book.id)
    adapter.fail_next(status, times=2, when="values.batchGet")
    for _ in range(2):
        with pytest.raises(gspread.exceptions.APIError) as caught:
            spreadsheet.values_batch_get(["'Feuille 1'"])
        error = caught.value.response.json()["error"]
        assert (error["code"], error["status"]) == (status, reason)
    assert spreadsheet.values_batch_get(["'Feuille 1'"])["valueRanges"]
    assert adapter.count("values.batchGet") == 3


def test_an_api_not_enabled_answers_like_the_recorded_403_with_its_reason(adapter, client) -> None:
    """Same code and status as the recorded 403 (ClientTest.test_access_private_spreadsheet), plus
    what tells the two apart: the SERVICE_DISABLED reason and the project in the message."""
    book = adapter.create_spreadsheet()
    adapter.disabled_in_project = "123456789012"
    with pytest.raises(gspread.exceptions.APIError) as caught:
        client.http_client.fetch_sheet_metadata(book.id)
    error = caught.value.response.json()["error"]
    assert (error["code"], error["status"]) == (403, "PERMISSION_DENIED")
    assert "has not been used in project 123456789012 before or it is disabled" in error["message"]
    assert [d.get("reason") for d in error["details"]] == ["SERVICE_DISABLED", None]


def test_a_storm_that_does_not_end_until_reset(adapter, client) -> None:
    book = adapter.create_spreadsheet()
    spreadsheet = client.open_by_key(book.id)
    adapter.fail_next(429, times=None)
    for _ in range(5):
        with pytest.raises(gspread.exceptions.APIError):
            spreadsheet.fetch_sheet_metadata()
    adapter.reset_failures()
    assert spreadsheet.fetch_sheet_metadata()["spreadsheetId"] == book.id


def test_a_hook_runs_before_a_chosen_request(adapter, client) -> None:
    book = adapter.create_spreadsheet(sheets=["Orientations"])
    sheet = book.sheet("Orientations")
    sheet.set_rows([["Référence", "Nom"], ["R2", "Zoé"], ["R1", "Alix"]])
    spreadsheet = client.open_by_key(book.id)
    adapter.on(
        "values.batchGet",
        lambda fake, call: (
            fake.spreadsheet(call.spreadsheet_id).sheet("Orientations").sort_rows(key=lambda row: row[1])
        ),
        skip=1,
    )
    first = spreadsheet.values_batch_get(["Orientations"])["valueRanges"][0]["values"]
    second = spreadsheet.values_batch_get(["Orientations"])["valueRanges"][0]["values"]
    assert first[1:] == [["R2", "Zoé"], ["R1", "Alix"]]
    assert second[1:] == [["R1", "Alix"], ["R2", "Zoé"]]


def test_spreadsheet_batch_update_is_all_or_nothing(adapter, client) -> None:
    book = adapter.create_spreadsheet()
    spreadsheet = client.open_by_key(book.id)
    with pytest.raises(gspread.exceptions.APIError) as caught:
        spreadsheet.batch_update(
            {
                "requests": [
                    {"addSheet": {"properties": {"title": "Suivi"}}},
                    {"addSheet": {"properties": {"title": "suivi"}}},
                ]
            }
        )
    assert caught.value.response.json()["error"]["message"] == (
        'Invalid requests[1].addSheet: A sheet with the name "suivi" already exists. '
        "Please enter another name."
    )
    assert [s.title for s in book.sheets] == ["Feuille 1"]


def test_setup_requests_are_kept(adapter, client) -> None:
    book = adapter.create_spreadsheet()
    spreadsheet = client.open_by_key(book.id)
    reply = spreadsheet.batch_update(
        {
            "requests": [
                {"addSheet": {"properties": {"title": "Suivi", "gridProperties": {"frozenRowCount": 1}}}},
            ]
        }
    )
    sheet_id = reply["replies"][0]["addSheet"]["properties"]["sheetId"]
    area = {"sheetId": sheet_id, "startRowIndex": 1, "startColumnIndex": 5, "endColumnIndex": 6}
    rule = {
        "condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": "Présent·e"}]},
        "showCustomUi": True,
        "strict": True,
    }
    spreadsheet.batch_update(
        {
            "requests": [
                {"setDataValidation": {"range": area, "rule": rule}},
                {"addProtectedRange": {"protectedRange": {"range": area, "warningOnly": True}}},
            ]
        }
    )
    suivi = book.sheet("Suivi")
    assert suivi.frozen_rows == 1
    assert suivi.validation_at("F2") == rule and suivi.validation_at("F1") is None
    metadata = spreadsheet.fetch_sheet_metadata()["sheets"][1]
    assert metadata["properties"]["gridProperties"]["frozenRowCount"] == 1
    assert metadata["protectedRanges"][0]["warningOnly"] is True
    assert metadata["protectedRanges"][0]["range"] == area


def test_request_log_shows_paths_and_queries(adapter, client) -> None:
    book = adapter.create_spreadsheet(sheets=["Réunions"])
    client.open_by_key(book.id).values_batch_get(
        ["Réunions"], params={"valueRenderOption": "UNFORMATTED_VALUE"}
    )
    call = adapter.calls[-1]
    assert call.endpoint == "values.batchGet"
    assert call.path == f"/v4/spreadsheets/{book.id}/values:batchGet"
    assert call.query == {"valueRenderOption": ["UNFORMATTED_VALUE"], "ranges": ["Réunions"]}
    assert re.fullmatch(r"fake\w+", call.spreadsheet_id)
