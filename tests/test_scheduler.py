"""`passerelle serve`: slots in Paris time across daylight-saving changes, on a fake clock that
sleeps instantly; failures that do not stop the others; the locks; SIGTERM and Ctrl-C."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time as time_module
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from automations import config as config_module
from automations import demo, logs, runner, scheduler
from automations.errors import AlreadyRunningError, ConfigError, SheetError
from automations.jobs.registry import JOBS
from automations.scheduler import PARIS, Slot, parse_rule
from tests.conftest import referral, session

SCRIPT = shutil.which("passerelle", path=str(Path(sys.executable).parent)) or "passerelle"
ORDER = ("invitations", "rsvp", "reminders", "presences", "suivi", "summary", "digests")
QUARTERLY = {"invitations", "rsvp", "suivi", "summary"}
QUARTERS = [time(7 + m // 60, m % 60) for m in range(0, 13 * 60 + 1, 15)]  # 07:00 … 20:00


def paris(*args: int) -> datetime:
    return datetime(*args)  # wall-clock time in Paris, naive, as the runner receives it


class FakeTime:
    """An instant (UTC) that moves only when the service sleeps; stops the service at ``end``."""

    def __init__(self, start: datetime, end: datetime, stopping: threading.Event) -> None:
        self.instant = start.replace(tzinfo=PARIS).astimezone(UTC)
        self.end = end.replace(tzinfo=PARIS).astimezone(UTC)
        self.stopping = stopping
        self.naps: list[float] = []
        self.on_wake: list = []

    def clock(self) -> datetime:
        return self.instant

    def sleep(self, seconds: float) -> None:
        self.naps.append(seconds)
        self.instant += timedelta(seconds=seconds)
        for hook in self.on_wake:
            hook(self.instant)
        if self.instant >= self.end:
            self.stopping.set()


class Recorder:
    """Stands in for runner.run: records (job, wall time, UTC instant) and fails on demand."""

    def __init__(self, failures: dict[str, list[BaseException | None]] | None = None) -> None:
        self.fake: FakeTime | None = None
        self.failures = failures or {}
        self.calls: list[tuple[str, datetime, datetime]] = []

    def __call__(self, config, names, now, stop=lambda: False):
        [name] = names
        self.calls.append((name, now, self.fake.instant))
        outcomes = self.failures.get(name)
        error = outcomes.pop(0) if outcomes else None
        if error is not None:
            raise error
        return []


def expected_slots(start: datetime, end: datetime) -> list[tuple[str, datetime]]:
    slots = []
    day: date = start.date()
    while day <= end.date():
        for name in ORDER:
            if name in QUARTERLY:
                times = QUARTERS
            elif name == "digests":
                times = [time(8)] if day.weekday() == 0 else []
            else:
                times = [time(9)]
            slots += [(name, datetime.combine(day, t)) for t in times]
        day += timedelta(days=1)
    inside = [(name, at) for name, at in slots if start < at < end]
    return sorted(inside, key=lambda slot: (slot[1], ORDER.index(slot[0])))


@pytest.fixture
def config(project):
    project.create([referral(1)], [session("A", 7, 5)])
    return config_module.load(project.config_path)


def serve(config, start, end, run=None, available=ORDER, **options):
    stopping = threading.Event()
    fake = FakeTime(start, end, stopping)
    recorder = run or Recorder()
    if isinstance(recorder, Recorder):
        recorder.fake = fake
    code = scheduler.serve(
        config,
        clock=fake.clock,
        sleep=fake.sleep,
        run=recorder,
        available=available,
        stop=stopping,
        **options,
    )
    return code, recorder, fake


@pytest.mark.parametrize("machine_zone", ["UTC", "America/New_York", "Asia/Tokyo"])
@pytest.mark.parametrize(
    ("start", "end", "change"),
    [
        # Sunday 29 March 2026, 02:00 CET → 03:00 CEST; Monday 30 March has the digest.
        (paris(2026, 3, 28), paris(2026, 3, 30, 12), (timedelta(hours=1), timedelta(hours=2))),
        # Sunday 25 October 2026, 03:00 CEST → 02:00 CET; Monday 26 October has the digest.
        (paris(2026, 10, 24), paris(2026, 10, 26, 12), (timedelta(hours=2), timedelta(hours=1))),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_each_job_runs_exactly_at_its_paris_slots_across_a_daylight_saving_change(
    config, monkeypatch, machine_zone, start, end, change
):
    monkeypatch.setenv("TZ", machine_zone)
    time_module.tzset()
    try:
        code, recorder, fake = serve(config, start, end, max_sleep=7 * 86400)
    finally:
        monkeypatch.undo()
        time_module.tzset()

    assert code == 0
    assert [(name, now) for name, now, _ in recorder.calls] == expected_slots(start, end)
    before, after = change
    for name, now, instant in recorder.calls:
        offset = before if now.date() == start.date() else after
        assert instant == (now - offset).replace(tzinfo=UTC), f"{name} at {now} ran at the wrong instant"
    # one nap per distinct slot time plus the last one: the loop never spins
    assert len(fake.naps) == len({now for _, now, _ in recorder.calls}) + 1


def test_a_one_minute_nap_ceiling_gives_the_same_slots(config):
    start, end = paris(2026, 3, 29, 0), paris(2026, 3, 29, 10)
    _, recorder, fake = serve(config, start, end)
    assert [(n, at) for n, at, _ in recorder.calls] == expected_slots(start, end)
    assert max(fake.naps) == scheduler.MAX_SLEEP


def test_a_failing_job_is_logged_in_one_line_and_retried_at_its_next_slot_while_the_others_run(
    config, caplog
):
    caplog.set_level(logging.DEBUG, logger="passerelle")
    start, end = paris(2026, 3, 30, 8, 50), paris(2026, 3, 30, 9, 20)
    recorder = Recorder(
        {
            "rsvp": [SheetError("La feuille « Réponses » n'a pas de colonne « Code ».")] * 10,
            "summary": [RuntimeError("bug")],  # once, then fine
            "suivi": [AlreadyRunningError("Another Passerelle run is using state right now.")],
        }
    )
    code, recorder, _ = serve(config, start, end, run=recorder)

    assert code == 0
    assert [(n, at) for n, at, _ in recorder.calls] == expected_slots(start, end)
    assert [at for n, at, _ in recorder.calls if n == "rsvp"] == [
        paris(2026, 3, 30, 9),
        paris(2026, 3, 30, 9, 15),
    ]
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(r.levelname, r.getMessage().split(":")[0]) for r in errors] == [
        ("ERROR", "rsvp failed, it runs again at its next slot"),
        ("WARNING", "suivi skipped, it runs again at its next slot"),
        ("ERROR", "summary failed unexpectedly, it runs again at its next slot"),
        ("ERROR", "rsvp failed, it runs again at its next slot"),
    ]
    assert "n'a pas de colonne « Code »" in errors[0].getMessage()
    assert errors[0].exc_info is None, "a PasserelleError is one sentence, no traceback"
    assert errors[2].exc_info is not None, "an unexpected error keeps its traceback for the developer"


def test_jobs_this_version_does_not_have_are_skipped_with_one_debug_line_each(config, caplog):
    caplog.set_level(logging.DEBUG, logger="passerelle")
    start, end = paris(2026, 3, 30, 6), paris(2026, 3, 30, 10)
    _, recorder, _ = serve(config, start, end, available=("invitations", "reminders"))
    assert {n for n, _, _ in recorder.calls} == {"invitations", "reminders"}
    skipped = [r.getMessage() for r in caplog.records if "not available" in r.getMessage()]
    assert [m.split()[0] for m in skipped] == [n for n in JOBS if n not in ("invitations", "reminders")]
    assert all(r.levelno == logging.DEBUG for r in caplog.records if "not available" in r.getMessage())


def test_the_schedule_comes_from_the_config(project):
    project.create(
        [referral(1)],
        [session("A", 7, 5)],
        extra_config='[schedule]\ninvitations = "every 30 minutes from 10:00 to 11:00"\n'
        'rsvp = "off"\nreminders = "daily at 9h30, 17:00"\ndigests = "Friday at 16:00"\n'
        'presences = "off"\nsuivi = "off"\nsummary = "off"\n',
    )
    config = config_module.load(project.config_path)
    start, end = paris(2026, 3, 26, 12), paris(2026, 3, 28, 0)  # Thursday noon → Saturday
    _, recorder, _ = serve(config, start, end)
    assert [(n, at) for n, at, _ in recorder.calls] == [
        ("reminders", paris(2026, 3, 26, 17)),
        ("reminders", paris(2026, 3, 27, 9, 30)),
        ("invitations", paris(2026, 3, 27, 10)),
        ("invitations", paris(2026, 3, 27, 10, 30)),
        ("invitations", paris(2026, 3, 27, 11)),
        ("digests", paris(2026, 3, 27, 16)),
        ("reminders", paris(2026, 3, 27, 17)),
    ]


@pytest.mark.parametrize(
    ("rule", "slots"),
    [
        ("off", ()),
        ("daily at 09:00", (Slot(time(9)),)),
        ("Monday at 8h00", (Slot(time(8), "monday"),)),
        (
            "every 20 minutes from 7:00 to 8:00",
            (*(Slot(time(7, m)) for m in (0, 20, 40)), Slot(time(8))),
        ),
        ("every 360 minutes", tuple(Slot(time(h)) for h in (0, 6, 12, 18))),
    ],
)
def test_rules_people_write(rule, slots):
    assert parse_rule(rule) == slots


MONDAY_8 = (Slot(time(8), "monday"),)
DAILY_9 = (Slot(time(9)),)


@pytest.mark.parametrize(
    ("slots", "after", "expected"),
    [
        (MONDAY_8, paris(2026, 3, 31, 12), paris(2026, 4, 6, 8)),  # Tuesday → next Monday
        (MONDAY_8, paris(2026, 3, 30, 7, 59), paris(2026, 3, 30, 8)),
        (MONDAY_8, paris(2026, 3, 30, 8), paris(2026, 4, 6, 8)),  # strictly after
        ((*DAILY_9, *MONDAY_8), paris(2026, 3, 29, 23), paris(2026, 3, 30, 8)),
        ((), paris(2026, 3, 30), None),
    ],
)
def test_next_slot_is_the_first_paris_wall_time_strictly_after(slots, after, expected):
    assert scheduler.next_slot(slots, after) == expected


def test_jobs_whose_slots_were_missed_are_due_once_each_in_run_order():
    slots = {"invitations": parse_rule("every 15 minutes"), "reminders": DAILY_9, "digests": MONDAY_8}
    two_days_off = (paris(2026, 3, 28, 9, 1), paris(2026, 3, 30, 9, 5))
    assert scheduler.due(slots, *two_days_off) == ["invitations", "reminders", "digests"]
    assert scheduler.due(slots, paris(2026, 3, 30, 9), paris(2026, 3, 30, 9, 14)) == []
    assert scheduler.due(slots, paris(2026, 3, 30, 9, 5), paris(2026, 3, 30, 9)) == [], "time went back"


@pytest.mark.parametrize(
    ("start", "ran_at", "instant"),
    [
        # 02:30 does not exist on 29 March 2026: it runs when the clock jumps to 03:00 CEST.
        (paris(2026, 3, 29), paris(2026, 3, 29, 3), datetime(2026, 3, 29, 1, tzinfo=UTC)),
        # 02:30 happens twice on 25 October 2026: it runs the first time only.
        (paris(2026, 10, 25), paris(2026, 10, 25, 2, 30), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    ],
    ids=["missing-hour", "repeated-hour"],
)
def test_a_slot_in_the_hour_a_daylight_saving_change_skips_or_repeats_runs_once(
    project, start, ran_at, instant
):
    rules = "".join(f'{name} = "off"\n' for name in ORDER if name != "reminders")
    project.create(
        [referral(1)], [session("A", 7, 5)], extra_config=f'[schedule]\nreminders = "daily at 02:30"\n{rules}'
    )
    _, recorder, _ = serve(config_module.load(project.config_path), start, start + timedelta(hours=6))
    assert recorder.calls == [("reminders", ran_at, instant)]


@pytest.mark.parametrize(
    "rule",
    ["every day", "tuesday 08:00", "daily at 25:00", "every 0 minutes", "every 15 minutes from 9:00 to 8:00"],
)
def test_a_rule_not_understood_is_one_sentence_naming_the_file_and_key(project, rule):
    project.create([referral(1)], [session("A", 7, 5)], extra_config=f'[schedule]\ndigests = "{rule}"\n')
    config = config_module.load(project.config_path)
    with pytest.raises(ConfigError) as error:
        scheduler.Service(config)
    assert str(error.value).startswith(
        f"{project.config_path}: schedule.digests = {rule!r} n'est pas une règle comprise : écrivez "
    )


@pytest.mark.parametrize(
    ("extra", "warned"),
    [
        ("", False),
        ("[followups]\ndigest_weekday = 4\n", True),  # digests due Friday, scheduled Monday only
        ('[followups]\ndigest_weekday = 4\n[schedule]\ndigests = "friday at 08:00"\n', False),
        ("[followups]\ndigest_hour = 9\n", True),  # due Monday 09:00, scheduled Monday 08:00
        ('[followups]\ndigest_hour = 9\n[schedule]\ndigests = "daily at 08:00"\n', False),
    ],
)
def test_serve_warns_when_the_digest_schedule_can_never_send_one(project, caplog, extra, warned):
    project.create([referral(1)], [session("A", 7, 5)], extra_config=extra)
    scheduler.Service(config_module.load(project.config_path), available=ORDER)
    assert any("ne recevraient aucune synthèse" in r.getMessage() for r in caplog.records) is warned


def test_an_unknown_job_in_schedule_is_a_config_error_naming_the_file_and_key(project):
    project.create([referral(1)], [session("A", 7, 5)], extra_config='[schedule]\ninvitation = "off"\n')
    config = config_module.load(project.config_path)
    with pytest.raises(ConfigError) as error:
        scheduler.Service(config)
    assert str(error.value) == (
        f"{project.config_path}: schedule.invitation n'est pas une tâche connue (tâches : {', '.join(JOBS)})."
    )


def test_with_the_real_runner_a_busy_lock_is_retried_at_the_next_slot_and_each_email_goes_once(
    project, caplog
):
    caplog.set_level(logging.INFO, logger="passerelle")
    project.create([referral(n) for n in range(3)], [session("A", 7, 2)])
    config = config_module.load(project.config_path)
    stopping = threading.Event()
    fake = FakeTime(paris(2026, 11, 26, 6, 50), paris(2026, 11, 26, 7, 40), stopping)
    with contextlib.ExitStack() as held:
        held.enter_context(runner.run_lock(config.state_dir))  # someone typed `passerelle run`
        fake.on_wake.append(
            lambda instant: instant >= datetime(2026, 11, 26, 6, 5, tzinfo=UTC) and held.close()
        )
        code = scheduler.serve(
            config, clock=fake.clock, sleep=fake.sleep, available=("invitations",), stop=stopping
        )
    assert code == 0
    messages = [r.getMessage() for r in caplog.records]
    assert any(
        m.startswith("invitations skipped") and "Une autre exécution de Passerelle" in m for m in messages
    )
    assert "invitations: 3 email(s) sent (invitation × 2, liste_attente × 1)" in "\n".join(messages)
    assert sum("invitations: 0 email(s) sent" in m for m in messages) == 1  # 07:30: nothing new
    assert sorted(str(m["To"]) for m in project.emails()) == [
        f"Prénom{n:02d} Nom{n:02d} <personne{n:02d}@exemple.fr>" for n in range(3)
    ]
    assert {row["Invitation envoyée le"] for row in project.rows()[:2]} == {datetime(2026, 11, 26, 7, 15)}


def test_sigterm_during_a_run_lets_it_finish_then_serve_returns_zero_and_runs_nothing_else(config):
    asked: list[bool] = []

    def run(config, names, now, stop):
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time_module.monotonic() + 5
        while not stop() and time_module.monotonic() < deadline:
            time_module.sleep(0.001)
        asked.append(stop())  # the runner checks this between two emails
        return []

    previous = signal.getsignal(signal.SIGTERM)
    code, _, _ = serve(config, paris(2026, 3, 30, 8, 55), paris(2026, 3, 31), run=run)
    assert code == 0
    assert asked == [True], "one job started, saw the stop request, and nothing ran after it"
    assert signal.getsignal(signal.SIGTERM) is previous


def test_a_second_serve_on_the_same_state_folder_is_refused(config):
    with scheduler.serve_lock(config.state_dir), pytest.raises(AlreadyRunningError) as error:
        serve(config, paris(2026, 3, 30, 8), paris(2026, 3, 30, 9))
    assert "Another `passerelle serve` is already running" in str(error.value)


def test_log_lines_are_one_line_each_with_the_paris_time_and_a_level(tmp_path):
    stream = _Stream()
    logger = logs.setup(tmp_path / "logs" / "serve.log", stream=stream)
    try:
        logger.info("invitations: 3 email(s) sent\n  deferred x")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("summary failed")
    finally:
        logs.setup(None, stream=_Stream())
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(" INFO invitations: 3 email(s) sent |   deferred x")
    assert datetime.fromisoformat(lines[0].split()[0]).utcoffset() in (timedelta(hours=1), timedelta(hours=2))
    assert " ERROR summary failed | Traceback" in lines[1] and lines[1].endswith("ValueError: boom")
    assert (tmp_path / "logs" / "serve.log").read_text(encoding="utf-8").splitlines() == lines


class _Stream:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def flush(self) -> None:
        pass

    def getvalue(self) -> str:
        return "".join(self.parts)


def test_run_with_log_file_keeps_what_it_printed_and_why_it_could_not_run(project, tmp_path):
    project.create([referral(1)], [session("A", 7, 5)])
    log_file = tmp_path / "log" / "run.log"
    done = subprocess.run(
        [
            SCRIPT,
            "run",
            "invitations",
            "--now",
            "2026-11-26T09:00",
            "--config",
            str(project.config_path),
            "--log-file",
            str(log_file),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    missing = subprocess.run(
        [SCRIPT, "run", "--config", str(tmp_path / "nowhere.toml"), "--log-file", str(log_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2
    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert [line.split(" ", 2)[1] for line in lines] == ["INFO", "INFO", "INFO", "INFO", "ERROR"]
    assert lines[1].split(" ", 2)[2].startswith("invitations: 1 email(s) sent (invitation × 1)")
    assert "Aucun fichier de configuration à" in lines[4]
    assert "invitations: 1 email(s) sent" in done.stdout, "stdout is unchanged"


# --- the real command, as systemd runs it --------------------------------------------------------


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory) -> Path:
    return demo.build(tmp_path_factory.mktemp("serve") / "demo", datetime.now(PARIS).replace(tzinfo=None))


def wait_for(path: Path, text: str, timeout: float = 20) -> str:
    deadline = time_module.monotonic() + timeout
    while time_module.monotonic() < deadline:
        content = path.read_text(encoding="utf-8") if path.exists() else ""
        if text in content:
            return content
        time_module.sleep(0.05)
    raise AssertionError(f"{text!r} not in {path} after {timeout} s:\n{content}")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_serve_refuses_a_second_instance_and_stops_cleanly_on_a_signal(demo_config, tmp_path, signum):
    log_file = tmp_path / f"serve-{signum.name}.log"
    first = subprocess.Popen(
        [SCRIPT, "serve", "--config", str(demo_config), "--log-file", str(log_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(log_file, "passerelle serve started")
        second = subprocess.run(
            [SCRIPT, "serve", "--config", str(demo_config)], capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 3
        assert second.stderr.startswith("passerelle: Another `passerelle serve` is already running on ")
        signalled = time_module.monotonic()
        first.send_signal(signum)
        _, stderr = first.communicate(timeout=10)
        assert first.returncode == 0, stderr
        assert time_module.monotonic() - signalled < 5
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert f"{signum.name} received: finishing the email in progress, then stopping" in lines[-2]
    assert lines[-1].endswith("INFO passerelle serve stopped")
    assert "Traceback" not in stderr


@pytest.mark.parametrize("outcome", ["done", "failed"])
def test_a_run_leaves_the_process_collecting_garbage_as_before(project, outcome):
    """A run collects cycles less often (it holds millions of objects); the service's process, which
    lives for months, gets its own thresholds back after each run, even one that failed."""
    project.create([referral(0)], [session("A", 7, 5)])
    before = gc.get_threshold()
    if outcome == "failed":
        project.workbook.write_bytes(b"not a workbook")
        with pytest.raises(SheetError):
            project.run("invitations")
    else:
        assert project.run("invitations")[0].sent
    assert gc.get_threshold() == before
