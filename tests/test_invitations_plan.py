"""The assignment rule of PRODUCT.md §3, on plain values: no file, no clock, no mail."""

from datetime import datetime, timedelta

from automations.config import CooperativeConfig
from automations.jobs import invitations
from automations.journal import PENDING, SENT, Entry, JournalFacts
from automations.schema import ORIENTATIONS, REUNIONS
from automations.settings import Settings
from automations.tables import bind
from automations.world import build
from tests.conftest import NOW, referral, session

SETTINGS = Settings(
    CooperativeConfig("L'Ouvre-Boîtes", "accueil@ouvre-boites.example"), "ouvre-boites.example"
)


def grid(rows):
    headers = list(dict.fromkeys(h for row in rows for h in row)) if rows else ["Nom"]
    return [headers, *([row.get(h) for h in headers] for row in rows)]


def plan(referrals, sessions, journal=(), now=NOW, memory=None):
    reunions = sessions or [session("unused", 0, 0)]
    tables = {
        "orientations": bind(ORIENTATIONS, grid(referrals)),
        "reunions": bind(REUNIONS, grid(reunions)[: 1 + len(sessions)]),
    }
    return invitations.plan(build(tables), JournalFacts(journal, memory), now, SETTINGS)


def invited(p):
    return [(e.to_address, e.session) for e in p.emails if e.kind == "invitation"]


def waiting(p):
    return [e.to_address for e in p.emails if e.kind == "liste_attente"]


def test_twenty_referrals_fill_thirteen_then_five_seats_in_referral_date_order_and_two_wait():
    referrals = [referral(n) for n in reversed(range(20))]
    p = plan(referrals, [session("B", 14, 5), session("A", 7, 13)])
    order = [f"personne{n:02d}@exemple.fr" for n in range(20)]
    assert invited(p) == [(a, "A") for a in order[:13]] + [(a, "B") for a in order[13:18]]
    assert waiting(p) == order[18:]


def test_sessions_closer_than_the_minimum_notice_or_cancelled_or_past_take_nobody():
    sessions = [
        session("PAST", -3, 10),
        session("TOMORROW", 1, 10),
        session("CANCELLED", 5, 10, **{"Annulée": "Oui"}),
        session("OK", 3, 10),
    ]
    assert invited(plan([referral(1)], sessions)) == [("personne01@exemple.fr", "OK")]


def test_seats_taken_are_those_assigned_who_did_not_answer_no():
    assigned = [referral(n, **{"Session": "A", "Référence": f"OR-{n}"}) for n in range(3)]
    assigned[0]["Réponse"] = "Non"
    p = plan([*assigned, referral(10), referral(11), referral(12)], [session("A", 7, 4)])
    assert invited(p) == [("personne10@exemple.fr", "A"), ("personne11@exemple.fr", "A")]
    assert waiting(p) == ["personne00@exemple.fr", "personne12@exemple.fr"], (
        "who said Non waits for another date"
    )


def test_who_declined_a_session_is_offered_the_next_one_with_a_seat_then_after_two_is_to_recontact():
    declined = referral(0, **{"Session": "A", "Référence": "OR-0", "Réponse": "Non, pas à cette date"})
    p = plan([declined], [session("A", 7, 4), session("B", 14, 4)])
    assert invited(p) == [("personne00@exemple.fr", "B")]
    assert ("declined", "OR-0", '["A"]') in p.observed
    again = [Entry("x", "x", "OR-0", "", "", SENT, 1, NOW, "")]
    second = plan(
        [{**declined, "Session": "B"}],
        [session("A", 7, 4), session("B", 14, 4), session("C", 21, 4)],
        again,
        memory={("declined", "OR-0"): '["A"]'},
    )
    assert second.emails == []
    assert [x.value for x in second.patches if x.column == "État"] == [
        "A décliné ou manqué deux réunions : à recontacter par son·sa conseiller·ère"
    ]


def test_who_is_no_longer_interested_is_closed_and_frees_the_seat():
    gone = referral(0, **{"Session": "A", "Référence": "OR-0", "Réponse": "Je ne suis plus intéressée"})
    p = plan([gone, referral(1)], [session("A", 7, 1)])
    assert invited(p) == [("personne01@exemple.fr", "A")]
    assert next(x.value for x in p.patches if x.column == "État").startswith(
        "Plus intéressé·e : orientation close"
    )
    assert any(m[0] == "closed" and m[1] == "OR-0" for m in p.memory)


def test_an_invalid_row_is_reported_in_etat_and_the_others_proceed():
    p = plan([referral(1, Email="jean.dupont@"), referral(2)], [session("A", 7, 5)])
    assert invited(p) == [("personne02@exemple.fr", "A")]
    [status] = [x for x in p.patches if x.column == "État"]
    assert status.value.startswith("Email : Adresse email invalide : « jean.dupont@ »")
    assert [str(problem).split(" : ")[0] for problem in p.problems] == ["« Orientations », ligne 2"]


def test_the_same_person_twice_is_invited_once():
    p = plan([referral(1), referral(2, Email="PERSONNE01@exemple.fr")], [session("A", 7, 5)])
    assert invited(p) == [("personne01@exemple.fr", "A")]
    assert p.problems[0].message == "Doublon de la ligne 2 (même adresse email)"


def test_a_waiting_list_email_goes_once_then_an_invitation_as_soon_as_a_seat_opens():
    first = plan([referral(1)], [session("A", 7, 0)])
    assert waiting(first) == ["personne01@exemple.fr"]
    reference = first.emails[0].person
    sent = [Entry(f"liste_attente|{reference}|", "liste_attente", reference, "", "x", SENT, 1, NOW, "")]
    assert plan([referral(1)], [session("A", 7, 0)], sent).emails == []
    same_day = plan([referral(1)], [session("A", 7, 1)], sent)
    assert invited(same_day) == [("personne01@exemple.fr", "A")], "an invitation never waits a day"


def test_journal_says_sent_but_sheet_lost_the_write_repairs_without_sending():
    reference = plan([referral(1)], [session("A", 7, 1)]).emails[0].person
    at = NOW - timedelta(minutes=5)
    sent = [Entry(f"invitation|{reference}|A", "invitation", reference, "A", "x", SENT, 1, at, "")]
    p = plan([referral(1), referral(2)], [session("A", 7, 1)], sent)
    assert invited(p) == []
    assert waiting(p) == ["personne02@exemple.fr"], "the repaired row keeps its seat"
    assert {(x.column, x.value) for x in p.patches} >= {("Session", "A"), ("Invitation envoyée le", at)}


def test_a_pending_entry_is_never_resent_but_reported_a_verifier():
    reference = plan([referral(1)], [session("A", 7, 1)]).emails[0].person
    pending = [Entry(f"invitation|{reference}|A", "invitation", reference, "A", "x", PENDING, 1, NOW, "")]
    p = plan([referral(1)], [session("A", 7, 1)], pending)
    assert p.emails == []
    assert p.patches[0].value.startswith("À vérifier")


def test_planning_twice_on_the_same_input_gives_the_same_plan():
    args = ([referral(n) for n in range(5)], [session("A", 7, 3)])
    assert plan(*args) == plan(*args)


def test_invitation_carries_a_calendar_event_with_a_stable_uid_and_the_waiting_email_none():
    p = plan([referral(1), referral(2)], [session("A", 7, 1)])
    invitation, wait = p.emails
    assert invitation.event.uid == f"A.{invitation.person}@ouvre-boites.example"
    assert invitation.event.starts == datetime.combine(
        (NOW + timedelta(days=7)).date(), datetime.min.time()
    ).replace(hour=14)
    assert wait.event is None
