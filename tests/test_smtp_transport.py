"""SmtpTransport against a real SMTP server on 127.0.0.1 (aiosmtpd, see tests/fakes/smtp_server.py).

Every test asserts on what the server actually received, not only on what the client says.
"""

from __future__ import annotations

import base64
import logging
import time
from email.headerregistry import Address
from email.message import EmailMessage

import pytest

from automations.config import SmtpConfig
from automations.errors import TransportError
from automations.mail.base import DeliveryDeferred, DeliveryRefused, DeliveryUncertain
from automations.mail.smtp import Login, SmtpTransport
from tests.fakes.smtp_server import (  # noqa: F401 (the *_fixture imports register the fixtures)
    PASSWORD,
    USERNAME,
    Certificates,
    FakeSmtpServer,
    smtp_certs_fixture,
    smtp_server_fixture,
    smtp_server_tls_fixture,
)

SENDER = Address("Coopérative L'Ouvre-Boîtes", addr_spec="contact@ouvre-boites.example")

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Passerelle//FR\r\nMETHOD:PUBLISH\r\n"
    "BEGIN:VEVENT\r\nUID:session-42@ouvre-boites.example\r\nSUMMARY:Réunion d'information\r\n"
    "DTSTART;TZID=Europe/Paris:20201210T140000\r\nDTEND;TZID=Europe/Paris:20201210T160000\r\n"
    "LOCATION:12 rue des Coopératives\\, Nantes\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
).encode()


def message(n: int = 0, *, name: str = "Zoé Lefèvre-N'Diaye", domain: str = "exemple.fr") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = SENDER
    msg["To"] = Address(f"{name} {n}", addr_spec=f"personne{n}@{domain}")
    msg["Reply-To"] = Address("Mélanie Duchêne", addr_spec="melanie@ouvre-boites.example")
    msg["Subject"] = f"Invitation n°{n} : réunion du jeudi 10 décembre à 14 h — « bienvenue »"
    msg["Message-ID"] = f"<msg-{n}@ouvre-boites.example>"
    msg.set_content(
        f"Bonjour {name},\n\nVotre conseillère Hélène vous invite à la réunion.\n"
        ".Cette ligne commence par un point.\n.\nÀ bientôt !\n"
    )
    msg.add_alternative(f"<p>Bonjour {name},</p><p>À bientôt !</p>", subtype="html")
    msg.add_attachment(ICS, maintype="text", subtype="calendar", filename="réunion.ics")
    return msg


LOGIN = Login(USERNAME, PASSWORD)


def settings(server: FakeSmtpServer, certs: Certificates | None = None, **overrides: object) -> SmtpConfig:
    values: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "security": server.security,
        "username_env": "SMTP_USER",
        "password_env": "SMTP_PASSWORD",
        "ca_file": certs.ca_file if certs else None,
        "timeout_seconds": 5,
        "local_hostname": "passerelle.test",
    }
    values.update(overrides)
    return SmtpConfig(**values)  # type: ignore[arg-type]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# -- delivery -----------------------------------------------------------------------------------


def check_received(server: FakeSmtpServer, sent: EmailMessage, n: int) -> None:
    [got] = server.wait_for(1)
    assert got.mail_from == "contact@ouvre-boites.example"
    assert got.rcpt_tos == [f"personne{n}@exemple.fr"]
    assert got.tls and got.authenticated
    head = got.data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii(), "headers must be RFC 2047 encoded, not raw UTF-8"
    parsed = got.message
    assert parsed is not None
    assert parsed["Subject"] == sent["Subject"]
    assert parsed["From"].addresses[0].display_name == "Coopérative L'Ouvre-Boîtes"
    assert parsed["To"].addresses[0].display_name == f"Zoé Lefèvre-N'Diaye {n}"
    assert parsed["Reply-To"].addresses[0].display_name == "Mélanie Duchêne"
    assert parsed["Message-ID"] == f"<msg-{n}@ouvre-boites.example>"
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None and html is not None
    body = text.get_content().replace("\r\n", "\n")  # 8bit parts keep the wire's CRLF
    assert body == sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert ".Cette ligne commence par un point.\n.\nÀ bientôt !" in body
    assert "<p>À bientôt !</p>" in html.get_content()
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_filename() == "réunion.ics"
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_payload(decode=True) == ICS


def test_starttls_auth_with_private_ca_delivers_utf8_message_and_attachment(
    smtp_server: FakeSmtpServer, smtp_certs: Certificates
) -> None:
    sent = message(7)
    with SmtpTransport(settings(smtp_server, smtp_certs), LOGIN) as transport:
        answer = transport.send(sent)
    assert "250" in answer
    check_received(smtp_server, sent, 7)
    assert smtp_server.logins == 1


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_mechanisms_with_a_non_ascii_password(smtp_certs: Certificates, mechanism: str) -> None:
    assert not PASSWORD.isascii()
    with FakeSmtpServer(smtp_certs, auth_mechanisms=(mechanism,)) as server:
        with SmtpTransport(settings(server, smtp_certs), LOGIN) as transport:
            transport.send(message(1))
        [got] = server.wait_for(1)
    assert got.authenticated and server.login_mechanisms == [mechanism]


def test_implicit_tls_delivers(smtp_server_tls: FakeSmtpServer, smtp_certs: Certificates) -> None:
    sent = message(3)
    with SmtpTransport(settings(smtp_server_tls, smtp_certs), LOGIN) as transport:
        transport.send(sent)
    check_received(smtp_server_tls, sent, 3)


def test_plain_local_relay_without_auth(smtp_certs: Certificates) -> None:
    with FakeSmtpServer(None, security="none", username=None) as relay:
        with SmtpTransport(settings(relay, username_env="", password_env="")) as transport:
            transport.send(message(1))
        [got] = relay.wait_for(1)
    assert got.rcpt_tos == ["personne1@exemple.fr"] and not got.tls and not got.authenticated


def test_envelope_uses_bounce_address_and_drops_bcc(
    smtp_server: FakeSmtpServer, smtp_certs: Certificates
) -> None:
    sent = message(1)
    sent["Cc"] = "conseillere@france-travail.example"
    sent["Bcc"] = "archives@ouvre-boites.example"
    with SmtpTransport(
        settings(smtp_server, smtp_certs, bounce_address="bounces@ouvre-boites.example"), LOGIN
    ) as transport:
        transport.send(sent)
    [got] = smtp_server.wait_for(1)
    assert got.mail_from == "bounces@ouvre-boites.example"
    assert got.rcpt_tos == [
        "personne1@exemple.fr",
        "conseillere@france-travail.example",
        "archives@ouvre-boites.example",
    ]
    assert b"archives@" not in got.data
    assert sent["Bcc"] == "archives@ouvre-boites.example", "the caller's message is left as it was"


def test_one_connection_for_a_whole_batch(smtp_server: FakeSmtpServer, smtp_certs: Certificates) -> None:
    with SmtpTransport(settings(smtp_server, smtp_certs), LOGIN) as transport:
        for n in range(60):
            transport.send(message(n))
    received = smtp_server.wait_for(60)
    assert [m.rcpt_tos[0] for m in received] == [f"personne{n}@exemple.fr" for n in range(60)]
    assert smtp_server.connections == 1
    assert {m.connection for m in received} == {1}
    assert smtp_server.logins == 1
    assert transport.connections_opened == 1
    assert smtp_server.quits == 1, "the batch ends with a polite QUIT"


# -- per-message outcomes ---------------------------------------------------------------------


@pytest.mark.parametrize("where", ["rcpt", "data", "mail"])
def test_4xx_is_deferred_and_a_later_send_succeeds(
    smtp_server: FakeSmtpServer, smtp_certs: Certificates, where: str
) -> None:
    getattr(smtp_server, f"fail_next_{where}")(1, 451, "4.7.1 Greylisted, come back later")
    with SmtpTransport(settings(smtp_server, smtp_certs), LOGIN) as transport:
        with pytest.raises(DeliveryDeferred) as deferred:
            transport.send(message(1))
        assert str(deferred.value) == "451 4.7.1 Greylisted, come back later"
        assert smtp_server.messages == []
        transport.send(message(2))  # the batch goes on, on the same connection
    with SmtpTransport(settings(smtp_server, smtp_certs), LOGIN) as transport:  # the next run
        transport.send(message(1))
    received = smtp_server.wait_for(2)
    assert [m.rcpt_tos for m in received] == [["personne2@exemple.fr"], ["personne1@exemple.fr"]]
    assert [m.connection for m in received] == [1, 2]


@pytest.mark.parametrize(
    ("where", "code", "text"),
    [
        ("rcpt", 550, "5.1.1 <personne1@exemple.fr>: Recipient address rejected: User unknown"),
        ("data", 554, "5.7.1 Message refused: looks like spam"),
    ],
)
def test_5xx_is_refused_with_the_server_text(
    smtp_server: FakeSmtpServer, smtp_certs: Certificates, where: str, code: int, text: str
) -> None:
    getattr(smtp_server, f"fail_next_{where}")(1, code, text)
    with SmtpTransport(settings(smtp_server, smtp_certs), LOGIN) as transport:
        with pytest.raises(DeliveryRefused) as refused:
            transport.send(message(1))
        transport.send(message(2))
    assert str(refused.value) == f"{code} {text}"
    [got] = smtp_server.wait_for(1)
    assert got.rcpt_tos == ["personne2@exemple.fr"]
    assert smtp_server.connections == 1


def test_sender_refused_stops_the_batch(smtp_server: FakeSmtpServer, smtp_certs: Certificates) -> None:
    smtp_server.fail_next_mail(5, 553, "5.7.1 Sender address rejected: not owned by user")
    with SmtpTransport(settings(smtp_server, smtp_certs), LOGIN) as transport:
        with pytest.raises(TransportError, match="refuse l'adresse d'expéditeur <contact@ouvre-boites"):
            transport.send(message(1))
        with pytest.raises(TransportError):
            transport.send(message(2))
    assert smtp_server.messages == []


# -- broken connections -----------------------------------------------------------------------


@pytest.mark.parametrize("when", ["mail", "rcpt", "after_reply"])
def test_dropped_connection_mid_batch_reconnects_and_delivers_the_rest(
    smtp_server: FakeSmtpServer, smtp_certs: Certificates, when: str
) -> None:
    with SmtpTransport(settings(smtp_server, smtp_certs), LOGIN) as transport:
        for n in range(10):
            if n == 4:
                smtp_server.drop_next(when)
            transport.send(message(n))
    received = smtp_server.wait_for(10)
    assert [m.rcpt_tos[0] for m in received] == [f"personne{n}@exemple.fr" for n in range(10)]
    first_on_new = 5 if when == "after_reply" else 4
    assert [m.connection for m in received] == [1] * first_on_new + [2] * (10 - first_on_new)
    assert smtp_server.connections == 2
    assert smtp_server.logins == 2


@pytest.mark.parametrize("when", ["data", "data_accepted"])
def test_connection_lost_after_the_whole_message_went_out_is_uncertain(
    smtp_server: FakeSmtpServer, smtp_certs: Certificates, when: str
) -> None:
    with SmtpTransport(settings(smtp_server, smtp_certs), LOGIN) as transport:
        transport.send(message(0))
        smtp_server.drop_next(when)
        with pytest.raises(DeliveryUncertain) as uncertain:
            transport.send(message(1))
        transport.send(message(2))
    assert not isinstance(uncertain.value, DeliveryDeferred | DeliveryRefused)
    received = smtp_server.wait_for(3 if when == "data_accepted" else 2)
    expected = [0, 1, 2] if when == "data_accepted" else [0, 2]  # really ambiguous: both happen
    assert [m.rcpt_tos[0] for m in received] == [f"personne{n}@exemple.fr" for n in expected]
    assert smtp_server.connections == 2


def test_reconnect_failure_defers_the_message_then_stops_the_batch(
    smtp_server: FakeSmtpServer, smtp_certs: Certificates
) -> None:
    with SmtpTransport(settings(smtp_server, smtp_certs), LOGIN) as transport:
        transport.send(message(0))
        smtp_server.stop()
        with pytest.raises(DeliveryDeferred, match="n'a pas pu être rouverte"):
            transport.send(message(1))
        started = time.monotonic()
        with pytest.raises(TransportError, match=r"127\.0\.0\.1"):
            transport.send(message(2))
        assert time.monotonic() - started < 0.5
    assert [m.rcpt_tos[0] for m in smtp_server.messages] == ["personne0@exemple.fr"]


def test_unreachable_server_is_a_transport_error(smtp_certs: Certificates) -> None:
    server = FakeSmtpServer(smtp_certs).start()
    server.stop()  # nothing listens on that port any more
    with pytest.raises(TransportError, match=f"Rien n'écoute sur le port {server.port} de 127.0.0.1"):
        SmtpTransport(settings(server, smtp_certs), LOGIN).__enter__()


# -- authentication and TLS failures ------------------------------------------------------------


def test_wrong_password_stops_with_a_clear_sentence_without_the_password(
    smtp_server: FakeSmtpServer, smtp_certs: Certificates, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "Wr0ng-mot-de-passe-é"
    caplog.set_level(logging.DEBUG)
    transport = SmtpTransport(settings(smtp_server, smtp_certs), Login(USERNAME, wrong))
    with pytest.raises(TransportError) as error, transport:
        transport.send(message(1))
    sentence = str(error.value)
    assert sentence == (
        f"Le serveur de messagerie 127.0.0.1:{smtp_server.port} refuse l'identifiant {USERNAME!r} ou son "
        "mot de passe (535 5.7.8 Authentication credentials invalid) : vérifiez les variables "
        "d'environnement SMTP_USER et SMTP_PASSWORD."
    )
    secrets = [
        wrong,
        base64.b64encode(wrong.encode()).decode(),
        base64.b64encode(f"\0{USERNAME}\0{wrong}".encode()).decode(),
    ]
    for text in (sentence, repr(error.value), repr(transport), repr(transport.login), caplog.text):
        assert not any(secret in text for secret in secrets)
    assert error.value.__cause__ is None and error.value.__context__ is None
    assert smtp_server.failed_logins == 1 and smtp_server.logins == 0
    assert smtp_server.messages == []


@pytest.mark.parametrize("security", ["starttls", "tls"])
@pytest.mark.parametrize("trust", ["system", "other_ca"])
def test_untrusted_certificate_is_a_transport_error_and_no_password_is_sent(
    smtp_certs: Certificates, security: str, trust: str
) -> None:
    ca_file = None if trust == "system" else smtp_certs.other_ca_file
    with FakeSmtpServer(smtp_certs, security=security) as server:  # type: ignore[arg-type]
        transport = SmtpTransport(settings(server, None, ca_file=ca_file), LOGIN)
        with pytest.raises(TransportError) as error, transport:
            transport.send(message(1))
        assert server.logins == 0 and server.failed_logins == 0
        assert server.messages == []
    sentence = str(error.value)
    assert "présente un certificat qui n'a pas pu être vérifié" in sentence
    assert ("mail.smtp.ca_file" in sentence) if trust == "system" else (str(ca_file) in sentence)


def test_starttls_missing_is_refused_never_downgraded(smtp_certs: Certificates) -> None:
    with FakeSmtpServer(None, security="none", username=None) as plain:
        transport = SmtpTransport(settings(plain, smtp_certs, security="starttls"), LOGIN)
        with pytest.raises(TransportError, match="ne propose pas STARTTLS"), transport:
            transport.send(message(1))
        assert plain.messages == []


@pytest.mark.parametrize(("security", "port"), [("starttls", 587), ("tls", 465), ("none", 25)])
def test_the_port_defaults_to_the_one_of_the_security(security: str, port: int) -> None:
    assert SmtpConfig(host="smtp.example.org", security=security).server_port == port  # type: ignore[arg-type]


def test_the_password_is_not_in_the_repr_of_the_login_or_the_transport() -> None:
    login = Login("u", "hunter2")
    assert "hunter2" not in repr(login) + repr(SmtpTransport(SmtpConfig(), login))


# -- rate limit ---------------------------------------------------------------------------------


def test_rate_limit_is_honoured_with_a_fake_clock(smtp_certs: Certificates) -> None:
    clock = FakeClock()
    with FakeSmtpServer(smtp_certs, clock=clock) as server:
        transport = SmtpTransport(
            settings(server, smtp_certs, rate_per_minute=5), LOGIN, clock=clock, sleep=clock.sleep
        )
        started = time.monotonic()
        with transport:
            for n in range(12):
                transport.send(message(n))
        elapsed = time.monotonic() - started
        received = server.wait_for(12)
    times = [m.received_at for m in received]
    assert times == [0.0] * 5 + [60.0] * 5 + [120.0] * 2
    assert all(sum(t <= u < t + 60 for u in times) <= 5 for t in times)
    assert clock.sleeps == [60.0, 60.0]
    assert elapsed < 10, "the fake clock must be used, not real time"
    assert server.connections == 1


def test_no_rate_limit_never_sleeps(smtp_server: FakeSmtpServer, smtp_certs: Certificates) -> None:
    clock = FakeClock()
    with SmtpTransport(settings(smtp_server, smtp_certs), LOGIN, clock=clock, sleep=clock.sleep) as transport:
        for n in range(20):
            transport.send(message(n))
    assert len(smtp_server.wait_for(20)) == 20
    assert clock.sleeps == []
