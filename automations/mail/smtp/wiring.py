"""From the configuration and the environment to a transport, or to a probe of the server.

The only place that reads the SMTP credentials from the environment variables ``[mail.smtp]``
names, so `run` and `check` cannot disagree about them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from automations.config import Config
from automations.errors import ConfigError
from automations.mail.smtp.session import Login, Session, fqdn, tls_context, where
from automations.mail.smtp.transport import SmtpTransport

log = logging.getLogger(__name__)


def login_from_env(config: Config, environ: Mapping[str, str] | None = None) -> Login | None:
    """None for a relay without authentication; a French ConfigError for a variable not set."""
    smtp = config.mail.smtp
    if not smtp.username_env:
        return None  # config validation guarantees password_env is empty too
    env = os.environ if environ is None else environ
    for key, name in (("username_env", smtp.username_env), ("password_env", smtp.password_env)):
        if not env.get(name):
            raise ConfigError(
                f"La variable d'environnement {name} (mail.smtp.{key} dans {config.path}) n'est pas "
                "définie ou est vide : définissez-la avant de lancer Passerelle."
            )
    return Login(env[smtp.username_env], env[smtp.password_env])


def transport_from_config(config: Config, environ: Mapping[str, str] | None = None) -> SmtpTransport:
    """The transport ``[mail.smtp]`` describes, credentials read from the variables it names."""
    return SmtpTransport(config.mail.smtp, login_from_env(config, environ))


def probe(config: Config, environ: Mapping[str, str] | None = None) -> None:
    """Open a real session (connect, EHLO, TLS, AUTH) and QUIT, sending nothing.

    Raises ``TransportError`` with the sentence a run would stop with (wrong password, untrusted
    certificate, closed port, silent server, unknown host), or ``ConfigError``.
    """
    smtp = config.mail.smtp
    context = tls_context(smtp) if smtp.security != "none" else None
    session = Session.open(smtp, login_from_env(config, environ), context, smtp.local_hostname or fqdn())
    session.close(polite=True)
    log.debug("SMTP probe of %s succeeded", where(smtp))
