"""What a run prints: the plan of a dry run, or what a run did. English for the operator; the
problems themselves are the French sentences advisors see in "État"."""

from __future__ import annotations

from collections import Counter

from automations.apply import Outcome
from automations.cells import text
from automations.plan import Plan


def _counts(kinds: list[str]) -> str:
    return ", ".join(f"{kind} × {n}" for kind, n in sorted(Counter(kinds).items())) or "none"


def _where(patch) -> str:
    return patch.row.reference or "new row"


def format_plan(plan: Plan) -> str:
    kinds = _counts([e.kind for e in plan.emails])
    lines = [f"{plan.job} (dry run): {len(plan.emails)} email(s) would be sent ({kinds})"]
    lines += [
        f"  email {e.kind} → {e.to_name} <{e.to_address}> [{e.person}] {e.session}".rstrip()
        for e in plan.emails
    ]
    patches = [*plan.patches, *(p for e in plan.emails for p in e.on_sent)]
    lines.append(f"  {len(patches)} cell(s) would change, {len(plan.appends)} row(s) would be added")
    lines += [f"  cell « {p.sheet} » [{_where(p)}] « {p.column} » ← {text(p.value)}" for p in patches]
    lines += [f"  row + « {a.sheet} »: {', '.join(text(v) for v in a.values.values())}" for a in plan.appends]
    lines += [f"  problème {problem}" for problem in plan.problems]
    return "\n".join(lines)


def format_outcome(outcome: Outcome) -> str:
    lines = [
        f"{outcome.job}: {len(outcome.sent)} email(s) sent ({_counts([e.kind for e in outcome.sent])}), "
        f"{outcome.cells_written} cell(s) written, {outcome.rows_added} row(s) added"
        + "".join(f", « {name} » rewritten" for name in outcome.rewritten)
    ]
    lines += [f"  deferred {o.kind} → {o.to_address}: {why}" for o, why in outcome.deferred]
    lines += [f"  refused {o.kind} → {o.to_address}: {why}" for o, why in outcome.refused]
    lines += [
        f"  à vérifier {o.kind} → {o.to_address}: not confirmed by the server" for o in outcome.uncertain
    ]
    lines += [
        f"  not written (row gone): « {p.sheet} » [{_where(p)}] « {p.column} »" for p in outcome.unresolved
    ]
    lines += [f"  problème {problem}" for problem in outcome.problems]
    return "\n".join(lines)
