"""The ``passerelle`` command: parses arguments, calls the library, turns errors into one sentence.

Exit codes: 0 the run completed (row problems are reported, not fatal); 1 it could not run
(sheet, template or transport problem); 2 bad configuration or arguments; 3 another run holds the
lock.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo

from automations import check, demo, logs, purge, runner, scheduler, story
from automations import config as config_module
from automations.apply import Outcome
from automations.errors import AlreadyRunningError, ConfigError, PasserelleError
from automations.jobs.registry import JOBS
from automations.report import format_outcome
from automations.values import Prepared

PARIS = ZoneInfo("Europe/Paris")
CONFIG_HELP = "configuration file (default: $PASSERELLE_CONFIG, else config/passerelle.toml)"
LOG_FILE_HELP = "also write the log to this file, one timestamped line per event"


def local_now(value: str | None = None) -> datetime:
    """--now as Europe/Paris wall-clock time without tzinfo, like dates typed in sheets."""
    if value is None:
        return datetime.now(PARIS).replace(tzinfo=None, microsecond=0)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"--now {value!r} n'est pas une date-heure ISO : écrivez par exemple 2026-12-03T09:00."
        ) from None
    return moment.astimezone(PARIS).replace(tzinfo=None) if moment.tzinfo else moment


def _print_results(results: list[Outcome], dry_run: bool = False) -> None:
    for result in results:
        print(format_outcome(result, dry_run))


@logs.logged
def cmd_run(args: argparse.Namespace) -> int:
    """SIGTERM or Ctrl-C (a cron job stopped, a person impatient) let the email in flight finish."""
    config = config_module.load(config_module.locate(args.config))
    stopping = threading.Event()
    with scheduler.stop_on_signals(stopping):
        now = local_now(args.now)
        results = runner.run(config, args.jobs, now, dry_run=args.dry_run, stop=stopping.is_set)
    _print_results(results, args.dry_run)
    if stopping.is_set():
        print(
            "passerelle: arrêté avant la fin ; la prochaine exécution reprendra là où celle-ci "
            "s'est arrêtée.",
            file=sys.stderr,
        )
        return 130
    return 0


def cmd_setup(args: argparse.Namespace) -> int:
    config = config_module.load(config_module.locate(args.config))
    print(setup_report(runner.setup(config)))
    return 0


def _names(names: Sequence[str]) -> str:
    return ", ".join(f"« {name} »" for name in names)


def setup_report(prepared: Prepared) -> str:
    """What set-up changed, sheet by sheet: « prêt » alone once hid a tab left without headers."""
    lines = []
    if prepared.created:
        lines.append(f"Feuilles créées avec leurs en-têtes : {_names(prepared.created)}.")
    if prepared.headed:
        lines.append(
            f"En-têtes écrits en ligne 1 des feuilles qui étaient vides : {_names(prepared.headed)}."
        )
    return "\n".join(lines) or "Toutes les feuilles existaient déjà avec leurs en-têtes : rien à créer."


def cmd_check(args: argparse.Namespace) -> int:
    report = check.check(config_module.load(config_module.locate(args.config)), local_now(args.now))
    print(report.text())
    return 0 if report.clean else 1


def cmd_preview(args: argparse.Namespace) -> int:
    config = config_module.load(config_module.locate(args.config))
    files = runner.preview(config, args.job, local_now(args.now), Path(args.out))
    print(
        f"{len(files) // 2} email(s) de la tâche {args.job} prévisualisé(s) dans {Path(args.out).resolve()}"
        if files
        else f"La tâche {args.job} n'enverrait rien maintenant."
    )
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    config = config_module.load(config_module.locate(args.config))
    result = purge.purge(config, local_now(args.now), args.older_than, args.dry_run)
    verb = "seraient effacées" if args.dry_run else "effacées"
    print(
        f"Données personnelles de {len(result.people)} orientation(s) sans activité depuis le "
        f"{result.cutoff:%d/%m/%Y} {verb} : {', '.join(r.reference for r in result.people) or 'aucune'}"
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    folder = Path(args.dir).resolve()
    now = local_now(args.now)
    config_path = demo.build(folder, now)
    print(f"Démo construite dans {folder}")
    _print_results(runner.run(config_module.load(config_path), [], now))
    print(
        f"\nÀ regarder :\n  {folder / 'outbox'}  les emails, un fichier .eml chacun (ouvrez-les avec "
        "n'importe quel logiciel de messagerie)\n"
        f"  {folder / 'passerelle.xlsx'}  le classeur : « Orientations » montre maintenant Session, "
        "Invitation envoyée le et État\n"
        f"Relancer (rien de nouveau n'est envoyé) : passerelle run --config {config_path}"
        + ("" if args.story else f"\nLes deux mois qui suivent : passerelle demo {args.dir} --story")
    )
    if args.story:
        story.play(config_path, now, print)
        print(
            f"\nToute l'histoire est dans {folder / 'outbox'} et {folder / 'passerelle.xlsx'} (« Synthèse »)."
        )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    logs.setup(args.log_file, verbose=args.verbose)
    return scheduler.serve(config_module.load(config_module.locate(args.config)))


class FrenchParser(argparse.ArgumentParser):
    """argparse words its own errors in English: say in French that the command was not understood,
    keeping its detail (the option or value at fault), and where to look."""

    def error(self, message: str) -> NoReturn:
        self.exit(
            2,
            f"{self.prog} : commande non comprise ({message}) ; "
            "« passerelle --help » liste les commandes et leurs options.\n",
        )


def parser() -> argparse.ArgumentParser:
    root = FrenchParser(
        prog="passerelle",
        description="Invites referred job seekers to a cooperative's information sessions, follows them up.",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run jobs once (all of them by default)")
    run.add_argument("jobs", nargs="*", metavar="JOB", help=f"among: {', '.join(JOBS)}")
    run.add_argument(
        "--dry-run", action="store_true", help="print who would get what and which cells would change"
    )
    run.add_argument("--now", help="pretend it is this ISO date-time (Europe/Paris), e.g. 2026-12-03T09:00")
    run.add_argument("--config", help=CONFIG_HELP)
    run.add_argument("--log-file", help=LOG_FILE_HELP)
    run.set_defaults(handler=cmd_run)

    setup = commands.add_parser("setup", help="create missing sheets with their headers and dropdowns")
    setup.add_argument("--config", help=CONFIG_HELP)
    setup.set_defaults(handler=cmd_setup)

    check_cmd = commands.add_parser(
        "check", help="check config, credentials, sheets, rows and templates; change nothing"
    )
    check_cmd.add_argument("--config", help=CONFIG_HELP)
    check_cmd.add_argument("--now", help="pretend it is this ISO date-time (Europe/Paris)")
    check_cmd.set_defaults(handler=cmd_check)

    preview_cmd = commands.add_parser(
        "preview", help="write what a job would send now as .eml and .html files"
    )
    preview_cmd.add_argument("job", choices=list(JOBS), metavar="JOB", help=f"among: {', '.join(JOBS)}")
    preview_cmd.add_argument("--out", default="preview", help="folder for the files (default ./preview)")
    preview_cmd.add_argument("--config", help=CONFIG_HELP)
    preview_cmd.add_argument("--now", help="pretend it is this ISO date-time (Europe/Paris)")
    preview_cmd.set_defaults(handler=cmd_preview)

    purge_cmd = commands.add_parser(
        "purge", help="erase personal data of referrals closed for longer than a period"
    )
    purge_cmd.add_argument("--older-than", required=True, help="e.g. 24m (months), 2y or 730d")
    purge_cmd.add_argument("--dry-run", action="store_true", help="list who would be erased, erase nothing")
    purge_cmd.add_argument("--config", help=CONFIG_HELP)
    purge_cmd.add_argument("--now", help="pretend it is this ISO date-time (Europe/Paris)")
    purge_cmd.set_defaults(handler=cmd_purge)

    demo_cmd = commands.add_parser("demo", help="build the demo story in a folder and run it")
    demo_cmd.add_argument("dir", nargs="?", default="passerelle-demo", help="default: ./passerelle-demo")
    demo_cmd.add_argument("--now", help="pretend it is this ISO date-time (Europe/Paris)")
    demo_cmd.add_argument(
        "--story",
        action="store_true",
        help="go on through the weeks after: answers, session, follow-up, digests",
    )
    demo_cmd.set_defaults(handler=cmd_demo)

    serve = commands.add_parser("serve", help="run the jobs on their schedule until SIGTERM or Ctrl-C")
    serve.add_argument("--config", help=CONFIG_HELP)
    serve.add_argument("--log-file", help=LOG_FILE_HELP)
    serve.add_argument("--verbose", action="store_true", help="log debug details too")
    serve.set_defaults(handler=cmd_serve)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except ConfigError as error:
        print(f"passerelle: {error}", file=sys.stderr)
        return 2
    except AlreadyRunningError as error:
        print(f"passerelle: {error}", file=sys.stderr)
        return 3
    except PasserelleError as error:
        print(f"passerelle: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `passerelle run | head`: the reader left, the work is done
        sys.stderr.close()
        return 0
    except OSError as error:
        if error.filename is None:
            raise  # not a file: a network or programming error, whose traceback is needed
        print(f"passerelle: {unusable_file(error)}", file=sys.stderr)
        return 1


def unusable_file(error: OSError) -> str:
    """The last resort for a file the sentences at each edge did not foresee: name it and the fix."""
    return (
        f"Passerelle ne peut pas utiliser {error.filename} ({error.strerror or error}) : vérifiez que ce "
        "chemin existe, est du bon type (fichier ou dossier) et que Passerelle a le droit de le lire et "
        "d'y écrire."
    )
