"""A real SMTP server on 127.0.0.1 for tests and benchmarks (aiosmtpd in a background thread).

- ``make_certificates(folder)`` writes a private CA, a server certificate it signed (for
  ``localhost`` and ``127.0.0.1``) and an unrelated second CA, all generated with
  ``cryptography``.
- ``FakeSmtpServer(certs, security="starttls" | "tls" | "none")`` listens on an ephemeral port,
  offers STARTTLS (required before anything else) or implicit TLS, requires AUTH PLAIN/LOGIN with
  ``server.username``/``server.password`` (anything else gets 535), and stores every accepted
  message in ``server.messages`` (envelope, raw bytes, parsed ``EmailMessage``, connection
  number, TLS and login state, ``server.clock()`` at reception). ``server.connections`` counts
  the connections clients opened, ``logins``/``failed_logins``/``quits`` what happened on them.
- Misbehaviour on demand: ``fail_next_mail(count, code)``, ``fail_next_rcpt(count, code)``,
  ``fail_next_data(count, code)`` (the answer to the end of DATA), ``drop_next(when, count)``
  (abort the connection at MAIL, at RCPT, after the content arrived without storing it, after
  storing it but before answering, or right after answering 250) and ``stop()`` (nothing
  listens any more).

Pytest fixtures (import them into a conftest or a test module; the names pytest sees are in
brackets): ``smtp_certs_fixture`` [``smtp_certs``, session scope], ``smtp_server_fixture``
[``smtp_server``, STARTTLS + AUTH], ``smtp_server_tls_fixture`` [``smtp_server_tls``, implicit
TLS + AUTH].
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# aiosmtpd warns on every AUTH that Session.login_data is deprecated (it sets it itself).
logging.getLogger("mail.log").setLevel(logging.ERROR)

HOST = "127.0.0.1"
USERNAME = "passerelle@ouvre-boites.example"
PASSWORD = "correct-horse-bätterie-9"

DropPoint = Literal["mail", "rcpt", "data", "data_accepted", "after_reply"]
"""Where ``drop_next`` aborts the connection:

- ``mail`` / ``rcpt``: on receiving that command, before answering (the message surely not taken);
- ``data``: the whole content arrived; abort without storing or answering;
- ``data_accepted``: store the message, then abort without answering (the ambiguous case);
- ``after_reply``: store, answer 250, then close (the client learns on its next command).
"""


# -- certificates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    ca_file: Path
    """PEM certificate of the CA that signed the server certificate: the client's ``ca_file``."""
    cert_file: Path
    key_file: Path
    other_ca_file: Path
    """PEM certificate of an unrelated CA (the wrong CA for this server)."""

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Passerelle tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _make_ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_certificates(folder: Path) -> Certificates:
    """A CA, a server certificate for localhost/127.0.0.1 signed by it, and an unrelated CA."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _make_ca("Passerelle test CA")
    _, other_ca = _make_ca("Some other CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    paths = Certificates(
        ca_file=folder / "ca.pem",
        cert_file=folder / "server.pem",
        key_file=folder / "server.key",
        other_ca_file=folder / "other-ca.pem",
    )
    paths.ca_file.write_bytes(ca_cert.public_bytes(pem))
    paths.other_ca_file.write_bytes(other_ca.public_bytes(pem))
    paths.cert_file.write_bytes(cert.public_bytes(pem))
    paths.key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


# -- server -----------------------------------------------------------------------------------


@dataclass
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    mail_options: list[str]
    data: bytes
    """The message as received, dot-unstuffed, CRLF line ends."""
    message: EmailMessage | None
    """``data`` parsed with ``email.policy.default`` (None when the server was told not to parse)."""
    connection: int
    """1 for the first connection a client opened to this server, 2 for the next…"""
    tls: bool
    authenticated: bool
    received_at: float


@dataclass
class _Fault:
    count: int
    code: int
    text: str


class _Smtp(SMTP):
    connection_number = 0


class _Controller(Controller):
    """aiosmtpd's Controller on an ephemeral port, numbering connections."""

    def __init__(self, owner: FakeSmtpServer, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner = owner

    def factory(self) -> SMTP:
        smtp = _Smtp(self.handler, **self.SMTP_kwargs)
        smtp.connection_number = self.owner._new_connection()
        if self.ssl_context is not None:
            # Implicit TLS: the whole connection is encrypted, but aiosmtpd only knows about its
            # own STARTTLS, so it would neither offer nor accept AUTH without this.
            smtp._auth_require_tls = False
        return smtp

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class FakeSmtpServer:
    def __init__(
        self,
        certs: Certificates | None,
        *,
        security: Literal["starttls", "tls", "none"] = "starttls",
        username: str | None = USERNAME,
        password: str = PASSWORD,
        parse: bool = True,
        clock: Callable[[], float] = time.monotonic,
        auth_mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN"),
    ) -> None:
        if security != "none" and certs is None:
            raise ValueError("TLS needs certificates: pass make_certificates(folder)")
        self.certs = certs
        self.security = security
        self.host = HOST
        self.port = 0
        self.username = username
        self.password = password
        self.parse = parse
        self.auth_mechanisms = auth_mechanisms
        self.login_mechanisms: list[str] = []
        """The mechanism of each successful AUTH."""
        self.clock = clock
        self.messages: list[ReceivedMessage] = []
        self.connections = 0
        self.logins = 0
        self.failed_logins = 0
        self.quits = 0
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._mail_faults: list[_Fault] = []
        self._rcpt_faults: list[_Fault] = []
        self._data_faults: list[_Fault] = []
        self._drops: list[list[Any]] = []
        self._controller: _Controller | None = None

    # -- lifecycle

    def start(self) -> FakeSmtpServer:
        kwargs: dict[str, Any] = {
            "hostname": HOST,
            "port": 0,
            "server_hostname": "localhost",
            "ident": "Passerelle fake SMTP",
            "enable_SMTPUTF8": True,
            "timeout": 30,
        }
        if self.username is not None:
            kwargs.update(
                authenticator=self._authenticate,
                auth_required=True,
                auth_require_tls=True,
                auth_exclude_mechanism=[m for m in ("PLAIN", "LOGIN") if m not in self.auth_mechanisms],
            )
        if self.security == "starttls":
            assert self.certs is not None
            kwargs.update(tls_context=self.certs.server_context(), require_starttls=True)
        elif self.security == "tls":
            assert self.certs is not None
            kwargs.update(ssl_context=self.certs.server_context())
        elif self.username is not None:
            kwargs["auth_require_tls"] = False
        self._controller = _Controller(self, _Handler(self), **kwargs)
        self._controller.start()
        self.port = self._controller.port
        with self._lock:
            self.connections = 0  # the controller's own start-up probe does not count
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> FakeSmtpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what happened

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMessage]:
        """Wait until at least ``count`` messages were stored; return them all."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)

    def recipients(self) -> list[str]:
        with self._lock:
            return [r for m in self.messages for r in m.rcpt_tos]

    # -- misbehaviour

    def fail_next_mail(self, count: int = 1, code: int = 550, text: str | None = None) -> None:
        text = text or ("4.3.2 Try again later" if code < 500 else "5.7.1 Sender address rejected")
        with self._lock:
            self._mail_faults.append(_Fault(count, code, text))

    def fail_next_rcpt(self, count: int = 1, code: int = 450, text: str | None = None) -> None:
        text = text or ("4.2.1 Mailbox busy, try later" if code < 500 else "5.1.1 No such user here")
        with self._lock:
            self._rcpt_faults.append(_Fault(count, code, text))

    def fail_next_data(self, count: int = 1, code: int = 451, text: str | None = None) -> None:
        text = text or ("4.3.0 Queue full, try later" if code < 500 else "5.7.1 Message rejected")
        with self._lock:
            self._data_faults.append(_Fault(count, code, text))

    def drop_next(self, when: DropPoint = "mail", count: int = 1) -> None:
        with self._lock:
            self._drops.append([when, count])

    # -- internals (called from the server thread)

    def _new_connection(self) -> int:
        with self._lock:
            self.connections += 1
            return self.connections

    def _take(self, faults: list[_Fault]) -> _Fault | None:
        with self._lock:
            if not faults:
                return None
            fault = faults[0]
            fault.count -= 1
            if fault.count <= 0:
                faults.pop(0)
            return fault

    def _take_drop(self, when: str) -> bool:
        with self._lock:
            if not self._drops or self._drops[0][0] != when:
                return False
            self._drops[0][1] -= 1
            if self._drops[0][1] <= 0:
                self._drops.pop(0)
            return True

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == (self.username or "").encode()
            and data.password == self.password.encode()
        )
        with self._lock:
            if ok:
                self.logins += 1
                self.login_mechanisms.append(mechanism)
            else:
                self.failed_logins += 1
        # handled=False: aiosmtpd answers 535 itself
        return AuthResult(success=ok, handled=False)

    def _store(self, server: SMTP, session: Session, envelope: Envelope) -> None:
        data = envelope.original_content or b""
        parsed = BytesParser(policy=policy.default).parsebytes(data) if self.parse else None
        received = ReceivedMessage(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            mail_options=list(envelope.mail_options),
            data=data,
            message=parsed,  # type: ignore[arg-type]
            connection=getattr(server, "connection_number", 0),
            tls=session.ssl is not None or self.security == "tls",
            authenticated=bool(session.authenticated),
            received_at=self.clock(),
        )
        with self._arrived:
            self.messages.append(received)
            self._arrived.notify_all()


async def _abort(server: SMTP) -> None:
    """Cut the connection without a word, as a crashed server or a broken network would."""
    assert server.transport is not None
    server.transport.abort()
    raise asyncio.CancelledError


class _Handler:
    def __init__(self, owner: FakeSmtpServer) -> None:
        self.owner = owner

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.owner._take_drop("mail"):
            await _abort(server)
        fault = self.owner._take(self.owner._mail_faults)
        if fault is not None:
            return f"{fault.code} {fault.text}"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.owner._take_drop("rcpt"):
            await _abort(server)
        fault = self.owner._take(self.owner._rcpt_faults)
        if fault is not None:
            return f"{fault.code} {fault.text}"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.owner._lock:
            self.owner.quits += 1
        return "221 2.0.0 Bye"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        owner = self.owner
        if owner._take_drop("data"):
            await _abort(server)
        fault = owner._take(owner._data_faults)
        if fault is not None:
            return f"{fault.code} {fault.text}"
        owner._store(server, session, envelope)
        if owner._take_drop("data_accepted"):
            await _abort(server)
        if owner._take_drop("after_reply"):
            transport = server.transport
            assert transport is not None
            asyncio.get_running_loop().call_soon(transport.close)
        return f"250 2.0.0 OK queued as {len(owner.messages):06d}"


# -- pytest fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="session", name="smtp_certs")
def smtp_certs_fixture(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("smtp-certs"))


@pytest.fixture(name="smtp_server")
def smtp_server_fixture(smtp_certs: Certificates) -> Iterator[FakeSmtpServer]:
    """STARTTLS (required) + AUTH on 127.0.0.1; a fresh server, with fresh counters, per test."""
    with FakeSmtpServer(smtp_certs, security="starttls") as server:
        yield server


@pytest.fixture(name="smtp_server_tls")
def smtp_server_tls_fixture(smtp_certs: Certificates) -> Iterator[FakeSmtpServer]:
    """Implicit TLS + AUTH on 127.0.0.1."""
    with FakeSmtpServer(smtp_certs, security="tls") as server:
        yield server


__all__ = [
    "PASSWORD",
    "USERNAME",
    "Certificates",
    "FakeSmtpServer",
    "ReceivedMessage",
    "make_certificates",
    "smtp_certs_fixture",
    "smtp_server_fixture",
    "smtp_server_tls_fixture",
]
