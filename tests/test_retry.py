"""The bounded retry, on a clock that only moves when it sleeps: no test ever waits."""

from __future__ import annotations

import pytest

from automations.sheets.retry import GaveUp, Retry
from tests.fakes.clock import FakeTime


class Busy(Exception):
    pass


class Broken(Exception):
    pass


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def retry(time) -> Retry:
    return Retry(budget_seconds=20, sleep=time.sleep, clock=time.clock, jitter=lambda: 1.0)


def failing(times: int, error: Exception):
    left = [times]

    def attempt() -> str:
        if left[0]:
            left[0] -= 1
            raise error
        return "fait"

    return attempt


def busy(error: Exception) -> bool:
    return isinstance(error, Busy)


def test_a_retryable_failure_that_ends_is_waited_out_with_doubling_pauses(retry, time):
    assert retry.deadline().run(failing(3, Busy()), busy) == "fait"
    assert time.sleeps == [1.0, 2.0, 4.0]


def test_a_failure_that_does_not_end_gives_up_before_the_next_wait_overruns_the_budget(retry, time):
    with pytest.raises(GaveUp) as gave_up:
        retry.deadline().run(failing(100, Busy()), busy)
    assert time.sleeps == [1.0, 2.0, 4.0, 8.0]  # 16 s more would end after the 20 s budget
    assert gave_up.value.attempts == 5 and isinstance(gave_up.value.last, Busy)
    assert time.now <= retry.budget_seconds


def test_a_failure_the_predicate_does_not_retry_leaves_at_once(retry, time):
    with pytest.raises(Broken):
        retry.deadline().run(failing(1, Broken()), busy)
    assert time.sleeps == []


def test_the_budget_is_shared_by_every_request_of_one_operation(retry, time):
    deadline = retry.deadline()
    deadline.run(failing(4, Busy()), busy)  # 15 s of the 20 s spent
    with pytest.raises(GaveUp):
        deadline.run(failing(4, Busy()), busy)
    assert time.sleeps == [1.0, 2.0, 4.0, 8.0, 1.0, 2.0]


def test_waits_never_exceed_the_longest_pause():
    time = FakeTime()
    retry = Retry(budget_seconds=1000, max_delay=4, sleep=time.sleep, clock=time.clock, jitter=lambda: 1.0)
    retry.deadline().run(failing(5, Busy()), busy)
    assert time.sleeps == [1.0, 2.0, 4.0, 4.0, 4.0]
