"""One run: build the edges from the config, then for each job read, plan, and apply or print.

Only one run at a time touches a state folder (a file lock), so two schedulers, or a scheduler
and a person typing ``passerelle run``, can never send the same email twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from pathlib import Path

import filelock

import automations
from automations import schema
from automations.apply import Edges, Outcome, apply, render_all
from automations.config import Config
from automations.errors import AlreadyRunningError, ConfigError
from automations.jobs import invitations
from automations.jobs.context import Cooperative, JobInput, JobSettings
from automations.journal import Journal, JournalFacts
from automations.mail.base import Transport
from automations.mail.outbox import OutboxTransport
from automations.mail.render import Renderer
from automations.plan import Plan
from automations.schema import SheetSpec
from automations.sheets.base import SheetStore
from automations.tables import bind


@dataclass(frozen=True)
class Job:
    name: str
    sheets: tuple[str, ...]
    plan: Callable[[JobInput], Plan]


JOBS: dict[str, Job] = {job.name: job for job in (Job("invitations", invitations.SHEETS, invitations.plan),)}


def specs(config: Config) -> dict[str, SheetSpec]:
    unknown = (set(config.sheets.names) | set(config.sheets.headers)) - set(schema.SPECS)
    if unknown:
        raise ConfigError(
            f"{config.path}: sheets.names/headers name an unknown sheet « {sorted(unknown)[0]} » "
            f"(known: {', '.join(schema.SPECS)})."
        )
    return {
        key: spec.renamed(config.sheets.names.get(key), config.sheets.headers.get(key, {}))
        for key, spec in schema.SPECS.items()
    }


def bundled_templates() -> Path:
    package = Path(automations.__file__).parent
    for candidate in (package / "templates" / "emails", package.parent / "templates" / "emails"):
        if candidate.is_dir():
            return candidate
    return package / "templates" / "emails"


def make_store(config: Config) -> SheetStore:
    if config.sheets.backend == "google":
        from automations.sheets.google import store_from_config

        return store_from_config(config)
    from automations.sheets.workbook import WorkbookStore

    return WorkbookStore(config.sheets.workbook)


def make_transport(config: Config) -> Transport:
    if config.mail.transport == "smtp":
        from automations.mail.smtp import transport_from_config

        return transport_from_config(config)
    return OutboxTransport(config.mail.outbox)


def settings(config: Config) -> JobSettings:
    coop = config.cooperative
    return JobSettings(
        cooperative=Cooperative(coop.name, coop.email, coop.phone, coop.website),
        mail_domain=config.mail.domain,
        min_notice=timedelta(days=config.invitations.min_notice_days),
        session_title=config.invitations.session_title,
    )


@contextmanager
def run_lock(state_dir: Path) -> Iterator[None]:
    state_dir.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(state_dir / "passerelle.lock")
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        raise AlreadyRunningError(
            f"Another Passerelle run is using {state_dir} right now: wait for it to finish, then try again."
        ) from None
    try:
        yield
    finally:
        lock.release()


@dataclass
class _Run:
    """The edges of one run, open for its duration."""

    config: Config
    store: SheetStore
    transport: Transport
    specs: dict[str, SheetSpec]

    def job_input(self, job: Job, journal: Journal, now: datetime) -> JobInput:
        wanted = [self.specs[key] for key in job.sheets]
        grids = self.store.read([spec.name for spec in wanted])
        tables = {spec.key: bind(spec, grids[spec.name]) for spec in wanted}
        return JobInput(tables, JournalFacts(journal.entries()), now, settings(self.config))


def setup(config: Config, store: SheetStore | None = None) -> list[str]:
    """Create the sheets people fill, with headers and dropdowns; returns the names of all sheets."""
    layouts = [spec.layout() for spec in specs(config).values()]
    with run_lock(config.state_dir):
        (store or make_store(config)).ensure(layouts)
    return [layout.name for layout in layouts]


def run(
    config: Config,
    job_names: Sequence[str],
    now: datetime,
    dry_run: bool = False,
    store: SheetStore | None = None,
    transport: Transport | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> list[Plan | Outcome]:
    """Plans (dry run) or outcomes, one per job, in the order given."""
    unknown = [name for name in job_names if name not in JOBS]
    if unknown:
        raise ConfigError(f"Unknown job « {unknown[0]} »: choose among {', '.join(JOBS)}.")
    session = _Run(config, store or make_store(config), transport or make_transport(config), specs(config))
    renderer = Renderer(config.mail.templates or bundled_templates())
    results: list[Plan | Outcome] = []
    with run_lock(config.state_dir):
        journal = Journal(config.state_dir / "journal.sqlite3")
        try:
            edges = Edges(
                store=session.store,
                layouts={spec.name: spec.layout() for spec in session.specs.values()},
                transport=session.transport,
                journal=journal,
                renderer=renderer,
                sender=Address(config.mail.sender_name, addr_spec=config.mail.sender_address),
                domain=config.mail.domain,
                stop=stop,
            )
            for name in job_names or list(JOBS):
                if stop():
                    break
                plan = JOBS[name].plan(session.job_input(JOBS[name], journal, now))
                if dry_run:
                    render_all(plan, edges, now)
                    results.append(plan)
                else:
                    results.append(apply(plan, edges, now))
        finally:
            journal.close()
    return results
