"""One run: read the sheets once, then for each job build the world, plan, and apply.

Only one run at a time touches a state folder (a file lock), so two schedulers, or a scheduler
and a person typing ``passerelle run``, can never send the same email twice. Sheets are read once
per run into a working copy (``BufferedStore``) that every job reads and writes, and written to the
real sheets by ``apply``'s commit rule. A dry run is the same run with the real store, journal and
transport replaced by in-memory stand-ins that are never written back.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import filelock

from automations import wiring
from automations.apply import Edges, Ledger, Outcome, apply
from automations.config import Config
from automations.errors import AlreadyRunningError, ConfigError, StateError
from automations.jobs.registry import JOBS, JobSpec, canonical
from automations.journal import Journal
from automations.mail.base import Transport
from automations.schema import SheetSpec
from automations.sheets.base import SheetStore
from automations.sheets.buffered import BufferedStore
from automations.sheets.memory import MemoryStore
from automations.tables import Table, bind
from automations.values import Prepared, RowAppend
from automations.world import Parsed, build

OPTIONAL = ("reponses",)
"""Sheets a job reads only if they exist (the form's responses)."""
CREATED = ("presences", "suivi", "historique", "journal")
"""Sheets Passerelle creates when missing, because it fills them."""


@contextmanager
def exclusive(state_dir: Path, name: str, busy: str) -> Iterator[None]:
    """Hold a lock file in the state folder, or raise AlreadyRunningError(busy) at once."""
    lock = filelock.FileLock(state_dir / name)
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        lock.acquire(timeout=0)
    except filelock.Timeout:
        raise AlreadyRunningError(busy) from None
    except OSError as error:
        raise unusable_state(state_dir, error) from None
    try:
        yield
    finally:
        lock.release()


def unusable_state(state_dir: Path, error: OSError) -> StateError:
    """The state folder is the first thing a run touches: say what is in the way, not a traceback."""
    if state_dir.exists() and not state_dir.is_dir():
        return StateError(
            f"Le dossier d'état {state_dir} est un fichier, pas un dossier : déplacez ou renommez ce "
            "fichier, ou indiquez un autre dossier dans state_dir de la configuration."
        )
    return StateError(
        f"Le dossier d'état {state_dir} ne peut pas être utilisé ({error.strerror or error}) : donnez à "
        "Passerelle le droit d'y écrire, ou indiquez un autre dossier dans state_dir de la configuration."
    )


@contextmanager
def fewer_collections(first_generation: int = 10_000) -> Iterator[None]:
    """Python's cycle collector runs less often during a run, and as before afterwards.

    A run holds millions of long-lived objects (the workbook's cells, the rows, the plans), and with
    the default thresholds (a young collection every 700 allocations) the collector walked all of
    them fourteen times in a first run at 10,000 referrals: 2.1 s of 15. Young collections every
    10,000 allocations make that two full passes (0.25 s); what is left to collect stays as small
    (the peak memory did not move), and a scheduler's process gets its thresholds back between runs.
    """
    previous = gc.get_threshold()
    gc.set_threshold(max(first_generation, previous[0]), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def run_lock(state_dir: Path) -> AbstractContextManager[None]:
    busy = (
        f"Une autre exécution de Passerelle utilise {state_dir} en ce moment : "
        "attendez qu'elle se termine, puis relancez."
    )
    return exclusive(state_dir, "passerelle.lock", busy)


def setup(config: Config, store: SheetStore | None = None) -> Prepared:
    """Create the sheets people fill and those Passerelle fills, with headers and dropdowns."""
    layouts = [
        spec.layout()
        for key, spec in wiring.specs(config).items()
        if key not in OPTIONAL and key != "synthese"
    ]
    with run_lock(config.state_dir):
        return (store or wiring.make_store(config)).ensure(layouts)


def select(job_names: Sequence[str]) -> list[JobSpec]:
    job_names = [canonical(name) for name in job_names]
    unknown = [name for name in job_names if name not in JOBS]
    if unknown:
        raise ConfigError(f"Tâche inconnue « {unknown[0]} » : choisissez parmi {', '.join(JOBS)}.")
    return [job for name, job in JOBS.items() if name in job_names or not job_names]


@dataclass
class _Sheets:
    """The run's working copy of the sheets, and how to bind them for a job."""

    buffered: BufferedStore
    specs: dict[str, SheetSpec]
    bound: dict[str, tuple[int, Table]] = field(default_factory=dict)
    """Tables bound so far, with the sheet's version then: a sheet no job wrote since is not read,
    copied and bound again for the next job (at 10,000 rows, most of an idle run's time)."""

    def tables(self, job: JobSpec) -> dict[str, Table]:
        wanted = [self.specs[key] for key in job.sheets]
        stale = [
            spec
            for spec in wanted
            if self.bound.get(spec.key, (None,))[0] != self.buffered.versions.get(spec.name, 0)
        ]
        grids = self.buffered.read([spec.name for spec in stale]) if stale else {}
        for spec in stale:
            table = (
                Table(spec, (), frozenset())
                if spec.key in OPTIONAL and grids[spec.name] is None
                else bind(spec, grids[spec.name])
            )
            self.bound[spec.key] = (self.buffered.versions.get(spec.name, 0), table)
        return {spec.key: self.bound[spec.key][1] for spec in wanted}


def run(
    config: Config,
    job_names: Sequence[str],
    now: datetime,
    dry_run: bool = False,
    store: SheetStore | None = None,
    transport: Transport | None = None,
    stop: Callable[[], bool] = lambda: False,
    journal: Journal | None = None,
    views: Mapping[str, SheetStore] | None = None,
) -> list[Outcome]:
    """What each job did (or, for a dry run, would do), in the order of the registry.

    A dry run reads the real sheets and journal once, then works on copies and records emails in
    ``transport`` (``wiring.stand_in_transport`` when none is given); nothing real is written.
    ``views``: each advisor's view by email ([advisor_views]); empty stand-ins for a dry run.
    """
    jobs = select(job_names)
    specs = wiring.specs(config)
    renderer = wiring.make_renderer(config)
    renderer.compile_all()
    real_store = store or wiring.make_store(config)
    journal_path = config.state_dir / "journal.sqlite3"
    with run_lock(config.state_dir), fewer_collections():
        settings = wiring.settings(config)  # under the lock: the first run creates the code secret
        needed = [specs[key].name for key in dict.fromkeys(k for job in jobs for k in job.sheets)]
        needed = [name for name in needed if name not in {specs[key].name for key in CREATED}]
        created = [specs[key].layout() for key in CREATED]
        if views is None:
            views = wiring.view_stand_ins(config) if dry_run else wiring.view_stores(config, real_store)
        if dry_run:
            real_store = MemoryStore(real_store.read([*needed, *(layout.name for layout in created)]))
            transport = transport or wiring.stand_in_transport(config)
        book = journal or (Journal.copy_in_memory(journal_path) if dry_run else Journal(journal_path))
        sheets = _Sheets(BufferedStore(real_store, needed, created), specs)
        ledger = Ledger(sheets.buffered, {spec.name: spec.layout() for spec in specs.values()}, book, views)
        edges = Edges(
            ledger=ledger,
            transport=transport or wiring.make_transport(config),
            journal=book,
            renderer=renderer,
            sender=wiring.sender(config),
            domain=config.mail.domain,
            stop=stop,
        )
        results: list[Outcome] = []
        try:
            book.confirm(edges.transport.delivered, now)
            replayed = ledger.replay()
            if replayed:
                results.append(Outcome("repair", written=replayed))
            parsed = Parsed()
            for job in jobs:
                if stop():
                    break
                world = build(sheets.tables(job), parsed)
                results.append(apply(job.plan(world, book.facts(), now, settings), edges, now))
        finally:
            try:
                _finish(results, ledger, specs["journal"], book, now)
            finally:
                if journal is None:
                    book.close()
    return results


def _journal_row(results: list[Outcome], now: datetime, journal: Journal) -> tuple[list, list]:
    """One "Journal" row for a run that did something, or whose problems changed, and its memory.

    Problems are listed by sheet, row and column only: "Journal" may live in another spreadsheet
    than the referrals, and the cells' content (an address, a name) must not travel with it.
    """
    problems = [p.where() for o in results for p in o.problems]
    seen = "\n".join(problems)
    changed = any(o.did_something for o in results)
    if not changed and journal.memory().get(("journal", "problems"), "") == seen:
        return [], []
    detail = "; ".join(
        f"{o.job} : {len(o.sent)} email(s), {o.cells_written} cellule(s), {o.rows_added} ligne(s)"
        for o in results
        if o.sent or o.written or o.appended
    )
    row = [
        ("date", now),
        ("jobs", ", ".join(o.job for o in results)),
        ("emails", sum(len(o.sent) for o in results)),
        ("problemes", len(problems)),
        ("detail", (detail + ("\n" + seen if seen else ""))[:5000]),
    ]
    return row, [("journal", "problems", seen)]


def _finish(results: list[Outcome], ledger: Ledger, spec: SheetSpec, journal: Journal, now: datetime) -> None:
    row, memory = _journal_row(results, now, journal)
    if row:
        ledger.write([], [RowAppend(spec.name, {spec.label(k): v for k, v in row})])
        ledger.acknowledge(memory)
    flushed = ledger.flush()
    if results:
        results[-1].unresolved.extend(flushed.unresolved)
    ledger.publish()


def preview(config: Config, job_name: str, now: datetime, out: Path) -> list[Path]:
    """Write what a job would send now as .eml and .html files; touches no sheet, sends nothing."""
    recorder = wiring.stand_in_transport(config)
    run(config, [job_name], now, dry_run=True, transport=recorder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for letter in recorder.letters:
        message = letter.message()
        stem = out / "_".join(part for part in letter.key.replace(" ", "-").split("|") if part)
        stem.with_suffix(".eml").write_bytes(letter.data)
        html = message.get_body(preferencelist=("html",))
        stem.with_suffix(".html").write_text(html.get_content() if html else "", encoding="utf-8")
        written += [stem.with_suffix(".eml"), stem.with_suffix(".html")]
    return written
