"""`passerelle serve`: run each job at its slots, in Europe/Paris time, for months.

The slots come from the ``[schedule]`` section of the config (defaults in
``config.ScheduleConfig``). They are ``schedule`` jobs on a ``schedule.Scheduler`` of our own whose
clock is injected and whose idea of "now" is the wall-clock time in Paris, whatever the machine's
zone: "daily at 09:00" is 09:00 in Paris in winter and in summer. Sleeping is done in real
seconds (computed through UTC, so the night of a daylight-saving change is neither an hour short
nor an hour long) and never longer than ``max_sleep``, so a suspended laptop or a corrected clock
is noticed within a minute.

A job that fails is logged in one line and simply runs again at its next slot: jobs are
level-triggered, a late or repeated run loses nothing and doubles nothing. A machine that was off
catches up at the next slot. SIGTERM or Ctrl-C sets a flag that the runner checks between two
emails: the email in progress finishes, the sheet is written, and `serve` returns.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import signal
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import schedule

from automations import runner
from automations.apply import Outcome
from automations.config import Config
from automations.errors import AlreadyRunningError, ConfigError, PasserelleError
from automations.jobs.registry import JOBS
from automations.report import format_outcome

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_SLEEP = 60.0
MIN_SLEEP = 1.0
EXAMPLES = '"every 15 minutes from 07:00 to 20:00", "daily at 09:00", "monday at 08:00" or "off"'

log = logging.getLogger("passerelle.serve")

Clock = Callable[[], datetime]
"""Returns the current instant as an aware datetime (any zone)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def paris_wall_time(instant: datetime) -> datetime:
    """The instant as Paris wall-clock time without tzinfo, like ``cli.local_now`` and the sheets."""
    return instant.astimezone(PARIS).replace(tzinfo=None)


# ---------------------------------------------------------------------------------------------
# Rules: "every 15 minutes from 07:00 to 20:00" → the times of day (and weekday) a job runs at.


@dataclasses.dataclass(frozen=True, order=True)
class Slot:
    at: time
    weekday: str | None = None
    """None: every day."""

    def __str__(self) -> str:
        return f"{self.weekday or 'daily'} at {self.at:%H:%M}"


_TIME = r"(\d{1,2})[:h](\d{2})"
_EVERY = re.compile(rf"every (\d+) minutes?(?: from {_TIME} to {_TIME})?")
_AT = re.compile(rf"(daily|every day|{'|'.join(WEEKDAYS)})s? at ({_TIME}(?:\s*(?:,|and)\s*{_TIME})*)")


def _clock_time(hours: str, minutes: str) -> time:
    return time(int(hours), int(minutes))  # ValueError when out of range


def parse_rule(text: str) -> tuple[Slot, ...]:
    """The slots of one rule; raises ValueError when the rule is not understood."""
    rule = " ".join(text.casefold().split())
    if rule in ("off", "never", "none", ""):
        return ()
    if match := _EVERY.fullmatch(rule):
        step = int(match[1])
        start = _clock_time(match[2], match[3]) if match[2] else time(0, 0)
        end = _clock_time(match[4], match[5]) if match[4] else time(23, 59)
        if step < 1 or end < start:
            raise ValueError(rule)
        first, last = start.hour * 60 + start.minute, end.hour * 60 + end.minute
        return tuple(Slot(time(m // 60, m % 60)) for m in range(first, last + 1, step))
    if match := _AT.fullmatch(rule):
        weekday = None if match[1] in ("daily", "every day") else match[1]
        times = sorted({_clock_time(h, m) for h, m in re.findall(_TIME, match[2])})
        return tuple(Slot(at, weekday) for at in times)
    raise ValueError(rule)


def rule_text(config: Config, name: str) -> str:
    """The job's rule: its ``[schedule]`` override, else the registry's default."""
    return config.schedule.get(name, JOBS[name].schedule)


def rules(config: Config) -> dict[str, tuple[Slot, ...]]:
    """Every job's slots, in run order; an unknown job or a rule not understood is a ConfigError."""
    unknown = sorted(set(config.schedule) - set(JOBS))
    if unknown:
        raise ConfigError(
            f"{config.path}: schedule.{unknown[0]} n'est pas une tâche connue (tâches : {', '.join(JOBS)})."
        )
    result = {}
    for name in JOBS:
        text = rule_text(config, name)
        try:
            result[name] = parse_rule(text)
        except ValueError:
            raise ConfigError(
                f"{config.path}: schedule.{name} = {text!r} is not a schedule: write {EXAMPLES}."
            ) from None
    return result


# ---------------------------------------------------------------------------------------------
# A schedule.Scheduler whose clock is injected and reads Paris wall-clock time.


class ParisJob(schedule.Job):
    """A daily or weekly ``.at()`` job computed on the scheduler's Paris wall clock.

    The library reads ``datetime.now()`` (the machine's zone) and needs pytz for ``at(.., tz)``;
    these three methods are the only places it does, so they are redefined on the injected clock.
    ``until()``, ``to()`` and sub-daily units are not used by Passerelle and not supported here.
    """

    scheduler: ParisScheduler

    @property
    def should_run(self) -> bool:
        return self.scheduler.wall_now() >= self.next_run

    def run(self):
        result = self.job_func()
        self.last_run = self.scheduler.wall_now()
        self._schedule_next_run()
        return result

    def _schedule_next_run(self) -> None:
        if self.at_time is None or self.unit not in ("days", "weeks") or self.interval != 1:
            raise schedule.ScheduleValueError("ParisJob supports every().day.at() and every().<weekday>.at()")
        now = self.scheduler.wall_now()
        moment = now.replace(
            hour=self.at_time.hour, minute=self.at_time.minute, second=self.at_time.second, microsecond=0
        )
        if self.start_day is not None:
            moment += timedelta(days=(WEEKDAYS.index(self.start_day) - moment.weekday()) % 7)
        period = timedelta(weeks=1) if self.start_day is not None else timedelta(days=1)
        while moment <= now:
            moment += period
        self.next_run = moment


class ParisScheduler(schedule.Scheduler):
    def __init__(self, clock: Clock = utc_now) -> None:
        super().__init__()
        self.clock = clock

    def wall_now(self) -> datetime:
        return paris_wall_time(self.clock())

    def every(self, interval: int = 1) -> ParisJob:
        return ParisJob(interval, self)

    @property
    def idle_seconds(self) -> float | None:
        """Real seconds until the next slot: wall-clock times are compared through UTC."""
        if not self.jobs:
            return None
        due = self.next_run.replace(tzinfo=PARIS).astimezone(UTC)
        return (due - self.clock().astimezone(UTC)).total_seconds()


# ---------------------------------------------------------------------------------------------
# The service.

RunFunction = Callable[..., Sequence[object]]
"""``runner.run``'s signature: (config, job_names, now, *, stop) → results."""


def outcome_lines(result: object) -> list[tuple[int, str]]:
    """A result as log events: the summary line, then what needs a person's attention."""
    if not isinstance(result, Outcome):
        return [(logging.INFO, str(result).splitlines()[0])]
    summary = format_outcome(dataclasses.replace(result, problems=[])).splitlines()
    first = summary[0] + (
        f"; {len(result.problems)} row problem(s), see « État » and « Journal »" if result.problems else ""
    )
    return [(logging.INFO, first), *((logging.WARNING, line.strip()) for line in summary[1:])]


def digests_never_due(config: Config, slots: tuple[Slot, ...] | None = None) -> str | None:
    """The digests job sends from ``followups.digest_weekday``/``digest_hour`` on, each week: a
    schedule with no slot at or after that moment in the week would never send one."""
    slots = rules(config)["digests"] if slots is None else slots
    follow = config.followups
    if not slots:
        return None
    due = (follow.digest_weekday, time(follow.digest_hour))
    days = [(WEEKDAYS.index(s.weekday),) if s.weekday else range(7) for s in slots]
    if any((day, slot.at) >= due for slot, each in zip(slots, days, strict=True) for day in each):
        return None
    return (
        f"schedule.digests = {rule_text(config, 'digests')!r} never runs after followups.digest_weekday = "
        f"{follow.digest_weekday} and digest_hour = {follow.digest_hour} in the week: advisors would get "
        "no digest; make them agree"
    )


class Service:
    """The scheduler loop; everything that touches time or the outside world is injectable."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock = utc_now,
        sleep: Callable[[float], object] | None = None,
        run: RunFunction = runner.run,
        available: Collection[str] | None = None,
        stop: threading.Event | None = None,
        max_sleep: float = MAX_SLEEP,
    ) -> None:
        self.config = config
        self.run = run
        self.stopping = stop or threading.Event()
        self.sleep = sleep or self.stopping.wait
        self.max_sleep = max_sleep
        self.scheduler = ParisScheduler(clock)
        slots = rules(config)
        self.register(slots, runner.JOBS if available is None else available)
        self.warn_if_digests_never_due(slots["digests"])

    def register(self, slots: dict[str, tuple[Slot, ...]], available: Collection[str]) -> None:
        """In run order, so jobs due at the same minute run in the order of `passerelle run`."""
        for name, job_slots in slots.items():
            if name not in available:
                log.debug("%s is not available in this version of Passerelle: not scheduled", name)
                continue
            for slot in job_slots:
                builder = self.scheduler.every()
                unit = getattr(builder, slot.weekday) if slot.weekday else builder.day
                unit.at(f"{slot.at:%H:%M}").do(self.run_job, name).tag(name)

    def warn_if_digests_never_due(self, slots: tuple[Slot, ...]) -> None:
        problem = digests_never_due(self.config, slots)
        if problem:
            log.warning("%s", problem)

    def describe(self) -> str:
        names = dict.fromkeys(tag for job in self.scheduler.jobs for tag in job.tags)
        return "; ".join(f"{name} {rule_text(self.config, name)}" for name in names) or "nothing"

    def run_job(self, name: str) -> None:
        if self.stopping.is_set():
            return
        now = self.scheduler.wall_now().replace(microsecond=0)
        try:
            results = self.run(self.config, [name], now, stop=self.stopping.is_set)
        except AlreadyRunningError as error:
            log.warning("%s skipped, it runs again at its next slot: %s", name, error)
        except PasserelleError as error:
            log.error("%s failed, it runs again at its next slot: %s", name, error)
        except Exception as error:
            log.exception("%s failed unexpectedly, it runs again at its next slot: %r", name, error)
        else:
            for result in results:
                for level, line in outcome_lines(result):
                    log.log(level, line)

    def loop(self) -> None:
        """Until the stop flag is set: run what is due, then sleep until the next slot."""
        log.info(
            "passerelle serve started with %s (times are Europe/Paris): %s; next run %s",
            self.config.path,
            self.describe(),
            f"{self.scheduler.next_run:%Y-%m-%d %H:%M}" if self.scheduler.jobs else "never",
        )
        while not self.stopping.is_set():
            self.scheduler.run_pending()
            if self.stopping.is_set():
                break
            idle = self.scheduler.idle_seconds
            self.sleep(self.max_sleep if idle is None else min(max(idle, MIN_SLEEP), self.max_sleep))
        log.info("passerelle serve stopped")


def serve_lock(state_dir: Path) -> AbstractContextManager[None]:
    """One `serve` per state folder, held for the process's life (runs take their own lock)."""
    busy = (
        f"Another `passerelle serve` is already running on {state_dir}: "
        "only one may run at a time, stop it first (e.g. `systemctl stop passerelle`)."
    )
    return runner.exclusive(state_dir, "serve.lock", busy)


@contextmanager
def stop_on_signals(stopping: threading.Event) -> Iterator[None]:
    """SIGTERM and Ctrl-C set ``stopping``; a second Ctrl-C interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum: int, _frame) -> None:
        log.info("%s received: finishing the email in progress, then stopping", signal.Signals(signum).name)
        stopping.set()
        if signum == signal.SIGINT:
            signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve(config: Config, **options) -> int:
    """Run until SIGTERM or Ctrl-C; returns the exit code. ``options`` go to ``Service``."""
    stopping = options.pop("stop", None) or threading.Event()
    service = Service(config, stop=stopping, **options)
    with serve_lock(config.state_dir), stop_on_signals(stopping):
        try:
            service.loop()
        except KeyboardInterrupt:
            log.warning("Stopped at once by a second Ctrl-C: check « État » for emails « à vérifier ».")
            return 130
    return 0
