"""Hand composed emails to an SMTP server: STARTTLS, implicit TLS or a plain local relay.

One ``SmtpTransport`` is one batch: ``with SmtpTransport(settings) as transport:`` opens a single
connection (TLS, then AUTH), every ``transport.send(message)`` reuses it, and leaving the block
says QUIT. What ``send()`` promises the send journal:

- it returns only after the server answered 250 to the end of DATA (the message is the server's
  responsibility from then on); the return value is that answer, for the log;
- ``DeliveryDeferred``: the server surely did not take the message (a 4xx answer, or the
  connection failed before the end of DATA was sent and could not be used again); try again on a
  later run;
- ``DeliveryRefused``: a 5xx answer for this message or recipient; never retry;
- ``DeliveryUncertain``: the whole message, end of DATA included, went out but the connection was
  lost (or the answer was unreadable) before the server's verdict; the server may or may not have
  taken it, so it must be reported "à vérifier", never retried blindly;
- ``automations.errors.TransportError``: nothing more can be sent in this batch (authentication,
  TLS, a sender address the server refuses, a server that keeps dropping the connection); the
  message being sent was surely not taken; the batch stops.

A message with several recipients (To, Cc, Bcc; Bcc is never written in the message) goes to all
of them or to none: one refused recipient cancels the transaction (RSET) and decides the outcome.

If the server drops the connection before the end of DATA (idle timeout, a per-connection message
limit, a 421), the message is retried once on a new connection and later messages use that new
connection. When the new connection cannot be opened, that message is ``DeliveryDeferred`` and the
next ``send()`` raises ``TransportError`` without touching the network.

Certificates are always verified (against the system's authorities, or only against ``ca_file``
when a private authority is configured). The password is only ever written to the TLS-protected
socket: it is not logged, not in ``repr()`` and scrubbed from every error message.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import logging
import os
import re
import smtplib
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import getaddresses
from io import BytesIO
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from automations.errors import ConfigError, TransportError
from automations.mail.base import DeliveryDeferred, DeliveryRefused, DeliveryUncertain

if TYPE_CHECKING:
    from collections.abc import Mapping

    from automations.config import Config

__all__ = ["DeliveryUncertain", "SmtpSettings", "SmtpTransport", "transport_from_config"]

log = logging.getLogger(__name__)

Security = Literal["starttls", "tls", "none"]
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "tls": 465, "none": 25}


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand emails over; built by the caller from the configuration.

    ``username``/``password`` are the values the caller read from the environment variables the
    configuration names; this module never looks at the environment. ``port`` defaults to 587
    (starttls), 465 (tls) or 25 (none). ``ca_file`` replaces the system's authorities with a
    private one; verification itself cannot be turned off. ``rate_per_minute``: at most that
    many messages in any 60 seconds, 0 for no limit. ``bounce_address``: the envelope sender
    (MAIL FROM); the From header's address when empty. ``local_hostname``: the name given in
    EHLO, this machine's fully qualified name when empty.
    """

    host: str
    port: int | None = None
    security: Security = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    timeout: float = 60.0
    rate_per_minute: int = 0
    bounce_address: str | None = None
    local_hostname: str | None = None

    def __post_init__(self) -> None:
        if self.security not in DEFAULT_PORTS:
            raise ConfigError(f'SMTP security must be "starttls", "tls" or "none", not {self.security!r}.')
        if not self.host or any(c.isspace() for c in self.host):
            raise ConfigError(f"The SMTP host {self.host!r} is not a valid host name.")
        if self.port is None:
            object.__setattr__(self, "port", DEFAULT_PORTS[self.security])
        elif isinstance(self.port, bool) or not isinstance(self.port, int):
            raise ConfigError(f"The SMTP port must be a whole number, not {self.port!r}.")
        elif not 0 < self.port < 65536:
            raise ConfigError(f"The SMTP port must be between 1 and 65535, not {self.port}.")
        if self.ca_file is not None and not isinstance(self.ca_file, Path):
            object.__setattr__(self, "ca_file", Path(self.ca_file))
        if not self.timeout or self.timeout <= 0:
            raise ConfigError(f"The SMTP timeout must be a positive number of seconds, not {self.timeout!r}.")
        if (
            isinstance(self.rate_per_minute, bool)
            or not isinstance(self.rate_per_minute, int)
            or self.rate_per_minute < 0
        ):
            raise ConfigError(
                f"The SMTP rate limit must be a whole number of messages per minute (0 for none), "
                f"not {self.rate_per_minute!r}."
            )
        if bool(self.username) != bool(self.password):
            raise ConfigError(
                "SMTP authentication needs both a username and a password: check that both "
                "environment variables named in the configuration are set and not empty."
            )
        if self.username and self.security == "none":
            raise ConfigError(
                "Passerelle never sends an SMTP password over an unencrypted connection: use "
                'security "starttls" or "tls", or remove the username for a local relay.'
            )


def transport_from_config(config: Config, environ: Mapping[str, str] | None = None) -> SmtpTransport:
    """The transport ``[mail.smtp]`` describes, credentials read from the variables it names."""
    smtp = config.mail.smtp
    env = os.environ if environ is None else environ
    credentials: list[str | None] = []
    for key in ("username_env", "password_env"):
        name = getattr(smtp, key, "") or ""
        if not name:
            credentials.append(None)
        elif not env.get(name):
            raise ConfigError(
                f"The environment variable {name} (mail.smtp.{key} in the configuration) is not "
                "set or empty: set it before running Passerelle."
            )
        else:
            credentials.append(env[name])
    return SmtpTransport(
        SmtpSettings(
            host=smtp.host,
            port=smtp.port,
            security=smtp.security,
            username=credentials[0],
            password=credentials[1],
            ca_file=smtp.ca_file,
            timeout=smtp.timeout_seconds,
            rate_per_minute=smtp.rate_per_minute,
            bounce_address=smtp.bounce_address or None,
            local_hostname=smtp.local_hostname or None,
        )
    )


class _ConnectionLost(Exception):
    """Internal: the connection failed during a transaction."""

    def __init__(self, reason: str, *, after_data: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after_data = after_data


_EOL = re.compile(rb"\r\n|\n|\r(?!\n)")
_LEADING_DOT = re.compile(rb"(?m)^\.")


class SmtpTransport:
    """SMTP delivery for one batch; see the module docstring for the guarantees of ``send()``.

    ``clock`` and ``sleep`` (seconds, ``time.monotonic``/``time.sleep`` by default) drive the
    rate limit so tests can use a fake clock.
    """

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._sleep = sleep
        self._conn: smtplib.SMTP | None = None
        self._open = False
        self._broken: TransportError | None = None
        self._tls_context: ssl.SSLContext | None = None
        self._local_hostname: str | None = settings.local_hostname
        self._recent: deque[float] = deque(maxlen=settings.rate_per_minute or 1)
        self.connections_opened = 0
        """How many connections this transport opened (1 for a batch without drops)."""

    def __repr__(self) -> str:
        s = self.settings
        return f"<SmtpTransport {s.security} {s.host}:{s.port} user={s.username!r}>"

    # -- batch ----------------------------------------------------------------------------------

    def __enter__(self) -> SmtpTransport:
        if self._open:
            raise RuntimeError("This SmtpTransport is already open.")
        self._broken = None
        self._conn = self._connect()
        self._open = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False
        self._disconnect(polite=True)

    # -- sending --------------------------------------------------------------------------------

    def send(self, message: EmailMessage) -> str:
        """Deliver one message; return the server's answer (see the module docstring)."""
        if not self._open:
            raise RuntimeError("Use SmtpTransport as a context manager: `with transport: ...`.")
        if self._broken is not None:
            raise TransportError(str(self._broken))
        sender, recipients = self._envelope(message)
        self._throttle()
        for attempt in (1, 2):
            if self._conn is None:
                try:
                    self._conn = self._connect()
                except TransportError as exc:
                    self._broken = exc
                    raise DeliveryDeferred(
                        f"The connection to the mail server was lost and could not be re-opened: {exc}"
                    ) from None
            try:
                return self._transaction(self._conn, message, sender, recipients)
            except TransportError as exc:
                self._broken = exc
                raise
            except _ConnectionLost as lost:
                self._disconnect(polite=False)
                if lost.after_data:
                    raise DeliveryUncertain(
                        "The message was handed over to the mail server but its answer never "
                        f"came back ({lost.reason}); it may or may not have been accepted."
                    ) from None
                if attempt == 2:
                    self._broken = TransportError(
                        f"The mail server {self._where} closed the connection again right after "
                        f"Passerelle reconnected ({lost.reason}); try again later."
                    )
                    raise DeliveryDeferred(
                        f"The mail server closed the connection twice ({lost.reason})."
                    ) from None
                log.info("SMTP connection lost (%s); reconnecting once for this message", lost.reason)
        raise AssertionError("unreachable")  # pragma: no cover

    def _transaction(
        self, conn: smtplib.SMTP, message: EmailMessage, sender: str, recipients: list[str]
    ) -> str:
        """One MAIL/RCPT/DATA exchange on ``conn``.

        Raises ``_ConnectionLost`` for a broken or closing connection, flagged ``after_data`` once
        the end of DATA has been written; the caller decides between retry and uncertainty.
        """
        after_data = False
        try:
            smtputf8 = not all(a.isascii() for a in (sender, *recipients))
            if smtputf8 and not conn.has_extn("smtputf8"):
                raise DeliveryRefused(
                    "The mail server does not accept addresses with non-ASCII characters "
                    f"(no SMTPUTF8): {', '.join(a for a in recipients if not a.isascii()) or sender}"
                )
            payload = _wire_bytes(message, smtputf8=smtputf8)
            options = []
            if smtputf8:
                options.append("SMTPUTF8")
            if (smtputf8 or not payload.isascii()) and conn.has_extn("8bitmime"):
                options.append("BODY=8BITMIME")
            limit = conn.esmtp_features.get("size", "")
            if conn.has_extn("size"):
                if limit.isdigit() and 0 < int(limit) < len(payload):
                    raise DeliveryRefused(
                        f"The message is {len(payload)} bytes, more than the {limit} bytes the "
                        "mail server accepts."
                    )
                options.append(f"SIZE={len(payload)}")

            code, text = conn.mail(sender, options)
            if code != 250:
                self._fail(conn, code, text, stage="mail", sender=sender)
            for rcpt in recipients:
                code, text = conn.rcpt(rcpt)
                if code not in (250, 251):
                    self._fail(conn, code, text, stage="rcpt")
            conn.putcmd("data")
            code, text = conn.getreply()
            if code != 354:
                self._fail(conn, code, text, stage="data")
            conn.send(payload)
            # From here on the server has everything it needs to accept the message.
            after_data = True
            code, text = conn.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            raise _ConnectionLost(self._clean(_describe(exc)), after_data=after_data) from None
        answer = _answer(code, text)
        if 200 <= code < 300:
            return f"{self.settings.host}: {answer}"
        if code == 421 or code < 400 or code >= 600:
            # 421: the server is closing and says so (not accepted); anything else is nonsense.
            self._disconnect(polite=False)
            if code == 421:
                raise _ConnectionLost(answer, after_data=False)
            raise DeliveryUncertain(
                f"The mail server gave an unexpected answer to the end of the message ({answer}); "
                "it may or may not have been accepted."
            )
        if code < 500:
            raise DeliveryDeferred(answer)
        raise DeliveryRefused(answer)

    def _fail(self, conn: smtplib.SMTP, code: int, text: bytes, *, stage: str, sender: str = "") -> None:
        """Turn a non-success answer before the end of DATA into the right exception."""
        answer = _answer(code, text)
        if code == 421 or code < 400 or code >= 600:
            # 421: the server is closing the connection; other codes: the dialogue is lost.
            raise _ConnectionLost(answer, after_data=False)
        if not _reset(conn):
            self._conn = None
        if code < 500:
            raise DeliveryDeferred(answer)
        if stage == "mail" and code != 552:
            # The sender is refused: every message would be, and "refused" is never retried.
            raise TransportError(
                f"The mail server {self._where} refused the sender address <{sender}> "
                f"({self._clean(answer)}); check the sender or bounce address in the configuration."
            )
        raise DeliveryRefused(answer)

    # -- connection -----------------------------------------------------------------------------

    @property
    def _where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = self._context() if s.security != "none" else None
        if self._local_hostname is None:
            self._local_hostname = _fqdn()
        conn: smtplib.SMTP | None = None
        try:
            if s.security == "tls":
                conn = smtplib.SMTP_SSL(
                    s.host, s.port or 0, self._local_hostname, timeout=s.timeout, context=context
                )
            else:
                conn = smtplib.SMTP(s.host, s.port or 0, self._local_hostname, timeout=s.timeout)
            conn.set_debuglevel(0)  # smtplib's debug output would print the AUTH exchange
            conn.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise TransportError(
                        f"The mail server {self._where} does not offer STARTTLS, and Passerelle "
                        "never sends mail or passwords unencrypted; if this port expects TLS from "
                        'the start (usually 465), set security to "tls".'
                    )
                code, text = conn.starttls(context=context)
                if code != 220:
                    raise TransportError(
                        f"The mail server {self._where} refused to start TLS "
                        f"({self._clean(_answer(code, text))})."
                    )
                conn.ehlo()
            if s.username:
                self._login(conn)
        except TransportError:
            _close(conn)
            raise
        except ssl.SSLCertVerificationError as exc:
            _close(conn)
            reason = exc.verify_message or exc.reason or str(exc)
            hint = (
                f"it was checked against the authority in {s.ca_file} only"
                if s.ca_file
                else "if it uses a private certificate authority, set ca_file to that authority's certificate"
            )
            raise TransportError(
                f"The certificate of the mail server {self._where} could not be verified "
                f"({self._clean(str(reason))}); {hint}."
            ) from None
        except ssl.SSLError as exc:
            _close(conn)
            raise TransportError(
                f"The TLS connection to the mail server {self._where} failed "
                f"({self._clean(exc.reason or str(exc))}); check the port and the security "
                'setting ("starttls" or "tls").'
            ) from None
        except smtplib.SMTPConnectError as exc:
            _close(conn)
            raise TransportError(
                f"The mail server {self._where} refused the connection "
                f"({self._clean(_answer(exc.smtp_code, exc.smtp_error))}); try again later."
            ) from None
        except TimeoutError:
            _close(conn)
            raise TransportError(
                f"The mail server {self._where} did not answer within {s.timeout:g} seconds; "
                "check the host, the port and the network."
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            _close(conn)
            raise TransportError(
                f"Could not connect to the mail server {self._where} "
                f"({self._clean(_describe(exc))}); check the host and port in the configuration "
                "and that the server is reachable."
            ) from None
        self.connections_opened += 1
        log.debug("SMTP connection %d to %s open", self.connections_opened, self._where)
        return conn

    def _context(self) -> ssl.SSLContext:
        if self._tls_context is None:
            ca_file = self.settings.ca_file
            try:
                context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
            except (OSError, ssl.SSLError) as exc:
                raise TransportError(
                    f"The CA file {ca_file} cannot be used ({_describe(exc)}); ca_file must be "
                    "the PEM certificate of the certificate authority that signed the mail "
                    "server's certificate."
                ) from None
            context.check_hostname = True
            context.verify_mode = ssl.CERT_REQUIRED
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            self._tls_context = context
        return self._tls_context

    def _login(self, conn: smtplib.SMTP) -> None:
        """AUTH PLAIN (preferred: one round trip) or LOGIN, UTF-8 credentials, over TLS only."""
        s = self.settings
        assert s.username and s.password
        if not conn.has_extn("auth"):
            raise TransportError(
                f"The mail server {self._where} does not offer authentication (AUTH) on this "
                "connection, but a username is configured; check the security setting and port."
            )
        offered = conn.esmtp_features.get("auth", "").upper().split()
        user, password = s.username.encode(), s.password.encode()
        if "PLAIN" in offered:
            token = base64.b64encode(b"\0" + user + b"\0" + password).decode("ascii")
            code, text = conn.docmd("AUTH", "PLAIN " + token)
        elif "LOGIN" in offered:
            code, text = conn.docmd("AUTH", "LOGIN " + base64.b64encode(user).decode("ascii"))
            if code == 334:
                code, text = conn.docmd(base64.b64encode(password).decode("ascii"))
        else:
            raise TransportError(
                f"The mail server {self._where} offers no authentication method Passerelle "
                f"supports (it offers {' '.join(offered) or 'none'}; Passerelle uses PLAIN or LOGIN)."
            )
        if code in (235, 503):  # 503: already authenticated
            return
        raise TransportError(
            f"The mail server {self._where} refused the login for user {s.username!r} "
            f"({self._clean(_answer(code, text))}); check the username and password in the "
            "environment variables named in the configuration."
        )

    def _disconnect(self, *, polite: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if polite:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                conn.quit()
        _close(conn)

    # -- helpers --------------------------------------------------------------------------------

    def _throttle(self) -> None:
        """Wait so that at most ``rate_per_minute`` sends start in any 60 seconds."""
        limit = self.settings.rate_per_minute
        if not limit:
            return
        now = self._clock()
        if len(self._recent) >= limit:
            wait = self._recent[0] + 60.0 - now
            if wait > 0:
                log.debug("SMTP rate limit: waiting %.1f s", wait)
                self._sleep(wait)
                now = self._clock()
        self._recent.append(now)

    def _envelope(self, message: EmailMessage) -> tuple[str, list[str]]:
        recipients: list[str] = []
        for name in ("To", "Cc", "Bcc"):
            for address in _addresses(message, name):
                if address not in recipients:
                    recipients.append(address)
        if not recipients:
            raise DeliveryRefused("The message has no recipient address in its To header.")
        senders = [self.settings.bounce_address] if self.settings.bounce_address else []
        senders = senders or _addresses(message, "From")[:1]
        if not senders:
            raise DeliveryRefused("The message has no sender: no From header and no bounce address.")
        for address in (*senders, *recipients):
            if not _plausible(address):
                raise DeliveryRefused(f"The address {address!r} is not a valid email address.")
        return _idna(senders[0]), [_idna(a) for a in recipients]

    def _clean(self, text: str) -> str:
        """``text`` without the password in any form it could travel in."""
        secret = self.settings.password
        if not secret:
            return text
        user = (self.settings.username or "").encode()
        forms = {
            secret,
            base64.b64encode(secret.encode()).decode("ascii"),
            base64.b64encode(b"\0" + user + b"\0" + secret.encode()).decode("ascii"),
        }
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, "***")
        return text


def _answer(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = " ".join(text.split())
    return f"{code} {text}".strip()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return _answer(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"unknown host: {exc.strerror or exc}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _reset(conn: smtplib.SMTP) -> bool:
    """RSET after a refused step; False (connection closed) means the next send reconnects."""
    try:
        code, _ = conn.rset()
    except (smtplib.SMTPException, OSError):
        code = 0
    if code != 250:
        _close(conn)
        return False
    return True


def _close(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(OSError):
            conn.close()


_fqdn_cache: str | None = None


def _fqdn() -> str:
    """What smtplib would send in EHLO, computed once per process (getfqdn can be slow)."""
    global _fqdn_cache
    if _fqdn_cache is None:
        fqdn = socket.getfqdn()
        if "." not in fqdn:
            try:
                fqdn = f"[{socket.gethostbyname(socket.gethostname())}]"
            except OSError:
                fqdn = "[127.0.0.1]"
        _fqdn_cache = fqdn
    return _fqdn_cache


def _addresses(message: EmailMessage, header: str) -> list[str]:
    found: list[str] = []
    for value in message.get_all(header, []):
        parsed = getattr(value, "addresses", None)
        if parsed is not None:
            found.extend(a.addr_spec for a in parsed if a.addr_spec)
        else:
            found.extend(addr for _, addr in getaddresses([str(value)]) if addr)
    return found


def _plausible(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and domain) and not any(c.isspace() or ord(c) < 32 or c in "<>" for c in address)


def _idna(address: str) -> str:
    """Encode a non-ASCII domain with IDNA so only non-ASCII local parts need SMTPUTF8."""
    local, _, domain = address.rpartition("@")
    if domain.isascii():
        return address
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return address


def _wire_bytes(message: EmailMessage, *, smtputf8: bool) -> bytes:
    """The DATA payload: CRLF line ends, Bcc removed, leading dots doubled, ending CRLF.CRLF."""
    if message.get("Bcc") is not None or message.get("Resent-Bcc") is not None:
        message = copy.deepcopy(message)
        del message["Bcc"]
        del message["Resent-Bcc"]
    policy = message.policy.clone(linesep="\r\n")
    if smtputf8 and hasattr(policy, "utf8"):
        policy = policy.clone(utf8=True)
    buffer = BytesIO()
    BytesGenerator(buffer, policy=policy).flatten(message, linesep="\r\n")
    data = _LEADING_DOT.sub(b"..", _EOL.sub(b"\r\n", buffer.getvalue()))
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"
