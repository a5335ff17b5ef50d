"""The demo story (PRODUCT.md §5): two advisors of the Saint-Nazaire agency refer 17 job seekers
to a cooperative whose next information session, next week, has 13 seats.

Dates are relative to the day the demo is built, so the story works whatever the date.
"""

from __future__ import annotations

import shutil
import unicodedata
from datetime import date, datetime, timedelta
from pathlib import Path

import holidays

from automations.errors import PasserelleError
from automations.schema import ORIENTATIONS, REUNIONS
from automations.sheets.base import SheetStore
from automations.sheets.workbook import WorkbookStore
from automations.values import RowAppend

MARKER = ".passerelle-demo"
ADVISORS = (
    ("Sophie Le Goff", "sophie.legoff@francetravail.example"),
    ("Nadia Benali", "nadia.benali@francetravail.example"),
)
# (first name, last name, project, Activ'Créa, consent)
SEEKERS = (
    ("Ève-Marie", "Durand", "Atelier de couture et retouches", "Oui", "Oui"),
    ("Aïssatou", "N'Diaye", "Traiteur africain", "Non", "Oui"),
    ("François", "Le Bihan", "Menuiserie d'agencement", "Oui", "Oui"),
    ("Çağla", "Yılmaz", "Traduction turc-français", "Non", "Oui"),
    ("Jérôme", "Guérin", "Réparation de vélos", "Non", "Non"),
    ("Hélène", "Brochard", "Graphisme et illustration", "Oui", "Oui"),
    ("Noël", "Prigent", "Maraîchage bio", "Non", "Oui"),
    ("Maëlle", "Kervella", "Photographie de mariage", "Oui", "Oui"),
    ("Loïc", "Tanguy", "Dépannage informatique", "Non", "Oui"),
    ("Zoé", "Mercier", "Cours de yoga", "Non", "Non"),
    ("Théo", "Rousseau", "Développement web", "Oui", "Oui"),
    ("Inès", "Haddad", "Pâtisserie orientale", "Non", "Oui"),
    ("Gaëtan", "Morvan", "Paysagiste", "Non", "Oui"),
    ("Anaïs", "Péron", "Conseil en communication", "Oui", "Oui"),
    ("Benoît", "Le Floc'h", "Rénovation de meubles", "Non", "Oui"),
    ("Léa", "Dubois-Ménard", "Soutien scolaire", "Non", "Oui"),
    ("Mathis", "Jégou", "Food truck", "Oui", "Non"),
)

CONFIG = """\
# Passerelle demo configuration: a local workbook and an outbox folder, no credentials needed.
# Paths are relative to this file.
state_dir = "state"

[cooperative]
name = "L'Ouvre-Boîtes"
email = "accueil@ouvre-boites.example"
phone = "02 40 00 00 00"
website = "https://ouvre-boites.example"

[sheets]
backend = "workbook"
workbook = "passerelle.xlsx"

[mail]
transport = "outbox"
outbox = "outbox"
sender_name = "L'Ouvre-Boîtes"
sender_address = "accueil@ouvre-boites.example"
domain = "ouvre-boites.example"

[invitations]
min_notice_days = 2

[answers]
# A Google Form for one-click answers (this address is fictional: in the demo, the story types
# the form's responses into « Réponses » itself).
form_url = "https://formulaires.ouvre-boites.example/reunion/viewform"
code_entry = "entry.1000001"
answer_entry = "entry.1000002"

[checkpoints]
accompagnateurs = { "Karim Benhamou" = "karim.benhamou@ouvre-boites.example" }
"""


def prepare(folder: Path) -> None:
    """Make ``folder`` an empty demo folder, refusing to touch a folder that is not a demo."""
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).exists():
            raise PasserelleError(
                f"{folder} existe déjà et n'est pas une démo de Passerelle : choisissez un autre dossier "
                "ou videz-le."
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("Built by `passerelle demo`; rebuilt (erased) by the next one.\n")


def build(folder: Path, today: datetime, store: SheetStore | None = None) -> Path:
    """Write the config and the sheets of the story's first day; return the config path.

    The sheets go to the folder's workbook, or to ``store`` (the tests tell the story on Google
    Sheets too); the config is the same.
    """
    prepare(folder)
    config = folder / "passerelle.toml"
    config.write_text(CONFIG, encoding="utf-8")
    store = store or WorkbookStore(folder / "passerelle.xlsx")
    store.ensure([ORIENTATIONS.layout(), REUNIONS.layout()])
    store.write(
        {ORIENTATIONS.name: ORIENTATIONS.layout(), REUNIONS.name: REUNIONS.layout()},
        [],
        [*referral_rows(today), session_row(today)],
    )
    return config


def referral_rows(today: datetime) -> list[RowAppend]:
    rows = []
    for index, (first, last, project, activ_crea, consent) in enumerate(SEEKERS):
        advisor, advisor_email = ADVISORS[index % 2]
        address = f"{_ascii(first)}.{_ascii(last)}@exemple.fr"
        referred = (today - timedelta(days=30 - index)).date()
        values = {
            "nom": last,
            "prenom": first,
            "email": address,
            "telephone": f"06 12 34 {index:02d} 00",
            "conseiller": advisor,
            "email_conseiller": advisor_email,
            "projet": project,
            "activ_crea": activ_crea,
            "accord": consent,
            "date_orientation": referred,
        }
        rows.append(RowAppend(ORIENTATIONS.name, {ORIENTATIONS.label(k): v for k, v in values.items()}))
    return rows


def working_day(day: date) -> date:
    """That day, or the next one the cooperative works: no session on a weekend or a French public
    holiday (PRODUCT.md §5). The ``holidays`` package knows the moving ones (Easter Monday,
    Ascension, Whit Monday)."""
    off = holidays.France(years=range(day.year, day.year + 2))
    while day.weekday() >= 5 or day in off:
        day += timedelta(days=1)
    return day


def session_day(today: datetime) -> date:
    """Next week, on a working day: a demo built on a Saturday moves its session from +7 days to
    the Monday after, one built the week before Christmas to the 26th."""
    return working_day((today + timedelta(days=7)).date())


def session_row(today: datetime) -> RowAppend:
    day = session_day(today)
    values = {
        "reference": f"R-{day:%Y%m%d}",
        "date": day,
        "debut": "14:00",
        "fin": "16:30",
        "lieu": "Maison de l'emploi de Saint-Nazaire",
        "adresse": "1 rue de la Paix, 44600 Saint-Nazaire",
        "places": 13,
        "animateur": "Camille Roux",
        "email_contact": "camille.roux@ouvre-boites.example",
        "annulee": "Non",
    }
    return RowAppend(REUNIONS.name, {REUNIONS.label(k): v for k, v in values.items()})


def _ascii(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum() or ch == "-")
