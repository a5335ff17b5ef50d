"""Bounded retries with exponential backoff and full jitter, for any HTTP backend.

gspread's BackOffHTTPClient retries forever; a run must instead give up within a time budget and
say so. The backend decides which failures are worth another attempt (429 and 5xx, a dropped
connection) by passing a predicate, so this module knows nothing of any client library. The clock,
the sleep and the jitter are injected so tests never wait.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass
class Retry:
    """Exponential backoff with full jitter, within a time budget per operation."""

    budget_seconds: float = 120.0
    first_delay: float = 1.0
    max_delay: float = 32.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = random.random
    """A number in [0, 1): the share of the backoff actually waited."""

    def deadline(self) -> Deadline:
        """The budget of one operation, however many requests it makes, starting now."""
        return Deadline(self)


class GaveUp(Exception):
    """The last retryable failure, once the next wait would overrun the budget."""

    def __init__(self, last: Exception, attempts: int, elapsed: float) -> None:
        super().__init__(f"gave up after {attempts} attempts in {elapsed:.0f} s: {last!r}")
        self.last, self.attempts, self.elapsed = last, attempts, elapsed


class Deadline:
    def __init__(self, retry: Retry) -> None:
        self.retry = retry
        self.ends = retry.clock() + retry.budget_seconds

    def run(self, attempt: Callable[[], T], retryable: Callable[[Exception], bool]) -> T:
        """Call ``attempt`` until it succeeds, fails for good, or the next wait overruns the budget."""
        retry = self.retry
        started = retry.clock()
        for number in itertools.count(1):
            try:
                return attempt()
            except Exception as error:
                if not retryable(error):
                    raise
                last = error
            delay = retry.jitter() * min(retry.max_delay, retry.first_delay * 2 ** (number - 1))
            if retry.clock() + delay > self.ends:
                raise GaveUp(last, number, retry.clock() - started) from last
            retry.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover
