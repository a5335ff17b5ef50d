"""« Synthèse » on plain values: a small world whose every count, rate, cohort and median is
worked out by hand below, then the sheet as saved (its chart's ranges, its look) and, when
LibreOffice is installed, as printed (no `###`, no label cut)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from automations.jobs import summary
from automations.journal import SENT, Entry, JournalFacts
from automations.schema import ORIENTATIONS, PRESENCES, REUNIONS, SUIVI, SYNTHESE
from automations.settings import Settings
from automations.sheets.workbook import WorkbookStore
from automations.tables import bind
from automations.world import build
from tests.conftest import referral

NOW = datetime(2027, 2, 1, 9, 0)
SOPHIE = {"Conseiller·ère": "Sophie Le Goff", "Email conseiller·ère": "sophie.legoff@francetravail.example"}
NADIA = {"Conseiller·ère": "Nadia Benali", "Email conseiller·ère": "nadia.benali@francetravail.example"}


def person(n: int, last: str, first: str, referred: date, advisor: dict, **more) -> dict:
    return referral(
        n,
        **{
            "Référence": f"P{n}",
            "Nom": last,
            "Prénom": first,
            "Date d'orientation": referred,
            **advisor,
            **more,
        },
    )


INVITED = {"Session": "A", "Invitation envoyée le": datetime(2026, 10, 25, 9, 0)}
REFERRALS = [
    person(1, "Durand", "Alice", date(2026, 10, 1), SOPHIE, Projet="Couture", Réponse="Oui", **INVITED),
    # Sophie again, her name and address typed in capitals: one advisor, not two.
    person(
        2,
        "Martin",
        "Bruno",
        date(2026, 10, 15),
        {"Conseiller·ère": "SOPHIE LE GOFF", "Email conseiller·ère": "Sophie.LeGoff@FranceTravail.example"},
        Projet="couture",
        **{"Accord de partage": "Non"},
        **INVITED,
    ),
    person(3, "Leroy", "Chloé", date(2026, 10, 20), NADIA, Projet="Traiteur", **INVITED),
    # A typo in the advisor's address: the row is « à corriger », the person is still counted.
    person(
        4,
        "Petit",
        "Damien",
        date(2026, 11, 2),
        {**NADIA, "Email conseiller·ère": "nadia.benali@francetravail"},
        Projet="Vélos",
        **{"Accord de partage": "Non"},
        **INVITED,
    ),
    person(5, "Roux", "Emma", date(2026, 11, 3), NADIA, Projet="Yoga", **{**INVITED, "Session": "B"}),
    person(6, "Durand", "Alice", date(2026, 10, 1), SOPHIE, Email="personne01@exemple.fr"),  # a duplicate
    person(7, "Blanc", "Fanny", date(2026, 11, 10), SOPHIE, Réponse="Plus intéressé·e"),
    person(8, "Garnier", "Gilles", date(2026, 11, 12), SOPHIE, Projet="yoga"),
]
SESSIONS = [
    {"Référence": "A", "Date": date(2026, 11, 5), "Heure de début": "14:00", "Places": 13},
    {"Référence": "B", "Date": date(2026, 12, 3), "Heure de début": "14:00", "Places": 13},
]
PRESENCES_ROWS = [
    {"Référence": f"P{n} / A", "Session": "A", "Présence": mark}
    for n, mark in ((1, "Présent·e"), (2, "Présent·e"), (3, "Présent·e"), (4, "Présent·e"), (5, "Absent·e"))
]
SUIVI_ROWS = [
    {
        "Référence": "P1",
        "Étape": "CAPE signé",
        "Accompagnateur·rice": "Karim Benhamou",
        "Date CAPE": date(2026, 11, 20),
        "Activité démarrée le": date(2026, 12, 1),
        "1re facture le": date(2026, 12, 10),
    },
    {
        "Référence": "P2",
        "Étape": "CESA signé",
        "Date CAPE": date(2026, 11, 10),
        "Activité démarrée le": date(2026, 11, 25),
        "Date CESA": date(2027, 1, 15),
    },
    {
        "Référence": "P3",
        "Étape": "Sortie",
        "Accompagnateur·rice": "Karim Benhamou",
        "Date CAPE": date(2026, 11, 30),
        "Date de sortie": date(2027, 1, 5),
        "Motif de sortie": "Emploi salarié",
    },
    {"Référence": "P4", "Étape": "Diagnostic"},
]
WAITED = Entry("liste_attente|P8|", "liste_attente", "P8", "", "g@exemple.fr", SENT, 1, NOW, "")
NOT_SHARED = ("Martin", "Bruno", "Petit", "Damien")


def grid(rows: list[dict]) -> list[list]:
    headers = list(dict.fromkeys(h for row in rows for h in row))
    return [headers, *([row.get(h) for h in headers] for row in rows)]


def world():
    return build(
        {
            "orientations": bind(ORIENTATIONS, grid(REFERRALS)),
            "reunions": bind(REUNIONS, grid(SESSIONS)),
            "presences": bind(PRESENCES, grid(PRESENCES_ROWS)),
            "suivi": bind(SUIVI, grid(SUIVI_ROWS)),
        }
    )


@pytest.fixture(scope="module")
def planned():
    plan = summary.plan(world(), JournalFacts([WAITED]), NOW, Settings())
    [(sheet, rows, chart, look)] = plan.replaced
    assert sheet == "Synthèse"
    return rows, chart, look


def block(rows: list[list], header: str) -> list[list]:
    """The rows under the header row whose first cell is ``header``, up to the blank row."""
    start = next(i for i, row in enumerate(rows) if row and row[0] == header) + 1
    end = next((i for i in range(start, len(rows)) if not rows[i]), len(rows))
    return rows[start:end]


def as_dict(rows: list[list]) -> dict:
    return {row[0]: row[1:] for row in rows}


def test_the_funnel_counts_every_person_once_with_or_without_consent(planned):
    rows, _, _ = planned
    assert rows[0] == ["Données du", NOW]
    funnel = as_dict(block(rows, "Étape"))
    referred, invited, present, entered = 7, 5, 4, 3  # P6 repeats P1; P4's row is « à corriger »
    assert funnel == {
        "Orienté·es": [referred, 1.0, "—", ""],
        "Invité·es": [invited, invited / referred, invited / referred, "orienté·es"],
        "En liste d'attente": [1, 1 / referred, 1 / referred, "orienté·es"],
        "Réponse oui": [1, 1 / referred, 1 / invited, "invité·es"],
        "Présent·es": [present, present / referred, present / invited, "invité·es"],
        "Entré·es en coopérative": [entered, entered / referred, entered / present, "présent·es"],
        "CESA signé": [1, 1 / referred, 1 / entered, "entré·es en coopérative"],
        "Activité démarrée": [2, 2 / referred, 2 / entered, "entré·es en coopérative"],
        "Sorti·es": [1, 1 / referred, 1 / present, "présent·es"],
        "Clôturé·es": [1, 1 / referred, 1 / referred, "orienté·es"],
    }


def test_exits_by_reason_add_up_to_the_exits(planned):
    rows, _, _ = planned
    exits = as_dict(block(rows, "Motif de sortie"))
    assert exits["Emploi salarié"] == [1, 1.0]
    assert sum(n for n, _ in exits.values()) == 1 and "(non renseigné)" not in exits


def test_cohorts_by_month_of_referral(planned):
    rows, _, _ = planned
    cohorts = as_dict(block(rows, "Mois d'orientation"))
    header = next(row for row in rows if row and row[0] == "Mois d'orientation")
    assert header[-1] == "Sortie : Emploi salarié"
    # October: P1, P2, P3 came and entered; P2 signed a CESA; P1 and P2 started; P3 left for a job.
    # November: P4 came (diagnostic), P5 was absent, P7 closed, P8 waits.
    assert cohorts == {
        "octobre 2026": [3, 3, 3, 1, 2, 2, 1, 1],
        "novembre 2026": [4, 1, 0, 0, 0, 0, 0, 0],
    }


def test_median_days_from_referral_to_session_to_cape_to_activity(planned):
    rows, _, _ = planned
    delays = as_dict(block(rows, "Étape du parcours"))
    # Session A on 5/11: referred 1/10, 15/10, 20/10, 2/11 → 35, 21, 16, 3 days.
    # CAPE 20/11, 10/11, 30/11 → 15, 5, 25 days after it. Activity 11 (P1) and 15 (P2) days after CAPE.
    assert delays == {
        "De l'orientation à la réunion": [18.5, 4],
        "De la réunion au CAPE": [15, 3],
        "Du CAPE au démarrage de l'activité": [13, 2],
    }


def test_per_advisor_by_email_whatever_the_case_and_a_typo_keeps_the_person(planned):
    rows, _, _ = planned
    advisors = as_dict(block(rows, "Conseiller·ère"))
    assert advisors == {
        "Nadia Benali": ["nadia.benali@francetravail.example", 3, 3, 0, 0, 2, 1, 0, 0, 1, 0],
        "Sophie Le Goff": ["sophie.legoff@francetravail.example", 4, 2, 1, 1, 2, 2, 1, 2, 0, 1],
    }


def test_per_project_whatever_the_case(planned):
    rows, _, _ = planned
    projects = as_dict(block(rows, "Projet"))
    assert list(projects) == ["(non renseigné)", "Couture", "Traiteur", "Vélos", "Yoga"]
    assert projects["Couture"][:5] == [2, 2, 0, 1, 2] and projects["Yoga"][0] == 2


def test_consenting_people_with_their_dated_journey(planned):
    rows, _, _ = planned
    people = block(rows, "Référence")
    assert people == [
        ["P7", "Blanc", "Fanny", "Sophie Le Goff", "—", "", "Clôturé·e", "", "", ""],
        [
            "P1",
            "Durand",
            "Alice",
            "Sophie Le Goff",
            date(2026, 11, 5),
            "Présent·e",
            "CAPE signé",
            "CAPE 20/11/2026 · activité 01/12 · 1re facture 10/12",
            "Karim Benhamou",
            "",
        ],
        ["P8", "Garnier", "Gilles", "Sophie Le Goff", "—", "", "En liste d'attente", "", "", ""],
        [
            "P3",
            "Leroy",
            "Chloé",
            "Nadia Benali",
            date(2026, 11, 5),
            "Présent·e",
            "Sortie",
            "CAPE 30/11/2026 · sortie 05/01/2027",
            "Karim Benhamou",
            "Emploi salarié",
        ],
        ["P5", "Roux", "Emma", "Nadia Benali", date(2026, 11, 5), "Absent·e", "Invité·e", "", "", ""],
    ]


def test_people_without_consent_are_counted_and_never_named_in_any_cell(planned):
    rows, _, _ = planned
    texts = [str(value) for row in rows for value in row if value is not None]
    assert not [t for t in texts for name in NOT_SHARED if name in t]


def test_an_unchanged_synthese_is_not_rewritten_an_hour_later(planned):
    first = summary.plan(world(), JournalFacts([WAITED]), NOW, Settings())
    memory = {(namespace, key): value for namespace, key, value in first.memory}
    later = summary.plan(world(), JournalFacts([WAITED], memory), NOW.replace(hour=10), Settings())
    assert later.replaced == []


# -- as saved, and as printed --------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved(planned, tmp_path_factory):
    rows, chart, look = planned
    path = tmp_path_factory.mktemp("synthese") / "synthese.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "Orientations"
    book.save(path)
    WorkbookStore(path).replace(SYNTHESE.layout(), rows, chart, look)
    return path


def chart_ranges(path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        [name] = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
        return re.findall(r"<(?:c:)?f>([^<]+)</(?:c:)?f>", archive.read(name).decode())


def cells_of(sheet, reference: str) -> list:
    _, _, span = reference.partition("!")
    return [row[0].value for row in sheet[span.replace("$", "")]]


def test_the_chart_plots_every_step_from_the_first_to_the_last_and_no_header(saved):
    sheet = openpyxl.load_workbook(saved)["Synthèse"]
    ranges = chart_ranges(saved)
    values = next(r for r in ranges if "$B$" in r)
    labels = next(r for r in ranges if "$A$" in r)
    assert cells_of(sheet, labels) == [
        "Orienté·es",
        "Invité·es",
        "En liste d'attente",
        "Réponse oui",
        "Présent·es",
        "Entré·es en coopérative",
        "CESA signé",
        "Activité démarrée",
        "Sorti·es",
        "Clôturé·es",
    ]
    assert cells_of(sheet, values) == [7, 5, 1, 1, 4, 3, 1, 2, 1, 1]


def test_the_saved_sheet_has_its_widths_formats_and_frozen_header(saved):
    sheet = openpyxl.load_workbook(saved)["Synthèse"]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b
    rows = list(sheet.iter_rows())
    for row in rows:
        for cell in row:
            if isinstance(cell.value, datetime):  # openpyxl reads dates back as datetimes
                assert cell.number_format in ("DD/MM/YYYY", "DD/MM/YYYY HH:MM")
            if cell.value is not None and len([c for c in row if c.value is not None]) != 1:
                width = sheet.column_dimensions[cell.column_letter].width
                assert width >= len(str(cell.value)) or isinstance(cell.value, datetime | date | float)
    rates = [c for row in rows for c in row if isinstance(c.value, float) and c.column_letter in "CD"]
    assert rates and all(c.number_format == "0%" for c in rates)


def pdf_text(xlsx, folder) -> str:
    """The workbook as LibreOffice prints it, as text."""
    env = {**os.environ, "HOME": str(folder)}  # a profile of its own: no clash with a running office
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(folder), str(xlsx)],
        check=True,
        capture_output=True,
        env=env,
        timeout=300,
    )
    pdf = folder / xlsx.with_suffix(".pdf").name
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True).stdout.decode()
    pypdf = pytest.importorskip("pypdf", reason="neither pdftotext (poppler-utils) nor pypdf to read the PDF")
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)


@pytest.mark.skipif(
    not shutil.which("soffice"),
    reason="LibreOffice is not installed (apt-get install libreoffice-calc poppler-utils to run it)",
)
def test_libreoffice_prints_every_label_whole_and_no_hashes(saved, planned, tmp_path):
    book = openpyxl.load_workbook(saved)
    del book["Orientations"]  # « Synthèse » alone, with its chart (openpyxl reads it back)
    alone = tmp_path / "seule.xlsx"
    book.save(alone)
    text = " ".join(pdf_text(alone, tmp_path).split())
    assert "###" not in text
    rows, _, _ = planned
    labels = {" ".join(v.split()) for row in rows for v in row if isinstance(v, str) and v}
    assert not [label for label in labels if label not in text]
    dates = {f"{v:%d/%m/%Y}" for row in rows for v in row if isinstance(v, date)}
    assert not [d for d in dates if d not in text]
