"""The demo story walked through two months with the clock of each run (issue 5's scenario):
17 referrals, 13 seats, 3 answers Non, the session, 10 present, 2 absent re-invited, 6 CAPE,
3 CESA, 1 exit. At each step the outbox holds exactly the emails expected, re-running the step
changes nothing, and « Synthèse » shows the expected counts and rates."""

from __future__ import annotations

import email
import email.policy
import itertools
import statistics
from collections import Counter
from datetime import date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from babel.dates import format_date

from automations import config as config_module
from automations import demo, runner, story
from automations.sheets.base import SheetStore
from automations.sheets.workbook import WorkbookStore
from tests.conftest import GoogleSheets

START = datetime(2026, 11, 26, 9, 0)  # a Thursday


def sent(outbox: Path) -> dict[str, tuple[str, str, datetime]]:
    """file → (kind, recipient, date) of every email in the outbox."""
    found = {}
    for path in outbox.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        kind = message["X-Passerelle-Key"].strip().split("|")[0]
        found[path.name] = (
            kind,
            message["To"].addresses[0].addr_spec,
            parsedate_to_datetime(message["Date"]),
        )
    return found


SHEETS = ("Orientations", "Réunions", "Suivi", "Journal", "Synthèse", "Réponses")


def cells(store: SheetStore) -> dict[str, list]:
    """Every cell of every sheet, read through the backend under test."""
    return store.read(SHEETS)


def address(index: int) -> str:
    first, last = demo.SEEKERS[index][:2]
    return f"{demo._ascii(first)}.{demo._ascii(last)}@exemple.fr"


def synthese(store: SheetStore) -> dict[str, list]:
    """The funnel block: from the row under its header « Étape » to the blank row that ends it."""
    rows = [list(r) + [None] * 5 for r in store.read(["Synthèse"])["Synthèse"]]
    start = next(i for i, r in enumerate(rows) if r[0] == "Étape")
    end = next(i for i in range(start, len(rows)) if rows[i][0] in (None, ""))
    return {r[0]: [v if v != "" else None for v in r[1:5]] for r in rows[start + 1 : end]}


ADVISORS = {a for _, a in demo.ADVISORS}
EVERYONE_BUT_NON = [i for i in range(16) if i not in (2, 4, 6)]


def backend_store(name: str, folder: Path) -> SheetStore:
    if name == "workbook":
        return WorkbookStore(folder / "passerelle.xlsx")
    sheets = GoogleSheets()
    sheets.default = sheets.adapter.create_spreadsheet("Passerelle")
    return sheets.store()


@pytest.fixture(scope="module", params=["workbook", "google"])
def walk(request, tmp_path_factory) -> list:
    """Builds the demo and plays every step; per step, the new emails as (kind, recipient)."""
    folder = tmp_path_factory.mktemp("story")
    store = backend_store(request.param, folder)
    config_path = demo.build(folder, START, store)
    config = config_module.load(config_path)
    outbox = folder / "outbox"
    runner.run(config, [], START, store=store)
    steps = [
        (
            Counter((k, to) for k, to, _ in sent(outbox).values()),
            {d for _, _, d in sent(outbox).values()},
            START,
        )
    ]
    the_story = story.Story(config_path, START, store)
    for step in story.STEPS:
        before = sent(outbox)
        runs = story.play_step(the_story, step, lambda line: None)
        new = {name: v for name, v in sent(outbox).items() if name not in before}
        # Re-running the step changes nothing and sends nothing.
        snapshot = cells(store)
        runner.run(config, [], runs[-1], store=store)
        assert sent(outbox).keys() == before.keys() | new.keys(), f"re-running « {step.title} » sent again"
        assert cells(store) == snapshot, f"re-running « {step.title} » changed cells"
        assert all(d.replace(tzinfo=None) in runs for _, _, d in new.values())
        steps.append(
            (Counter((k, to) for k, to, _ in new.values()), {d for _, _, d in new.values()}, runs[0])
        )
    steps += [outbox, store]
    return steps


def test_day_one_invites_thirteen_and_puts_four_on_the_waiting_list(walk):
    emails, _, _ = walk[0]
    assert emails == Counter(
        {("invitation", address(i)): 1 for i in range(13)}
        | {("liste_attente", address(i)): 1 for i in range(13, 17)}
    )


NON = (2, 4, 6)


def test_three_answers_non_give_their_seats_to_the_waiting_list_and_wait_for_another_date(walk):
    emails, _, _ = walk[1]
    assert emails == Counter(
        {("invitation", address(i)): 1 for i in (13, 14, 15)}
        | {("liste_attente", address(i)): 1 for i in NON}
    )


def test_reminders_go_to_everyone_still_coming_and_advisors_get_their_first_digest(walk):
    emails, _, _ = walk[2]
    assert emails == Counter(
        {("rappel", address(i)): 1 for i in EVERYONE_BUT_NON}
        | {("synthese_conseiller", a): 1 for a in ADVISORS}
    )


def test_after_the_session_present_people_hear_the_next_steps_and_absent_ones_a_new_date(walk):
    emails, _, _ = walk[3]
    present = [i for i in EVERYONE_BUT_NON if i not in (3, 12)]  # 9 too: presence needs no consent
    assert emails == Counter(
        {("suite_presence", address(i)): 1 for i in present}
        | {("relance_absent", address(i)): 1 for i in (3, 12)}
        | {("invitation", address(i)): 1 for i in (16, *NON)}  # the second session opens
    )
    assert len(present) == 11


def test_weeks_later_staff_are_reminded_of_the_empty_presence_and_advisors_get_news(walk):
    emails, _, _ = walk[4]
    assert emails == Counter(
        {("rappel_presences", "camille.roux@ouvre-boites.example"): 1}
        | {("synthese_conseiller", a): 1 for a in ADVISORS}
    )


def test_two_months_on_nothing_new_is_sent(walk):
    emails, _, _ = walk[5]
    assert emails == Counter()


def test_months_later_the_journey_goes_on_with_checkpoints_and_an_answer(walk):
    staff = "karim.benhamou@ouvre-boites.example"
    assert walk[5][0] == Counter(), "two months on, nothing new"
    assert walk[6][0] == Counter({("synthese_conseiller", a): 1 for a in ADVISORS}), "activities started"
    three_months = {*story.CAPE, *story.CESA}  # everyone with a CAPE still in the cooperative
    assert walk[7][0] == Counter(
        {("comment_ca_va", address(i)): 1 for i in three_months} | {("point_etape", staff): 1}
    )
    answered = demo.ADVISORS[story.ANSWERED % 2][1]
    assert ("synthese_conseiller", answered) in walk[8][0], "the advisor hears the answer"
    assert walk[10][0] == Counter(), "six months on, every row updated: nothing to chase"


def test_the_advisor_reads_the_checkpoint_answer_and_the_dated_stages(walk):
    outbox = walk[-2]
    advisor = demo.ADVISORS[story.ANSWERED % 2][1].split("@")[0]
    bodies = []
    for path in sorted(outbox.glob(f"synthese_conseiller_conseiller-{advisor}*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        bodies.append(message.get_body(("plain",)).get_content())
    everything = "\n".join(bodies)
    first, last = demo.SEEKERS[story.ANSWERED][:2]
    assert f"{first} {last} : a répondu « comment ça va » le " in everything
    assert story.COMMENT in everything and "activité démarrée : oui" in everything
    assert f"{first} {last} : activité démarrée le " in everything and "1re facture le " in everything
    exited = demo.SEEKERS[story.CREATED_ELSEWHERE][:2]
    assert f"{exited[0]} {exited[1]} : sortie le " in everything
    assert ": création hors coopérative" in everything


def test_synthese_counts_and_rates_at_the_end(walk):
    """Every figure worked out from the story's own events: who came, who signed what, who left."""
    present = len(EVERYONE_BUT_NON) - len(story.ABSENT)  # the first session; nobody marked at the second
    entered = len({*story.CAPE, *story.CESA, story.EXIT})  # the exit had a CAPE date
    cesa = len({*story.CESA, story.LATER_CESA})
    started = len(story.STARTED)
    exits = len({story.EXIT, story.CREATED_ELSEWHERE})
    referred, invited, yes = len(demo.SEEKERS), len(demo.SEEKERS), len(story.ANSWER_YES)
    assert (present, entered, cesa, started, exits) == (11, 10, 4, 2, 2)

    def row(n: int, of: int, label: str | None) -> list:
        return [n, pytest.approx(n / referred), pytest.approx(n / of) if of else 0.0, label]

    assert synthese(walk[-1]) == {
        "Orienté·es": [referred, 1.0, "—", None],
        "Invité·es": row(invited, referred, "orienté·es"),
        "En liste d'attente": row(0, referred, "orienté·es"),
        "Réponse oui": row(yes, invited, "invité·es"),
        "Présent·es": row(present, invited, "invité·es"),
        "Entré·es en coopérative": row(entered, present, "présent·es"),
        "CESA signé": row(cesa, entered, "entré·es en coopérative"),
        "Activité démarrée": row(started, entered, "entré·es en coopérative"),
        "Sorti·es": row(exits, present, "présent·es"),
        "Clôturé·es": row(0, referred, "orienté·es"),
    }


def test_people_without_consent_are_counted_but_never_named_in_synthese_or_digests(walk):
    workbook, outbox = walk[-1], walk[-2]
    book = cells(workbook)
    texts = {str(v) for row in book["Synthèse"] for v in row if v is not None}
    for path in outbox.glob("synthese_conseiller_*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        texts |= {message.get_body((kind,)).get_content() for kind in ("plain", "html")}
    for first, last, *_, consent in demo.SEEKERS:
        if consent == "Non":
            assert not any(first in t or last in t for t in texts), f"{first} {last} appears"
    assert synthese(workbook)["Orienté·es"][0] == 17


def test_the_advisors_digest_tells_absence_reinvitation_presence_and_stage(walk):
    outbox = walk[-2]
    digests = []
    for path in outbox.glob("synthese_conseiller_*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if "nadia.benali" in str(message["To"]) and "W53" in message["X-Passerelle-Key"]:
            digests.append(message.get_body(("plain",)).get_content())
    [body] = digests
    assert (
        "Çağla Yılmaz : invité·e à la réunion du jeudi 17 décembre à 14 h ; "
        "absent·e à la réunion du jeudi 3 décembre" in body
    )
    assert "Hélène Brochard : présent·e à la réunion du jeudi 3 décembre ; CAPE signé le 16/12" in body
    assert "Zoé Mercier" not in body, "no Accord de partage: counted, never named"


def test_every_email_of_the_story_reads_with_no_word_running_into_the_next(walk):
    from tests.test_emails_read import faults, visible

    outbox = walk[-2]
    kinds, found = set(), []
    for path in sorted(outbox.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        kinds.add(str(message["X-Passerelle-Key"]).strip().split("|")[0])
        html = visible(message.get_body(("html",)).get_content())
        for part in (str(message["Subject"]), message.get_body(("plain",)).get_content(), html.text()):
            found += [f"{path.name}: {fault}" for fault in faults(part)]
    assert not found, found
    assert {"invitation", "liste_attente", "rappel", "relance_absent", "suite_presence"} <= kinds


def block(store: SheetStore, header: str) -> dict[str, list]:
    """A block of « Synthèse » found by its header row: first cell → the other cells, to the blank row."""
    rows = [list(r) for r in store.read(["Synthèse"])["Synthèse"]]
    start = next(i for i, r in enumerate(rows) if r and r[0] == header) + 1
    found = {}
    for r in rows[start:]:
        if not r or r[0] in (None, ""):
            break
        found[str(r[0])] = r[1:]
    return found


def test_synthese_cohorts_exits_and_delays_are_the_storys_own(walk):
    """Worked out from what the story does: who was referred when, who came, who signed, started,
    left and why, on which days (story.py and demo.py)."""
    referred = {i: (START - timedelta(days=30 - i)).date() for i in range(len(demo.SEEKERS))}
    session = demo.session_day(START)
    present = [i for i in EVERYONE_BUT_NON if i not in story.ABSENT]
    entered = {*story.CAPE, *story.CESA, story.EXIT}
    cesa, started = {*story.CESA, story.LATER_CESA}, set(story.STARTED)
    exits = {story.EXIT: "Emploi salarié", story.CREATED_ELSEWHERE: "Création hors coopérative"}
    store = walk[-1]

    reasons = block(store, "Motif de sortie")
    assert {k: v[0] for k, v in reasons.items() if v[0]} == dict(Counter(exits.values()))

    cape_day = (START + timedelta(days=20)).date()
    delays = block(store, "Étape du parcours")
    assert delays["De l'orientation à la réunion"][:2] == [
        statistics.median((session - referred[i]).days for i in present),
        len(present),
    ]
    assert delays["De la réunion au CAPE"][:2] == [(cape_day - session).days, len(entered)]
    assert delays["Du CAPE au démarrage de l'activité"][:2] == [
        statistics.median(day - 20 for day, _ in story.STARTED.values()),
        len(started),
    ]

    cohorts = block(store, "Mois d'orientation")
    for month, members in itertools.groupby(
        sorted(referred, key=referred.get), key=lambda i: referred[i].month
    ):
        people = set(members)
        label = format_date(date(2026, month, 1), "MMMM y", locale="fr_FR")
        assert cohorts[label][:8] == [
            len(people),
            len(people & set(present)),
            len(people & entered),
            len(people & cesa),
            len(people & started),
            len((people & entered) - set(exits)),
            len(people & set(exits)),
            sum(1 for i in people & set(exits) if exits[i] == "Emploi salarié"),
        ], label
