"""The Google Sheets store, with gspread unmodified over the fake Sheets API (tests/fakes)."""

from __future__ import annotations

from datetime import date, datetime

import gspread
import pytest
from google.oauth2.credentials import Credentials

from automations import config as config_module
from automations.errors import SheetAccessError, SheetError
from automations.schema import ORIENTATIONS, REUNIONS, SPECS
from automations.sheets.google import GoogleSheetStore, Retry, store_from_config
from automations.sheets.workbook import WorkbookStore
from automations.tables import bind
from automations.values import CellPatch, RowAppend, RowKey, SheetLayout
from tests.fakes.clock import FakeTime
from tests.fakes.sheets_api import PREFIXES, FakeSheetsAdapter, make_adapter, to_serial

ACCOUNT = "passerelle@agence-test.iam.gserviceaccount.com"
HEADERS = list(ORIENTATIONS.layout().headers)
LAYOUTS = {ORIENTATIONS.name: ORIENTATIONS.layout(), REUNIONS.name: REUNIONS.layout()}
SHEET_NAMES = {key: spec.name for key, spec in SPECS.items()}


@pytest.fixture
def adapter() -> FakeSheetsAdapter:
    return make_adapter()


@pytest.fixture
def client(adapter) -> gspread.Client:
    client = gspread.Client(auth=Credentials(token="fake"))
    for prefix in PREFIXES:
        client.http_client.session.mount(prefix, adapter)
    return client


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def retry(fake_time) -> Retry:
    # jitter 1.0: the longest wait of each step, so the budget is tested at its worst
    return Retry(budget_seconds=60, sleep=fake_time.sleep, clock=fake_time.clock, jitter=lambda: 1.0)


def make_store(client, key, retry, **spreadsheets) -> GoogleSheetStore:
    return GoogleSheetStore(client, key, spreadsheets, service_account_email=ACCOUNT, retry=retry)


def referral_rows(count: int) -> list[list[object]]:
    """Header plus ``count`` rows typed by advisors; R0001… already have a Référence."""
    rows: list[list[object]] = [HEADERS]
    for n in range(1, count + 1):
        row = {
            "Référence": f"R{n:04d}",
            "Nom": f"Nom{n}",
            "Prénom": "Zoé",
            "Email": f"p{n}@exemple.fr",
            "Téléphone": "'0612345678",
            "Date d'orientation": "01/10/2026",
        }
        rows.append([row.get(h, "") for h in HEADERS])
    return rows


@pytest.fixture
def book(adapter):
    book = adapter.create_spreadsheet("Agence", sheets=["Orientations", "Réunions"])
    book.sheet("Orientations").set_rows(referral_rows(3))
    return book


def column(header: str) -> str:
    return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[HEADERS.index(header)]


def state_patch(reference: str, value: object, header: str = "État") -> CellPatch:
    return CellPatch("Orientations", RowKey(reference), header, value)


# -- reading -------------------------------------------------------------------------------------


def test_read_gets_every_sheet_of_a_spreadsheet_in_one_request(adapter, client, book, retry):
    book.sheet("Réunions").set_rows(
        [["Référence", "Date", "Heure de début", "Places"], ["S1", "10/12/2026", "14:00", "13"]]
    )
    store = make_store(client, book.id, retry)
    grids = store.read(["Orientations", "Réunions", "Suivi"])
    assert adapter.endpoints() == ["spreadsheets.get", "values.batchGet"]
    assert grids["Suivi"] is None
    assert grids["Réunions"] == [
        ["Référence", "Date", "Heure de début", "Places"],
        ["S1", int(to_serial(date(2026, 12, 10))), 14 / 24, 13],
    ]
    first = dict(zip(HEADERS, grids["Orientations"][1], strict=False))
    assert first["Téléphone"] == "0612345678"
    assert first["Date d'orientation"] == int(to_serial(date(2026, 10, 1)))
    assert first["Conseiller·ère"] is None  # empty cells are None, as with the local workbook
    assert adapter.calls[-1].query["valueRenderOption"] == ["UNFORMATTED_VALUE"]
    assert adapter.calls[-1].query["dateTimeRenderOption"] == ["SERIAL_NUMBER"]


def test_sheets_in_two_spreadsheets_take_one_read_each(adapter, client, book, retry):
    cooperative = adapter.create_spreadsheet("CAE", sheets=["Réunions"])
    cooperative.sheet("Réunions").set_rows([["Référence"], ["S1"]])
    url = f"https://docs.google.com/spreadsheets/d/{cooperative.id}/edit#gid=0"
    store = make_store(client, book.id, retry, **{"Réunions": url})
    grids = store.read(["Orientations", "Réunions"])
    assert grids["Réunions"] == [["Référence"], ["S1"]]
    assert adapter.count("values.batchGet") == 2
    assert {call.spreadsheet_id for call in adapter.calls} == {book.id, cooperative.id}


def test_a_missing_header_is_the_same_error_as_with_the_local_workbook(client, book, retry, tmp_path):
    rows = referral_rows(1)
    rows[0] = ["Courriel" if h == "Email" else h for h in HEADERS]
    book.sheet("Orientations").set_rows(rows)
    google = make_store(client, book.id, retry).read(["Orientations"])["Orientations"]
    local = WorkbookStore(tmp_path / "local.xlsx")
    local.ensure([ORIENTATIONS.layout()])
    local.write(LAYOUTS, [], [RowAppend("Orientations", {"Nom": "Nom1"})])
    workbook = local.read(["Orientations"])["Orientations"]
    workbook[0] = ["Courriel" if h == "Email" else h for h in workbook[0]]
    with pytest.raises(SheetError) as from_google:
        bind(ORIENTATIONS, google)
    with pytest.raises(SheetError) as from_workbook:
        bind(ORIENTATIONS, workbook)
    assert str(from_google.value) == str(from_workbook.value)
    assert "« Email »" in str(from_google.value)


# -- writing -------------------------------------------------------------------------------------


def test_write_is_one_reread_and_one_batch_update(adapter, client, book, retry):
    store = make_store(client, book.id, retry)
    store.read(["Orientations"])
    adapter.calls.clear()
    result = store.write(
        LAYOUTS,
        [
            state_patch("R0002", "Invité·e à la réunion du jeudi 10 décembre"),
            state_patch("R0002", datetime(2026, 12, 1, 9, 30), "Invitation envoyée le"),
            state_patch("R0003", '=HYPERLINK("http://x")', "Remarques"),
            state_patch("R0001", "+33 6 12 34 56 78", "Téléphone"),
            state_patch("R9999", "Liste d'attente"),
        ],
    )
    assert adapter.endpoints() == ["values.batchGet", "values.batchUpdate"]
    assert [p.row.reference for p in result.unresolved] == ["R9999"]
    sheet = book.sheet("Orientations")
    assert sheet.cell(f"{column('État')}3").value == "Invité·e à la réunion du jeudi 10 décembre"
    sent = sheet.cell(f"{column('Invitation envoyée le')}3")
    assert sent.is_date and sent.value == pytest.approx(to_serial(datetime(2026, 12, 1, 9, 30)))
    remark = sheet.cell(f"{column('Remarques')}4")
    assert not remark.is_formula and remark.value == '=HYPERLINK("http://x")'
    assert sheet.cell(f"{column('Téléphone')}2").value == "+33 6 12 34 56 78"
    assert sheet.cell(f"{column('Nom')}3").value == "Nom2"  # untouched cells keep their value


def test_a_sort_between_read_and_write_cannot_move_a_patch(adapter, client, book, retry):
    store = make_store(client, book.id, retry)
    store.read(["Orientations"])

    def person_sorts(fake, call):
        fake.spreadsheet(call.spreadsheet_id).sheet("Orientations").sort_rows(
            key=lambda row: row[0], reverse=True
        )

    adapter.on("values.batchGet", person_sorts)  # before the store's re-read
    store.write(LAYOUTS, [state_patch("R0001", "pour R0001"), state_patch("R0003", "pour R0003")])
    rows = book.sheet("Orientations").rows()
    assert [row[0] for row in rows[1:]] == ["R0003", "R0002", "R0001"]
    state = HEADERS.index("État")
    by_reference = {row[0]: row[state] if len(row) > state else "" for row in rows[1:]}
    assert by_reference == {"R0001": "pour R0001", "R0002": "", "R0003": "pour R0003"}


def test_appended_rows_go_after_the_last_row_with_missing_owned_headers_added(adapter, client, retry):
    book = adapter.create_spreadsheet(sheets=["Suivi"])
    book.sheet("Suivi").set_rows([["Référence", "Nom", "Présence"], ["R0001", "Alix", "Présent·e"]])
    layout = SheetLayout("Suivi", ("Référence", "Nom", "Présence", "Mis à jour le"), owned=("Mis à jour le",))
    store = make_store(client, book.id, retry)
    store.write(
        {"Suivi": layout},
        [CellPatch("Suivi", RowKey("R0001"), "Mis à jour le", date(2026, 11, 26))],
        [
            RowAppend("Suivi", {"Référence": "R0002", "Nom": "=1+1", "Mis à jour le": date(2026, 11, 27)}),
            RowAppend("Suivi", {"Référence": "R0003", "Nom": "Zoé"}),
        ],
    )
    assert adapter.endpoints() == [
        "spreadsheets.get",
        "values.batchGet",
        "values.batchUpdate",
        "values.append",
    ]
    append = adapter.calls[-1]
    assert append.query["insertDataOption"] == ["INSERT_ROWS"]
    assert append.query["valueInputOption"] == ["USER_ENTERED"]
    sheet = book.sheet("Suivi")
    assert sheet.rows("FORMATTED_VALUE") == [
        ["Référence", "Nom", "Présence", "Mis à jour le"],
        ["R0001", "Alix", "Présent·e", "26/11/2026"],
        ["R0002", "=1+1", "", "27/11/2026"],
        ["R0003", "Zoé"],
    ]
    assert not sheet.cell("B3").is_formula


def test_nothing_to_write_sends_nothing(adapter, client, book, retry):
    make_store(client, book.id, retry).write(LAYOUTS, [], [])
    assert adapter.calls == []


def test_request_counts_do_not_grow_with_the_sheet(adapter, client, retry):
    counts = []
    for size in (10, 5000):
        adapter.reset()
        book = adapter.create_spreadsheet(sheets=["Orientations"])
        book.sheet("Orientations").set_rows(referral_rows(size))
        store = make_store(client, book.id, retry)
        store.read(["Orientations"])
        patches = [state_patch(f"R{n:04d}", f"État {n}") for n in range(1, size + 1)]
        store.write(LAYOUTS, patches, [RowAppend("Orientations", {"Nom": "Nouvelle", "Référence": "N1"})])
        assert book.sheet("Orientations").cell(f"{column('État')}{size + 1}").value == f"État {size}"
        counts.append(adapter.endpoints())
    assert counts[0] == counts[1]
    assert len(counts[0]) == 5


# -- failures ------------------------------------------------------------------------------------


def test_a_429_storm_that_ends_is_waited_out_with_growing_pauses(adapter, client, book, retry, fake_time):
    store = make_store(client, book.id, retry)
    store.read(["Orientations"])
    adapter.calls.clear()
    adapter.fail_next(429, times=3, when="values.batchUpdate")
    store.write(LAYOUTS, [state_patch("R0002", "écrit")])
    assert book.sheet("Orientations").cell(f"{column('État')}3").value == "écrit"
    assert fake_time.sleeps == [1.0, 2.0, 4.0]
    # each retry locates the rows again on a fresh read before writing
    assert adapter.endpoints() == ["values.batchGet", "values.batchUpdate"] * 4


def test_a_429_storm_that_does_not_end_stops_within_the_budget_having_written_nothing(
    adapter, client, book, retry, fake_time
):
    store = make_store(client, book.id, retry)
    store.read(["Orientations"])
    before = book.sheet("Orientations").rows("FORMULA")
    adapter.fail_next(429, times=None, when="values.batchUpdate")
    with pytest.raises(SheetAccessError) as error:
        store.write(
            LAYOUTS,
            [state_patch("R0001", "jamais")],
            [RowAppend("Orientations", {"Référence": "N1", "Nom": "Jamais"})],
        )
    message = str(error.value)
    assert "429" in message and "rien n'a été écrit" in message and book.id in message
    assert fake_time.now <= retry.budget_seconds
    assert fake_time.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]  # the next wait (32 s) would overrun 60 s
    assert book.sheet("Orientations").rows("FORMULA") == before
    assert adapter.count("values.append") == 0


def test_server_errors_are_retried_but_an_append_is_not_repeated(adapter, client, book, retry, fake_time):
    store = make_store(client, book.id, retry)
    adapter.fail_next(503, times=2, when="values.batchGet")
    adapter.fail_next(500, times=1, when="values.append")
    with pytest.raises(SheetAccessError) as error:
        store.write(
            LAYOUTS,
            [state_patch("R0001", "écrit")],
            [RowAppend("Orientations", {"Référence": "N1", "Nom": "Peut-être"})],
        )
    assert "500" in str(error.value) and "n'ont pas été ajoutées" in str(error.value)
    assert adapter.count("values.append") == 1
    assert book.sheet("Orientations").cell(f"{column('État')}2").value == "écrit"


def test_an_append_refused_for_quota_is_retried(adapter, client, book, retry, fake_time):
    store = make_store(client, book.id, retry)
    adapter.fail_next(429, times=2, when="values.append")
    store.write(LAYOUTS, [], [RowAppend("Orientations", {"Référence": "N1", "Nom": "Ajoutée"})])
    assert book.sheet("Orientations").rows()[-1][:2] == ["N1", "Ajoutée"]
    assert adapter.count("values.append") == 3


def test_403_says_which_address_to_share_the_spreadsheet_with(adapter, client, book, retry):
    book.accessible = False
    with pytest.raises(SheetAccessError) as error:
        make_store(client, book.id, retry).read(["Orientations"])
    assert str(error.value) == (
        f"Google refuse l'accès au classeur {book.id} : partagez le classeur avec {ACCOUNT} "
        "en tant qu'éditeur, puis relancez."
    )


def test_404_says_there_is_no_such_spreadsheet(client, retry):
    with pytest.raises(SheetAccessError, match="Aucun classeur Google n'a la clé nope"):
        make_store(client, "nope", retry).read(["Orientations"])


def test_a_sheet_deleted_during_the_run_is_named(adapter, client, book, retry):
    store = make_store(client, book.id, retry)
    store.read(["Orientations"])
    orientations = book.sheet("Orientations")
    book.sheets.remove(orientations)
    with pytest.raises(SheetError, match="La feuille « Orientations » a disparu"):
        store.write(LAYOUTS, [state_patch("R0001", "x")])


# -- set-up and rewrite --------------------------------------------------------------------------


def test_ensure_creates_sheets_with_headers_dropdowns_and_protections_in_one_request(adapter, client, retry):
    book = adapter.create_spreadsheet(sheets=["Feuille 1"])
    store = make_store(client, book.id, retry)
    store.ensure([ORIENTATIONS.layout(), REUNIONS.layout()])
    assert adapter.endpoints() == ["spreadsheets.get", "spreadsheets.batchUpdate"]
    sheet = book.sheet("Orientations")
    assert sheet.rows()[0] == HEADERS
    assert sheet.cell("A1").bold and sheet.frozen_rows == 1
    rule = sheet.validation_at(f"{column('Accord de partage')}5")
    assert rule["condition"]["values"] == [{"userEnteredValue": "Oui"}, {"userEnteredValue": "Non"}]
    assert sheet.validation_at(f"{column('Accord de partage')}1") is None
    protected = {p["range"]["startColumnIndex"] for p in sheet.protected_ranges}
    assert protected == {HEADERS.index(label) for label in ORIENTATIONS.layout().owned}
    assert all(p["warningOnly"] for p in sheet.protected_ranges)
    adapter.calls.clear()
    store.ensure([ORIENTATIONS.layout(), REUNIONS.layout()])
    assert adapter.endpoints() == ["spreadsheets.get", "values.batchGet"]  # row 1 read, nothing written


def test_ensure_sets_up_a_sheet_people_made_where_its_columns_are(adapter, client, retry):
    book = adapter.create_spreadsheet(sheets=["Réunions"])
    book.sheet("Réunions").set_rows([["Date", "Places", "Annulée", "Référence"], ["10/12/2026", "13"]])
    store = make_store(client, book.id, retry)
    store.ensure([REUNIONS.layout()])
    assert adapter.endpoints() == ["spreadsheets.get", "values.batchGet", "spreadsheets.batchUpdate"]
    sheet = book.sheet("Réunions")
    assert sheet.rows()[0] == ["Date", "Places", "Annulée", "Référence"]  # headers left as they are
    assert sheet.frozen_rows == 1
    assert sheet.validation_at("C2")["condition"]["type"] == "ONE_OF_LIST"
    assert [p["range"]["startColumnIndex"] for p in sheet.protected_ranges] == [3]


def test_replace_rewrites_a_sheet_whole_in_one_request(adapter, client, book, retry):
    store = make_store(client, book.id, retry)
    layout = SheetLayout("Synthèse", ("Indicateur", "Valeur"))
    store.replace(
        layout, [["Indicateur", "Valeur"], ["Orienté·es", 17], ["=1+1", 0.5], ["Le", date(2026, 11, 26)]]
    )
    store.replace(layout, [["Indicateur", "Valeur"], ["Invité·es", 13]])
    assert adapter.endpoints() == ["spreadsheets.get", "spreadsheets.batchUpdate"] * 2
    assert book.sheet("Synthèse").rows() == [["Indicateur", "Valeur"], ["Invité·es", 13]]


def test_replace_writes_text_as_text_and_dates_as_dates(adapter, client, book, retry):
    store = make_store(client, book.id, retry)
    store.replace(SheetLayout("Synthèse", ()), [["=1+1", date(2026, 11, 26), True]])
    sheet = book.sheet("Synthèse")
    assert not sheet.cell("A1").is_formula
    assert sheet.rows("FORMATTED_VALUE") == [["=1+1", "26/11/2026", "VRAI"]]


# -- configuration -------------------------------------------------------------------------------


def test_store_from_config_routes_each_sheet_to_its_spreadsheet(adapter, client, book, tmp_path):
    cooperative = adapter.create_spreadsheet("CAE", sheets=["Réunions"])
    path = tmp_path / "passerelle.toml"
    path.write_text(
        '[sheets]\nbackend = "google"\n[sheets.google]\n'
        f'spreadsheet = "https://docs.google.com/spreadsheets/d/{book.id}/edit"\n'
        f'spreadsheets = {{ reunions = "{cooperative.id}" }}\nretry_budget_seconds = 5\n',
        encoding="utf-8",
    )
    store = store_from_config(config_module.load(path), SHEET_NAMES, client=client)
    store.read(["Orientations", "Réunions"])
    assert [c.spreadsheet_id for c in adapter.calls if c.endpoint == "values.batchGet"] == [
        book.id,
        cooperative.id,
    ]
    assert store.retry.budget_seconds == 5


def test_a_missing_key_file_is_a_configuration_error(tmp_path, monkeypatch):
    from automations.errors import ConfigError

    path = tmp_path / "passerelle.toml"
    path.write_text('[sheets]\nbackend = "google"\n[sheets.google]\nspreadsheet = "abc"\n', encoding="utf-8")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    with pytest.raises(ConfigError, match="GOOGLE_APPLICATION_CREDENTIALS"):
        store_from_config(config_module.load(path), SHEET_NAMES)


# -- a whole job through gspread and the fake ----------------------------------------------------


def test_the_invitations_job_runs_on_the_google_backend(adapter, client, retry, tmp_path):
    from automations import runner
    from benchmarks.api_calls import CONFIG, NOW, seed

    key = seed(adapter, referrals=6)  # one session with 3 seats
    (tmp_path / "passerelle.toml").write_text(CONFIG.format(key=key), encoding="utf-8")
    config = config_module.load(tmp_path / "passerelle.toml")
    runner.run(config, ["invitations"], NOW, store=make_store(client, key, retry))
    sheet = adapter.spreadsheet(key).sheet("Orientations")
    rows = sheet.rows("FORMATTED_VALUE")
    states = [dict(zip(rows[0], row, strict=False)).get("État", "") for row in rows[1:]]
    assert sum(s.startswith("Invité·e") for s in states) == 3
    assert sum(s.startswith("Liste d'attente") for s in states) == 3
    references = [dict(zip(rows[0], row, strict=False))["Référence"] for row in rows[1:]]
    assert all(references) and len(set(references)) == 6
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 6
    before = sheet.rows("FORMULA")
    adapter.calls.clear()
    runner.run(config, ["invitations"], NOW, store=make_store(client, key, retry))
    assert sheet.rows("FORMULA") == before and len(list((tmp_path / "outbox").glob("*.eml"))) == 6
    writes = ("values.batchUpdate", "values.append", "spreadsheets.batchUpdate")
    assert [e for e in adapter.endpoints() if e in writes] == []


def test_replace_keeps_one_chart_of_the_funnel(adapter, client, book, retry):
    from automations.values import ChartSpec

    store = make_store(client, book.id, retry)
    funnel = ChartSpec("Parcours", label_column=0, value_column=1, first_row=1, last_row=2, anchor_column=3)
    grid = [["Étape", "Nombre"], ["Orienté·es", 17], ["Invité·es", 13]]
    store.replace(SheetLayout("Synthèse", ()), grid, funnel)
    store.replace(SheetLayout("Synthèse", ()), grid, funnel)
    charts = book.sheet("Synthèse").charts
    assert len(charts) == 1
    series = charts[0]["spec"]["basicChart"]["series"][0]["series"]["sourceRange"]["sources"][0]
    assert (series["startRowIndex"], series["endRowIndex"], series["startColumnIndex"]) == (1, 3, 1)
    assert adapter.count("spreadsheets.batchUpdate") == 2


def test_ensure_on_an_orientations_sheet_people_made(adapter, client, book, retry):
    store = make_store(client, book.id, retry)
    store.ensure([ORIENTATIONS.layout()])
    sheet = book.sheet("Orientations")
    owned = ORIENTATIONS.layout().owned
    assert sorted(p["range"]["startColumnIndex"] for p in sheet.protected_ranges) == sorted(
        HEADERS.index(label) for label in owned
    )
    assert sheet.validation_at(f"{column('Réponse')}2") is not None  # both a dropdown and owned
