"""deploy/: the systemd unit parses and names a command that exists; the crontab's lines are valid
5-field schedules calling existing subcommands, at the same Paris slots as `passerelle serve` by
default, which come from the job registry."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
import tomllib
from datetime import time
from pathlib import Path, PurePosixPath

import pytest

from automations import cli, scheduler
from automations.jobs.registry import JOBS

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "deploy" / "passerelle.service"
CRONTAB = ROOT / "deploy" / "crontab"
VENV_SCRIPT = Path(sys.executable).parent / "passerelle"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def passerelle_arguments(words: list[str]) -> tuple[PurePosixPath, list[str]]:
    """The `passerelle` executable in a shell command and its arguments, up to a redirection."""
    [start] = [i for i, word in enumerate(words) if PurePosixPath(word).name == "passerelle"]
    arguments = []
    for word in words[start + 1 :]:
        if word.startswith((">", "2>", "|", "&", ";")):
            break
        arguments.append(word)
    return PurePosixPath(words[start]), arguments


def test_the_unit_parses_and_runs_serve_as_a_dedicated_user_with_secrets_from_an_environment_file():
    service = unit()
    assert set(service.sections()) == {"Unit", "Service", "Install"}
    s = service["Service"]
    assert s["Type"] == "simple"
    assert s["Restart"] == "on-failure"
    assert s["User"] not in ("", "root", "0")
    assert PurePosixPath(s["EnvironmentFile"].lstrip("-")).is_absolute()
    assert PurePosixPath(s["WorkingDirectory"]).is_absolute()
    assert s["KillSignal"] == "SIGTERM" and int(s["TimeoutStopSec"]) >= 30
    assert {"2", "3"} <= set(s["RestartPreventExitStatus"].split())
    for hardening in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices", "RestrictSUIDSGID"):
        assert s[hardening] == "yes", hardening
    assert s["ProtectSystem"] == "strict"
    assert service["Install"]["WantedBy"] == "multi-user.target"


def test_execstart_names_the_passerelle_console_script_and_an_existing_subcommand():
    executable, arguments = passerelle_arguments(shlex.split(unit()["Service"]["ExecStart"]))
    assert executable.is_absolute() and executable.parent.name == "bin"
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert declared[executable.name] == "automations.cli:main"
    assert VENV_SCRIPT.is_file(), "the console script is installed in the venv"
    args = cli.parser().parse_args(arguments)
    assert args.command == "serve" and args.handler is cli.cmd_serve
    assert PurePosixPath(args.config).is_absolute()
    done = subprocess.run([str(VENV_SCRIPT), "serve", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--log-file" in done.stdout


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_itself_accepts_every_key_of_the_unit(tmp_path):
    # Point the unit at this checkout (the deployed paths do not exist here) and at a user that does.
    text = UNIT.read_text(encoding="utf-8").replace("/opt/passerelle/.venv/bin/passerelle", str(VENV_SCRIPT))
    lines = [
        "User=root" if line.startswith("User=") else "Group=root" if line.startswith("Group=") else line
        for line in text.splitlines()
    ]
    copy = tmp_path / "passerelle.service"
    copy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(copy)], capture_output=True, text=True, timeout=60
    )
    complaints = [
        line
        for line in done.stderr.splitlines()
        if "passerelle.service" in line and "EnvironmentFile" not in line and "network-online" not in line
    ]
    assert done.returncode == 0 and complaints == [], done.stderr


# --- crontab -------------------------------------------------------------------------------------

RANGES = {"minute": (0, 59), "hour": (0, 23), "day": (1, 31), "month": (1, 12), "weekday": (0, 7)}


def cron_values(field: str, kind: str) -> set[int]:
    """The values one 5-field cron field matches; ValueError when it is not valid."""
    low, high = RANGES[kind]
    values: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            first, last = low, high
        elif "-" in span:
            first, last = (int(x) for x in span.split("-"))
        else:
            first = last = int(span)
            if step_text:
                last = high
        if not (low <= first <= last <= high) or step < 1:
            raise ValueError(f"{field!r} is not a valid {kind} field")
        values.update(range(first, last + 1, step))
    if kind == "weekday" and 7 in values:
        values = (values - {7}) | {0}
    return values


def crontab_entries() -> list[tuple[list[str], str]]:
    entries = []
    for line in CRONTAB.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        head = stripped.split(None, 1)[0]
        if "=" in head and not head[0].isdigit() and not head.startswith("*"):
            continue  # NAME=value: an environment line
        fields = stripped.split(None, 5)
        assert len(fields) == 6, f"not a 5-field schedule and a command: {line}"
        entries.append((fields[:5], fields[5]))
    return entries


def test_every_crontab_line_is_a_valid_schedule_calling_an_existing_subcommand():
    entries = crontab_entries()
    assert entries
    unit_executable, _ = passerelle_arguments(shlex.split(unit()["Service"]["ExecStart"]))
    for fields, command in entries:
        for field, kind in zip(fields, RANGES, strict=True):
            assert cron_values(field, kind), (field, kind)
        executable, arguments = passerelle_arguments(shlex.split(command))
        assert executable == unit_executable, "the crontab and the unit call the same install"
        args = cli.parser().parse_args(arguments)
        assert args.command == "run" and args.handler.__wrapped__ is cli.cmd_run.__wrapped__
        assert args.jobs and set(args.jobs) <= set(JOBS)
        assert PurePosixPath(args.log_file).is_absolute()


def test_the_crontab_runs_each_job_at_the_slots_serve_uses_by_default():
    crontab: set[tuple[int, time, str]] = set()
    for fields, command in crontab_entries():
        minutes, hours, days, months, weekdays = (
            cron_values(f, k) for f, k in zip(fields, RANGES, strict=True)
        )
        assert days == set(range(1, 32)) and months == set(range(1, 13))
        _, arguments = passerelle_arguments(shlex.split(command))
        jobs = cli.parser().parse_args(arguments).jobs
        crontab |= {
            ((weekday - 1) % 7, time(h, m), job)  # cron: 0 = Sunday; Python: 0 = Monday
            for weekday in weekdays
            for h in hours
            for m in minutes
            for job in jobs
        }
    serve = {
        (weekday, slot.at, name)
        for name, job in JOBS.items()
        for slot in scheduler.parse_rule(job.schedule)
        for weekday in ([scheduler.WEEKDAYS.index(slot.weekday)] if slot.weekday else range(7))
    }
    assert crontab == serve


@pytest.mark.parametrize("field", ["60", "*/0", "5-2", "x", "1-99"])
def test_the_cron_field_checker_refuses_invalid_fields(field):
    with pytest.raises(ValueError):
        cron_values(field, "minute")
