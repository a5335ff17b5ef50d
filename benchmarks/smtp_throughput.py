"""How fast Passerelle hands invitations to an SMTP server, against the two ways people usually do it.

    .venv/bin/python benchmarks/smtp_throughput.py [--messages 1000] [--rounds 3]

A local aiosmtpd server (tests/fakes/smtp_server.py) runs in its own process with STARTTLS and
AUTH, using a certificate authority generated for the run. The same realistic invitations
(multipart/alternative text + HTML with accents, and a small .ics attachment) are sent three ways:

- Passerelle: ``SmtpTransport`` (one connection for the batch, rate limit off);
- the limit: plain ``smtplib`` over one reused connection (``send_message`` in a loop);
- mail-merge style: a new connection, STARTTLS and login for every message.

Each way runs ``--rounds`` times (alternating); the best round counts. After every round the
server is asked how many messages and connections it saw, so a way that lost or duplicated
messages fails loudly instead of looking fast. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import smtplib
import ssl
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from automations.config import SmtpConfig  # noqa: E402
from automations.mail.smtp import Login, SmtpTransport  # noqa: E402
from tests.fakes.smtp_server import (  # noqa: E402
    PASSWORD,
    USERNAME,
    Certificates,
    FakeSmtpServer,
    make_certificates,
)

LOCAL_HOSTNAME = "passerelle.bench"
FIRST_NAMES = ["Zoé", "Élodie", "Maëlle", "Jérôme", "François", "Anaïs", "Noël", "Hélène", "Loïc", "Inès"]
LAST_NAMES = ["Lefèvre", "Béranger", "N'Diaye", "Müller", "Gaël-Dupré", "Château", "Nguyễn", "Ørsted"]


# -- the server process ---------------------------------------------------------------------------


def serve(certs: Certificates, pipe: Connection) -> None:
    """Run the fake server until told to stop; answer ``stats`` and ``reset`` requests."""
    with FakeSmtpServer(certs, security="starttls", parse=False) as server:
        pipe.send(server.port)
        while True:
            request = pipe.recv()
            if request == "stats":
                with server._lock:
                    pipe.send((len(server.messages), server.connections, server.logins))
            elif request == "reset":
                with server._lock:
                    server.messages.clear()
                    server.connections = server.logins = 0
                pipe.send("ok")
            else:
                pipe.send("bye")
                return


# -- the messages ---------------------------------------------------------------------------------


def invitation(n: int, start: datetime) -> EmailMessage:
    first, last = FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[n % len(LAST_NAMES)]
    msg = EmailMessage()
    msg["From"] = Address("Coopérative L'Ouvre-Boîtes", addr_spec="contact@ouvre-boites.example")
    msg["To"] = Address(f"{first} {last}", addr_spec=f"personne{n:04d}@exemple.fr")
    msg["Reply-To"] = Address("Mélanie Duchêne", addr_spec="melanie@ouvre-boites.example")
    msg["Subject"] = "Invitation : réunion d'information du jeudi 10 décembre à 14 h"
    msg["Date"] = format_datetime(start - timedelta(days=7))
    msg["Message-ID"] = f"<invitation-{n:04d}-session-42@ouvre-boites.example>"
    text = (
        f"Bonjour {first} {last},\n\n"
        "Votre conseillère France Travail, Hélène Martin, vous invite à découvrir la coopérative "
        "d'activités et d'emploi L'Ouvre-Boîtes lors d'une réunion d'information collective.\n\n"
        "Une CAE n'est pas du portage salarial : vous y testez et développez votre propre "
        "activité au sein d'une coopérative, avec un salaire et un accompagnement.\n\n"
        "Quand : jeudi 10 décembre 2020, de 14 h à 16 h\n"
        "Où : 12 rue des Coopératives, 44000 Nantes (tram 1, arrêt Commerce)\n\n"
        "Apportez votre idée de projet et vos questions. La réunion est gratuite et sans "
        "engagement. Pour répondre, cliquez sur un des liens ci-dessous ou répondez à ce message.\n\n"
        "Oui, je viens : https://forms.example/r?code=abc123&reponse=oui\n"
        "Non, je ne peux pas : https://forms.example/r?code=abc123&reponse=non\n\n"
        "À bientôt,\nMélanie Duchêne, chargée d'accueil\n"
    )
    html = "".join(f"<p>{paragraph}</p>\n" for paragraph in text.replace("\n\n", "\0").split("\0"))
    msg.set_content(text)
    msg.add_alternative(f"<!doctype html><html><body>{html}</body></html>", subtype="html")
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Passerelle//FR\r\nMETHOD:PUBLISH\r\n"
        f"BEGIN:VEVENT\r\nUID:session-42.personne{n:04d}@ouvre-boites.example\r\nSEQUENCE:0\r\n"
        "DTSTAMP:20201203T090000Z\r\nDTSTART;TZID=Europe/Paris:20201210T140000\r\n"
        "DTEND;TZID=Europe/Paris:20201210T160000\r\nSUMMARY:Réunion d'information collective\r\n"
        "LOCATION:12 rue des Coopératives\\, 44000 Nantes\r\n"
        "ORGANIZER;CN=Mélanie Duchêne:mailto:melanie@ouvre-boites.example\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    msg.add_attachment(
        ics.encode(),
        maintype="text",
        subtype="calendar",
        filename="reunion.ics",
        params={"method": "PUBLISH", "charset": "utf-8"},
    )
    return msg


# -- the three ways -------------------------------------------------------------------------------


def passerelle(messages: list[EmailMessage], port: int, certs: Certificates) -> None:
    config = SmtpConfig(
        host="127.0.0.1",
        port=port,
        security="starttls",
        username_env="BENCH_SMTP_USER",
        password_env="BENCH_SMTP_PASSWORD",
        ca_file=certs.ca_file,
        local_hostname=LOCAL_HOSTNAME,
    )
    with SmtpTransport(config, Login(USERNAME, PASSWORD)) as transport:
        for message in messages:
            transport.send(message)


def _login(conn: smtplib.SMTP) -> None:
    # smtplib.login() encodes credentials as ASCII and the benchmark password is not, so do what
    # login() does for AUTH PLAIN, in UTF-8 (RFC 4616): still a single round trip.
    token = base64.b64encode(f"\0{USERNAME}\0{PASSWORD}".encode()).decode("ascii")
    code, answer = conn.docmd("AUTH", "PLAIN " + token)
    if code != 235:
        raise RuntimeError(f"login failed: {code} {answer!r}")


def _connect(port: int, context: ssl.SSLContext) -> smtplib.SMTP:
    conn = smtplib.SMTP("127.0.0.1", port, LOCAL_HOSTNAME, timeout=60)
    conn.starttls(context=context)
    conn.ehlo()
    _login(conn)
    return conn


def reused_connection(messages: list[EmailMessage], port: int, certs: Certificates) -> None:
    context = ssl.create_default_context(cafile=str(certs.ca_file))
    conn = _connect(port, context)
    for message in messages:
        conn.send_message(message)
    conn.quit()


def connection_per_message(messages: list[EmailMessage], port: int, certs: Certificates) -> None:
    context = ssl.create_default_context(cafile=str(certs.ca_file))
    for message in messages:
        conn = _connect(port, context)
        conn.send_message(message)
        conn.quit()


# -- driver ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    start = datetime(2020, 12, 10, 14, 0)
    messages = [invitation(n, start) for n in range(args.messages)]
    size = sum(len(m.as_bytes()) for m in messages) / len(messages)

    ways: list[tuple[str, Callable[[list[EmailMessage], int, Certificates], None], bool]] = [
        ("Passerelle SmtpTransport", passerelle, True),
        ("smtplib, one reused connection (the limit)", reused_connection, True),
        ("new connection + login per message (mail merge)", connection_per_message, False),
    ]
    best: dict[str, float] = {}
    client_cpu: dict[str, float] = {}  # milliseconds of this process's CPU per message
    with tempfile.TemporaryDirectory(prefix="passerelle-bench-") as folder:
        certs = make_certificates(Path(folder))
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        server = context.Process(target=serve, args=(certs, theirs), daemon=True)
        server.start()
        port = ours.recv()
        print(
            f"{args.messages} invitations of {size / 1024:.1f} KiB on average to aiosmtpd at "
            f"127.0.0.1:{port} (STARTTLS + AUTH PLAIN, separate process), best of {args.rounds} "
            f"rounds; Python {sys.version.split()[0]}, {ssl.OPENSSL_VERSION}"
        )
        try:
            for _, way, _ in ways:  # warm-up: imports, TLS session setup, caches
                way(messages[:20], port, certs)
            for _ in range(args.rounds):
                for name, way, reuses in ways:
                    ours.send("reset")
                    ours.recv()
                    began, cpu_began = time.perf_counter(), time.process_time()
                    way(messages, port, certs)
                    elapsed = time.perf_counter() - began
                    cpu = time.process_time() - cpu_began
                    ours.send("stats")
                    received, connections, logins = ours.recv()
                    expected_connections = 1 if reuses else args.messages
                    if (received, connections, logins) != (
                        args.messages,
                        expected_connections,
                        expected_connections,
                    ):
                        raise SystemExit(
                            f"{name}: the server received {received} messages on {connections} "
                            f"connections with {logins} logins, expected {args.messages} on "
                            f"{expected_connections}"
                        )
                    best[name] = max(best.get(name, 0.0), args.messages / elapsed)
                    client_cpu[name] = min(client_cpu.get(name, cpu), cpu) * 1000 / args.messages
        finally:
            ours.send("stop")
            ours.recv()
            server.join(timeout=10)

    width = max(len(name) for name, _, _ in ways)
    for name, _, _ in ways:
        print(
            f"  {name:<{width}}  {best[name]:8.0f} messages/s  (client CPU {client_cpu[name]:.2f} ms/message)"
        )
    ours_rate, limit, merge = (best[name] for name, _, _ in ways)
    print(f"  limit / Passerelle: {limit / ours_rate:.2f}x (target: at most 1.3x)")
    print(f"  Passerelle / mail merge: {ours_rate / merge:.1f}x faster")
    return 0 if limit / ours_rate <= 1.3 else 1


if __name__ == "__main__":
    sys.exit(main())
