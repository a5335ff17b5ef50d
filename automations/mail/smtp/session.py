"""One SMTP connection: open it (TLS with verified certificates, AUTH), run transactions on it,
close it; and what each answer of the server means for the message being sent.

The password is only ever written to the TLS-protected socket: it is not logged, not in
``repr()`` and scrubbed from every error message (``Login.scrub``).
"""

from __future__ import annotations

import base64
import contextlib
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from functools import cache

from automations.config import SmtpConfig
from automations.errors import TransportError
from automations.mail.base import DeliveryDeferred, DeliveryRefused, DeliveryUncertain
from automations.mail.smtp.wire import Outgoing


@dataclass(frozen=True)
class Login:
    """Credentials read from the environment variables the configuration names."""

    username: str
    password: str = field(repr=False)

    def scrub(self, text: str) -> str:
        """``text`` without the password in any form it could travel in."""
        secret = self.password.encode()
        forms = {
            self.password,
            base64.b64encode(secret).decode("ascii"),
            base64.b64encode(b"\0" + self.username.encode() + b"\0" + secret).decode("ascii"),
        }
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, "***")
        return text


class ConnectionLost(Exception):
    """The connection failed during a transaction; ``after_data``: the whole message had gone out."""

    def __init__(self, reason: str, *, after_data: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after_data = after_data


def where(config: SmtpConfig) -> str:
    return f"{config.host}:{config.server_port}"


def tls_context(config: SmtpConfig) -> ssl.SSLContext:
    """Certificates always verified: against the system's authorities, or only ``ca_file``'s."""
    ca_file = config.ca_file
    try:
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise TransportError(
            f"Le fichier d'autorité {ca_file} (mail.smtp.ca_file) est inutilisable ({describe(exc)}) : "
            "indiquez le certificat PEM de l'autorité qui a signé celui du serveur de messagerie."
        ) from None
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class Session:
    """An open, authenticated connection; ``closed`` once it can carry nothing more."""

    def __init__(self, conn: smtplib.SMTP, config: SmtpConfig, login: Login | None) -> None:
        self._conn: smtplib.SMTP | None = conn
        self.config = config
        self.login = login

    @classmethod
    def open(
        cls,
        config: SmtpConfig,
        login: Login | None,
        context: ssl.SSLContext | None,
        local_hostname: str,
    ) -> Session:
        """Connect, EHLO, STARTTLS or implicit TLS, AUTH; raises ``TransportError`` in French."""
        conn: smtplib.SMTP | None = None
        try:
            port, timeout = config.server_port, config.timeout_seconds
            if config.security == "tls":
                conn = smtplib.SMTP_SSL(config.host, port, local_hostname, timeout=timeout, context=context)
            else:
                conn = smtplib.SMTP(config.host, port, local_hostname, timeout=timeout)
            conn.set_debuglevel(0)  # smtplib's debug output would print the AUTH exchange
            conn.ehlo_or_helo_if_needed()
            if config.security == "starttls":
                _starttls(conn, config, context)
            if login is not None:
                _authenticate(conn, config, login)
        except TransportError:
            _close(conn)
            raise
        except (smtplib.SMTPException, OSError) as exc:
            _close(conn)
            raise connect_failure(exc, config, login) from None
        return cls(conn, config, login)

    @property
    def closed(self) -> bool:
        return self._conn is None

    def close(self, *, polite: bool) -> None:
        """Polite: QUIT first, as at the end of a batch; impolite after a broken dialogue."""
        conn, self._conn = self._conn, None
        if conn is not None and polite:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                conn.quit()
        _close(conn)

    def transaction(self, out: Outgoing) -> str:
        """One MAIL/RCPT/DATA exchange; returns the server's 2xx answer.

        Raises ``ConnectionLost`` for a broken or closing connection, flagged ``after_data`` once
        the end of DATA has been written (the caller decides between retry and uncertainty), or
        what the answer means for this message: ``DeliveryDeferred``, ``DeliveryRefused``,
        ``DeliveryUncertain``, or ``TransportError`` when no message of the batch could go.
        """
        conn = self._conn
        assert conn is not None, "transaction on a closed session"
        after_data = False
        try:
            options = self._options(conn, out)
            code, text = conn.mail(out.sender, options)
            if code != 250:
                self._fail(code, text, sender=out.sender)
            for rcpt in out.recipients:
                code, text = conn.rcpt(rcpt)
                if code not in (250, 251):
                    self._fail(code, text)
            conn.putcmd("data")
            code, text = conn.getreply()
            if code != 354:
                self._fail(code, text)
            conn.send(out.payload)
            # From here on the server has everything it needs to accept the message.
            after_data = True
            code, text = conn.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            raise ConnectionLost(self._scrub(describe(exc)), after_data=after_data) from None
        reply = answer(code, text)
        if 200 <= code < 300:
            return f"{self.config.host}: {reply}"
        if code == 421 or code < 400 or code >= 600:
            # 421: the server is closing and says so (not accepted); anything else is nonsense.
            self.close(polite=False)
            if code == 421:
                raise ConnectionLost(reply, after_data=False)
            raise DeliveryUncertain(
                f"Le serveur de messagerie a donné une réponse inattendue à la fin du message ({reply}) ; "
                "il l'a peut-être accepté, peut-être pas."
            )
        raise DeliveryDeferred(reply) if code < 500 else DeliveryRefused(reply)

    def _options(self, conn: smtplib.SMTP, out: Outgoing) -> list[str]:
        options = []
        if out.smtputf8:
            if not conn.has_extn("smtputf8"):
                addresses = ", ".join(a for a in out.recipients if not a.isascii()) or out.sender
                raise DeliveryRefused(
                    "Le serveur de messagerie n'accepte pas les adresses avec des caractères non ASCII "
                    f"(pas de SMTPUTF8) : {addresses}"
                )
            options.append("SMTPUTF8")
        if out.eight_bit and conn.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        if conn.has_extn("size"):
            limit = conn.esmtp_features.get("size", "")
            if limit.isdigit() and 0 < int(limit) < len(out.payload):
                raise DeliveryRefused(
                    f"Le message fait {len(out.payload)} octets, plus que les {limit} octets acceptés par "
                    "le serveur de messagerie."
                )
            options.append(f"SIZE={len(out.payload)}")
        return options

    def _fail(self, code: int, text: bytes, *, sender: str = "") -> None:
        """A non-success answer before the end of DATA: the message surely was not taken."""
        reply = answer(code, text)
        if code == 421 or code < 400 or code >= 600:
            # 421: the server is closing the connection; other codes: the dialogue is lost.
            raise ConnectionLost(reply, after_data=False)
        self._reset()
        if code < 500:
            raise DeliveryDeferred(reply)
        if sender and code != 552:
            # The sender is refused: every message would be, and "refused" is never retried.
            raise TransportError(
                f"Le serveur de messagerie {where(self.config)} refuse l'adresse d'expéditeur <{sender}> "
                f"({self._scrub(reply)}) : vérifiez mail.sender_address ou mail.smtp.bounce_address."
            )
        raise DeliveryRefused(reply)

    def _reset(self) -> None:
        """RSET after a refused step; when it fails the session closes and the next send reconnects."""
        assert self._conn is not None
        try:
            code, _ = self._conn.rset()
        except (smtplib.SMTPException, OSError):
            code = 0
        if code != 250:
            self.close(polite=False)

    def _scrub(self, text: str) -> str:
        return self.login.scrub(text) if self.login else text


def _starttls(conn: smtplib.SMTP, config: SmtpConfig, context: ssl.SSLContext | None) -> None:
    if not conn.has_extn("starttls"):
        raise TransportError(
            f"Le serveur de messagerie {where(config)} ne propose pas STARTTLS, et Passerelle n'envoie "
            "jamais d'email ni de mot de passe en clair : si ce port attend TLS dès la connexion "
            '(souvent 465), mettez security = "tls" dans [mail.smtp].'
        )
    code, text = conn.starttls(context=context)
    if code != 220:
        raise TransportError(
            f"Le serveur de messagerie {where(config)} refuse de démarrer TLS ({answer(code, text)}) : "
            "réessayez plus tard, ou vérifiez le port et le réglage security de [mail.smtp]."
        )
    conn.ehlo()


def _authenticate(conn: smtplib.SMTP, config: SmtpConfig, login: Login) -> None:
    """AUTH PLAIN (preferred: one round trip) or LOGIN, UTF-8 credentials, over TLS only."""
    if not conn.has_extn("auth"):
        raise TransportError(
            f"Le serveur de messagerie {where(config)} ne propose pas d'authentification (AUTH) sur "
            "cette connexion alors qu'un identifiant est configuré : vérifiez le port et le réglage "
            "security de [mail.smtp]."
        )
    offered = conn.esmtp_features.get("auth", "").upper().split()
    user, password = login.username.encode(), login.password.encode()
    if "PLAIN" in offered:
        token = base64.b64encode(b"\0" + user + b"\0" + password).decode("ascii")
        code, text = conn.docmd("AUTH", "PLAIN " + token)
    elif "LOGIN" in offered:
        code, text = conn.docmd("AUTH", "LOGIN " + base64.b64encode(user).decode("ascii"))
        if code == 334:
            code, text = conn.docmd(base64.b64encode(password).decode("ascii"))
    else:
        raise TransportError(
            f"Le serveur de messagerie {where(config)} ne propose aucune méthode d'authentification "
            f"que Passerelle connaisse (il propose {' '.join(offered) or 'rien'} ; Passerelle utilise "
            "PLAIN ou LOGIN) : demandez à votre hébergeur de messagerie laquelle utiliser."
        )
    if code in (235, 503):  # 503: already authenticated
        return
    raise TransportError(
        f"Le serveur de messagerie {where(config)} refuse l'identifiant {login.username!r} ou son mot "
        f"de passe ({login.scrub(answer(code, text))}) : vérifiez les variables d'environnement "
        f"{config.username_env} et {config.password_env}."
    )


def connect_failure(exc: BaseException, config: SmtpConfig, login: Login | None) -> TransportError:
    """Why a connection could not be opened, as one French sentence saying what to check."""
    scrub = login.scrub if login else str
    server = f"Le serveur de messagerie {where(config)}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = scrub(str(exc.verify_message or exc.reason or exc))
        hint = (
            f"il a été vérifié avec la seule autorité de {config.ca_file} : vérifiez que c'est bien "
            "elle qui l'a signé"
            if config.ca_file
            else "s'il vient d'une autorité de certification privée, indiquez le certificat de cette "
            "autorité dans mail.smtp.ca_file"
        )
        return TransportError(
            f"{server} présente un certificat qui n'a pas pu être vérifié ({reason}) : {hint}."
        )
    if isinstance(exc, ssl.SSLError):
        reason = scrub(exc.reason or str(exc))
        return TransportError(
            f"La connexion TLS au serveur de messagerie {where(config)} a échoué ({reason}) : "
            'vérifiez le port et le réglage security de [mail.smtp] ("starttls" ou "tls").'
        )
    if isinstance(exc, smtplib.SMTPConnectError):
        return TransportError(
            f"{server} refuse la connexion ({answer(exc.smtp_code, exc.smtp_error)}) : réessayez plus tard."
        )
    if _caused_by(exc, TimeoutError):
        return TransportError(
            f"{server} n'a pas répondu en {config.timeout_seconds:g} secondes : vérifiez mail.smtp.host et "
            "mail.smtp.port, et qu'aucun pare-feu ne bloque ce port."
        )
    if isinstance(exc, ConnectionRefusedError):
        return TransportError(
            f"Rien n'écoute sur le port {config.server_port} de {config.host} (connexion refusée) : "
            "vérifiez mail.smtp.port et que le serveur de messagerie est démarré."
        )
    if isinstance(exc, socket.gaierror):
        return TransportError(
            f"Le nom d'hôte {config.host} est inconnu ({exc.strerror or exc}) : vérifiez mail.smtp.host "
            "et la connexion de cette machine au réseau."
        )
    return TransportError(
        f"Impossible de se connecter au serveur de messagerie {where(config)} ({scrub(describe(exc))}) : "
        "vérifiez mail.smtp.host et mail.smtp.port, et que le serveur est joignable."
    )


def _caused_by(exc: BaseException | None, kind: type[BaseException]) -> bool:
    """smtplib hides a timeout while reading the greeting inside SMTPServerDisconnected."""
    while exc is not None:
        if isinstance(exc, kind):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def answer(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = " ".join(text.split())
    return f"{code} {text}".strip()


def describe(exc: BaseException) -> str:
    """A low-level failure in a few words, for logs and the sentences above (English is fine:
    it is the detail in parentheses, never the sentence itself)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return answer(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"unknown host: {exc.strerror or exc}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _close(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(OSError):
            conn.close()


@cache
def fqdn() -> str:
    """What smtplib would send in EHLO, computed once per process (getfqdn can be slow)."""
    name = socket.getfqdn()
    if "." in name:
        return name
    try:
        return f"[{socket.gethostbyname(socket.gethostname())}]"
    except OSError:
        return "[127.0.0.1]"
