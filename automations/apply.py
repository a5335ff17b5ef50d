"""Executing a Plan: the one place where jobs have side effects, the same for every job.

Order matters for "never twice": every message is rendered first (a template error sends
nothing); each email is journaled pending, handed over, then journaled sent; the cells that record
the sendings are written last, in one batch, even when the batch stops half-way. If that write is
lost, the next run repairs the sheet from the journal instead of sending again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage

from automations.errors import TransportError
from automations.journal import DEFERRED, PENDING, REFUSED, SENT, Journal
from automations.mail.base import DeliveryDeferred, DeliveryRefused, DeliveryUncertain, Transport
from automations.mail.compose import compose
from automations.mail.render import Renderer
from automations.plan import EmailOrder, Plan, Problem, unconfirmed
from automations.sheets.base import SheetStore
from automations.values import CellPatch, SheetLayout


@dataclass
class Outcome:
    job: str
    sent: list[EmailOrder] = field(default_factory=list)
    deferred: list[tuple[EmailOrder, str]] = field(default_factory=list)
    refused: list[tuple[EmailOrder, str]] = field(default_factory=list)
    uncertain: list[EmailOrder] = field(default_factory=list)
    repaired: list[EmailOrder] = field(default_factory=list)
    rewritten: list[str] = field(default_factory=list)
    cells_written: int = 0
    rows_added: int = 0
    unresolved: list[CellPatch] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class Edges:
    """Everything a plan is applied to; built once per run by the runner."""

    store: SheetStore
    layouts: Mapping[str, SheetLayout]
    transport: Transport
    journal: Journal
    renderer: Renderer
    sender: Address
    domain: str
    stop: Callable[[], bool] = lambda: False
    """Asked between two emails: a stop request (SIGTERM, Ctrl-C) lets the email in flight finish."""


def render_all(plan: Plan, edges: Edges, now: datetime) -> list[tuple[EmailOrder, EmailMessage]]:
    return [
        (
            order,
            compose(order, edges.renderer.render(order.kind, order.context), edges.sender, now, edges.domain),
        )
        for order in plan.emails
    ]


def _status(order: EmailOrder, text: str) -> list[CellPatch]:
    if order.status_column is None or order.row is None:
        return []
    return [CellPatch(order.sheet, order.row, order.status_column, text)]


def _send_one(
    order: EmailOrder, message: EmailMessage, edges: Edges, now: datetime, outcome: Outcome
) -> list[CellPatch]:
    """Journal, hand over, journal: returns the cells that record what happened."""
    journal = edges.journal
    known = journal.entry(order.key)
    if known and known.status == SENT:
        outcome.repaired.append(order)  # the sheet lost a write: record the sending, never send again
        return list(order.on_sent)
    if known and known.status == PENDING:
        outcome.uncertain.append(order)
        return _status(order, unconfirmed(known.updated_at))
    if known and known.status == REFUSED and known.recipient == order.to_address:
        return _status(order, f"Adresse refusée par le serveur : {known.detail}")
    journal.pending(order.key, order.kind, order.person, order.session, order.to_address, now)
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
    journal.settle(order.key, SENT, now)
    journal.remember(order.remember)
    outcome.sent.append(order)
    return list(order.on_sent)


def apply(plan: Plan, edges: Edges, now: datetime) -> Outcome:
    messages = render_all(plan, edges, now)
    outcome = Outcome(plan.job, problems=list(plan.problems))
    patches = list(plan.patches)
    try:
        if messages:
            with edges.transport:
                for order, message in messages:
                    if edges.stop():
                        break
                    patches.extend(_send_one(order, message, edges, now, outcome))
    finally:
        result = edges.store.write(edges.layouts, patches, plan.appends)
        outcome.cells_written = len(patches) - len(result.unresolved)
        outcome.rows_added = len(plan.appends)
        outcome.unresolved = result.unresolved
    for name, grid, chart in plan.replaced:
        edges.store.replace(edges.layouts[name], grid, chart)
        outcome.rewritten.append(name)
    edges.journal.remember(plan.memory)
    return outcome
