"""Fixtures: one per real component. Workbooks are real .xlsx files, the outbox a real folder."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pytest

from automations import config as config_module
from automations import runner
from automations.schema import ORIENTATIONS, REUNIONS

NOW = datetime(2026, 11, 26, 9, 0)

CONFIG = """\
state_dir = "state"
[cooperative]
name = "L'Ouvre-Boîtes"
email = "accueil@ouvre-boites.example"
[sheets]
workbook = "passerelle.xlsx"
[mail]
outbox = "outbox"
sender_address = "accueil@ouvre-boites.example"
domain = "ouvre-boites.example"
"""


def referral(n: int, **overrides) -> dict[str, object]:
    """A valid referral row (header label → value); ``n`` orders the referral dates."""
    row = {
        "Nom": f"Nom{n:02d}",
        "Prénom": f"Prénom{n:02d}",
        "Email": f"personne{n:02d}@exemple.fr",
        "Conseiller·ère": "Sophie Le Goff",
        "Email conseiller·ère": "sophie.legoff@francetravail.example",
        "Accord de partage": "Oui",
        "Date d'orientation": date(2026, 10, 1) + timedelta(days=n),
    }
    row.update(overrides)
    return row


def session(reference: str, days_ahead: int, seats: int, **overrides) -> dict[str, object]:
    row = {
        "Référence": reference,
        "Date": (NOW + timedelta(days=days_ahead)).date(),
        "Heure de début": "14:00",
        "Heure de fin": "16:30",
        "Lieu": "Maison de l'emploi",
        "Adresse ou lien": "1 rue de la Paix, Saint-Nazaire",
        "Places": seats,
        "Animateur·rice": "Camille Roux",
        "Email contact": "camille.roux@ouvre-boites.example",
        "Annulée": "Non",
    }
    row.update(overrides)
    return row


def write_sheet(sheet, headers: Sequence[str], rows: Sequence[Mapping[str, object]]) -> None:
    """Text stays text, as when a person types it: "=HYPERLINK(…)" in a name is not a formula."""
    sheet.append(list(headers))
    for row in rows:
        sheet.append([row.get(h) for h in headers])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"


@dataclass
class Project:
    """A Passerelle set-up in a folder: config, workbook, outbox and state, as a user would have."""

    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / "passerelle.toml"

    @property
    def workbook(self) -> Path:
        return self.root / "passerelle.xlsx"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    def create(
        self,
        referrals: Sequence[Mapping[str, object]],
        sessions: Sequence[Mapping[str, object]],
        orientation_headers: Sequence[str] | None = None,
        extra_config: str = "",
    ) -> Project:
        self.config_path.write_text(CONFIG + extra_config, encoding="utf-8")
        book = openpyxl.Workbook()
        write_sheet(book.active, orientation_headers or list(ORIENTATIONS.columns.values()), referrals)
        book.active.title = ORIENTATIONS.name
        write_sheet(book.create_sheet(REUNIONS.name), list(session("x", 0, 0)), sessions)
        book.save(self.workbook)
        return self

    def run(self, *jobs: str, now: datetime = NOW, dry_run: bool = False):
        config = config_module.load(self.config_path)
        return runner.run(config, list(jobs), now, dry_run=dry_run)

    def rows(self, sheet: str = "Orientations") -> list[dict[str, object]]:
        book = openpyxl.load_workbook(self.workbook)
        values = list(book[sheet].iter_rows(values_only=True))
        return [dict(zip(values[0], row, strict=False)) for row in values[1:]]

    def emails(self) -> list[EmailMessage]:
        files = sorted(self.outbox.glob("*.eml")) if self.outbox.exists() else []
        return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)
