"""Google Sheets API requests per run, for 100, 1,000 and 10,000 referrals (fake Sheets API).

    .venv/bin/python -m benchmarks.api_calls [SIZES...]

For each size: a French-locale spreadsheet with "Orientations" (that many referrals, no
Référence yet) and "Réunions" (one session next week with a seat for half of them) behind the
fake Sheets API of tests/fakes, the other sheets made by set-up; then every job runs twice
through gspread and the Google backend: a first run (invitations and waiting-list emails to the
outbox) and a second one with nothing left to do. Prints the requests of each run by endpoint,
and the wall time. Exits non-zero if the requests of a run differ between sizes: they must not
grow with the rows.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import gspread
from google.oauth2.credentials import Credentials

from automations import config as config_module
from automations import runner, wiring
from automations.jobs.registry import JOBS
from automations.schema import ORIENTATIONS, REUNIONS
from automations.sheets.google import GoogleSheetStore, Retry
from tests.fakes.sheets_api import PREFIXES, FakeSheetsAdapter, make_adapter

NOW = datetime(2026, 11, 26, 9, 0)
CONFIG = """\
state_dir = "state"
[sheets]
backend = "google"
[sheets.google]
spreadsheet = "{key}"
[mail]
outbox = "outbox"
"""


def seed(adapter: FakeSheetsAdapter, referrals: int) -> str:
    book = adapter.create_spreadsheet("Passerelle benchmark", sheets=[ORIENTATIONS.name, REUNIONS.name])
    headers = list(ORIENTATIONS.columns.values())
    rows = [headers]
    for n in range(referrals):
        typed = {
            "Nom": f"Nom{n:05d}",
            "Prénom": "Zoé",
            "Email": f"personne{n:05d}@exemple.fr",
            "Conseiller·ère": "Sophie Le Goff",
            "Email conseiller·ère": "sophie.legoff@francetravail.example",
            "Accord de partage": "Oui",
            "Date d'orientation": (NOW - timedelta(days=30) + timedelta(minutes=n)).strftime(
                "%d/%m/%Y %H:%M"
            ),
        }
        rows.append([typed.get(h, "") for h in headers])
    book.sheet(ORIENTATIONS.name).set_rows(rows)
    day = (NOW + timedelta(days=7)).strftime("%d/%m/%Y")
    book.sheet(REUNIONS.name).set_rows(
        [
            list(REUNIONS.columns.values()),
            [
                "S1",
                day,
                "14:00",
                "16:30",
                "Maison de l'emploi",
                "1 rue de la Paix",
                str(max(1, referrals // 2)),
                "Camille Roux",
                "camille.roux@ouvre-boites.example",
                "Non",
            ],
        ]
    )
    return book.id


def measure(referrals: int, folder: Path) -> list[tuple[Counter[str], float]]:
    adapter = make_adapter()
    key = seed(adapter, referrals)
    (folder / "passerelle.toml").write_text(CONFIG.format(key=key), encoding="utf-8")
    config = config_module.load(folder / "passerelle.toml")
    client = gspread.Client(auth=Credentials(token="benchmark"))
    for prefix in PREFIXES:
        client.http_client.session.mount(prefix, adapter)
    # the sheets Passerelle makes (Suivi, Synthèse, Journal…), as `passerelle setup` would
    GoogleSheetStore(client, key).ensure([spec.layout() for spec in wiring.specs(config).values()])
    runs = []
    for _ in range(2):
        store = GoogleSheetStore(client, key, retry=Retry(budget_seconds=0))
        adapter.calls.clear()
        started = time.perf_counter()
        runner.run(config, list(JOBS), NOW, store=store)
        runs.append((Counter(adapter.endpoints()), time.perf_counter() - started))
    return runs


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or [100, 1_000, 10_000]
    print(f"jobs: {', '.join(JOBS)}")
    print(f"{'referrals':>10} {'run':>4} {'requests':>9} {'seconds':>8}  by endpoint")
    seen: dict[int, Counter[str]] = {}
    same = True
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            for number, (counts, seconds) in enumerate(measure(size, Path(folder)), start=1):
                detail = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
                print(f"{size:>10} {number:>4} {sum(counts.values()):>9} {seconds:>8.2f}  {detail}")
                same &= seen.setdefault(number, counts) == counts
    print("requests per run do not depend on the number of rows" if same else "REQUESTS GROW WITH ROWS")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
