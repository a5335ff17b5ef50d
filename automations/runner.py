"""One run: build the edges from the config, then for each job read, plan, and apply or print.

Only one run at a time touches a state folder (a file lock), so two schedulers, or a scheduler
and a person typing ``passerelle run``, can never send the same email twice. Sheets are read once
and written once per run (``BufferedStore``), whatever the number of jobs and rows.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.policy import SMTP
from pathlib import Path

import filelock

import automations
from automations import schema
from automations.apply import Edges, Outcome, apply, render_all
from automations.config import Config
from automations.errors import AlreadyRunningError, ConfigError
from automations.jobs.context import Cooperative, FormSettings, JobInput, JobSettings
from automations.jobs.registry import JOBS, JobSpec
from automations.journal import Journal, JournalFacts
from automations.mail.base import Transport
from automations.mail.compose import compose
from automations.mail.outbox import OutboxTransport
from automations.mail.render import Renderer
from automations.plan import Plan
from automations.schema import SheetSpec
from automations.sheets.base import SheetStore
from automations.sheets.buffered import BufferedStore
from automations.tables import Table, bind
from automations.values import RowAppend

OPTIONAL = ("reponses",)
"""Sheets a job reads only if they exist (the form's responses)."""
CREATED = ("suivi", "journal")
"""Sheets Passerelle creates when missing, because it fills them."""


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

        return store_from_config(config, {key: spec.name for key, spec in specs(config).items()})
    from automations.sheets.workbook import WorkbookStore

    return WorkbookStore(config.sheets.workbook)


def make_transport(config: Config) -> Transport:
    if config.mail.transport == "smtp":
        from automations.mail.smtp import transport_from_config

        return transport_from_config(config)
    return OutboxTransport(config.mail.outbox)


def make_renderer(config: Config) -> Renderer:
    return Renderer(config.mail.templates or bundled_templates())


def sender(config: Config) -> Address:
    return Address(config.mail.sender_name, addr_spec=config.mail.sender_address)


def code_secret(config: Config) -> bytes:
    """The secret answer Codes derive from: a file named in the config, else one made once."""
    if config.answers.secret_file:
        try:
            return config.answers.secret_file.read_bytes().strip()
        except OSError as error:
            raise ConfigError(
                f"{config.path}: answers.secret_file cannot be read ({error.strerror})."
            ) from None
    path = config.state_dir / "code-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".code-secret-{os.getpid()}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as stream:
            stream.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)  # atomic, and never replaces a secret that codes were sent with
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    return path.read_bytes().strip()


def settings(config: Config) -> JobSettings:
    coop, answers, follow = config.cooperative, config.answers, config.followups
    form = None
    if answers.form_url:
        if not (answers.code_entry and answers.answer_entry):
            raise ConfigError(
                f"{config.path}: answers.form_url needs answers.code_entry and answers.answer_entry."
            )
        form = FormSettings(
            answers.form_url, answers.code_entry, answers.answer_entry, answers.yes, answers.no
        )
    return JobSettings(
        cooperative=Cooperative(coop.name, coop.email, coop.phone, coop.website),
        mail_domain=config.mail.domain,
        min_notice=timedelta(days=config.invitations.min_notice_days),
        session_title=config.invitations.session_title,
        reminder_days=follow.reminder_days,
        nudge_days=follow.nudge_days,
        code_secret=code_secret(config),
        form=form,
        links={"suivi": follow.suivi_link, "synthese": follow.synthese_link},
        digest_weekday=follow.digest_weekday,
        digest_hour=follow.digest_hour,
        names={key: spec.name for key, spec in specs(config).items()},
    )


@contextmanager
def exclusive(state_dir: Path, name: str, busy: str) -> Iterator[None]:
    """Hold a lock file in the state folder, or raise AlreadyRunningError(busy) at once."""
    state_dir.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(state_dir / name)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        raise AlreadyRunningError(busy) from None
    try:
        yield
    finally:
        lock.release()


def run_lock(state_dir: Path) -> AbstractContextManager[None]:
    busy = f"Another Passerelle run is using {state_dir} right now: wait for it to finish, then try again."
    return exclusive(state_dir, "passerelle.lock", busy)


def setup(config: Config, store: SheetStore | None = None) -> list[str]:
    """Create the sheets people fill and those Passerelle fills, with headers and dropdowns."""
    layouts = [
        spec.layout() for key, spec in specs(config).items() if key not in OPTIONAL and key != "synthese"
    ]
    with run_lock(config.state_dir):
        (store or make_store(config)).ensure(layouts)
    return [layout.name for layout in layouts]


def _tables(job: JobSpec, store: BufferedStore, sheet_specs: dict[str, SheetSpec]) -> dict[str, Table]:
    wanted = [sheet_specs[key] for key in job.sheets]
    grids = store.read([spec.name for spec in wanted])
    return {
        spec.key: Table(spec, (), frozenset())
        if spec.key in OPTIONAL and grids[spec.name] is None
        else bind(spec, grids[spec.name])
        for spec in wanted
    }


def _journal_row(results: list[Outcome], now: datetime, journal: Journal) -> list[tuple[str, object]]:
    """One "Journal" row for a run that did something, or whose problems changed.

    Problems are listed by sheet, row and column only: "Journal" may live in another spreadsheet
    than the referrals, and the cells' content (an address, a name) must not travel with it.
    """
    sent = sum(len(o.sent) for o in results)
    problems = [p.where() for o in results for p in o.problems]
    changed = any(o.sent or o.cells_written or o.rows_added for o in results)
    seen = "\n".join(problems)
    if not changed and journal.memory().get(("journal", "problems"), "") == seen:
        return []
    journal.remember([("journal", "problems", seen)])
    detail = "; ".join(
        f"{o.job} : {len(o.sent)} email(s), {o.cells_written} cellule(s), {o.rows_added} ligne(s)"
        for o in results
        if o.sent or o.cells_written or o.rows_added
    )
    return [
        ("date", now),
        ("jobs", ", ".join(o.job for o in results)),
        ("emails", sent),
        ("problemes", len(problems)),
        ("detail", (detail + ("\n" + seen if seen else ""))[:5000]),
    ]


def run(
    config: Config,
    job_names: Sequence[str],
    now: datetime,
    dry_run: bool = False,
    store: SheetStore | None = None,
    transport: Transport | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> list[Plan | Outcome]:
    """Plans (dry run) or outcomes, one per job, in the order of JOBS."""
    unknown = [name for name in job_names if name not in JOBS]
    if unknown:
        raise ConfigError(f"Unknown job « {unknown[0]} »: choose among {', '.join(JOBS)}.")
    jobs = [job for name, job in JOBS.items() if name in job_names or not job_names]
    sheet_specs = specs(config)
    renderer = make_renderer(config)
    renderer.compile_all()
    real_store = store or make_store(config)
    results: list[Plan | Outcome] = []
    with run_lock(config.state_dir):
        job_settings = settings(config)  # under the lock: the first run creates the code secret
        needed = [sheet_specs[key].name for key in {key for job in jobs for key in job.sheets} - set(CREATED)]
        buffered = BufferedStore(real_store, needed, [sheet_specs[key].layout() for key in CREATED])
        journal = Journal(config.state_dir / "journal.sqlite3")
        try:
            edges = Edges(
                store=buffered,
                layouts={spec.name: spec.layout() for spec in sheet_specs.values()},
                transport=transport or make_transport(config),
                journal=journal,
                renderer=renderer,
                sender=sender(config),
                domain=config.mail.domain,
                stop=stop,
            )
            try:
                for job in jobs:
                    if stop():
                        break
                    facts = JournalFacts(journal.entries(), journal.memory())
                    plan = job.plan(JobInput(_tables(job, buffered, sheet_specs), facts, now, job_settings))
                    if dry_run:
                        render_all(plan, edges, now)
                        results.append(plan)
                    else:
                        results.append(apply(plan, edges, now))
            finally:
                if not dry_run:
                    _finish(results, buffered, sheet_specs, edges, journal, now)
        finally:
            journal.close()
    return results


def preview(config: Config, job_name: str, now: datetime, out: Path) -> list[Path]:
    """Write what a job would send now as .eml and .html files; touches no sheet, sends nothing."""
    [plan] = run(config, [job_name], now, dry_run=True)
    renderer = make_renderer(config)
    sent_by = sender(config)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for order in plan.emails:
        rendered = renderer.render(order.kind, order.context)
        message = compose(order, rendered, sent_by, now, config.mail.domain)
        stem = out / "_".join(part for part in order.key.replace(" ", "-").split("|") if part)
        stem.with_suffix(".eml").write_bytes(message.as_bytes(policy=SMTP))
        stem.with_suffix(".html").write_text(rendered.html, encoding="utf-8")
        written += [stem.with_suffix(".eml"), stem.with_suffix(".html")]
    return written


def _finish(
    results, buffered: BufferedStore, sheet_specs, edges: Edges, journal: Journal, now: datetime
) -> None:
    outcomes = [r for r in results if isinstance(r, Outcome)]
    row = _journal_row(outcomes, now, journal)
    if row:
        spec = sheet_specs["journal"]
        buffered.write(edges.layouts, [], [RowAppend(spec.name, {spec.label(k): v for k, v in row})])
    flushed = buffered.flush()
    if outcomes:
        outcomes[-1].unresolved.extend(flushed.unresolved)
