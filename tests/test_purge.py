"""`passerelle purge`: personal data of closed referrals erased everywhere, counts kept."""

from __future__ import annotations

import email
import email.policy
import sqlite3
import subprocess
from datetime import datetime, timedelta

import openpyxl
import pytest

from automations import demo, story
from automations.purge import months_before
from tests.conftest import NOW
from tests.test_cli import SCRIPT

START = datetime(2026, 11, 26, 9, 0)


def funnel(workbook) -> dict:
    rows = list(openpyxl.load_workbook(workbook)["Synthèse"].iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r and r[0] == "Étape")
    return {r[0]: r[1] for r in rows[start + 1 : start + 9]}


def every_text(folder) -> list[str]:
    book = openpyxl.load_workbook(folder / "passerelle.xlsx")
    texts = [
        str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row if v is not None
    ]
    with sqlite3.connect(folder / "state" / "journal.sqlite3") as db:
        texts += [
            " ".join(map(str, row))
            for table in ("emails", "memory")
            for row in db.execute(f"SELECT * FROM {table}")
        ]
    for path in (folder / "outbox").glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        texts += [str(message["To"]), str(message["Subject"])]
        texts += [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]
    return texts


@pytest.fixture(scope="module")
def told_story(tmp_path_factory):
    folder = tmp_path_factory.mktemp("purge")
    config = demo.build(folder, START)
    subprocess.run(
        [SCRIPT, "run", "--config", str(config), "--now", START.isoformat()], check=True, capture_output=True
    )
    story.play(config, START, lambda line: None)
    return folder, config


def test_purge_erases_closed_referrals_everywhere_and_keeps_the_counts(told_story):
    folder, config = told_story
    before = funnel(folder / "passerelle.xlsx")
    now = START + timedelta(days=30)
    now = now.replace(year=now.year + 2)  # 24 months after the 30th day of the story
    dry = subprocess.run(
        [
            SCRIPT,
            "purge",
            "--older-than",
            "24m",
            "--dry-run",
            "--config",
            str(config),
            "--now",
            now.isoformat(),
        ],
        capture_output=True,
        text=True,
    )
    assert dry.returncode == 0, dry.stderr
    assert "seraient effacées" in dry.stdout
    done = subprocess.run(
        [SCRIPT, "purge", "--older-than", "24m", "--config", str(config), "--now", now.isoformat()],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    purged = done.stdout.split(": ", 1)[1].strip().split(", ")
    assert len(purged) >= 3 and purged == dry.stdout.split(": ", 1)[1].strip().split(", ")

    rows = list(
        openpyxl.load_workbook(folder / "passerelle.xlsx")["Orientations"].iter_rows(values_only=True)
    )
    by_ref = {r[0]: r for r in rows[1:]}
    kept = [i for i, s in enumerate(demo.SEEKERS) if by_ref[rows[i + 1][0]][1]]
    gone = [demo.SEEKERS[i] for i in range(len(demo.SEEKERS)) if i not in kept]
    assert len(gone) == len(purged) and kept, "some referrals are still active and must be kept"
    texts = every_text(folder)
    for first, last, *_ in gone:
        address = f"{demo._ascii(first)}.{demo._ascii(last)}@exemple.fr"
        assert not any(address in t or f"{first} {last}" in t or t in (first, last) for t in texts), (
            f"{first} {last} is still somewhere"
        )
    for i in kept:
        first, last, *_ = demo.SEEKERS[i]
        assert any(f"{first} {last}" in t for t in texts)
    assert funnel(folder / "passerelle.xlsx") == before

    again = subprocess.run(
        [SCRIPT, "run", "--config", str(config), "--now", now.isoformat()], capture_output=True, text=True
    )
    assert again.returncode == 0 and funnel(folder / "passerelle.xlsx") == before


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("24m", datetime(2024, 11, 26, 9)),
        ("2y", datetime(2024, 11, 26, 9)),
        ("30d", datetime(2026, 10, 27, 9)),
        ("1m", datetime(2026, 10, 26, 9)),
    ],
)
def test_periods(period, expected):
    assert months_before(NOW, period) == expected


def test_a_period_that_is_not_one_is_refused():
    from automations.errors import ConfigError

    with pytest.raises(ConfigError, match="n'est pas une durée"):
        months_before(NOW, "deux ans")
