"""`passerelle purge --older-than 24m`: erase the personal data of closed referrals, keep the counts.

A referral is closed when nothing happened to it for longer than the retention period (its last
activity: referral, invitation, reminder, follow-up, session, a staff update in "Présences" or
"Suivi"), whether it ended with an exit ("Sortie") or simply went quiet. Its rows stay, so every
count in "Synthèse" stays the same; names, addresses, phone numbers and free-text remarks are
erased from every sheet, the send journal and the outbox.
"""

from __future__ import annotations

import calendar
import email
import email.policy
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from automations import cells, runner, wiring
from automations.config import Config
from automations.errors import ConfigError
from automations.journal import Journal, JournalFacts
from automations.model import PURGED, Referral
from automations.schema import REPONSES
from automations.sheets.base import SheetStore
from automations.tables import bind
from automations.values import CellPatch, RowKey
from automations.world import World, build

ERASED_REFERRAL = ("nom", "prenom", "email", "telephone", "remarques")
ERASED_TRACKING = ("nom", "prenom", "commentaire")
"""Free text that may name or describe the person; dates, stages and exit reasons stay, for the counts."""
_PERIOD = re.compile(r"(\d+)\s*([dmy])")


def months_before(moment: datetime, period: str) -> datetime:
    """ "24m", "2y" or "730d" before ``moment``, by the calendar (31 March minus 1m is 28/29 Feb)."""
    match = _PERIOD.fullmatch(period.strip().lower())
    if not match:
        raise ConfigError(
            f"--older-than {period!r} n'est pas une durée : écrivez par exemple 24m (mois), 2y (ans) "
            "ou 730d (jours)."
        )
    amount, unit = int(match.group(1)), match.group(2)
    if unit == "d":
        return moment - timedelta(days=amount)
    months = amount * (12 if unit == "y" else 1)
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


@dataclass
class Purge:
    cutoff: datetime
    people: list[Referral] = field(default_factory=list)
    patches: list[CellPatch] = field(default_factory=list)


def last_activity(world: World, facts: JournalFacts, r: Referral) -> datetime | None:
    moments = [r.invited_on]
    moments += [cells.or_none(cells.parse_datetime, r.row[key]) for key in ("rappel", "relance")]
    if r.referred_on:
        moments.append(datetime.combine(r.referred_on, datetime.min.time()))
    s = world.session_of(r)
    moments.append(s.starts if s else None)
    f = world.followup_of.get(r.reference)
    if f is not None:
        moments.append(cells.or_none(cells.parse_datetime, f.row["maj"]))
        dated = (f.cape_on, f.cesa_on, f.activity_on, f.invoice_on, f.exit_on)
        moments += [datetime.combine(day, datetime.min.time()) for day in dated if day]
    moments += [e.updated_at for e in facts.of_person(r.reference)]
    return max((m for m in moments if m), default=None)


def plan(world: World, facts: JournalFacts, cutoff: datetime, now: datetime) -> Purge:
    """Pure: who is closed and which cells to erase."""
    result = Purge(cutoff)
    orientations = world.spec("orientations")
    for r in world.referrals:
        if r.purged or not r.reference or not r.has_reference:
            continue
        last = last_activity(world, facts, r)
        if last is None or last >= cutoff:
            continue
        result.people.append(r)
        key = r.key
        result.patches += [
            CellPatch(orientations.name, key, orientations.label(k), None) for k in ERASED_REFERRAL
        ]
        result.patches.append(
            CellPatch(orientations.name, key, orientations.label("etat"), f"{PURGED} le {now:%d/%m/%Y}")
        )
        result.patches += _tracking(world, r)
    result.patches += _history(world, {r.reference for r in result.people})
    result.patches += _journal_mentions(world, result.people)
    return result


def _tracking(world: World, r: Referral) -> list[CellPatch]:
    """The person's rows in the cooperative's sheets: names and free text go, dates and stages stay."""
    rows = [("presences", p.row) for p in world.presences_of.get(r.reference, ())]
    followed = world.followup_of.get(r.reference)
    rows += [("suivi", followed.row)] if followed else []
    erased = []
    for key, row in rows:
        spec = world.spec(key)
        columns = [k for k in ERASED_TRACKING if k in spec.columns]
        erased += [CellPatch(spec.name, row.key(), spec.label(k), None) for k in columns]
    return erased


def _history(world: World, erased: set[str]) -> list[CellPatch]:
    """« Historique » kept what staff wrote in « Commentaire » and what the person answered in free
    text: those values go; dated stages and presences stay, like in « Suivi »."""
    table = world.table("historique")
    if table is None or not erased:
        return []
    spec = table.spec
    answers = world.spec("reponses") if world.table("reponses") else REPONSES  # not read by purge
    free = {world.spec("suivi").label("commentaire"), answers.label("comment")}
    return [
        CellPatch(spec.name, RowKey(None, row.fingerprint, occurrence=row.occurrence), spec.label(k), None)
        for row in table
        if row.text("reference") in erased and row.text("colonne") in free
        for k in ("avant", "apres")
    ]


def identifiers(people: list[Referral]) -> list[str]:
    """What would identify a purged person in free text: their name and address."""
    found = [r.full_name for r in people if r.first_name and r.last_name]
    return found + [r.email for r in people if r.email]


def _journal_mentions(world: World, people: list[Referral]) -> list[CellPatch]:
    """Problem reports in "Journal" quote cells, addresses included: erase those that name them."""
    table = world.table("journal")
    if table is None:
        return []
    words = identifiers(people)
    label = table.spec.label("detail")
    return [
        CellPatch(table.spec.name, row.key(), label, "(effacé lors d'une purge)")
        for row in table
        if any(word in row.text("detail") for word in words)
    ]


def mentions(path: Path, words: list[str]) -> bool:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    texts = [str(message["To"] or "")]
    texts += [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]
    return any(word in text for text in texts for word in words)


def purge(
    config: Config, now: datetime, older_than: str, dry_run: bool, store: SheetStore | None = None
) -> Purge:
    cutoff = months_before(now, older_than)
    specs = wiring.specs(config)
    store = store or wiring.make_store(config)
    with runner.run_lock(config.state_dir):
        keys = ("orientations", "reunions", "presences", "suivi", "historique", "journal")
        wanted = [specs[key] for key in keys]
        grids = store.read([spec.name for spec in wanted])
        tables = {
            spec.key: bind(
                spec, grids[spec.name] if grids[spec.name] is not None else [list(spec.columns.values())]
            )
            for spec in wanted
        }
        journal = Journal(config.state_dir / "journal.sqlite3")
        try:
            result = plan(build(tables), journal.facts(), cutoff, now)
            if dry_run or not result.people:
                return result
            layouts = {spec.name: spec.layout() for spec in specs.values()}
            store.write(layouts, result.patches)
            erased = [r.reference for r in result.people]
            journal.erase_recipients(erased)
            journal.remember([("journal", "problems", "")])
            words = identifiers(result.people)
            for path in config.mail.outbox.glob("*.eml") if config.mail.outbox.exists() else []:
                if any(reference in path.name for reference in erased) or mentions(path, words):
                    path.unlink()
        finally:
            journal.close()
    runner.run(config, ["summary"], now, store=store)  # "Synthèse" loses the names at once
    return result
