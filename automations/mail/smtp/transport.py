"""The batch policy: one connection per batch, one reconnection when the server drops it, a
per-minute rate limit, and what each failure means for the send journal.

What ``SmtpTransport.send()`` promises (the outcomes are those of ``automations.mail.base``):

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

import logging
import ssl
import time
from collections import deque
from collections.abc import Callable
from email.message import EmailMessage
from types import TracebackType

from automations.config import SmtpConfig
from automations.errors import TransportError
from automations.mail.base import DeliveryDeferred, DeliveryUncertain, Letter
from automations.mail.smtp.session import ConnectionLost, Login, Session, fqdn, tls_context, where
from automations.mail.smtp.wire import outgoing

log = logging.getLogger(__name__)


class SmtpTransport:
    """SMTP delivery for one batch: ``with SmtpTransport(config, login) as transport:`` opens one
    connection, every ``send()`` reuses it, leaving the block says QUIT.

    ``config`` is the validated ``[mail.smtp]`` section, read as it is; ``login`` the credentials
    the caller read from the environment (None for a local relay). ``clock`` and ``sleep``
    (seconds) drive the rate limit so tests can use a fake clock.
    """

    idempotent = False
    """A message handed over twice is delivered twice: "pending" must be durable first."""

    def __init__(
        self,
        config: SmtpConfig,
        login: Login | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.login = login
        self._clock = clock
        self._sleep = sleep
        self._session: Session | None = None
        self._open = False
        self._broken: TransportError | None = None
        self._tls_context: ssl.SSLContext | None = None
        self._recent: deque[float] = deque(maxlen=config.rate_per_minute or 1)
        self.connections_opened = 0
        """How many connections this transport opened (1 for a batch without drops)."""

    def __repr__(self) -> str:
        user = self.login.username if self.login else None
        return f"<SmtpTransport {self.config.security} {where(self.config)} user={user!r}>"

    def __enter__(self) -> SmtpTransport:
        if self._open:
            raise RuntimeError("This SmtpTransport is already open.")
        self._broken = None
        self._session = self._connect()
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

    def delivered(self, key: str) -> None:
        """A server keeps no trace to ask: an email left "pending" stays « À vérifier »."""
        return None

    def send(self, message: Letter | EmailMessage) -> str:
        """Deliver one message (a ``Letter``, or an ``EmailMessage`` for probes and tests); return
        the server's answer (see the module docstring)."""
        if not self._open:
            raise RuntimeError("Use SmtpTransport as a context manager: `with transport: ...`.")
        if self._broken is not None:
            raise TransportError(str(self._broken))
        out = outgoing(message, self.config.bounce_address)
        self._throttle()
        for attempt in (1, 2):
            session = self._session if self._session and not self._session.closed else self._reopen()
            try:
                return session.transaction(out)
            except TransportError as exc:
                self._broken = exc
                raise
            except ConnectionLost as lost:
                self._disconnect(polite=False)
                if lost.after_data:
                    raise DeliveryUncertain(
                        "Le message a été remis au serveur de messagerie mais sa réponse n'est jamais "
                        f"arrivée ({lost.reason}) ; il l'a peut-être accepté, peut-être pas."
                    ) from None
                if attempt == 2:
                    self._broken = TransportError(
                        f"Le serveur de messagerie {where(self.config)} a de nouveau fermé la connexion "
                        f"juste après la reconnexion de Passerelle ({lost.reason}) : réessayez plus tard."
                    )
                    raise DeliveryDeferred(
                        f"Le serveur de messagerie a fermé la connexion deux fois ({lost.reason})."
                    ) from None
                log.info("SMTP connection lost (%s); reconnecting once for this message", lost.reason)
        raise AssertionError("unreachable")  # pragma: no cover

    def _reopen(self) -> Session:
        """A new connection after a drop; when it fails, this message waits and the batch stops."""
        try:
            self._session = self._connect()
        except TransportError as exc:
            self._broken = exc
            raise DeliveryDeferred(
                f"La connexion au serveur de messagerie a été perdue et n'a pas pu être rouverte : {exc}"
            ) from None
        return self._session

    def _connect(self) -> Session:
        if self.config.security != "none" and self._tls_context is None:
            self._tls_context = tls_context(self.config)
        session = Session.open(
            self.config, self.login, self._tls_context, self.config.local_hostname or fqdn()
        )
        self.connections_opened += 1
        log.debug("SMTP connection %d to %s open", self.connections_opened, where(self.config))
        return session

    def _disconnect(self, *, polite: bool) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close(polite=polite)

    def _throttle(self) -> None:
        """Wait so that at most ``rate_per_minute`` sends start in any 60 seconds."""
        limit = self.config.rate_per_minute
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
