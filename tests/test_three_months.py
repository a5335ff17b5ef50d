"""Three months of the agency and the cooperative living with Passerelle (issue « Nobody falls out of
the loop », acceptance): advisors add rows over weeks and fix typos later, a person is referred
twice, another withdraws; the cooperative copies a session row with its Référence, moves a session,
cancels another, leaves ten days without any session; seekers answer each way; staff mark presence
and absences. At every step: exactly the emails that went (kind, recipient, session), and the
« État » of every row: nobody without a next step, nothing sent twice.

People are referral(n) of tests/conftest.py: « personneNN@exemple.fr », « Prénom NN Nom NN ».
"""

from __future__ import annotations

import email
import email.policy
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from automations import config as config_module
from automations.check import check, world_from
from automations.jobs.states import FINAL, STATES, state_of
from automations.journal import Journal
from automations.sheets.base import SheetStore
from tests.conftest import NOW, ORIENTATIONS, Project, referral, session

pytestmark = pytest.mark.backends("workbook")


def day(n: int, hour: int = 9) -> datetime:
    return (NOW + timedelta(days=n)).replace(hour=hour)


def who(n: int) -> str:
    return f"personne{n:02d}@exemple.fr"


def sent(project: Project, seen: set[str]) -> Counter:
    found: Counter = Counter()
    for path in sorted(project.outbox.glob("*.eml")):
        if path.name in seen:
            continue
        seen.add(path.name)
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        kind, _, session_key = message["X-Passerelle-Key"].strip().split("|")
        if kind != "synthese_conseiller":
            found[(kind, message["To"].addresses[0].addr_spec, session_key)] += 1
    return found


def states_in(config: config_module.Config, store: SheetStore, now: datetime) -> dict[int, tuple[str, str]]:
    """Row index of « Orientations » → (state key, « État »), read as the jobs read the world."""
    world = world_from(config, store)
    journal = Journal(config.state_dir / "journal.sqlite3")
    try:
        facts = journal.facts()
        return {
            i: (state_of(r, world, facts, now).key, r.row.text("etat")) for i, r in enumerate(world.referrals)
        }
    finally:
        journal.close()


def states(project: Project, now: datetime) -> dict[int, tuple[str, str]]:
    config = config_module.load(project.config_path)
    return states_in(config, project.sheets.store(config), now)


def says_its_state(state: str, etat: str) -> bool:
    """« État » begins as the state says (a problem names its column)."""
    if state == "a_corriger":
        return any(etat.startswith(f"{label} : ") for label in ORIENTATIONS.columns.values())
    return etat.startswith(STATES[state].says)


def first_week(p: Project) -> None:
    """Week 0: five referrals, one address mistyped; one session of 3 seats next Thursday."""
    people = [referral(n) for n in range(1, 6)]
    people[2]["Email"] = "personne03@exemple"
    p.create(people, [session("A", 7, 3)])


def answers_and_a_copied_row(p: Project) -> None:
    """P1 says Oui, P2 « Non, pas à cette date »; the advisor fixes P3's address; the cooperative
    copies A's row, Référence included, to open a second session."""
    p.set("Orientations", 0, "Réponse", "Oui")
    p.set("Orientations", 1, "Réponse", "Non, pas à cette date")
    p.set("Orientations", 2, "Email", who(3))
    p.insert_rows("Réunions", 1, [session("A", 14, 5)])


def the_copy_is_fixed_and_p6_is_referred_twice(p: Project) -> None:
    p.set("Réunions", 1, "Référence", "B")
    p.insert_rows(
        "Orientations", 5, [referral(6), referral(7), referral(6, **{"Date d'orientation": NOW.date()})]
    )


def p7_withdraws(p: Project) -> None:
    p.set("Orientations", 6, "Réponse", "Plus intéressé·e")


def nothing(p: Project) -> None:
    pass


def session_a_moves(p: Project) -> None:
    p.set("Réunions", 0, "Heure de début", "15:30")


def presence_at_a(p: Project) -> None:
    marks = {str(r["Référence"]).removesuffix(" / A"): i for i, r in enumerate(p.rows("Présences"))}
    people = {n: str(r["Référence"]) for n, r in enumerate(p.rows(), start=1)}
    for n, presence in ((1, "Présent·e"), (3, "Présent·e"), (4, "Absent·e")):
        p.set("Présences", marks[people[n]], "Présence", presence)


def b_is_cancelled(p: Project) -> None:
    p.set("Réunions", 1, "Annulée", "Oui")


def session_c_opens(p: Project) -> None:
    p.insert_rows("Réunions", 2, [session("C", 40, 10)])


def p2_declines_again_and_p6_is_closed(p: Project) -> None:
    p.set("Orientations", 1, "Réponse", "Non")
    p.set("Orientations", 5, "Action", "Clôturer")


def presence_at_c(p: Project) -> None:
    marks = {str(r["Référence"]): i for i, r in enumerate(p.rows("Présences"))}
    people = {n: str(r["Référence"]) for n, r in enumerate(p.rows(), start=1)}
    for n, presence in ((4, "Absent·e"), (5, "Présent·e")):
        p.set("Présences", marks[f"{people[n]} / C"], "Présence", presence)


def stages(p: Project) -> None:
    rows = {str(r["Référence"]): i for i, r in enumerate(p.rows("Suivi"))}
    people = {n: str(r["Référence"]) for n, r in enumerate(p.rows(), start=1)}
    p.set("Suivi", rows[people[1]], "Étape", "CAPE signé")
    p.set("Suivi", rows[people[1]], "Date CAPE", day(60).date())
    p.set("Suivi", rows[people[3]], "Étape", "Sortie")
    p.set("Suivi", rows[people[3]], "Motif de sortie", "Emploi salarié")


def invited(session: str, *people: int) -> Counter:
    return Counter({("invitation", who(n), session): 1 for n in people})


def told(kind: str, session: str, *people: int) -> Counter:
    return Counter({(kind, who(n), session): 1 for n in people})


STAFF = "camille.roux@ouvre-boites.example"
COOPERATIVE = "accueil@ouvre-boites.example"
OUT = {7: "cloture", 8: "doublon"}
"""P7 withdrew on day 3; row 8 repeats P6: from then on, in every step."""

STEPS = (
    (
        day(0),
        first_week,
        invited("A", 1, 2, 4) + told("liste_attente", "", 5),
        "invite invite a_corriger invite attente",
    ),
    # A's copied row: neither « A » is offered until fixed, so the seat P2 frees waits a day.
    (
        day(1),
        answers_and_a_copied_row,
        told("liste_attente", "", 2, 3),
        "invite attente attente invite attente",
    ),
    (
        day(2),
        the_copy_is_fixed_and_p6_is_referred_twice,
        invited("A", 3) + invited("B", 2, 5, 6, 7),
        "confirme invite invite invite invite invite invite doublon",
    ),
    (day(3), p7_withdraws, Counter(), "confirme invite invite invite invite invite"),
    (day(5), nothing, told("rappel", "A", 1, 3, 4), "confirme invite invite invite invite invite"),
    (
        day(6),
        session_a_moves,
        told("modification", "A#2", 1, 3, 4),
        "confirme invite invite invite invite invite",
    ),
    (
        day(8),
        presence_at_a,
        told("suite_presence", "A", 1, 3) + told("relance_absent", "A", 4),
        "present invite present invite invite invite",
    ),
    (
        day(9),
        b_is_cancelled,
        told("annulation", "B", 2, 4, 5, 6),
        "present attente present attente attente attente",
    ),
    # A week without a free seat: the cooperative hears of it. The four already know a new date
    # will come (« annulation » said so): no waiting-list email on top.
    (
        day(17),
        nothing,
        Counter({("alerte_attente", COOPERATIVE, "2026-W50"): 1}),
        "present attente present attente attente attente",
    ),
    (day(19), session_c_opens, invited("C", 2, 4, 5, 6), "present invite present invite invite invite"),
    (
        day(20),
        p2_declines_again_and_p6_is_closed,
        Counter(),
        "present recontacter present invite invite cloture",
    ),
    (day(38), nothing, told("rappel", "C", 4, 5), "present recontacter present invite invite cloture"),
    # P4's second absence: no third date, the advisor is asked to recontact; nobody left to mark.
    (
        day(41, 18),
        presence_at_c,
        told("suite_presence", "C", 5),
        "present recontacter present recontacter present cloture",
    ),
    (day(44), nothing, Counter(), "present recontacter present recontacter present cloture"),
    (day(60, 18), stages, Counter(), "cape recontacter sorti recontacter present cloture"),
    (day(90), nothing, Counter(), "cape recontacter sorti recontacter present cloture"),
)


def play(p: Project, when: datetime, act: Callable[[Project], None], seen: set[str]) -> Counter:
    act(p)
    for minutes in (0, 15):  # as `serve` would: an answer read by one run frees a seat the next fills
        p.run(now=when + timedelta(minutes=minutes))
    return sent(p, seen)


def expected_states(step: int, words: str) -> dict[int, str]:
    found = dict(enumerate(words.split(), start=1))
    return {**found, **OUT} if step >= 3 else found


def test_three_months_everyone_has_a_next_step_and_nothing_is_sent_twice(project):
    seen: set[str] = set()
    everything: Counter = Counter()
    for number, (when, act, emails, words) in enumerate(STEPS):
        got = play(project, when, act, seen)
        assert got == emails, f"step {number} ({act.__name__}, {when:%d/%m})"
        everything += got
        rows = states(project, when)
        assert {n + 1: state for n, (state, _) in rows.items()} == expected_states(number, words), number
        for n, (state, etat) in rows.items():
            assert says_its_state(state, etat), f"step {number}, row {n + 1}: {state} but « {etat} »"
            assert state in FINAL or STATES[state].next_step, f"row {n + 1} in « {state} » has no next step"
    assert max(everything.values()) == 1, "an email went twice"


def test_the_advisors_hear_weekly_only_when_something_changed(project):
    seen: set[str] = set()
    for when, act, *_ in STEPS:
        play(project, when, act, seen)
    weeks = [path.name.rsplit("_", 1)[1] for path in project.outbox.glob("synthese_conseiller_*.eml")]
    assert len(weeks) == len(set(weeks)), "one digest a week at most"
    assert "2027-W08.eml" not in weeks, "nothing changed in the last month: no digest"

    def digest(week: str) -> str:
        [path] = project.outbox.glob(f"synthese_conseiller_*_{week}.eml")
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        return message.get_body(("plain",)).get_content()

    waiting = digest("2026-W50")
    assert "En attente d'une place à une réunion" in waiting
    assert "  - Prénom04 Nom04, depuis le samedi 5 décembre" in waiting
    recontact = digest("2026-W53")
    assert "À recontacter (deux réunions déclinées ou manquées)" in recontact
    assert "  - Prénom02 Nom02 (ligne 3)" in recontact
    assert "Prénom01 Nom01 : CAPE signé le 25/01" in digest("2027-W04")


def test_the_readme_journey_table_lists_every_state():
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("**Where each person stands.**") :].split("\n\n")[1]
    labels = [line.split("|")[1].strip() for line in table.splitlines()[2:]]
    assert labels == [s.label for s in STATES.values()]


def test_check_tells_each_person_what_is_theirs_to_do(project):
    seen: set[str] = set()
    config = config_module.load
    for number, (when, act, *_) in enumerate(STEPS):
        play(project, when, act, seen)
        if number == 8:  # day 17: four people wait, no session has a seat
            cooperative = check(config(project.config_path), when + timedelta(hours=1)).to_do.cooperative
            assert cooperative == [
                "4 personnes attendent une place depuis le samedi 5 décembre et aucune réunion n'en "
                "propose : ajoutez une réunion dans « Réunions »."
            ]
    report = check(config(project.config_path), day(91))
    assert [line.split(" (")[0] for line in report.to_do.advisors] == ["Prénom02 Nom02", "Prénom04 Nom04"]
    assert all("« Réinviter » ou « Clôturer » dans « Action »" in line for line in report.to_do.advisors)
    assert report.to_do.cooperative == []
    assert "À faire — Pour les conseiller·ères :" in report.text()
