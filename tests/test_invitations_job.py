"""The invitations job end to end on a real workbook and a real outbox folder."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest

from automations import config as config_module
from automations import runner
from automations.errors import SheetError, TemplateError
from automations.mail.outbox import OutboxTransport
from tests.conftest import NOW, Project, referral, session


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def kinds(project: Project) -> list[str]:
    return sorted(m["X-Passerelle-Key"].strip().split("|")[0] for m in project.emails())


def test_each_seeker_is_invited_once_and_a_second_run_changes_nothing(project):
    project.create([referral(n) for n in range(6)], [session("A", 7, 4)])
    project.run()
    assert kinds(project) == ["invitation"] * 4 + ["liste_attente"] * 2
    before = digest(project.workbook)
    project.run()
    project.run("invitations", now=NOW.replace(hour=18))
    assert len(project.emails()) == 6
    assert digest(project.workbook) == before


def test_rows_record_session_sending_time_and_a_french_status(project):
    project.create([referral(1), referral(2)], [session("A", 7, 1)])
    project.run()
    first, second = project.rows()
    assert first["Session"] == "A"
    assert first["Invitation envoyée le"] == NOW
    assert first["État"] == "Invité·e à la réunion du jeudi 3 décembre à 14 h"
    assert re.fullmatch(r"OR-[0-9A-F]{8}", first["Référence"])
    assert second["Session"] is None
    assert second["État"].startswith("Liste d'attente (prévenu·e le 26/11/2026)")


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
    book = openpyxl.load_workbook(project.workbook)
    sheet = book["Orientations"]
    rows = [list(r) for r in sheet.iter_rows(min_row=2, values_only=True)]
    sheet.delete_rows(2, len(rows))
    sheet.append([None] * 3 + ["nouvelle@exemple.fr"])  # a half-typed row, then the others reversed
    for row in reversed(rows):
        sheet.append(row)
    sheet.insert_rows(2)
    book["Réunions"]["G2"] = 5
    book.save(project.workbook)

    project.run(now=NOW + timedelta(days=1))
    by_address = {r["Email"]: r for r in project.rows() if r["Email"]}
    invited = {
        m["To"].addresses[0].addr_spec for m in project.emails() if "invitation" in m["X-Passerelle-Key"]
    }
    assert invited == {f"personne{n:02d}@exemple.fr" for n in range(4)}
    for n in range(4):
        assert by_address[f"personne{n:02d}@exemple.fr"]["Session"] == "A"
    assert by_address["nouvelle@exemple.fr"]["État"] == "Nom : la case est vide ; Prénom : la case est vide"
    assert by_address["nouvelle@exemple.fr"]["Session"] is None


def test_a_missing_required_header_stops_before_anything_is_written_or_sent(project):
    headers = [h for h in referral(0) if h != "Email"]
    project.create([referral(1)], [session("A", 7, 5)], orientation_headers=headers)
    before = digest(project.workbook)
    with pytest.raises(SheetError) as error:
        project.run()
    assert str(error.value) == (
        "La feuille « Orientations » n'a pas de colonne « Email » en ligne 1 : "
        "ajoutez-la ou rétablissez son nom."
    )
    assert digest(project.workbook) == before
    assert project.emails() == []


def test_headers_typed_differently_are_understood(project):
    rows = [{k.upper().replace("É", "E"): v for k, v in referral(1).items()}]
    project.create(rows, [session("A", 7, 5)], orientation_headers=list(rows[0]))
    project.run()
    assert project.rows()[0]["Session"] == "A"


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
    assert "réunion d'information L'Ouvre-Boîtes" in message["Subject"]


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
    assert "METHOD:PUBLISH" in ics and "BEGIN:VTIMEZONE" in ics
    assert "DTSTART;TZID=Europe/Paris:20261203T140000" in ics
    assert "DTEND;TZID=Europe/Paris:20261203T163000" in ics


def test_a_template_error_sends_nothing_and_writes_nothing(project, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    for source in runner.bundled_templates().iterdir():
        (templates / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (templates / "liste_attente.txt").write_text("Bonjour {{ personne.surnom }}", encoding="utf-8")
    project.create(
        [referral(1), referral(2)], [session("A", 7, 1)], extra_config=f'templates = "{templates}"\n'
    )
    before = digest(project.workbook)
    with pytest.raises(TemplateError, match=r"liste_attente\.txt uses an unknown value"):
        project.run()
    assert project.emails() == []
    assert digest(project.workbook) == before


class _LockAfterSending(OutboxTransport):
    """An outbox whose workbook gets opened by an office program right after the emails leave."""

    def __init__(self, folder: Path, lock: Path) -> None:
        super().__init__(folder)
        self.lock = lock

    def __exit__(self, *exc) -> None:
        self.lock.write_text("someone")


def test_emails_sent_before_the_workbook_write_failed_are_not_resent_and_the_rows_are_repaired(project):
    project.create([referral(1), referral(2)], [session("A", 7, 5)])
    lock = project.root / ".~lock.passerelle.xlsx#"
    config = config_module.load(project.config_path)
    with pytest.raises(SheetError, match="ouvert dans un tableur"):
        runner.run(config, [], NOW, transport=_LockAfterSending(project.outbox, lock))
    assert len(project.emails()) == 2
    assert all(r["Session"] is None for r in project.rows())
    lock.unlink()
    project.run()
    assert len(project.emails()) == 2
    assert [r["Session"] for r in project.rows()] == ["A", "A"]
    assert all(r["Invitation envoyée le"] == NOW for r in project.rows())


def test_a_workbook_open_in_an_office_program_is_refused_with_a_clear_message(project):
    project.create([referral(1)], [session("A", 7, 5)])
    (project.root / ".~lock.passerelle.xlsx#").write_text(",someone,host,2026;")
    with pytest.raises(SheetError) as error:
        project.run()
    assert str(error.value).startswith("Le classeur passerelle.xlsx est ouvert dans un tableur")
    assert project.emails() == []


def test_dry_run_shows_the_plan_and_touches_nothing(project):
    project.create([referral(1), referral(2)], [session("A", 7, 1)])
    before = digest(project.workbook)
    [plan] = project.run("invitations", dry_run=True)
    assert [(e.kind, e.to_address) for e in plan.emails] == [
        ("invitation", "personne01@exemple.fr"),
        ("liste_attente", "personne02@exemple.fr"),
    ]
    assert digest(project.workbook) == before
    assert not project.outbox.exists()
    assert [e.key for e in plan.emails] == [e.key for e in project.run("invitations", dry_run=True)[0].emails]


def test_cells_sheets_and_formats_passerelle_does_not_own_are_kept(project):
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
    header = [c.value for c in openpyxl.load_workbook(project.workbook)["Orientations"][1]]
    assert header[:4] == headers
    assert set(header[4:]) == {"Référence", "Session", "Invitation envoyée le", "État"}
    assert project.rows()[0]["Session"] == "A"
