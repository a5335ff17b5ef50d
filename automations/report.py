"""What a run prints: what each job did, or for a dry run what it would do, email by email and
cell by cell. English for the operator; the problems themselves are the French sentences advisors
see in "État"."""

from __future__ import annotations

from collections import Counter

from automations.apply import Outcome
from automations.cells import text
from automations.values import CellPatch


def _counts(kinds: list[str]) -> str:
    return ", ".join(f"{kind} × {n}" for kind, n in sorted(Counter(kinds).items())) or "none"


def _where(patch: CellPatch) -> str:
    return patch.row.reference or "new row"


def format_outcome(outcome: Outcome, dry_run: bool = False) -> str:
    sent = _counts([e.kind for e in outcome.sent])
    if dry_run:
        lines = [
            f"{outcome.job} (dry run): {len(outcome.sent)} email(s) would be sent ({sent}), "
            f"{outcome.cells_written} cell(s) would change, {outcome.rows_added} row(s) would be added"
            + "".join(f", « {name} » would be rewritten" for name in outcome.rewritten)
        ]
        lines += [
            f"  email {e.kind} → {e.to_name} <{e.to_address}> [{e.person}] {e.session}".rstrip()
            for e in outcome.sent
        ]
        lines += [
            f"  cell « {p.sheet} » [{_where(p)}] « {p.column} » ← {text(p.value)}" for p in outcome.written
        ]
        lines += [
            f"  row + « {a.sheet} »: {', '.join(text(v) for v in a.values.values())}"
            for a in outcome.appended
        ]
    else:
        lines = [
            f"{outcome.job}: {len(outcome.sent)} email(s) sent ({sent}), "
            f"{outcome.cells_written} cell(s) written, {outcome.rows_added} row(s) added"
            + "".join(f", « {name} » rewritten" for name in outcome.rewritten)
        ]
    lines += [f"  deferred {o.kind} → {o.to_address}: {why}" for o, why in outcome.deferred]
    lines += [f"  refused {o.kind} → {o.to_address}: {why}" for o, why in outcome.refused]
    lines += [
        f"  à vérifier {o.kind} → {o.to_address}: not confirmed by the server" for o in outcome.uncertain
    ]
    lines += [f"  held {o.kind} → {o.to_address}: its row could not be written first" for o in outcome.held]
    lines += [
        f"  not written (row gone): « {p.sheet} » [{_where(p)}] « {p.column} »" for p in outcome.unresolved
    ]
    lines += [f"  problème {problem}" for problem in outcome.problems]
    return "\n".join(lines)
