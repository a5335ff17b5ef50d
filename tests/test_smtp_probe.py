"""`probe(config)` and `passerelle check` open a real SMTP session against the server on 127.0.0.1,
send nothing, and say in one French sentence what stops it: a wrong password, a certificate that
cannot be trusted, a closed port, a silent server, an unknown host."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from automations.config import Config, MailConfig, SmtpConfig
from automations.errors import TransportError
from automations.mail.smtp import probe
from automations.mail.smtp.session import connect_failure
from tests.conftest import referral, session
from tests.fakes.smtp_server import PASSWORD, USERNAME, Certificates, FakeSmtpServer
from tests.test_check import check
from tests.test_smtp_delivery import PASSWORD_ENV, USER_ENV, smtp_config

ENV = {"SMTP_USER": USERNAME, "SMTP_PASSWORD": PASSWORD}


def config_for(port: int, **overrides: object) -> Config:
    smtp = SmtpConfig(
        host="127.0.0.1",
        port=port,
        username_env="SMTP_USER",
        password_env="SMTP_PASSWORD",
        timeout_seconds=5,
        local_hostname="passerelle.test",
    )
    return Config(
        path=Path("/etc/passerelle/passerelle.toml"),
        mail=MailConfig(transport="smtp", smtp=dataclasses.replace(smtp, **overrides)),
    )


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel completes them) and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return probe_socket.getsockname()[1]  # nothing listens on it once closed


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_a_good_configuration_logs_in_and_quits_without_sending_anything(
    smtp_certs: Certificates, security: str
) -> None:
    with FakeSmtpServer(smtp_certs, security=security) as server:  # type: ignore[arg-type]
        probe(config_for(server.port, security=security, ca_file=smtp_certs.ca_file), ENV)
    assert (server.connections, server.logins, server.quits) == (1, 1, 1)
    assert server.messages == []


def failures(
    server: FakeSmtpServer, certs: Certificates, closed: int, silent: int
) -> dict[str, tuple[Config, dict]]:
    wrong = {**ENV, "SMTP_PASSWORD": "pas-le-bon"}
    return {
        "wrong password": (config_for(server.port, ca_file=certs.ca_file), wrong),
        "no private authority": (config_for(server.port), ENV),
        "another authority": (config_for(server.port, ca_file=certs.other_ca_file), ENV),
        "closed port": (config_for(closed), ENV),
        "silent server": (config_for(silent, timeout_seconds=0.3), ENV),
    }


def test_each_failure_is_its_own_french_sentence_saying_what_to_check(
    smtp_server: FakeSmtpServer, smtp_certs: Certificates, silent_port: int
) -> None:
    sentences = {}
    closed = closed_port()
    for case, (config, environ) in failures(smtp_server, smtp_certs, closed, silent_port).items():
        with pytest.raises(TransportError) as error:
            probe(config, environ)
        sentences[case] = str(error.value)
    where = f"127.0.0.1:{smtp_server.port}"
    assert sentences["wrong password"] == (
        f"Le serveur de messagerie {where} refuse l'identifiant {USERNAME!r} ou son mot de passe "
        "(535 5.7.8 Authentication credentials invalid) : vérifiez les variables d'environnement "
        "SMTP_USER et SMTP_PASSWORD."
    )
    assert sentences["no private authority"].startswith(
        f"Le serveur de messagerie {where} présente un certificat qui n'a pas pu être vérifié ("
    )
    assert sentences["no private authority"].endswith(
        "s'il vient d'une autorité de certification privée, indiquez le certificat de cette autorité "
        "dans mail.smtp.ca_file."
    )
    assert sentences["another authority"].endswith(
        f"il a été vérifié avec la seule autorité de {smtp_certs.other_ca_file} : vérifiez que c'est "
        "bien elle qui l'a signé."
    )
    assert sentences["closed port"] == (
        f"Rien n'écoute sur le port {closed} de 127.0.0.1 (connexion refusée) : vérifiez mail.smtp.port "
        "et que le serveur de messagerie est démarré."
    )
    assert sentences["silent server"] == (
        f"Le serveur de messagerie 127.0.0.1:{silent_port} n'a pas répondu en 0.3 secondes : vérifiez "
        "mail.smtp.host et mail.smtp.port, et qu'aucun pare-feu ne bloque ce port."
    )
    assert len(set(sentences.values())) == len(sentences)
    assert smtp_server.messages == [] and smtp_server.logins == 0
    assert "pas-le-bon" not in "".join(sentences.values())


def test_an_unknown_host_says_to_check_the_host_name() -> None:
    # No test may look a name up outside 127.0.0.1: the resolver's answer is given as it comes.
    failure = connect_failure(
        socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
        SmtpConfig(host="smtp.exemple.invalid"),
        None,
    )
    assert str(failure) == (
        "Le nom d'hôte smtp.exemple.invalid est inconnu (Name or service not known) : vérifiez "
        "mail.smtp.host et la connexion de cette machine au réseau."
    )


def test_check_reports_a_wrong_smtp_password_and_exits_1(
    project, smtp_server: FakeSmtpServer, smtp_certs: Certificates, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(USER_ENV, USERNAME)
    monkeypatch.setenv(PASSWORD_ENV, "pas-le-bon")
    project.create([referral(1)], [session("A", 7, 5)], extra_config=smtp_config(smtp_server, smtp_certs))
    done = check(project)
    assert done.returncode == 1, done.stderr
    assert (
        f"  - Le serveur de messagerie 127.0.0.1:{smtp_server.port} refuse l'identifiant {USERNAME!r} ou son "
        f"mot de passe (535 5.7.8 Authentication credentials invalid) : vérifiez les variables "
        f"d'environnement {USER_ENV} et {PASSWORD_ENV}.\n"
    ) in done.stdout
    assert "pas-le-bon" not in done.stdout + done.stderr
    assert smtp_server.failed_logins == 1 and smtp_server.messages == []


def test_check_with_the_right_password_logs_in_once_and_sends_nothing(
    project, smtp_server: FakeSmtpServer, smtp_certs: Certificates, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(USER_ENV, USERNAME)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    project.create([referral(1)], [session("A", 7, 5)], extra_config=smtp_config(smtp_server, smtp_certs))
    done = check(project)
    assert done.returncode == 0, done.stdout
    assert (smtp_server.logins, smtp_server.quits, smtp_server.messages) == (1, 1, [])


def test_check_says_a_wrong_password_a_bad_certificate_and_a_closed_port_apart(
    project, smtp_server: FakeSmtpServer, smtp_certs: Certificates, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three runs of `passerelle check`, one thing wrong in each: three different French sentences."""
    right = smtp_config(smtp_server, smtp_certs)
    closed = closed_port()
    cases = {
        "wrong password": (right, "pas-le-bon", "refuse l'identifiant"),
        "bad certificate": (
            right.replace(str(smtp_certs.ca_file), str(smtp_certs.other_ca_file)),
            PASSWORD,
            "présente un certificat qui n'a pas pu être vérifié",
        ),
        "closed port": (
            right.replace(f"port = {smtp_server.port}", f"port = {closed}"),
            PASSWORD,
            f"Rien n'écoute sur le port {closed} de 127.0.0.1 (connexion refusée)",
        ),
    }
    monkeypatch.setenv(USER_ENV, USERNAME)
    project.create([referral(1)], [session("A", 7, 5)])
    template = project.config_path.read_text(encoding="utf-8")
    sentences = {}
    for case, (extra, password, says) in cases.items():
        monkeypatch.setenv(PASSWORD_ENV, password)
        project.config_path.write_text(template + extra, encoding="utf-8")
        done = check(project)
        assert done.returncode == 1, f"{case}: {done.stdout}{done.stderr}"
        assert "Traceback" not in done.stderr
        [sentence] = [line for line in done.stdout.splitlines() if says in line]
        sentences[case] = sentence
    assert len(set(sentences.values())) == 3
    assert smtp_server.messages == []
