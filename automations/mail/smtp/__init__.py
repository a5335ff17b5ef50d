"""Hand composed emails to an SMTP server: STARTTLS, implicit TLS or a plain local relay.

``wire`` turns a message into its envelope and bytes, ``session`` is one connection and what the
server's answers mean, ``transport`` the batch policy (its docstring lists what ``send()``
promises), ``wiring`` builds them from the configuration and the environment.
"""

from automations.mail.smtp.session import Login
from automations.mail.smtp.transport import SmtpTransport
from automations.mail.smtp.wiring import probe, transport_from_config

__all__ = ["Login", "SmtpTransport", "probe", "transport_from_config"]
