"""`passerelle serve`: run each job at its slots, in Europe/Paris time, for months.

Each job's rule is its default in the job registry, unless ``[schedule]`` in the config overrides
it. When a job is due is a pure function of Paris wall-clock time (``due``, ``next_slot``):
"daily at 09:00" is 09:00 in Paris in winter and in summer, whatever the machine's zone. Sleeping
is done in real seconds, computed through UTC, so the night of a daylight-saving change is neither
an hour short nor an hour long, and never longer than ``max_sleep``, so a suspended laptop or a
corrected clock is noticed within a minute. The clock and the sleep are injected, so tests never
sleep.

The ``schedule`` library is not used: its public API reads the machine's clock and zone, so it
could neither keep Paris time nor be driven by an injected clock; what it would run is this
module's loop of a dozen lines.

A job that fails is logged in one line and simply runs again at its next slot: jobs are
level-triggered, a late or repeated run loses nothing and doubles nothing. A machine that was off
runs each job whose slots it missed once when it wakes, then at its next slot. SIGTERM or Ctrl-C
sets a flag that the runner checks between two emails: the email in progress finishes, the sheet
is written, and `serve` returns.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import signal
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from automations import runner
from automations.apply import Outcome
from automations.config import Config
from automations.errors import AlreadyRunningError, ConfigError, PasserelleError
from automations.jobs.registry import JOBS, canonical
from automations.report import format_outcome

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_SLEEP = 60.0
MIN_SLEEP = 1.0
EXAMPLES = '"every 15 minutes from 07:00 to 20:00", "daily at 09:00", "monday at 08:00" ou "off"'

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
    renamed = {canonical(key): rule for key, rule in config.schedule.items()}
    return renamed.get(name, JOBS[name].schedule)


def rules(config: Config) -> dict[str, tuple[Slot, ...]]:
    """Every job's slots, in run order; an unknown job or a rule not understood is a ConfigError."""
    unknown = sorted({canonical(key) for key in config.schedule} - set(JOBS))
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
                f"{config.path}: schedule.{name} = {text!r} n'est pas une règle comprise : "
                f"écrivez {EXAMPLES}."
            ) from None
    return result


# ---------------------------------------------------------------------------------------------
# When: pure functions of Paris wall-clock time (naive datetimes, like the sheets and the runner).


def _on(slot: Slot, day: date) -> datetime | None:
    if slot.weekday is not None and WEEKDAYS.index(slot.weekday) != day.weekday():
        return None
    return datetime.combine(day, slot.at)


def next_slot(slots: Iterable[Slot], after: datetime) -> datetime | None:
    """The first wall-clock moment strictly after ``after`` at which one of ``slots`` falls."""
    slots = tuple(slots)
    for offset in range(8):  # a weekly slot comes back within 7 days
        moments = [m for slot in slots if (m := _on(slot, after.date() + timedelta(days=offset)))]
        if later := [m for m in moments if m > after]:
            return min(later)
    return None


def due(schedule: Mapping[str, Sequence[Slot]], after: datetime, upto: datetime) -> list[str]:
    """The jobs with a slot in (``after``, ``upto``], each once, in the mapping's (run) order."""
    return [name for name, slots in schedule.items() if (at := next_slot(slots, after)) and at <= upto]


def seconds_until(wall: datetime, instant: datetime) -> float:
    """Real seconds from ``instant`` (aware) to Paris wall-clock ``wall``, through UTC."""
    return (wall.replace(tzinfo=PARIS).astimezone(UTC) - instant.astimezone(UTC)).total_seconds()


# ---------------------------------------------------------------------------------------------
# The service.

RunFunction = Callable[..., Sequence[object]]
"""``runner.run``'s signature: (config, job_names, now, *, stop) → results."""


def outcome_lines(result: Outcome) -> list[tuple[int, str]]:
    """A result as log events: the summary line, then what needs a person's attention."""
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
        f"schedule.digests = {rule_text(config, 'digests')!r} ne tourne jamais après "
        f"followups.digest_weekday = {follow.digest_weekday} et digest_hour = {follow.digest_hour} dans "
        "la semaine : les conseiller·ères ne recevraient aucune synthèse ; accordez ces réglages."
    )


class Service:
    """The loop; everything that touches time or the outside world is injectable."""

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
        self.clock = clock
        self.run = run
        self.stopping = stop or threading.Event()
        self.sleep = sleep or self.stopping.wait
        self.max_sleep = max_sleep
        slots = rules(config)
        self.slots = self.scheduled(slots, JOBS if available is None else available)
        self.warn_if_digests_never_due(slots["digests"])

    @staticmethod
    def scheduled(
        slots: dict[str, tuple[Slot, ...]], available: Collection[str]
    ) -> dict[str, tuple[Slot, ...]]:
        """In run order, so jobs due at the same minute run in the order of `passerelle run`."""
        for name in slots:
            if name not in available:
                log.debug("%s is not available in this version of Passerelle: not scheduled", name)
        return {name: job_slots for name, job_slots in slots.items() if name in available and job_slots}

    def warn_if_digests_never_due(self, slots: tuple[Slot, ...]) -> None:
        problem = digests_never_due(self.config, slots)
        if problem:
            log.warning("%s", problem)

    def wall_now(self) -> datetime:
        return paris_wall_time(self.clock())

    def describe(self) -> str:
        return "; ".join(f"{name} {rule_text(self.config, name)}" for name in self.slots) or "nothing"

    def next_run(self, after: datetime) -> datetime | None:
        return next_slot((slot for slots in self.slots.values() for slot in slots), after)

    def run_job(self, name: str) -> None:
        if self.stopping.is_set():
            return
        now = self.wall_now().replace(microsecond=0)
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
        """Until the stop flag is set: run what fell due since the last look, then sleep until the
        next slot. The wall clock going back (autumn's repeated hour) never runs a slot twice."""
        checked = self.wall_now()
        upcoming = self.next_run(checked)
        log.info(
            "passerelle serve started with %s (times are Europe/Paris): %s; next run %s",
            self.config.path,
            self.describe(),
            f"{upcoming:%Y-%m-%d %H:%M}" if upcoming else "never",
        )
        while not self.stopping.is_set():
            now = self.wall_now()
            for name in due(self.slots, checked, now):
                self.run_job(name)
            checked = max(checked, now)
            if self.stopping.is_set():
                break
            upcoming = self.next_run(checked)
            idle = self.max_sleep if upcoming is None else seconds_until(upcoming, self.clock())
            self.sleep(min(max(idle, MIN_SLEEP), self.max_sleep))
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
