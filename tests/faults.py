"""Real components with a fuse: a stop, a crash or a failure at one chosen instant of a run.

Every effect a run has (a sheet read or write, an email handed over, a journal record) passes a
``Fuse`` twice, before and after the real component acts. The fuse blows at the boundary it was
set to, in one of two ways:

- ``kill``: as SIGKILL would, the process dies there; nothing after it happens, not even the
  ``finally`` blocks' effects (every later boundary raises ``Killed`` too);
- ``fail``: that one effect fails with the component's own error (a sheet write refused, the SMTP
  server gone), and the run goes on handling it as it would in production.

Counting the boundaries of an uninterrupted run gives every instant worth interrupting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from automations.errors import SheetAccessError, TransportError
from automations.journal import Journal
from automations.mail.base import DeliveryUncertain, Transport
from automations.sheets.base import SheetStore
from automations.values import CellPatch, ChartSpec, Grid, RowAppend, SheetLayout, WriteResult


class Killed(BaseException):
    """The process died at this instant: nothing catches it, as nothing survives SIGKILL."""


@dataclass
class Fuse:
    at: int = 0
    """The boundary (1-based) where it blows; 0 never blows (counting)."""
    mode: str = "kill"
    count: int = 0
    blown: str = ""
    """Where it blew, for the test's message."""

    def tick(self, where: str, failure: Callable[[], Exception] | None) -> None:
        if self.blown and self.mode == "kill":
            raise Killed(where)
        if self.mode == "fail" and failure is None:
            return  # this component has no failure of its own to simulate here
        self.count += 1
        if self.count == self.at:
            self.blown = where
            raise Killed(where) if self.mode == "kill" else failure()


def _refused() -> Exception:
    return SheetAccessError("Google Sheets a échoué (test) : rien n'a été écrit.")


class FaultyStore:
    def __init__(self, store: SheetStore, fuse: Fuse) -> None:
        self.store, self.fuse = store, fuse

    def _around(self, name: str, act: Callable[[], object]):
        self.fuse.tick(f"before {name}", _refused)
        result = act()
        self.fuse.tick(f"after {name}", _refused)
        return result

    def read(self, sheets: Sequence[str]) -> dict[str, Grid | None]:
        return self._around("sheet read", lambda: self.store.read(sheets))

    def write(
        self,
        layouts: Mapping[str, SheetLayout],
        patches: Sequence[CellPatch],
        appends: Sequence[RowAppend] = (),
    ) -> WriteResult:
        return self._around("sheet write", lambda: self.store.write(layouts, patches, appends))

    def replace(self, layout: SheetLayout, grid: Grid, chart: ChartSpec | None = None, look=None) -> None:
        self._around("sheet rewrite", lambda: self.store.replace(layout, grid, chart, look))

    def ensure(self, layouts: Sequence[SheetLayout]) -> None:
        self._around("sheet creation", lambda: self.store.ensure(layouts))


@dataclass
class FaultyTransport:
    """Hands messages to a real transport; ``taken`` keeps every key it took, run after run."""

    transport: Transport
    fuse: Fuse
    taken: list[tuple[str, str]] = field(default_factory=list)

    @property
    def idempotent(self) -> bool:
        return self.transport.idempotent

    def __enter__(self) -> FaultyTransport:
        self.transport.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.transport.__exit__(*exc)

    def delivered(self, key: str) -> bool | None:
        return self.transport.delivered(key)

    def send(self, message) -> str:
        self.fuse.tick("before an email", lambda: TransportError("Le serveur SMTP ne répond plus (test)."))
        where = self.transport.send(message)
        self.taken.append((message.key, message.recipients[0]))
        self.fuse.tick("after an email", lambda: DeliveryUncertain("connexion perdue (test)"))
        return where


class FaultyJournal:
    """The real journal; each record it commits is an instant a process may die at."""

    def __init__(self, journal: Journal, fuse: Fuse) -> None:
        self.journal, self.fuse = journal, fuse

    def __getattr__(self, name: str):
        found = getattr(self.journal, name)
        if name not in ("pending", "settle", "sent", "confirm", "remember", "landed"):
            return found

        def recorded(*args, **kwargs):
            self.fuse.tick(f"before journal {name}", None)
            result = found(*args, **kwargs)
            self.fuse.tick(f"after journal {name}", None)
            return result

        return recorded
