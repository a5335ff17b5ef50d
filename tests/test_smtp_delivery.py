"""Passerelle end to end over SMTP: a real workbook, the real runner, and a real SMTP server on
127.0.0.1 (aiosmtpd with STARTTLS and AUTH, certificate from a CA generated in the test).

Every test asserts on what the server actually stored and on what the workbook and the send
journal say, never only on what the client reports.
"""

from __future__ import annotations

import base64
import email
import email.policy
import shutil
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest

from automations import cli
from automations.journal import DEFERRED, PENDING, REFUSED, SENT, Entry, Journal
from tests.conftest import NOW, Project, referral, session
from tests.fakes.smtp_server import PASSWORD, USERNAME, Certificates, DropPoint, FakeSmtpServer

SCRIPT = shutil.which("passerelle", path=str(Path(sys.executable).parent)) or "passerelle"
USER_ENV, PASSWORD_ENV = "PASSERELLE_TEST_SMTP_USER", "PASSERELLE_TEST_SMTP_PASSWORD"
INVITED = "Invité·e à la réunion du jeudi 3 décembre à 14 h"
UNCONFIRMED = (
    "À vérifier : l'envoi du 26/11/2026 à 09:00 a été interrompu ; "
    "vérifiez auprès de la personne si l'email est arrivé"
)


def smtp_config(server: FakeSmtpServer, certs: Certificates) -> str:
    """Goes right after conftest's [mail] table: switches it to SMTP and adds [mail.smtp]."""
    return (
        'transport = "smtp"\n'
        "[mail.smtp]\n"
        f'host = "{server.host}"\n'
        f"port = {server.port}\n"
        'security = "starttls"\n'
        f'ca_file = "{certs.ca_file}"\n'
        f'username_env = "{USER_ENV}"\n'
        f'password_env = "{PASSWORD_ENV}"\n'
        "timeout_seconds = 5\n"
        'local_hostname = "passerelle.test"\n'
    )


@pytest.fixture
def smtp_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(USER_ENV, USERNAME)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


def create(
    project: Project, server: FakeSmtpServer, certs: Certificates, people: int, seats: int = 10
) -> Project:
    return project.create(
        [referral(n) for n in range(1, people + 1)],
        [session("A", 7, seats)],
        extra_config=smtp_config(server, certs),
    )


def address(n: int) -> str:
    return f"personne{n:02d}@exemple.fr"


def received(server: FakeSmtpServer) -> Counter[tuple[str, str]]:
    """(recipient, X-Passerelle-Key) → how many times the server stored that email."""
    return Counter((rcpt, m.message["X-Passerelle-Key"]) for m in server.messages for rcpt in m.rcpt_tos)


def journal(project: Project) -> dict[str, Entry]:
    book = Journal(project.root / "state" / "journal.sqlite3")
    try:
        return {entry.recipient: entry for entry in book.entries()}
    finally:
        book.close()


def by_address(project: Project) -> dict[str, dict[str, object]]:
    return {str(row["Email"]): row for row in project.rows()}


def assert_invited_once(
    project: Project, server: FakeSmtpServer, addresses: list[str], only: list[str] | None = None
) -> None:
    """The server got one invitation for each of ``addresses`` and nothing else; the rows of
    ``only`` (all of them by default) and the journal record the sending."""
    counts = received(server)
    assert sorted(rcpt for rcpt, _ in counts) == sorted(addresses)
    assert all(n == 1 for n in counts.values()), counts
    assert all(key.startswith("invitation|") for _, key in counts)
    rows, entries = by_address(project), journal(project)
    for a in addresses if only is None else only:
        assert (rows[a]["Session"], rows[a]["Invitation envoyée le"], rows[a]["État"]) == ("A", NOW, INVITED)
        assert entries[a].status == SENT


# -- delivery ---------------------------------------------------------------------------------


def test_invitations_arrive_over_starttls_with_utf8_names_and_the_session_as_ics(
    project, smtp_server, smtp_certs, smtp_env
):
    people = [
        referral(1, Prénom="Zoé", Nom="Lefèvre-N'Diaye"),
        referral(2, Prénom="Çağla", Nom="Le Floc'h", Email="çağla.lefloch@exemple.fr"),
        referral(3, Prénom="Ève", Nom="Øster"),
    ]
    project.create(people, [session("A", 7, 5)], extra_config=smtp_config(smtp_server, smtp_certs))
    [invitations, *_] = project.run()

    assert len(invitations.sent) == 3
    messages = {m.rcpt_tos[0]: m for m in smtp_server.messages}
    assert set(messages) == {"personne01@exemple.fr", "çağla.lefloch@exemple.fr", "personne03@exemple.fr"}
    assert smtp_server.connections == 1 and smtp_server.logins == 1
    for m in messages.values():
        assert m.tls and m.authenticated and m.connection == 1
        assert m.mail_from == "accueil@ouvre-boites.example"
        assert m.message.get_content_type() == "multipart/mixed"

    zoe = messages["personne01@exemple.fr"]
    head = zoe.data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and b"=?utf-8?" in head  # RFC 2047 encoded words, not raw UTF-8
    assert zoe.message["To"].addresses[0].display_name == "Zoé Lefèvre-N'Diaye"
    assert zoe.message["From"].addresses[0].display_name == "L'Ouvre-Boîtes"
    assert zoe.message["Reply-To"].addresses[0].addr_spec == "camille.roux@ouvre-boites.example"
    assert zoe.message["Message-ID"].endswith("@ouvre-boites.example>")
    assert zoe.message["Date"].datetime.utcoffset() == timedelta(hours=1)  # Paris, winter
    assert "Bonjour Zoé Lefèvre-N'Diaye" in zoe.message.get_body(("plain",)).get_content()
    assert "Bonjour Zoé Lefèvre-N&#39;Diaye" in zoe.message.get_body(("html",)).get_content()
    [alternative, attachment] = zoe.message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "reunion.ics"
    ics = attachment.get_content()
    assert "METHOD:REQUEST" in ics and "BEGIN:VTIMEZONE" in ics and "TZID:Europe/Paris" in ics
    assert "DTSTART;TZID=Europe/Paris:20261203T140000" in ics
    assert "DTEND;TZID=Europe/Paris:20261203T163000" in ics
    assert "LOCATION:Maison de l'emploi\\, 1 rue de la Paix\\, Saint-Nazaire" in ics

    cagla = messages["çağla.lefloch@exemple.fr"]
    assert "SMTPUTF8" in cagla.mail_options  # a non-ASCII mailbox needs it; the others do not
    assert "SMTPUTF8" not in zoe.mail_options
    head = cagla.data.split(b"\r\n\r\n", 1)[0].decode("utf-8")  # RFC 6532: UTF-8 headers as they are
    parsed = email.message_from_string(head + "\r\n\r\n", policy=email.policy.default)
    assert str(parsed["To"]) == "Çağla Le Floc'h <çağla.lefloch@exemple.fr>"

    rows = project.rows()
    assert [(r["Session"], r["Invitation envoyée le"], r["État"]) for r in rows] == [("A", NOW, INVITED)] * 3
    assert {e.status for e in journal(project).values()} == {SENT}

    project.run(now=NOW + timedelta(hours=2))
    assert len(smtp_server.messages) == 3
    assert smtp_server.connections == 1  # nothing due: no connection at all


def test_each_person_gets_their_own_calendar_uid_on_the_cooperative_domain(
    project, smtp_server, smtp_certs, smtp_env
):
    create(project, smtp_server, smtp_certs, people=2)
    project.run()
    uids = [
        next(line for line in part.get_content().splitlines() if line.startswith("UID:"))
        for m in smtp_server.messages
        for part in m.message.iter_attachments()
    ]
    assert len(set(uids)) == 2
    assert all(
        uid.endswith("@ouvre-boites.example") and ".OR-" in uid and uid.startswith("UID:A.") for uid in uids
    )


# -- temporary failures -----------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_a_4xx_leaves_the_email_due_and_the_next_run_delivers_it_exactly_once(
    project, smtp_server, smtp_certs, smtp_env, stage
):
    create(project, smtp_server, smtp_certs, people=3)
    if stage == "rcpt":
        smtp_server.fail_next_rcpt(1, 450, "4.2.1 Mailbox busy, try later")
    else:
        smtp_server.fail_next_data(1, 451, "4.3.0 Queue full, try later")
    [invitations, *_] = project.run()

    answer = "450 4.2.1 Mailbox busy, try later" if stage == "rcpt" else "451 4.3.0 Queue full, try later"
    assert [(o.to_address, why) for o, why in invitations.deferred] == [(address(1), answer)]
    assert sorted(smtp_server.recipients()) == [address(2), address(3)]
    assert smtp_server.connections == 1  # the batch went on over the same connection
    first = by_address(project)[address(1)]
    assert first["État"] == f"Envoi reporté (le serveur a demandé de réessayer) : {answer}"
    assert (first["Session"], first["Invitation envoyée le"]) == (None, None)
    entry = journal(project)[address(1)]
    assert (entry.status, entry.attempts, entry.detail) == (DEFERRED, 1, answer)

    later = NOW + timedelta(minutes=15)
    [invitations, *_] = project.run(now=later)
    assert [o.to_address for o in invitations.sent] == [address(1)]
    counts = received(smtp_server)
    assert sorted(rcpt for rcpt, _ in counts) == [address(1), address(2), address(3)]
    assert set(counts.values()) == {1}
    first = by_address(project)[address(1)]
    assert (first["Session"], first["Invitation envoyée le"], first["État"]) == ("A", later, INVITED)
    entry = journal(project)[address(1)]
    assert (entry.status, entry.attempts) == (SENT, 2)

    project.run(now=NOW + timedelta(days=1))
    assert len(smtp_server.messages) == 3


# -- permanent failures -----------------------------------------------------------------------


def test_a_5xx_is_written_in_etat_and_never_retried(project, smtp_server, smtp_certs, smtp_env):
    create(project, smtp_server, smtp_certs, people=3)
    smtp_server.fail_next_rcpt(1, 550, "5.1.1 No such user here")
    [invitations, *_] = project.run()

    assert [(o.to_address, why) for o, why in invitations.refused] == [
        (address(1), "550 5.1.1 No such user here")
    ]
    assert sorted(smtp_server.recipients()) == [address(2), address(3)]
    refused = "Adresse refusée par le serveur : 550 5.1.1 No such user here"
    assert by_address(project)[address(1)]["État"] == refused
    assert by_address(project)[address(1)]["Session"] is None
    assert (journal(project)[address(1)].status, journal(project)[address(1)].attempts) == (REFUSED, 1)

    for later in (NOW + timedelta(hours=1), NOW + timedelta(days=1), NOW + timedelta(days=2)):
        project.run(now=later)
        assert address(1) not in smtp_server.recipients()
        assert len(smtp_server.messages) == 2
        assert by_address(project)[address(1)]["État"] == refused
        assert journal(project)[address(1)].attempts == 1  # never even handed to the server again


def test_a_refused_address_corrected_in_the_sheet_gets_its_invitation(
    project, smtp_server, smtp_certs, smtp_env
):
    create(project, smtp_server, smtp_certs, people=2)
    smtp_server.fail_next_rcpt(1, 550)
    project.run()
    book = openpyxl.load_workbook(project.workbook)
    book["Orientations"]["D2"] = "personne01.corrigee@exemple.fr"
    book.save(project.workbook)

    project.run(now=NOW + timedelta(days=1))
    assert sorted(smtp_server.recipients()) == ["personne01.corrigee@exemple.fr", address(2)]
    assert by_address(project)["personne01.corrigee@exemple.fr"]["Session"] == "A"


# -- broken connections -----------------------------------------------------------------------


class DropAfter(FakeSmtpServer):
    """Drops the connection at ``when`` once ``after`` messages were stored: a drop mid-batch."""

    def __init__(self, certs: Certificates, after: int, when: DropPoint) -> None:
        super().__init__(certs)
        self.after, self.when = after, when

    def _store(self, server, session, envelope) -> None:
        super()._store(server, session, envelope)
        if len(self.messages) == self.after:
            self.drop_next(self.when)


@pytest.mark.parametrize("when", ["mail", "rcpt", "after_reply"])
def test_a_connection_dropped_mid_batch_still_delivers_everyone_exactly_once(
    project, smtp_certs, smtp_env, when
):
    with DropAfter(smtp_certs, after=2, when=when) as server:
        create(project, server, smtp_certs, people=5)
        [invitations, *_] = project.run()
        assert len(invitations.sent) == 5
        assert not (invitations.deferred or invitations.refused or invitations.uncertain)
        assert server.connections == 2
        assert [m.connection for m in server.messages] == [1, 1, 2, 2, 2]
        assert_invited_once(project, server, [address(n) for n in range(1, 6)])

        project.run(now=NOW + timedelta(days=1))
        assert len(server.messages) == 5


@pytest.mark.parametrize(
    ("when", "stored"),
    [("data_accepted", True), ("data", False)],
    ids=["stored-unanswered", "lost-unanswered"],
)
def test_an_email_whose_answer_never_came_is_a_verifier_and_never_sent_again(
    project, smtp_server, smtp_certs, smtp_env, when, stored
):
    create(project, smtp_server, smtp_certs, people=4)
    smtp_server.drop_next(when)  # the first message: the whole of DATA went out, no answer came back
    [invitations, *_] = project.run()

    assert [o.to_address for o in invitations.uncertain] == [address(1)]
    assert sorted(o.to_address for o in invitations.sent) == [address(2), address(3), address(4)]
    assert (address(1) in smtp_server.recipients()) is stored
    assert smtp_server.connections == 2  # the others went on over a new connection
    row = by_address(project)[address(1)]
    assert row["État"] == UNCONFIRMED
    assert (row["Session"], row["Invitation envoyée le"]) == (None, None)
    assert journal(project)[address(1)].status == PENDING

    for later in (NOW + timedelta(hours=1), NOW + timedelta(days=1), NOW + timedelta(days=3)):
        project.run(now=later)
        assert smtp_server.recipients().count(address(1)) == (1 if stored else 0)
        assert len(smtp_server.messages) == (4 if stored else 3)
        assert by_address(project)[address(1)]["État"] == UNCONFIRMED
        assert journal(project)[address(1)].attempts == 1
    assert received(smtp_server)[(address(1), invitations.uncertain[0].key)] == (1 if stored else 0)
    others = [address(n) for n in (2, 3, 4)]
    assert_invited_once(project, smtp_server, [*others, address(1)] if stored else others, only=others)


def test_the_command_line_reports_an_unconfirmed_email_a_verifier(project, smtp_server, smtp_certs, smtp_env):
    create(project, smtp_server, smtp_certs, people=2)
    smtp_server.drop_next("data_accepted")
    done = subprocess.run(
        [SCRIPT, "run", "--config", str(project.config_path), "--now", NOW.isoformat()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"à vérifier invitation → {address(1)}" in done.stdout
    assert "invitations: 1 email(s) sent" in done.stdout

    again = subprocess.run(
        [SCRIPT, "run", "--config", str(project.config_path), "--now", (NOW + timedelta(days=1)).isoformat()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
    assert "invitations: 0 email(s) sent" in again.stdout
    assert f"ligne 2 : {UNCONFIRMED}" in again.stdout
    assert smtp_server.recipients() == [address(1), address(2)]


# -- the batch cannot start -------------------------------------------------------------------


def test_a_wrong_password_stops_the_run_with_one_sentence_and_nothing_is_marked_sent(
    project, smtp_server, smtp_certs, monkeypatch
):
    wrong = "mauvais-mot-de-pässe-42"
    monkeypatch.setenv(USER_ENV, USERNAME)
    monkeypatch.setenv(PASSWORD_ENV, wrong)
    create(project, smtp_server, smtp_certs, people=3)
    done = subprocess.run(
        [SCRIPT, "run", "--config", str(project.config_path), "--now", NOW.isoformat()],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 1
    output = done.stdout + done.stderr
    assert "Traceback" not in output
    secrets = [
        wrong,
        base64.b64encode(wrong.encode()).decode(),
        base64.b64encode(f"\0{USERNAME}\0{wrong}".encode()).decode(),
    ]
    assert not [s for s in secrets if s in output]
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"passerelle: Le serveur de messagerie 127.0.0.1:{smtp_server.port} refuse ")
    assert f"vérifiez les variables d'environnement {USER_ENV} et {PASSWORD_ENV}" in line
    assert smtp_server.failed_logins == 1 and smtp_server.messages == []
    assert all((r["Session"], r["Invitation envoyée le"]) == (None, None) for r in project.rows())
    assert not [e for e in journal(project).values() if e.status in (SENT, PENDING)]

    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    project.run(now=NOW + timedelta(minutes=15))
    counts = received(smtp_server)
    assert sorted(rcpt for rcpt, _ in counts) == [address(1), address(2), address(3)]
    assert set(counts.values()) == {1}


def test_a_missing_password_variable_is_one_sentence_naming_it(
    project, smtp_server, smtp_certs, monkeypatch, capsys
):
    monkeypatch.setenv(USER_ENV, USERNAME)
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    create(project, smtp_server, smtp_certs, people=1)
    assert cli.main(["run", "--config", str(project.config_path), "--now", NOW.isoformat()]) == 2
    err = capsys.readouterr().err
    [line] = err.strip().splitlines()
    assert PASSWORD_ENV in line and "n'est pas définie" in line
    assert smtp_server.connections == 0 and smtp_server.messages == []
