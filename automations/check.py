"""`passerelle check`: everything that would stop or spoil a run, found without running it.

Validates the configuration, the presence of credentials, every sheet's headers and rows (through
the same planning code the jobs use, so check and run never disagree), and renders every template
against sample data. Touches no sheet and sends nothing (with SMTP, it opens a session, logs in
and says QUIT).
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from automations import runner, scheduler
from automations.config import Config
from automations.errors import PasserelleError
from automations.jobs.context import JobInput
from automations.jobs.digests import digest_context
from automations.jobs.followups import nudge_context
from automations.jobs.funnel import counts
from automations.jobs.loop import Loop, session_context
from automations.journal import JournalFacts
from automations.mail import smtp
from automations.plan import Problem
from automations.schema import ORIENTATIONS, REUNIONS
from automations.tables import bind


@dataclass
class Report:
    general: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

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
        if self.clean:
            return "Tout est prêt : aucun problème trouvé."
        count = len(self.general) + len(self.problems)
        return "\n".join([*lines, f"{count} problème(s) à corriger."])


def sample_contexts(config: Config, now: datetime) -> dict[str, dict]:
    """One realistic context per email kind, from a sample referral and session."""
    row = {
        "Nom": "Exemple",
        "Prénom": "Camille",
        "Email": "camille.exemple@exemple.fr",
        "Conseiller·ère": "Sophie Le Goff",
        "Email conseiller·ère": "sophie@exemple.fr",
        "Accord de partage": "Oui",
    }
    session = {
        "Référence": "R-EXEMPLE",
        "Date": (now + timedelta(days=7)).date(),
        "Heure de début": "14:00",
        "Heure de fin": "16:30",
        "Lieu": "Salle du conseil",
        "Adresse ou lien": "1 rue de la Paix",
        "Places": 12,
        "Email contact": config.cooperative.email,
    }
    tables = {
        "orientations": bind(ORIENTATIONS, [list(row), list(row.values())]),
        "reunions": bind(REUNIONS, [list(session), list(session.values())]),
    }
    loop = Loop(JobInput(tables, JournalFacts([]), now, runner.settings(config)), "check")
    r, s = loop.referrals[0], loop.sessions[0]
    base = loop.context(r, s)
    staff = {"cooperative": loop.cooperative_context()}
    return {
        "invitation": base,
        "rappel": base,
        "modification": base,
        "annulation": base,
        "liste_attente": loop.context(r, None),
        "relance_absent": {**base, "precedente": session_context(s, config.cooperative.email)},
        "suite_presence": {**base, "accompagnateur": "Karim Benhamou"},
        "rappel_suivi": {
            **staff,
            **nudge_context(
                session_context(s, config.cooperative.email),
                [{"nom_complet": r.full_name, "ligne": 2}],
                "",
                "Suivi",
            ),
        },
        "synthese_conseiller": {
            **staff,
            **digest_context(
                r.advisor,
                [{"nom_complet": r.full_name, "changements": ["a confirmé sa venue"]}],
                counts([]),
                "",
                "2026-W01",
            ),
        },
    }


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


def check(config: Config, now: datetime) -> Report:
    report = Report(general=_credentials(config))
    digests = scheduler.digests_never_due(config)
    if digests:
        report.general.append(digests)
    try:
        renderer = runner.make_renderer(config)
        renderer.compile_all()
        for kind, context in sample_contexts(config, now).items():
            renderer.render(kind, context)
    except PasserelleError as error:
        report.general.append(str(error))
    try:
        plans = runner.run(config, [], now, dry_run=True)
    except PasserelleError as error:
        report.general.append(str(error))
        return report
    seen = set()
    for plan in plans:
        for problem in plan.problems:
            if (problem.sheet, problem.row, problem.message) not in seen:
                seen.add((problem.sheet, problem.row, problem.message))
                report.problems.append(problem)
    return report
