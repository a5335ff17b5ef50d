"""Speed and memory at a region's scale, each against a floor measured in the same run.

    .venv/bin/python -m benchmarks.scale [SIZES...] [--repeat 3]

For each size (default 1,000, 10,000 and 50,000 referrals), a local workbook of realistic French
rows (accents, apostrophes, several advisors, sessions spread over months) is made once; then,
``--repeat`` times and interleaved so a busy machine slows floor and run alike:

- *first run*: every job on a fresh copy of that workbook (invitations and waiting-list emails to
  the outbox); *idle run*: every job again on the result, with nothing left to do;
- *bare*: openpyxl's own ``load_workbook`` + ``save`` of the same file (before the first run for
  the first run, after it for the idle run): the floor no run can go under.

Each measurement runs in its own process; its peak memory is that process's maximum resident set
(``os.wait4``), its time the median of the repeats, measured inside the process after imports.

Then, in-process: invitation planning on 50,000 rows with 10 sessions vs 2,500 sessions (same
seats in all), and the composition of one invitation (text + HTML + .ics) into the bytes the
transport takes, beside a floor built here with the standard library's compat32 ``email.mime``
classes and the same .ics.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

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
FIRST = [
    "Zoé",
    "Hélène",
    "François",
    "Anaïs",
    "Jérôme",
    "Maëlle",
    "Noël",
    "Loïc",
    "Cécile",
    "Amélie",
    "Théo",
    "Inès",
    "Gaëtan",
    "Chloé",
    "Benoît",
    "Léa",
    "Rémi",
    "Océane",
    "Joël",
    "Françoise",
]
LAST = [
    "D'Arcy",
    "Lefèvre",
    "N'Diaye",
    "Girard-Bénard",
    "Le Goff",
    "Dubois",
    "Mercier",
    "O'Neill",
    "Béranger",
    "Caron",
    "Lemaître",
    "Fournier",
    "Roussel",
    "Bérégovoy",
    "Guérin",
    "Châtelain",
]
ADVISORS = [
    ("Sophie Le Goff", "sophie.legoff"),
    ("Karim Benaïssa", "karim.benaissa"),
    ("Élodie Martin", "elodie.martin"),
    ("Jean-Noël Prévost", "jean-noel.prevost"),
    ("Aïcha Traoré", "aicha.traore"),
    ("Grégoire d'Estienne", "gregoire.destienne"),
]
PLACES = [
    ("Maison de l'emploi", "1 rue de la Paix, Nantes"),
    ("Espace Créa'", "12 quai de l'Île, Rezé"),
    ("Visio", "https://visio.example/reunion"),
]


def _ascii(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()


def referral_rows(count: int) -> list[dict[str, object]]:
    """Distinct, valid referrals, no Référence yet, referred over the last year."""
    rows = []
    for n in range(count):
        first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]
        advisor, login = ADVISORS[n % len(ADVISORS)]
        rows.append(
            {
                "Nom": f"{last}",
                "Prénom": first,
                "Email": f"{_ascii(first).lower()}.{n:06d}@exemple.fr",
                "Téléphone": f"06 {n % 100:02d} {n // 100 % 100:02d} 12 34",
                "Conseiller·ère": advisor,
                "Email conseiller·ère": f"{login}@francetravail.example",
                "Projet": "Reprise d'un café-librairie à l'Île-d'Yeu",
                "Accord de partage": "Oui",
                "Date d'orientation": date(2025, 11, 26) + timedelta(days=n * 365 // max(count, 1)),
            }
        )
    return rows


SLOTS = (((9, 30), (12, 0)), ((14, 0), (16, 30)), ((10, 0), (12, 30)), ((16, 0), (18, 30)))


def session_rows(count: int, seats: int) -> list[dict[str, object]]:
    """Sessions from next week on, every few days (four a day when there are many), each at its own
    start (a session's Référence is its start)."""
    per_day = 1 if count <= 100 else 4
    rows = []
    for n in range(count):
        day = NOW.date() + timedelta(days=7 + (n // per_day) * (3 if per_day == 1 else 1))
        (sh, sm), (eh, em) = SLOTS[n % 4] if per_day == 4 else SLOTS[n % 2]
        place, where = PLACES[n % len(PLACES)]
        rows.append(
            {
                "Date": day,
                "Heure de début": clock(sh, sm),
                "Heure de fin": clock(eh, em),
                "Lieu": place,
                "Adresse ou lien": where,
                "Places": seats,
                "Animateur·rice": "Camille Roux",
                "Email contact": "camille.roux@ouvre-boites.example",
                "Annulée": "Non",
            }
        )
    return rows


def grid(spec, rows: list[dict[str, object]]) -> list[list[object]]:
    headers = list(spec.columns.values())
    return [headers, *([row.get(h) for h in headers] for row in rows)]


def make_project(folder: Path, referrals: int) -> Path:
    """A set-up project whose workbook holds the referrals and sessions (seats for 90 % of them)."""
    import openpyxl

    from automations import config as config_module
    from automations import runner
    from automations.schema import ORIENTATIONS, REUNIONS

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "passerelle.toml").write_text(CONFIG, encoding="utf-8")
    config = config_module.load(folder / "passerelle.toml")
    runner.setup(config)
    book = openpyxl.load_workbook(folder / "passerelle.xlsx")
    sessions = 60
    seats = -(-referrals * 9 // 10 // sessions)
    for spec, rows in ((ORIENTATIONS, referral_rows(referrals)), (REUNIONS, session_rows(sessions, seats))):
        sheet = book[spec.name]
        for row in grid(spec, rows)[1:]:
            sheet.append(row)
    book.save(folder / "passerelle.xlsx")
    shutil.rmtree(folder / "state", ignore_errors=True)
    return folder


# -- one measurement, in its own process ------------------------------------------------------------


def child(mode: str, target: str) -> None:
    """Runs in the measured process: prints the seconds taken, after imports."""
    import openpyxl

    from automations import config as config_module
    from automations import runner
    from automations.jobs.registry import JOBS

    folder = Path(target)
    started = time.perf_counter()
    if mode == "bare":
        book = openpyxl.load_workbook(folder / "passerelle.xlsx")
        book.save(folder / ".bare-copy.xlsx")
        (folder / ".bare-copy.xlsx").unlink()
    else:
        config = config_module.load(folder / "passerelle.toml")
        runner.run(config, list(JOBS), NOW)
    print(json.dumps({"seconds": time.perf_counter() - started}))


def measure(mode: str, folder: Path) -> tuple[float, int]:
    """(seconds, peak resident bytes) of one measurement in a fresh process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.scale", "--child", mode, str(folder)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{mode} on {folder} failed ({process.returncode})")
    peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return json.loads(output.splitlines()[-1])["seconds"], peak


def scale(size: int, repeat: int, work: Path) -> dict[str, tuple[float, int]]:
    """Copies are left in ``work`` until every size is measured: deleting one attempt's 10,000
    outbox files made the file system slow to create the next attempt's (ext4 scans the inodes it
    freed seconds ago), which timed the benchmark's own clean-up, not Passerelle."""
    pristine = make_project(work / f"pristine-{size}", size)
    samples: dict[str, list[tuple[float, int]]] = {k: [] for k in ("first", "bare0", "idle", "bare1")}
    for attempt in range(repeat):
        copy = work / f"run-{size}-{attempt}"
        shutil.copytree(pristine, copy)
        samples["bare0"].append(measure("bare", copy))
        samples["first"].append(measure("first", copy))
        samples["bare1"].append(measure("bare", copy))
        samples["idle"].append(measure("idle", copy))
    return {
        key: (statistics.median(s for s, _ in values), max(m for _, m in values))
        for key, values in samples.items()
    }


# -- planning and composition, in-process ---------------------------------------------------------


def planning(rows: int, sessions: int, repeat: int) -> float:
    """Median seconds of the invitations plan (world built once) on plain values."""
    from automations.config import CooperativeConfig
    from automations.jobs import invitations
    from automations.journal import JournalFacts
    from automations.schema import ORIENTATIONS, REUNIONS
    from automations.settings import Settings
    from automations.tables import bind
    from automations.world import build

    settings = Settings(CooperativeConfig("L'Ouvre-Boîtes", "accueil@ouvre-boites.example"), "ob.example")
    tables = {
        "orientations": bind(ORIENTATIONS, grid(ORIENTATIONS, referral_rows(rows))),
        "reunions": bind(REUNIONS, grid(REUNIONS, session_rows(sessions, -(-rows // sessions)))),
    }
    world = build(tables)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        invitations.plan(world, JournalFacts([]), NOW, settings)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def invitation_orders(count: int):
    """Invitations as the job plans them, rendered: what composition starts from."""
    from automations.config import CooperativeConfig
    from automations.jobs import invitations
    from automations.journal import JournalFacts
    from automations.mail.render import Renderer
    from automations.schema import ORIENTATIONS, REUNIONS
    from automations.settings import Settings
    from automations.tables import bind
    from automations.wiring import bundled_templates
    from automations.world import build

    settings = Settings(CooperativeConfig("L'Ouvre-Boîtes", "accueil@ouvre-boites.example"), "ob.example")
    tables = {
        "orientations": bind(ORIENTATIONS, grid(ORIENTATIONS, referral_rows(count))),
        "reunions": bind(REUNIONS, grid(REUNIONS, session_rows(4, count))),
    }
    orders = invitations.plan(build(tables), JournalFacts([]), NOW, settings).emails
    renderer = Renderer(bundled_templates())
    return [(order, renderer.render(order.kind, order.context)) for order in orders]


def floor_compose(order, rendered, sender_name: str, sender_address: str) -> bytes:
    """The cheapest correct message the standard library builds: compat32 classes, same .ics."""
    import dataclasses
    from email.header import Header
    from email.mime.application import MIMEApplication  # noqa: F401
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText
    from email.utils import format_datetime, formataddr

    from automations.mail.calendar import PARIS, ics, method

    message = MIMEMultipart("mixed")
    message["From"] = formataddr((sender_name, sender_address))
    message["To"] = formataddr((order.to_name, order.to_address))
    message["Subject"] = Header(rendered.subject, "utf-8")
    message["Date"] = format_datetime(NOW.replace(tzinfo=PARIS))
    message["Message-ID"] = "<0123456789abcdef01234567@ob.example>"
    message["X-Passerelle-Key"] = order.key
    body = MIMEMultipart("alternative")
    body.attach(MIMEText(rendered.text, "plain", "utf-8"))
    body.attach(MIMEText(rendered.html, "html", "utf-8"))
    event = dataclasses.replace(order.event, attendee=order.to_address, attendee_name=order.to_name)
    calendar = ics(event, NOW).decode()
    part = MIMEText(calendar, "calendar", "utf-8")
    part.set_param("method", method(event))
    body.attach(part)
    message.attach(body)
    attachment = MIMEText(calendar, "calendar", "utf-8")
    attachment.set_param("method", method(event))
    attachment.add_header("Content-Disposition", "attachment", filename="reunion.ics")
    message.attach(attachment)
    return message.as_bytes()


def composition(count: int, repeat: int) -> tuple[float, float, int, int]:
    """Median seconds per message: (Passerelle, floor), and the bytes of one message of each."""
    from email.headerregistry import Address

    from automations.mail.compose import compose

    rendered = invitation_orders(count)
    sender = Address("L'Ouvre-Boîtes", addr_spec="accueil@ouvre-boites.example")

    def ours(order, text):
        out = compose(order, text, sender, NOW, "ob.example")
        return out.data

    def floor(order, text):
        return floor_compose(order, text, "L'Ouvre-Boîtes", "accueil@ouvre-boites.example")

    timings: dict[str, list[float]] = {"ours": [], "floor": []}
    for _ in range(repeat):
        for name, build in (("ours", ours), ("floor", floor)):
            started = time.perf_counter()
            for order, text in rendered:
                build(order, text)
            timings[name].append((time.perf_counter() - started) / len(rendered))
    order, text = rendered[0]
    return (
        statistics.median(timings["ours"]),
        statistics.median(timings["floor"]),
        len(ours(order, text)),
        len(floor(order, text)),
    )


# -- report ---------------------------------------------------------------------------------------


def mib(size: int) -> str:
    return f"{size / 2**20:.0f} MiB"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale")
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000, 10_000, 50_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    print(
        f"{'referrals':>9} | {'first':>7} {'bare':>6} {'ratio':>6} | {'idle':>6} {'bare':>6} {'ratio':>6} "
        f"| {'first peak':>10} {'bare peak':>9} {'ratio':>6}"
    )
    with tempfile.TemporaryDirectory(prefix="passerelle-scale-") as folder:
        for size in args.sizes:
            m = scale(size, args.repeat, Path(folder))
            (first, peak), (bare0, bare_peak) = m["first"], m["bare0"]
            (idle, _), (bare1, _) = m["idle"], m["bare1"]
            print(
                f"{size:>9} | {first:>6.2f}s {bare0:>5.2f}s {first / bare0:>5.1f}× | {idle:>5.2f}s "
                f"{bare1:>5.2f}s {idle / bare1:>5.2f}× | {mib(peak):>10} {mib(bare_peak):>9} "
                f"{peak / bare_peak:>5.2f}×",
                flush=True,
            )
    rows = 50_000
    few, many = planning(rows, 10, args.repeat), planning(rows, 2_500, args.repeat)
    print(
        f"invitation planning, {rows} rows: 10 sessions {few:.2f}s, 2,500 sessions {many:.2f}s "
        f"({many / few:.2f}×)"
    )
    ours, floor, size, floor_size = composition(300, args.repeat)
    print(
        f"composition of one invitation: {ours * 1000:.2f} ms ({size} bytes) vs compat32 + .ics floor "
        f"{floor * 1000:.2f} ms ({floor_size} bytes): {ours / floor:.2f}×"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
