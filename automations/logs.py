"""Logging for unattended use: one line per event, with its time (Europe/Paris, with the offset)
and a level, on stderr (journald, cron mail) and optionally in a file (``--log-file``).

Only the ``passerelle`` logger is configured; libraries keep theirs. The file handler reopens the
file when logrotate moves it away, so a `serve` running for months never writes into a deleted
file.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import logging.handlers
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from automations.errors import ConfigError, PasserelleError

NAME = "passerelle"
PARIS = ZoneInfo("Europe/Paris")


class OneLineFormatter(logging.Formatter):
    """``2026-03-29T09:00:00+02:00 INFO invitations: 3 email(s) sent``; a traceback or a message
    with line breaks stays on its line (breaks become " | "), so each event is one line."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, PARIS).isoformat(timespec="seconds")

    def format(self, record: logging.LogRecord) -> str:
        return " | ".join(line for line in super().format(record).splitlines() if line.strip())


def get() -> logging.Logger:
    return logging.getLogger(NAME)


def setup(
    log_file: str | Path | None = None,
    *,
    verbose: bool = False,
    stream: TextIO | None = None,
    console: bool = True,
) -> logging.Logger:
    """(Re)configure the ``passerelle`` logger; calling it again replaces what it installed."""
    logger = get()
    for handler in [h for h in logger.handlers if getattr(h, "_passerelle", False)]:
        logger.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = []
    if console:
        handlers.append(logging.StreamHandler(stream or sys.stderr))
    if log_file:
        path = Path(log_file).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handlers.append(logging.handlers.WatchedFileHandler(path, encoding="utf-8"))
        except OSError as error:
            raise ConfigError(
                f"Impossible d'écrire le fichier de log {path} ({error.strerror or error}) : "
                "choisissez un autre --log-file ou corrigez les droits de son dossier."
            ) from None
    formatter = OneLineFormatter()
    for handler in handlers:
        handler.setFormatter(formatter)
        handler._passerelle = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    return logger


class _Tee(io.TextIOBase):
    """Stdout that also logs each complete line it is given."""

    def __init__(self, out: TextIO, logger: logging.Logger) -> None:
        self.out, self.logger, self.pending = out, logger, ""

    def write(self, text: str) -> int:
        self.out.write(text)
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            if line.strip():
                self.logger.info(line.rstrip())
        return len(text)

    def flush(self) -> None:
        self.out.flush()


def logged(handler: Callable) -> Callable:
    """For a command with ``--log-file``: what it prints and the error that stops it also go to
    the file, one timestamped line each (cron keeps nothing else). Without the option, unchanged."""

    @functools.wraps(handler)
    def command(args) -> int:
        log_file = getattr(args, "log_file", None)
        if not log_file:
            return handler(args)
        logger = setup(log_file, console=False)
        logger.info("passerelle %s started", args.command)
        tee = _Tee(sys.stdout, logger)
        try:
            with contextlib.redirect_stdout(tee):
                code = handler(args)
        except PasserelleError as error:
            logger.error("passerelle %s could not run: %s", args.command, error)
            raise
        finally:
            if tee.pending.strip():
                logger.info(tee.pending.rstrip())
        logger.info("passerelle %s finished (exit %s)", args.command, code)
        return code

    return command
