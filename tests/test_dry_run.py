"""A dry run shows exactly what the real run at the same instant does, no more, no less: over the
whole demo story, before each real run, a dry run at the same `--now` lists the same emails (kind,
recipient, idempotency key), the same cells, the same new rows and the same rewritten sheets, and
the emails that then reach the outbox are those it listed."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime
from pathlib import Path

import pytest

from automations import config as config_module
from automations import demo, runner, story
from automations.apply import Outcome
from automations.cells import text
from tests.test_story import backend_store

START = datetime(2026, 11, 26, 9, 0)


def seen(outcomes: list[Outcome]) -> list[tuple]:
    return [
        (
            o.job,
            [(e.kind, e.to_address, e.key) for e in o.sent],
            [(p.sheet, p.row.reference or p.row.assigned, p.column, text(p.value)) for p in o.written],
            [(a.sheet, {k: text(v) for k, v in a.values.items()}) for a in o.appended],
            o.rewritten,
            [str(p) for p in o.problems],
        )
        for o in outcomes
    ]


def outbox_keys(outbox: Path) -> set[str]:
    keys = set()
    for path in outbox.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        keys.add(str(message["X-Passerelle-Key"]).strip())
    return keys


@pytest.mark.parametrize("backend", ["workbook", "google"])
def test_over_the_demo_story_every_dry_run_equals_the_real_run_that_follows(tmp_path, backend):
    store = backend_store(backend, tmp_path)
    config_path = demo.build(tmp_path, START, store)
    config = config_module.load(config_path)
    walk = story.Story(config_path, START, store)
    moments = [(START, None)] + [
        (walk.when(step) + delay, step) for step in story.STEPS for delay in story.DELAYS
    ]
    compared = 0
    for moment, step in moments:
        if step is not None and moment == walk.when(step):
            step.act(walk)
        before = outbox_keys(tmp_path / "outbox")
        dry = runner.run(config, [], moment, dry_run=True, store=store)
        real = runner.run(config, [], moment, store=store)
        assert seen(dry) == seen(real), f"at {moment}"
        keys = {e.key for o in dry for e in o.sent}
        assert outbox_keys(tmp_path / "outbox") - before == keys, f"at {moment}"
        compared += sum(len(o.sent) + len(o.written) for o in real)
    assert compared > 100, "the story did things worth comparing"
