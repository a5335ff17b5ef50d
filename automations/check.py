"""`passerelle check`: everything that would stop or spoil a run, found without running it.

Validates the configuration, the presence of credentials, every sheet's headers and rows (through
the same planning code the jobs use, so check and run never disagree), and renders every template
against sample data. Touches no sheet and sends nothing (with SMTP, it opens a session, logs in
and says QUIT).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from automations import runner, scheduler, wiring
from automations.apply import Outcome
from automations.config import Config
from automations.errors import PasserelleError
from automations.jobs.registry import email_kinds
from automations.jobs.samples import sample
from automations.journal import Journal, JournalFacts
from automations.mail import smtp
from automations.plan import Problem
from automations.sheets.base import SheetStore
from automations.sheets.memory import MemoryStore
from automations.tables import bind
from automations.todo import ToDo, to_do
from automations.world import World, build


@dataclass
class Report:
    general: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """Worth knowing, nothing to fix for a run to work: said, never counted as a problem."""
    to_do: ToDo = field(default_factory=ToDo)
    """Next steps that belong to people, not problems: said, never counted."""

    def add(self, sentence: str) -> None:
        """A general problem, once: the template step and the dry run meet the same broken template."""
        if sentence not in self.general:
            self.general.append(sentence)

    @property
    def clean(self) -> bool:
        return not self.general and not self.problems

    def text(self) -> str:
        lines = [f"Configuration et modèles :\n  - {line}" for line in self.general]
        by_sheet: dict[str, list[Problem]] = defaultdict(list)
        for problem in self.problems:
            by_sheet[problem.sheet].append(problem)
        for sheet, problems in by_sheet.items():
            lines.append(f"Feuille « {sheet} » :")
            for p in sorted(problems, key=lambda p: p.row or 0):
                lines.append(f"  - ligne {p.row} : {p.message}" if p.row else f"  - {p.message}")
        notes = [f"À savoir :\n  - {line}" for line in self.warnings]
        notes += [self.to_do.text()] if self.to_do.text() else []
        if self.clean:
            return "\n".join([*notes, "Tout est prêt : aucun problème trouvé."])
        count = len(self.general) + len(self.problems)
        return "\n".join([*lines, *notes, f"{count} problème(s) à corriger."])


def sample_contexts(config: Config, now: datetime) -> dict[str, dict]:
    """One realistic context per email kind of the registry, from a sample referral and session."""
    example = sample(wiring.settings(config), now)
    return {kind: build(example) for kind, build in email_kinds().items()}


def _credentials(config: Config) -> list[str]:
    missing = []
    if config.sheets.backend == "google":
        key = config.sheets.google.credentials_file or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        if not key or not os.path.isfile(key):
            missing.append(
                "Clé du compte de service Google introuvable : renseignez sheets.google.credentials_file "
                "ou GOOGLE_APPLICATION_CREDENTIALS."
            )
    if config.mail.transport == "smtp":
        unset = [
            n
            for n in (config.mail.smtp.username_env, config.mail.smtp.password_env)
            if n and not os.environ.get(n)
        ]
        for name in unset:
            missing.append(f"La variable d'environnement {name} (identifiants SMTP) n'est pas définie.")
        if not unset:
            missing.extend(_smtp_session(config))
    return missing


def _smtp_session(config: Config) -> list[str]:
    """Open a real SMTP session (TLS, login) and close it, sending nothing: a wrong password or an
    untrusted certificate shows here, not in the middle of the first run."""
    try:
        smtp.probe(config)
    except PasserelleError as error:
        return [str(error)]
    return []


def shared_with_the_agency(config: Config) -> list[str]:
    """PRODUCT §7: « Présences », « Suivi » and « Historique » name people who did not consent to
    share their journey; in the agency's spreadsheet, its advisors could read it."""
    if config.sheets.backend != "google":
        return []
    from automations.sheets.google.store import spreadsheet_key  # gspread only for Google users

    google, names = config.sheets.google, wiring.sheet_names(config)

    def book(key: str) -> str:
        return spreadsheet_key(google.spreadsheets.get(key, google.spreadsheet))

    return [
        f"La feuille « {names[key]} » est dans le même classeur Google que « {names['orientations']} » : "
        f"l'agence peut y lire le parcours de personnes qui n'ont pas donné leur accord de partage. "
        f"Placez-la dans le classeur de la coopérative ([sheets.google.spreadsheets] {key} = "
        f'"adresse du classeur de la coopérative").'
        for key in ("presences", "suivi", "historique")
        if _same(book, key, "orientations")
    ]


def _same(book: Callable[[str], str], key: str, other: str) -> bool:
    try:
        return book(key) == book(other)
    except PasserelleError:  # an unreadable address: the dry run below says what to do
        return False


def rehearse(
    config: Config, now: datetime, store: SheetStore | None = None
) -> tuple[list[Outcome], World, JournalFacts]:
    """The dry run, with its stand-ins kept: the world as the run at this instant leaves it."""
    specs = wiring.specs(config).values()
    sheets = MemoryStore((store or wiring.make_store(config)).read([spec.name for spec in specs]))
    journal = Journal.copy_in_memory(config.state_dir / "journal.sqlite3")
    try:
        outcomes = runner.run(
            config,
            [],
            now,
            store=sheets,
            transport=wiring.stand_in_transport(config),
            journal=journal,
            views=wiring.view_stand_ins(config),
        )
        return outcomes, world_from(config, sheets), journal.facts()
    finally:
        journal.close()


def world_from(config: Config, store: SheetStore) -> World:
    """The world as a job reads it, from the sheets of people and sessions the store holds now."""
    specs = [spec for spec in wiring.specs(config).values() if spec.reference]
    grids = store.read([spec.name for spec in specs])
    return build({spec.key: bind(spec, grids[spec.name]) for spec in specs if grids[spec.name]})


def unopenable_views(config: Config, main: SheetStore) -> list[str]:
    """Each advisor's view that a run could not write, said now rather than at the end of a run: a
    Google spreadsheet not shared with the service account (or not found), a workbook that is not
    one or is open in a spreadsheet program. A workbook not there yet is fine: the run makes it."""
    try:
        views = wiring.view_stores(config, main)
    except PasserelleError as error:
        return [str(error)]
    name = wiring.sheet_names(config)["synthese"]
    found = []
    for email, view in views.items():
        if config.sheets.backend == "workbook" and not Path(wiring.view_places(config)[email]).exists():
            continue
        try:
            view.read([name])
        except PasserelleError as error:
            found.append(f"La vue de {email} ([advisor_views]) ne peut pas être ouverte : {error}")
    return found


def check(config: Config, now: datetime, store: SheetStore | None = None) -> Report:
    report = Report(warnings=shared_with_the_agency(config))
    for sentence in _credentials(config):
        report.add(sentence)
    digests = scheduler.digests_never_due(config)
    if digests:
        report.add(digests)
    try:
        renderer = wiring.make_renderer(config)
        renderer.compile_all()
        for kind, context in sample_contexts(config, now).items():
            renderer.render(kind, context)
    except PasserelleError as error:
        report.add(str(error))
    try:
        store = store or wiring.make_store(config)
        outcomes, world, facts = rehearse(config, now, store)
    except PasserelleError as error:
        report.add(str(error))
        return report
    for sentence in unopenable_views(config, store):
        report.add(sentence)
    report.to_do = to_do(world, facts, now, wiring.settings(config))
    seen = set()
    for plan in outcomes:
        for problem in plan.problems:
            if (problem.sheet, problem.row, problem.message) not in seen:
                seen.add((problem.sheet, problem.row, problem.message))
                report.problems.append(problem)
    return report
