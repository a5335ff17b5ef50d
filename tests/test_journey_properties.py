"""Property (hypothesis): for random sequences of what advisors, staff and seekers do between runs
(referrals added, some twice; answers of each kind; actions; sessions added, moved, cancelled;
the clock moving on), no address ever receives the same kind of email about the same session twice,
no session ever holds more people than its seats, and once runs settle every referral row says
where it stands (its « État »), with no person both assigned and closed.

Runs go through the real runner on the in-memory sheet store, with a real journal in a folder."""

from __future__ import annotations

import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automations import config as config_module
from automations import runner
from automations.cells import text
from automations.jobs.states import FINAL, STATES
from automations.mail.recording import RecordingTransport
from automations.schema import ORIENTATIONS, REUNIONS
from automations.sheets.memory import MemoryStore
from automations.values import CellPatch, RowAppend, RowKey
from tests.conftest import CONFIG, NOW, referral, session
from tests.test_three_months import says_its_state, states_in

LAYOUTS = {spec.name: spec.layout() for spec in (ORIENTATIONS, REUNIONS)}
PEOPLE = 6
ANSWERS = ("Oui", "Non, pas à cette date", "Plus intéressé·e", "")
ACTIONS = ("Réinviter", "Renvoyer", "Clôturer", "")

refer = st.tuples(st.just("refer"), st.integers(0, PEOPLE - 1))
answer = st.tuples(st.just("answer"), st.integers(0, PEOPLE - 1), st.sampled_from(ANSWERS))
act = st.tuples(st.just("act"), st.integers(0, PEOPLE - 1), st.sampled_from(ACTIONS))
open_session = st.tuples(st.just("open"), st.integers(3, 40), st.integers(0, 3))
move = st.tuples(st.just("move"), st.integers(0, 3), st.sampled_from(["10:00", "15:30"]))
cancel = st.tuples(st.just("cancel"), st.integers(0, 3))
wait = st.tuples(
    st.just("wait"), st.sampled_from([timedelta(minutes=15), timedelta(hours=5), timedelta(days=3)])
)
STEPS = st.lists(
    st.one_of(refer, refer, answer, act, open_session, move, cancel, wait), min_size=3, max_size=14
)


class World:
    """The sheets in memory, and the hands of the people who edit them."""

    def __init__(self, folder: Path) -> None:
        (folder / "passerelle.toml").write_text(CONFIG, encoding="utf-8")
        self.config = config_module.load(folder / "passerelle.toml")
        orientations = list(ORIENTATIONS.columns.values())
        self.store = MemoryStore({"Orientations": [orientations], "Réunions": [list(session("x", 0, 0))]})
        self.transport = RecordingTransport()
        self.now, self.sessions, self.referred = NOW, 0, 0

    def rows(self, name: str) -> list[dict[str, object]]:
        grid = self.store.read([name])[name]
        return [dict(zip(grid[0], row, strict=False)) for row in grid[1:]]

    def cell(self, name: str, index: int, column: str, value: object) -> None:
        rows = self.rows(name)
        if not rows:
            return
        row = rows[index % len(rows)]
        key = RowKey(text(row.get("Référence")) or None, tuple(text(v) for v in row.values()))
        self.store.write(LAYOUTS, [CellPatch(name, key, column, value)])

    def play(self, step: tuple) -> None:
        kind, *args = step
        if kind == "refer":
            self.referred += 1
            person = referral(
                args[0], **{"Date d'orientation": (self.now - timedelta(days=self.referred)).date()}
            )
            self.store.write(LAYOUTS, [], [RowAppend("Orientations", person)])
        elif kind == "answer":
            self.cell("Orientations", args[0], "Réponse", args[1] or None)
        elif kind == "act":
            self.cell("Orientations", args[0], "Action", args[1] or None)
        elif kind == "open":
            self.sessions += 1
            row = session(
                f"S{self.sessions}", 0, args[1] % 4, Date=(self.now + timedelta(days=args[0])).date()
            )
            self.store.write(LAYOUTS, [], [RowAppend("Réunions", row)])
        elif kind == "move":
            self.cell("Réunions", args[0], "Heure de début", args[1])
        elif kind == "cancel":
            self.cell("Réunions", args[0], "Annulée", "Oui")
        else:
            self.now += args[0]

    def run(self) -> None:
        runner.run(self.config, [], self.now, store=self.store, transport=self.transport)


def about(message) -> tuple[str, str, str]:
    """Recipient, kind and session; each real change of a session is news of its own."""
    kind, _, session_ = str(message["X-Passerelle-Key"]).strip().split("|")
    return (
        message["To"].addresses[0].addr_spec,
        kind,
        session_ if kind == "modification" else session_.split("#")[0],
    )


@settings(deadline=None, max_examples=40, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(STEPS)
def test_whatever_people_do_nobody_gets_an_email_twice_or_is_left_without_a_next_step(steps):
    with tempfile.TemporaryDirectory() as folder:
        world = World(Path(folder))
        for step in steps:
            world.play(step)
            world.run()
        world.run()  # a quarter of an hour later nothing is left half-done
        world.now += timedelta(minutes=15)
        world.run()

        sent = Counter(about(m) for m in world.transport.messages)
        twice = {about: n for about, n in sent.items() if n > 1}
        assert not twice, f"the same email about the same session twice: {twice}"

        seats = {text(s["Référence"]): int(s["Places"]) for s in world.rows("Réunions")}
        taken = Counter(
            text(r["Session"])
            for r in world.rows("Orientations")
            if r["Session"] and not text(r["Réponse"]).startswith(("Non", "Plus"))
        )
        assert all(taken[name] <= seats.get(name, 0) for name in taken), (taken, seats)

        for n, (state, etat) in states_in(world.config, world.store, world.now).items():
            assert says_its_state(state, etat), f"row {n + 2} is « {state} » but says « {etat} »"
            assert state in FINAL or STATES[state].next_step
        for row in world.rows("Orientations"):
            state = text(row["État"])
            assert state, f"row without a next step: {row}"
            if row["Session"]:
                assert not state.startswith(("Plus intéressé", "Clôturé", "A décliné ou manqué")), row
