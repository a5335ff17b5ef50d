"""What changed for a referred person since the advisor's last digest, in dated French phrases
(« CAPE signé le 04/01 », « sortie le 12/03 : emploi salarié »), and who needs the advisor.

A digest remembers, per person, a snapshot of what it reported; the next one says what differs.
Keys added to the snapshot later count as unchanged when an older snapshot lacks them, so an
upgrade never repeats last week's news.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from automations import cells, french
from automations.jobs import journey
from automations.jobs.funnel import Standing
from automations.jobs.given import Given
from automations.jobs.orders import normalise_code, people_by_code
from automations.jobs.states import state_of
from automations.model import Referral
from automations.tracking import FollowUp
from automations.world import World

DATED = (
    ("cape", "CAPE signé le {}"),
    ("activite", "activité démarrée le {}"),
    ("facture", "1re facture le {}"),
    ("cesa", "CESA signé le {}"),
)


def _iso(day: date | datetime | None) -> str:
    return day.isoformat() if day else ""


def checkpoint_answers(world: World, secret: bytes) -> dict[str, str]:
    """Each person's latest answer to « comment ça va » (« Réponses »), as the digest words it."""
    table = world.table("reponses")
    if table is None or "comment" not in table.present:
        return {}
    by_code = people_by_code(world, secret)
    latest: dict[str, tuple[datetime, str]] = {}
    for row in table:
        found = by_code.get(normalise_code(row.text("code")))
        person, at = (
            found.reference if found else None,
            cells.or_none(cells.parse_datetime, row["horodateur"]),
        )
        if person and at and row.text("comment") and (person not in latest or at >= latest[person][0]):
            started = (
                " ; activité démarrée : oui" if cells.folded(row.text("demarree")).startswith("oui") else ""
            )
            latest[person] = (
                at,
                f"a répondu « comment ça va » le {at:%d/%m} : « {row.text('comment')} »{started}",
            )
    return {person: said for person, (_, said) in latest.items()}


def snapshot(p: Standing, followed: FollowUp | None, answer: str = "") -> dict[str, str]:
    dated = (
        (followed.cape_on, followed.activity_on, followed.invoice_on, followed.cesa_on)
        if followed
        else (None,) * 4
    )
    return {
        "session": p.session,
        "date": f"{p.session_starts:%Y-%m-%d %H:%M}" if p.session_starts else "",
        "attente": "oui" if p.waiting else "",
        "reponse": {True: "Oui", False: "Non", None: ""}[p.referral.answer],
        "presence": p.presence or "",
        "presence_le": f"{p.presence_at:%Y-%m-%d %H:%M}" if p.presence_at else "",
        "etape": p.stage or "",
        **{key: _iso(day) for (key, _), day in zip(DATED, dated, strict=True)},
        "sortie": _iso(followed.exit_on) if followed else "",
        "motif": (followed.exit_reason or "") if followed else "",
        "point": answer,
    }


def _short(iso: str) -> str:
    return f"{date.fromisoformat(iso):%d/%m}"


def changes(before: dict[str, str], now: dict[str, str], starts: datetime | None) -> list[str]:
    answered = [now["point"]] if now.get("point") and now["point"] != before.get("point") else []
    return _invitation(before, now, starts) + _journey(before, now) + answered


def _journey(before: dict[str, str], now: dict[str, str]) -> list[str]:
    legacy = bool(before) and "cape" not in before  # a snapshot from before dates were reported

    def moved(key: str) -> bool:
        return bool(now[key]) and now[key] != before.get(key, now[key] if legacy else "")

    said = [phrase.format(_short(now[key])) for key, phrase in DATED if moved(key)]
    reason = f" : {now['motif'].lower()}" if now["motif"] else ""
    stage = now["etape"]
    if stage and stage != before.get("etape"):
        undated = {"CAPE signé": "cape", "CESA signé": "cesa", "Sortie": "sortie"}.get(stage)
        if undated is None:
            said.insert(0, f"étape : {stage}")
        elif not now[undated]:
            said.append(stage if stage != "Sortie" else f"sortie{reason}")
    if moved("sortie") or (now["sortie"] and moved("motif")):
        said.append(f"sortie le {_short(now['sortie'])}{reason}")
    return said


def _invitation(before: dict[str, str], now: dict[str, str], starts: datetime | None) -> list[str]:
    said = []
    if (
        now["session"]
        and (now["session"], now["date"]) != (before.get("session"), before.get("date"))
        and starts
    ):
        said.append(f"invité·e à la réunion du {french.day_at(starts, year=False)}")
    if now["attente"] and not before.get("attente"):
        said.append("en attente d'une place à une réunion")
    if now["reponse"] and now["reponse"] != before.get("reponse"):
        said.append("a confirmé sa venue" if now["reponse"] == "Oui" else "a répondu ne pas pouvoir venir")
    if now["presence"] and (now["presence"], now.get("presence_le")) != (
        before.get("presence"),
        before.get("presence_le", now.get("presence_le")),
    ):
        held = datetime.fromisoformat(now["presence_le"]) if now.get("presence_le") else None
        day = f" du {french.day(held, year=False)}" if held else ""
        said.append(f"{now['presence'].lower()} à la réunion{day}")
    return said


@dataclass
class Standings:
    """Who needs the advisor this week, named only with « Accord de partage » (PRODUCT §7)."""

    to_recontact: list[dict[str, str]] = field(default_factory=list)
    waiting: list[dict[str, str]] = field(default_factory=list)
    unnamed: int = 0
    """People without consent in those lists: counted, their row's « État » says the rest."""


def standings_of(given: Given, people: list[Referral]) -> Standings:
    found = Standings()
    for r in people:
        state = state_of(r, given.world, given.facts, given.now).key
        since = journey.waiting_since(given.facts, r) if state == "attente" else None
        if state not in ("recontacter", "attente"):
            continue
        if not r.consent:
            found.unnamed += 1
        elif state == "recontacter":
            found.to_recontact.append({"nom_complet": r.full_name, "ligne": str(r.row.number)})
        else:
            depuis = f"depuis le {french.day(since, year=False)}" if since else ""
            found.waiting.append({"nom_complet": r.full_name, "depuis": depuis})
    return found
