"""Executing plans: the one place where jobs have side effects, the same for every job, real or dry.

**The commit rule: every effect carries its own bookkeeping, committed only once it happened.**

- *An email* is journaled "pending" before it is handed to the transport. Once the transport took
  it, its "sent" record and the memory it carries (what it told the person about their session,
  what a digest reported) are committed together, in one journal transaction. The cells that
  record it ("Invitation envoyée le", "État") are then queued like any other cell write; if they
  never reach the sheet, the next run finds the email "sent" in the journal and writes the cells
  again instead of sending again. A "pending" record found later means a run stopped mid-send: the
  outbox's file tells whether the email left (``Journal.confirm``, at the start of the next run);
  over SMTP nobody knows, so it is reported « À vérifier », never re-sent blindly. To the outbox,
  emails are journaled by chunks (``CHUNK``): one commit before their handovers, one after.
- *Cell writes, new rows and rewritten sheets* go to the run's working copy of the sheets (so each
  job sees what the previous ones did) and are flushed to the real sheets; the memory that
  acknowledges them (``Plan.memory``: an answer applied, a change stamped, « Synthèse » written)
  waits in the ``Ledger`` and is committed only after the flush that carried them succeeded.
- *A sheet rewritten elsewhere* (an advisor's view, ``Plan.elsewhere``) waits in the ``Ledger`` too,
  and is written by ``publish``, at the end of the run, to its own store; the memory it carries is
  committed once that store took it. A view that cannot be written does not hold back the others,
  nor anything the run did in its own sheets: the run then fails with the view's sentence, and the
  next run writes it again.
- *What the sheets said and the plan's own writes erase* (a Non, before its row is re-queued) is
  remembered first, before any write: afterwards only the journal knows it.
- *Before an email to a seeker leaves*, every write queued so far is flushed: the Référence of a new
  row is in the sheet before its first email, so correcting a name later never makes a new person.
  An email whose row could not be written is not sent.

So a stop, a crash or a failed write at any instant leaves sheets, journal and emails as an
uninterrupted run would have left them so far, and the next run does exactly the rest. A dry run
is this same code against in-memory stand-ins (a copy of the sheets, a copy of the journal, a
transport that only records), so it shows exactly what the real run would do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address

from automations.errors import PasserelleError, TransportError
from automations.journal import DEFERRED, PENDING, REFUSED, RESEND, SENT, Entry, Handover, Journal
from automations.mail.base import DeliveryDeferred, DeliveryRefused, DeliveryUncertain, Letter, Transport
from automations.mail.compose import compose
from automations.mail.render import Renderer
from automations.plan import EmailOrder, Memo, Plan, Problem, Rewrite, unconfirmed
from automations.sheets.base import SheetStore
from automations.sheets.buffered import BufferedStore
from automations.values import (
    CellPatch,
    ChartSpec,
    Grid,
    Look,
    RowAppend,
    SheetLayout,
    WriteResult,
    patches_from_json,
    patches_to_json,
)


@dataclass
class Outcome:
    """What applying one job's plan did (or, in a dry run, would do).

    Its emails are the plan's orders without their template context and calendar event (``_kept``).
    """

    job: str
    sent: list[EmailOrder] = field(default_factory=list)
    deferred: list[tuple[EmailOrder, str]] = field(default_factory=list)
    refused: list[tuple[EmailOrder, str]] = field(default_factory=list)
    uncertain: list[EmailOrder] = field(default_factory=list)
    repaired: list[EmailOrder] = field(default_factory=list)
    held: list[EmailOrder] = field(default_factory=list)
    """Emails not sent because their row could not be written first (it moved or was deleted)."""
    written: list[CellPatch] = field(default_factory=list)
    appended: list[RowAppend] = field(default_factory=list)
    rewritten: list[str] = field(default_factory=list)
    unresolved: list[CellPatch] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def cells_written(self) -> int:
        return len(self.written)

    @property
    def rows_added(self) -> int:
        return len(self.appended)

    @property
    def did_something(self) -> bool:
        return bool(self.sent or self.written or self.appended or self.rewritten)


class Ledger:
    """The run's sheet writes not yet flushed, and the bookkeeping waiting for them to land: the
    memory that acknowledges them, and the sent emails whose cells they carry."""

    def __init__(
        self,
        store: BufferedStore,
        layouts: Mapping[str, SheetLayout],
        journal: Journal,
        views: Mapping[str, SheetStore] = {},
    ) -> None:
        self.store, self.layouts, self.journal = store, layouts, journal
        self.views = views
        """Each advisor's view by email: the stores ``Plan.elsewhere`` is written to."""
        self.memory: list[Memo] = []
        self.landing: list[str] = []
        self.elsewhere: list[Rewrite] = []

    def write(self, patches: Iterable[CellPatch], appends: Iterable[RowAppend] = ()) -> WriteResult:
        patches, appends = list(patches), list(appends)
        if not patches and not appends:
            return WriteResult()
        return self.store.write(self.layouts, patches, appends)

    def record(self, keys: Iterable[str], patches: list[CellPatch]) -> WriteResult:
        """The cells of sent emails: the journal keeps them until this write has landed."""
        self.landing.extend(keys)
        return self.write(patches)

    def replay(self) -> list[CellPatch]:
        """Cells of emails sent by an earlier run that never reached the sheet (it stopped first)."""
        replayed = []
        for key, cells in self.journal.unlanded().items():
            patches = patches_from_json(cells)
            result = self.record([key], patches)
            unresolved = set(map(id, result.unresolved))
            replayed += [p for p in patches if id(p) not in unresolved]
        return replayed

    def replace(self, name: str, grid: Grid, chart: ChartSpec | None, look: Look | None = None) -> None:
        self.store.replace(self.layouts[name], grid, chart, look)

    def replace_elsewhere(self, rewrite: Rewrite) -> None:
        if rewrite.destination not in self.views:
            raise KeyError(f"no store for the view of {rewrite.destination}")  # a bug: wiring and plan agree
        self.elsewhere.append(rewrite)

    def publish(self) -> None:
        """Write each view queued, then commit its memory; every view is tried, and the first that
        could not be written is raised once the others are done."""
        pending, self.elsewhere = self.elsewhere, []
        failed: list[PasserelleError] = []
        for rewrite in pending:
            try:
                self.views[rewrite.destination].replace(
                    self.layouts[rewrite.sheet], rewrite.grid, rewrite.chart, rewrite.look
                )
            except PasserelleError as error:
                failed.append(error)
                continue
            self.journal.landed([], rewrite.remember)
        if failed:
            raise failed[0]

    def acknowledge(self, memory: Iterable[Memo]) -> None:
        self.memory.extend(memory)

    def flush(self) -> WriteResult:
        result = self.store.flush()
        self.journal.landed(self.landing, self.memory)
        self.memory, self.landing = [], []
        return result


@dataclass(frozen=True)
class Edges:
    """Everything a plan is applied to; built once per run by the runner (stand-ins for a dry run)."""

    ledger: Ledger
    transport: Transport
    journal: Journal
    renderer: Renderer
    sender: Address
    domain: str
    stop: Callable[[], bool] = lambda: False
    """Asked between two emails: a stop request (SIGTERM, Ctrl-C) lets the email in flight finish."""


CHUNK = 200
"""Emails journaled in one commit before and one after their handover, to a transport that can tell
afterwards which it took (the outbox); one at a time otherwise (SMTP), see ``automations.journal``."""


def render_all(plan: Plan, edges: Edges, now: datetime) -> list[tuple[EmailOrder, Letter]]:
    """Every message of the plan, before the first is sent: a template error sends nothing.

    Kept as deflated bytes (``Letter``), each against the batch's first message of its kind, which
    it nearly repeats: ~0.5 KiB an invitation instead of ~6.5 KiB, so 50,000 stay small."""
    messages: list[tuple[EmailOrder, Letter]] = []
    first: dict[str, bytes] = {}
    for order in plan.emails:
        rendered = edges.renderer.render(order.kind, order.context)
        letter = compose(order, rendered, edges.sender, now, edges.domain, first.get(order.kind, b""))
        first.setdefault(order.kind, letter.data)
        messages.append((order, letter))
    return messages


def apply(plan: Plan, edges: Edges, now: datetime) -> Outcome:
    messages = render_all(plan, edges, now)
    edges.journal.remember(plan.observed)
    for key in plan.retry:  # the advisor chose « Renvoyer »: the next plan may send it again
        edges.journal.settle(key, DEFERRED, now, RESEND)
    outcome = Outcome(plan.job, problems=list(plan.problems))
    ledger = edges.ledger
    _record(outcome, ledger.write(plan.patches, plan.appends), plan.patches, plan.appends)
    for name, grid, chart, look in plan.replaced:
        ledger.replace(name, grid, chart, look)
        outcome.rewritten.append(name)
    for rewrite in plan.elsewhere:
        ledger.replace_elsewhere(rewrite)
        outcome.rewritten.append(f"{rewrite.sheet} ({rewrite.destination})")
    ledger.acknowledge(plan.memory)
    blocked = _flush_before_seekers(messages, ledger, outcome)
    if not messages:
        return outcome
    keys: list[str] = []
    patches: list[CellPatch] = []
    try:
        with edges.transport:
            for chunk in _chunks(messages, CHUNK if edges.transport.idempotent else 1):
                if edges.stop():
                    break
                _send_chunk(chunk, blocked, edges, now, outcome, keys, patches)
    finally:  # even when the transport failed half-way: what was sent is recorded
        _record(outcome, ledger.record(keys, patches), patches, ())
    return outcome


def _kept(order: EmailOrder) -> EmailOrder:
    """The order as the outcome keeps it, to the end of the run: without the template context and
    the calendar event, which only composing needed (~90 MiB at 50,000 invitations)."""
    return dataclasses.replace(order, context={}, event=None)


def _record(outcome: Outcome, result: WriteResult, patches: list[CellPatch], appends) -> None:
    unresolved = set(map(id, result.unresolved))
    outcome.written.extend(p for p in patches if id(p) not in unresolved)
    outcome.appended.extend(appends)
    outcome.unresolved.extend(result.unresolved)


def _flush_before_seekers(messages, ledger: Ledger, outcome: Outcome) -> set:
    """Rows whose cells could not be written: no email to them leaves in this run."""
    if not any(order.row is not None for order, _ in messages) or not ledger.store.pending:
        return set()
    result = ledger.flush()
    outcome.unresolved.extend(result.unresolved)
    return {patch.row for patch in result.unresolved}


def _status(order: EmailOrder, text: str) -> list[CellPatch]:
    if order.status_column is None or order.row is None:
        return []
    return [CellPatch(order.sheet, order.row, order.status_column, text)]


def _chunks(messages: list, size: int) -> Iterable[list]:
    return (messages[start : start + size] for start in range(0, len(messages), size))


def _send_chunk(
    chunk: list[tuple[EmailOrder, Letter]],
    blocked: set,
    edges: Edges,
    now: datetime,
    outcome: Outcome,
    keys: list[str],
    patches: list[CellPatch],
) -> None:
    """Journal the chunk "pending" in one commit, hand each over, journal the sent ones "sent" in
    one commit; ``keys`` and ``patches`` get the emails whose cells are to be written."""
    due: list[tuple[EmailOrder, Letter, Entry | None]] = []
    for full, message in chunk:
        order, known = _kept(full), edges.journal.entry(full.key)
        if order.row is not None and order.row in blocked:
            outcome.held.append(order)
        elif (cells := _known(order, known, outcome)) is not None:
            patches.extend(cells)
            keys.append(order.key)
        else:
            due.append((order, message, known))
    idempotent = edges.transport.idempotent
    handovers = [
        Handover(o.key, o.kind, o.person, o.session, o.to_address, o.remember, patches_to_json(o.on_sent))
        for o, _, _ in due
    ]
    edges.journal.pending(handovers, now, durable=not idempotent, provable=idempotent)
    sent: list[EmailOrder] = []
    try:
        for number, (order, message, _) in enumerate(due):
            if edges.stop():  # the rest was journaled but never handed over: as it was before
                return edges.journal.withdraw([(o.key, known) for o, _, known in due[number:]])
            try:
                failed = _hand_over(order, message, edges, now, outcome)
            except TransportError:
                edges.journal.withdraw([(o.key, known) for o, _, known in due[number + 1 :]])
                raise
            if failed is None:
                sent.append(order)
            patches.extend(failed or ())
            keys.append(order.key)
    finally:
        edges.journal.sent([order.key for order in sent], now)
        patches.extend(cell for order in sent for cell in order.on_sent)


def _known(order: EmailOrder, known: Entry | None, outcome: Outcome) -> list[CellPatch] | None:
    """The cells of an email the journal already knows about, which is not handed over again."""
    if known and known.status == SENT:
        outcome.repaired.append(order)  # the sheet lost a write: record the sending, never send again
        return list(order.on_sent)
    if known and known.status == PENDING:
        outcome.uncertain.append(order)
        return _status(order, unconfirmed(known.updated_at))
    if known and known.status == REFUSED and known.recipient == order.to_address:
        return _status(order, f"Adresse refusée par le serveur : {known.detail}")
    return None


def _hand_over(
    order: EmailOrder, message: Letter, edges: Edges, now: datetime, outcome: Outcome
) -> list[CellPatch] | None:
    """Hand one journaled email over: None once taken (its cells come with "sent"), else the cells
    that record why not."""
    journal = edges.journal
    try:
        edges.transport.send(message)
    except DeliveryDeferred as error:
        journal.settle(order.key, DEFERRED, now, str(error))
        outcome.deferred.append((order, str(error)))
        return _status(order, f"Envoi reporté (le serveur a demandé de réessayer) : {error}")
    except DeliveryRefused as error:
        journal.settle(order.key, REFUSED, now, str(error))
        outcome.refused.append((order, str(error)))
        return _status(order, f"Adresse refusée par le serveur : {error}")
    except DeliveryUncertain:
        outcome.uncertain.append(order)
        return _status(order, unconfirmed(now))
    except TransportError as error:
        journal.settle(order.key, DEFERRED, now, str(error))  # surely not taken: due again next run
        raise
    outcome.sent.append(order)
    return None
