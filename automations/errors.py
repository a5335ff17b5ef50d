"""Errors Passerelle raises on purpose, each carrying one sentence a person can act on.

    PasserelleError                 anything that stops a run; ``str()`` is the message to show
    ├── ConfigError                 the configuration file is missing, malformed or inconsistent
    ├── SheetError                  a sheet cannot be used as it is (missing sheet or header, locked file)
    │   └── SheetAccessError        the backend refused or failed (permissions, quota, network)
    ├── TemplateError               an email template is missing or does not render
    ├── TransportError              mail cannot be handed over at all (authentication, TLS, connection)
    ├── StateError                  the state folder cannot be used (a file in its place, no permission)
    └── AlreadyRunningError         another Passerelle process holds the run lock

Per-row problems (an invalid address, an unreadable date) are not exceptions: they are values in
the plan, reported in "État", because one bad row must never stop the others.
"""


class PasserelleError(Exception):
    """Base class: the message is meant for the person running Passerelle."""


class ConfigError(PasserelleError):
    pass


class SheetError(PasserelleError):
    pass


class SheetAccessError(SheetError):
    pass


class TemplateError(PasserelleError):
    pass


class TransportError(PasserelleError):
    pass


class StateError(PasserelleError):
    pass


class AlreadyRunningError(PasserelleError):
    pass
