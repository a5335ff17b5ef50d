"""The invitations job end to end on both sheet backends (a real workbook; Google Sheets through
gspread and the fake Sheets API) and a real outbox folder."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest

from automations import wiring
from automations.errors import SheetError, TemplateError
from automations.mail.outbox import OutboxTransport
from tests.conftest import NOW, Project, referral, session

pytestmark = pytest.mark.backends("workbook", "google")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def kinds(project: Project) -> list[str]:
    return sorted(m["X-Passerelle-Key"].strip().split("|")[0] for m in project.emails())


def test_each_seeker_is_invited_once_and_a_second_run_changes_nothing(project):
    project.create([referral(n) for n in range(6)], [session("A", 7, 4)])
    project.run()
    assert kinds(project) == ["invitation"] * 4 + ["liste_attente"] * 2
    before = project.snapshot()
    project.run()
    project.run("invitations", now=NOW.replace(hour=18))
    assert len(project.emails()) == 6
    assert project.snapshot() == before


def test_rows_record_session_sending_time_and_a_french_status(project):
    project.create([referral(1), referral(2)], [session("A", 7, 1)])
    project.run()
    first, second = project.rows()
    assert first["Session"] == "A"
    assert first["Invitation envoyée le"] == NOW
    assert first["État"] == "Invité·e à la réunion du jeudi 3 décembre à 14 h"
    assert re.fullmatch(r"OR-[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", first["Référence"])
    assert second["Session"] is None
    assert second["État"].startswith("Liste d'attente depuis le jeudi 26 novembre")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("jean.dupont@", "il manque la partie après le @"),
        ("a b@c.fr", "elle contient un espace"),
        (None, "Adresse email manquante"),
    ],
)
def test_an_invalid_address_is_explained_in_etat_and_the_other_rows_proceed(project, address, reason):
    project.create([referral(1), referral(2, Email=address), referral(3)], [session("A", 7, 5)])
    project.run()
    rows = project.rows()
    assert reason in rows[1]["État"]
    assert rows[1]["Session"] is None
    assert [r["Session"] for r in (rows[0], rows[2])] == ["A", "A"]
    assert sorted(m["To"].addresses[0].addr_spec for m in project.emails()) == [
        "personne01@exemple.fr",
        "personne03@exemple.fr",
    ]


def test_rows_sorted_and_inserted_between_two_runs_get_the_right_cells(project):
    project.create([referral(n) for n in range(4)], [session("A", 7, 2)])
    project.run()
    project.reverse_rows("Orientations")
    project.insert_rows("Orientations", 0, [{}, {"Email": "nouvelle@exemple.fr"}])  # blank, then half-typed
    project.set("Réunions", 0, "Places", 5)

    project.run(now=NOW + timedelta(days=1))
    rows = project.rows()
    assert rows[0] == dict.fromkeys(rows[0])  # the blank row stays blank
    by_address = {r["Email"]: r for r in rows if r["Email"]}
    invited = {
        m["To"].addresses[0].addr_spec for m in project.emails() if "invitation" in m["X-Passerelle-Key"]
    }
    assert invited == {f"personne{n:02d}@exemple.fr" for n in range(4)}
    for n in range(4):
        assert by_address[f"personne{n:02d}@exemple.fr"]["Session"] == "A"
    assert [r["Email"] for r in rows[2:]] == [f"personne{n:02d}@exemple.fr" for n in (3, 2, 1, 0)]
    assert by_address["nouvelle@exemple.fr"]["État"] == "Nom : la case est vide ; Prénom : la case est vide"
    assert by_address["nouvelle@exemple.fr"]["Session"] is None


def test_a_missing_required_header_stops_before_anything_is_written_or_sent(project):
    headers = [h for h in referral(0) if h != "Email"]
    project.create([referral(1)], [session("A", 7, 5)], orientation_headers=headers)
    before = project.snapshot()
    with pytest.raises(SheetError) as error:
        project.run()
    assert str(error.value) == (
        "La feuille « Orientations » n'a pas de colonne « Email » en ligne 1 : "
        "ajoutez-la ou rétablissez son nom."
    )
    assert project.snapshot() == before
    assert project.emails() == []


def test_headers_typed_differently_are_understood(project):
    rows = [{k.upper().replace("É", "E"): v for k, v in referral(1).items()}]
    project.create(rows, [session("A", 7, 5)], orientation_headers=list(rows[0]))
    project.run()
    assert project.rows()[0]["Session"] == "A"
    assert project.rows()[0]["NOM"] == "Nom01"  # read under the header as people typed it


def test_names_with_accents_and_apostrophes_survive_into_headers_and_bodies(project):
    people = [referral(1, Prénom="Ève-Marie", Nom="N'Diaye"), referral(2, Prénom="Çağla", Nom="Le Floc'h")]
    project.create(people, [session("A", 7, 5)])
    project.run()
    by_name = {m["To"].addresses[0].display_name: m for m in project.emails()}
    assert set(by_name) == {"Ève-Marie N'Diaye", "Çağla Le Floc'h"}
    message = by_name["Ève-Marie N'Diaye"]
    assert "Bonjour Ève-Marie N'Diaye" in message.get_body(("plain",)).get_content()
    assert "Bonjour Ève-Marie N&#39;Diaye" in message.get_body(("html",)).get_content()
    assert message["From"].addresses[0].display_name == "L'Ouvre-Boîtes"
    assert "réunion d'information de L'Ouvre-Boîtes" in message["Subject"]


def test_hostile_cells_never_become_headers_formulas_or_html(project):
    people = [
        referral(1, Prénom="Eve\nBcc: pirate@exemple.fr", Nom="<script>alert(1)</script>"),
        referral(2, Email='=HYPERLINK("http://x")'),
    ]
    project.create(people, [session("A", 7, 5)])
    project.run()
    [message] = project.emails()
    assert message["Bcc"] is None
    assert message["To"].addresses[0].display_name == "Eve Bcc: pirate@exemple.fr <script>alert(1)</script>"
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert project.formulas("Orientations") == []
    rows = project.rows()
    assert rows[1]["Email"] == '=HYPERLINK("http://x")'
    assert "HYPERLINK" in rows[1]["État"]  # the reason quotes the cell, as text
    assert rows[0]["Prénom"] == "Eve\nBcc: pirate@exemple.fr"


def test_hostile_cells_keep_their_cell_types_in_the_workbook(workbook_project):
    project = workbook_project
    project.create([referral(1), referral(2, Email='=HYPERLINK("http://x")')], [session("A", 7, 5)])
    project.run()
    sheet = openpyxl.load_workbook(project.workbook)["Orientations"]
    assert {cell.data_type for row in sheet.iter_rows() for cell in row} <= {"s", "n", "d"}
    assert sheet["D3"].value == '=HYPERLINK("http://x")'


def test_the_session_is_attached_as_an_ics_event_in_paris_time(project):
    project.create([referral(1)], [session("A", 7, 5)])
    project.run()
    [message] = project.emails()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "reunion.ics"
    ics = attachment.get_content()
    assert "METHOD:REQUEST" in ics and "BEGIN:VTIMEZONE" in ics
    assert "DTSTART;TZID=Europe/Paris:20261203T140000" in ics
    assert "DTEND;TZID=Europe/Paris:20261203T163000" in ics


def test_a_template_error_sends_nothing_and_writes_nothing(project, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    for source in wiring.bundled_templates().iterdir():
        (templates / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (templates / "liste_attente.txt").write_text("Bonjour {{ personne.surnom }}", encoding="utf-8")
    project.create(
        [referral(1), referral(2)], [session("A", 7, 1)], extra_config=f'templates = "{templates}"\n'
    )
    before = project.snapshot()
    with pytest.raises(TemplateError, match=r"liste_attente\.txt utilise une valeur inconnue"):
        project.run()
    assert project.emails() == []
    assert project.snapshot() == before


class _LockAfterSending(OutboxTransport):
    """An outbox whose workbook gets opened by an office program right after the emails leave."""

    def __init__(self, folder: Path, lock: Path) -> None:
        super().__init__(folder)
        self.lock = lock

    def __exit__(self, *exc) -> None:
        self.lock.write_text("someone")


def test_emails_sent_before_the_sheet_write_failed_are_not_resent_and_the_rows_are_repaired(project):
    project.create([referral(1), referral(2)], [session("A", 7, 5)])
    lock = project.root / ".~lock.passerelle.xlsx#"
    if project.backend == "workbook":
        transport, refusal = _LockAfterSending(project.outbox, lock), "ouvert dans un tableur"
    else:  # the agency's spreadsheet refuses the write: access was withdrawn during the run
        agency = project.sheets.default.id
        writes = []

        def second_write(call) -> bool:
            """The first write gives the new rows their Référence, before any email; the second,
            after the emails, records them."""
            if call.endpoint == "values.batchUpdate" and call.spreadsheet_id == agency:
                writes.append(call)
                return len(writes) == 2
            return False

        project.adapter.fail_next(403, when=second_write)
        transport, refusal = None, "partagez le classeur"
    with pytest.raises(SheetError, match=refusal):
        project.run(transport=transport)
    assert len(project.emails()) == 2
    assert all(r["Session"] is None for r in project.rows())
    lock.unlink(missing_ok=True)
    project.run()
    assert len(project.emails()) == 2
    assert [r["Session"] for r in project.rows()] == ["A", "A"]
    assert all(r["Invitation envoyée le"] == NOW for r in project.rows())
    assert len({r["Référence"] for r in project.rows("Présences")}) == len(project.rows("Présences")) == 2


def test_a_workbook_open_in_an_office_program_is_refused_with_a_clear_message(workbook_project):
    project = workbook_project
    project.create([referral(1)], [session("A", 7, 5)])
    (project.root / ".~lock.passerelle.xlsx#").write_text(",someone,host,2026;")
    with pytest.raises(SheetError) as error:
        project.run()
    assert str(error.value).startswith("Le classeur passerelle.xlsx est ouvert dans un tableur")
    assert project.emails() == []


def test_dry_run_shows_the_plan_and_touches_nothing(project):
    project.create([referral(1), referral(2)], [session("A", 7, 1)])
    before = project.snapshot()
    [plan] = project.run("invitations", dry_run=True)
    assert [(e.kind, e.to_address) for e in plan.sent] == [
        ("invitation", "personne01@exemple.fr"),
        ("liste_attente", "personne02@exemple.fr"),
    ]
    assert project.snapshot() == before
    assert not project.outbox.exists()
    assert [e.key for e in plan.sent] == [e.key for e in project.run("invitations", dry_run=True)[0].sent]


def test_cells_and_sheets_passerelle_does_not_own_are_kept(project):
    project.create([referral(1, Remarques="à rappeler"), referral(2)], [session("A", 7, 5)])
    project.put("Orientations", "Z1", "Notes internes")
    project.put("Orientations", "Z2", "très motivée")
    project.add_sheet("Statistiques", [[1234, None, "=SUM(A1)"]])
    others = project.grid("Statistiques")
    project.run()
    grid = project.grid("Orientations")
    assert (grid[0][25], grid[1][25]) == ("Notes internes", "très motivée")
    assert len(grid[2]) < 26 or grid[2][25] is None
    assert project.grid("Statistiques") == others == [[1234, None, "=SUM(A1)"]]
    rows = project.rows()
    assert rows[0]["Remarques"] == "à rappeler"
    assert [(r["Nom"], r["Prénom"], r["Email"]) for r in rows] == [
        ("Nom01", "Prénom01", "personne01@exemple.fr"),
        ("Nom02", "Prénom02", "personne02@exemple.fr"),
    ]


def test_formats_and_column_widths_passerelle_does_not_own_are_kept(workbook_project):
    project = workbook_project
    project.create([referral(1, Remarques="à rappeler")], [session("A", 7, 5)])
    book = openpyxl.load_workbook(project.workbook)
    book["Orientations"]["Z1"] = "Notes internes"
    book["Orientations"]["Z2"] = "très motivée"
    book["Orientations"]["B2"].font = openpyxl.styles.Font(bold=True, color="FF0000")
    book["Orientations"].column_dimensions["B"].width = 42
    book.create_sheet("Statistiques")["A1"] = 1234
    book.save(project.workbook)
    project.run()
    book = openpyxl.load_workbook(project.workbook)
    sheet = book["Orientations"]
    assert (sheet["Z1"].value, sheet["Z2"].value) == ("Notes internes", "très motivée")
    assert sheet["B2"].font.bold and sheet["B2"].font.color.rgb == "00FF0000"
    assert sheet.column_dimensions["B"].width == 42
    assert book["Statistiques"]["A1"].value == 1234
    assert project.rows()[0]["Remarques"] == "à rappeler"


def test_missing_owned_columns_are_added_at_the_end(project):
    headers = ["Nom", "Prénom", "Email", "Date d'orientation"]
    project.create([referral(1)], [session("A", 7, 5)], orientation_headers=headers)
    project.run()
    header = project.headers()
    assert header[:4] == headers
    assert set(header[4:]) == {"Référence", "Session", "Invitation envoyée le", "État"}
    assert project.rows()[0]["Session"] == "A"


def test_a_digest_of_the_workbook_shows_a_second_run_does_not_even_save_it(workbook_project):
    project = workbook_project
    project.create([referral(n) for n in range(3)], [session("A", 7, 2)])
    project.run()
    before = digest(project.workbook)
    project.run(now=NOW + timedelta(hours=1))
    assert digest(project.workbook) == before


@pytest.mark.backends("google")
def test_rows_lost_in_the_cooperatives_spreadsheet_are_added_by_the_next_run_once(project):
    """Two spreadsheets cannot be written all or nothing: the next run completes the other one."""
    project.create([referral(1), referral(2)], [session("A", 7, 5)])
    cooperative = project.sheets.placed["Présences"].id
    project.adapter.fail_next(
        500, when=lambda call: call.endpoint == "values.append" and call.spreadsheet_id == cooperative
    )
    with pytest.raises(SheetError, match="n'ont pas été ajoutées"):
        project.run()
    assert [r["Session"] for r in project.rows()] == ["A", "A"]  # the agency's sheet was written
    assert project.rows("Présences") == []
    project.run(now=NOW + timedelta(hours=1))
    project.run(now=NOW + timedelta(hours=2))
    assert sorted(r["Référence"] for r in project.rows("Présences")) == sorted(
        f"{r['Référence']} / A" for r in project.rows()
    )
    assert len(project.emails()) == 2


def test_saving_keeps_the_workbook_permissions_and_clears_leftovers_of_a_killed_save(workbook_project):
    project = workbook_project
    project.create([referral(1)], [session("A", 7, 5)])
    project.workbook.chmod(0o664)
    leftover = project.root / ".passerelle-abc123.xlsx"
    leftover.write_bytes(b"half a workbook")
    project.run()
    assert project.workbook.stat().st_mode & 0o777 == 0o664
    assert not leftover.exists()
