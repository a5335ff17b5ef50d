"""`passerelle check` and hostile input: every problem named with its sheet, row and column, in
French; nothing crashes, nothing is written."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import date, datetime

import openpyxl
import pytest

from automations import config as config_module
from automations.check import shared_with_the_agency
from tests.conftest import NOW, Project, referral, session
from tests.test_cli import SCRIPT

TEN_DATE_FORMATS = [
    "10/11/2026",
    "10/11/26",
    "10-11-2026",
    "10.11.2026",
    "2026-11-10",
    "2026-11-10T09:30",
    "10 novembre 2026",
    "mardi 10 novembre 2026",
    datetime(2026, 11, 10, 9, 30),
    46336,
]


def check(project: Project) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SCRIPT, "check", "--config", str(project.config_path), "--now", NOW.isoformat()],
        capture_output=True,
        text=True,
        timeout=120,
    )


def digest(project: Project) -> str:
    return hashlib.sha256(project.workbook.read_bytes()).hexdigest()


def hostile_referrals() -> list[dict]:
    rows = [referral(n, **{"Date d'orientation": value}) for n, value in enumerate(TEN_DATE_FORMATS)]
    rows += [
        referral(20, Nom="x" * 5000),
        referral(21, Prénom='=HYPERLINK("http://x")'),
        referral(22, Prénom="Eve\r\nBcc: x@y.fr", Nom="Tab\tulé"),
        referral(23, Prénom="Zoë 🌱", Nom="حداد"),
        referral(24, **{"Date d'orientation": "demain"}),
        referral(25, Email="a b@c.fr"),
        referral(26, **{"Accord de partage": "peut-être"}),
        referral(27, **{"Référence": "OR-DOUBLE"}),
        referral(28, **{"Référence": "OR-DOUBLE"}),
        referral(29, Email="personne00@exemple.fr"),
        referral(30, **{"Activ'Créa": "ouais"}),
    ]
    return rows


def hostile_sessions() -> list[dict]:
    return [
        session("R-TREIZE", 7, "treize"),
        session("R-NEG", 7, -1),
        session("R-HEURE", 7, 5, **{"Heure de début": "quatorze heures"}),
        session("R-OK", 7, 40),
        session("R-ZERO", 9, 0),
    ]


def test_check_lists_every_problem_with_sheet_row_and_column_exits_1_and_writes_nothing(project):
    project.create(hostile_referrals(), hostile_sessions())
    before = digest(project)
    done = check(project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    out = done.stdout
    for expected in [
        "Feuille « Orientations » :",
        "ligne 16 : Date d'orientation : « demain » n'est pas une date",
        "ligne 17 : Email : Adresse email invalide : « a b@c.fr » (elle contient un espace)",
        "ligne 18 : Accord de partage : « peut-être » n'est ni Oui ni Non",
        "ligne 20 : Doublon de la ligne 19 (même Référence)",
        "ligne 21 : Doublon de la ligne 2 (même adresse email)",
        "ligne 22 : Activ'Créa : « ouais » n'est ni Oui ni Non",
        "Feuille « Réunions » :",
        "ligne 2 : Places : « treize » n'est pas un nombre entier",
        "ligne 3 : Places : « -1 » est négatif",
        "ligne 4 : Heure de début : « quatorze heures » n'est pas une heure",
        "ligne 6 : Places : 0 place, personne ne peut y être invité·e",
    ]:
        assert expected in out, f"missing: {expected}\n{out}"
    orientations = out.split("Feuille « Orientations » :")[1].split("Feuille")[0]
    for n in range(len(TEN_DATE_FORMATS)):
        assert f"ligne {n + 2} :" not in orientations, f"date format {TEN_DATE_FORMATS[n]!r} misread"
    assert digest(project) == before


def test_a_run_on_hostile_input_finishes_reports_in_etat_and_keeps_every_cell(project):
    project.create(hostile_referrals(), hostile_sessions())
    done = subprocess.run(
        [SCRIPT, "run", "invitations", "--config", str(project.config_path), "--now", NOW.isoformat()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rows = project.rows()
    assert rows[10]["Nom"] == "x" * 5000
    assert rows[11]["Prénom"] == '=HYPERLINK("http://x")'
    assert rows[14]["État"].startswith("Date d'orientation : « demain »")
    assert [r["Nom"] for r in rows if not r["État"]] == [], "every row says where it stands"
    sheet = openpyxl.load_workbook(project.workbook)["Orientations"]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    names = {m["To"].addresses[0].display_name for m in project.emails()}
    assert "Eve Bcc: x@y.fr Tab ulé" in names and "Zoë 🌱 حداد" in names
    [journal] = project.rows("Journal")
    assert "« Orientations », ligne 17 : Email" in journal["Détail"]
    assert "a b@c.fr" not in journal["Détail"], "Journal names where the problem is, never the content"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (
            ["Nom", "Prénom", "Email", "E-mail"],
            "La feuille « Orientations » a deux colonnes « Email » (colonnes C et D)",
        ),
        (["Nom", "", "Email"], "La feuille « Orientations » n'a pas de colonne « Prénom » en ligne 1"),
    ],
)
def test_check_reports_blank_and_duplicate_headers(project, headers, message):
    project.create(
        [{"Nom": "A", "Prénom": "B", "Email": "a@b.fr", "E-mail": "c@d.fr"}],
        [session("R", 7, 5)],
        orientation_headers=headers,
    )
    done = check(project)
    assert done.returncode == 1
    assert message in done.stdout


def templates_with(folder, name: str, text: str):
    """A copy of the bundled templates in which ``name`` reads ``text``."""
    from automations.wiring import bundled_templates

    folder.mkdir()
    for source in bundled_templates().iterdir():
        (folder / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_check_renders_every_template_and_names_the_broken_one_once(project, tmp_path):
    templates = templates_with(tmp_path / "t", "suite_presence.txt", "{{ accompagnatrice }}")
    project.create([referral(1)], [session("R", 7, 5)], extra_config=f'templates = "{templates}"\n')
    done = check(project)
    assert done.returncode == 1
    assert "suite_presence.txt utilise une valeur inconnue « accompagnatrice »" in done.stdout
    assert done.stdout.count("suite_presence.txt") == 1, done.stdout


def test_check_names_a_template_syntax_error_once_in_french(project, tmp_path):
    templates = templates_with(tmp_path / "t", "rappel.txt", "Bonjour {{ prenom }\n")
    project.create([referral(1)], [session("R", 7, 5)], extra_config=f'templates = "{templates}"\n')
    done = check(project)
    assert done.returncode == 1
    assert done.stdout == (
        "Configuration et modèles :\n"
        f"  - Le modèle d'email {templates / 'rappel.txt'} a une erreur de syntaxe à la ligne 1 "
        "(unexpected '}') : corrigez-la, souvent une balise {% … %} ou {{ … }} mal fermée.\n"
        "1 problème(s) à corriger.\n"
    )


def test_check_says_all_is_well_on_the_demo(tmp_path):
    assert subprocess.run([SCRIPT, "demo", str(tmp_path / "d")], capture_output=True).returncode == 0
    done = subprocess.run(
        [SCRIPT, "check", "--config", str(tmp_path / "d" / "passerelle.toml")], capture_output=True, text=True
    )
    assert done.returncode == 0
    heading, waiting, verdict = done.stdout.strip().splitlines()
    assert heading == "À faire — Pour la coopérative :"
    assert waiting.startswith("  - 4 personnes attendent une place depuis le "), "the demo's waiting list"
    assert waiting.endswith("aucune réunion n'en propose : ajoutez une réunion dans « Réunions ».")
    assert verdict == "Tout est prêt : aucun problème trouvé."


def test_preview_writes_what_a_job_would_send_without_sending(project, tmp_path):
    project.create([referral(1), referral(2)], [session("R", 7, 5)])
    done = subprocess.run(
        [
            SCRIPT,
            "preview",
            "invitations",
            "--out",
            str(tmp_path / "p"),
            "--config",
            str(project.config_path),
            "--now",
            NOW.isoformat(),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "p").glob("*.eml"))) == 2
    html = next((tmp_path / "p").glob("*.html")).read_text(encoding="utf-8")
    assert "Bonjour Prénom0" in html
    assert not project.outbox.exists()
    assert all(r["Session"] is None for r in project.rows())


def test_dates_in_ten_formats_are_read_as_the_same_day():
    from automations.cells import parse_date

    assert {parse_date(v) for v in TEN_DATE_FORMATS} == {date(2026, 11, 10)}


def test_merged_cells_empty_rows_and_a_past_session_are_handled_without_loss(project):
    past = session("R-PASSEE", -10, 20)
    project.create([referral(1), {}, {}, referral(2)], [past, session("R-OK", 7, 5)])
    book = openpyxl.load_workbook(project.workbook)
    sheet = book["Orientations"]
    sheet["L2"] = "à rappeler le matin"
    sheet.merge_cells("L2:L3")  # a person merged two « Remarques » cells
    book.save(project.workbook)
    assert check(project).returncode == 0
    project.run("invitations")
    rows = [r for r in project.rows() if r["Nom"]]
    assert [r["Session"] for r in rows] == ["R-OK", "R-OK"], "nobody is invited to a session in the past"
    assert rows[0]["Remarques"] == "à rappeler le matin"
    merged = openpyxl.load_workbook(project.workbook)["Orientations"].merged_cells.ranges
    assert [r.coord for r in merged] == ["L2:L3"]
    assert len(project.rows()) == 4, "the empty rows people left stay where they are"


def test_check_reports_a_digest_schedule_that_never_meets_the_digest_day(project):
    project.create([referral(1)], [session("R", 7, 5)], extra_config="")
    text = project.config_path.read_text(encoding="utf-8")
    project.config_path.write_text(
        text + '[followups]\ndigest_weekday = 4\n[schedule]\ndigests = "monday at 08:00"\n', encoding="utf-8"
    )
    done = check(project)
    assert done.returncode == 1
    assert "les conseiller·ères ne recevraient aucune synthèse" in done.stdout


@pytest.mark.parametrize(
    ("placed", "warned"),
    [
        (
            '{ presences = "coop", suivi = "https://docs.google.com/spreadsheets/d/coop/edit", '
            'historique = "coop" }',
            [],
        ),
        ('{ suivi = "coop", historique = "coop" }', ["Présences"]),
        ('{ presences = "coop", suivi = "coop" }', ["Historique"]),
        ("{}", ["Présences", "Suivi", "Historique"]),
    ],
)
def test_check_warns_when_the_agency_could_read_the_cooperatives_working_sheets(tmp_path, placed, warned):
    path = tmp_path / "p.toml"
    path.write_text(
        f'[sheets]\nbackend = "google"\n[sheets.google]\nspreadsheet = "agence"\nspreadsheets = {placed}\n',
        encoding="utf-8",
    )
    said = shared_with_the_agency(config_module.load(path))
    assert [s.split("« ")[1].split(" »")[0] for s in said] == warned
    assert all("accord de partage" in s and "[sheets.google.spreadsheets]" in s for s in said)
