"""The configuration file: validated when loaded, every mistake one sentence naming file and key."""

from pathlib import Path

import pytest

from automations.config import MONTHS, load, locate
from automations.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf" / "passerelle.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["passerelle.toml", "google.example.toml"])
def test_the_shipped_configurations_load(name):
    assert load(REPO / "config" / name).path.name == name


def test_relative_paths_are_relative_to_the_config_file_not_the_working_directory(tmp_path, monkeypatch):
    path = write(tmp_path, '[sheets]\nworkbook = "../data/book.xlsx"\n')
    monkeypatch.chdir(REPO)
    config = load(path)
    assert config.sheets.workbook == tmp_path / "data" / "book.xlsx"
    assert config.state_dir == tmp_path / "conf" / "state"
    assert config.mail.outbox == tmp_path / "conf" / "outbox"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[mail]\nsendr_address = "x@y.fr"\n',
            "mail.sendr_address n'est pas un réglage connu (réglages connus ici : domain, outbox, ",
        ),
        (
            '[invitations]\nmin_notice_days = "deux"\n',
            "invitations.min_notice_days doit être un nombre entier, pas 'deux'.",
        ),
        ('[sheets]\nbackend = "excel"\n', "sheets.backend doit valoir 'workbook' ou 'google', pas 'excel'."),
        (
            '[mail.smtp]\nsecurity = "ssl"\n',
            "mail.smtp.security doit valoir 'starttls', 'tls' ou 'none', pas 'ssl'.",
        ),
        ("[mail.smtp]\nport = true\n", "mail.smtp.port doit être un nombre entier, pas True."),
        ("cooperative = 3\n", "cooperative doit être une table ([section])."),
        ("[sheets]\nworkbook = 3\n", "sheets.workbook doit être un chemin écrit entre guillemets."),
        ("[mail\n", "n'est pas un fichier TOML valide"),
    ],
)
def test_mistakes_are_one_french_sentence_naming_the_file_and_the_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load(path)
    assert str(path.resolve()) in str(error.value) or str(path) in str(error.value)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("section", "key", "value", "requirement"),
    [
        ("invitations", "min_notice_days", -1, "supérieur ou égal à 0"),
        ("followups", "reminder_days", -2, "supérieur ou égal à 0"),
        ("followups", "nudge_days", -1, "supérieur ou égal à 0"),
        ("followups", "digest_weekday", 7, "compris entre 0 et 6"),
        ("followups", "digest_weekday", -1, "compris entre 0 et 6"),
        ("followups", "digest_hour", 24, "compris entre 0 et 23"),
        ("sheets.google", "retry_budget_seconds", 0, "strictement positif"),
        ("mail.smtp", "port", 0, "compris entre 1 et 65535"),
        ("mail.smtp", "port", 65536, "compris entre 1 et 65535"),
        ("mail.smtp", "timeout_seconds", 0, "strictement positif"),
        ("mail.smtp", "timeout_seconds", -1.5, "strictement positif"),
        ("mail.smtp", "rate_per_minute", -1, "supérieur ou égal à 0"),
        ("mail.smtp", "host", "smtp .example.org", "un nom d'hôte non vide, sans espace"),
        ("mail.smtp", "host", "", "un nom d'hôte non vide, sans espace"),
        ("checkpoints", "months", [], MONTHS.requirement),
        ("checkpoints", "months", [0, 6], MONTHS.requirement),
        ("checkpoints", "months", [6, 3], MONTHS.requirement),
        ("checkpoints", "months", [3, 3], MONTHS.requirement),
        ("checkpoints", "months", [3, 121], MONTHS.requirement),
    ],
)
def test_a_value_out_of_its_bounds_is_refused_when_loading(tmp_path, section, key, value, requirement):
    written = f'"{value}"' if isinstance(value, str) else value
    path = write(tmp_path, f"[{section}]\n{key} = {written}\n")
    with pytest.raises(ConfigError) as error:
        load(path)
    assert str(error.value) == f"{path.resolve()}: {section}.{key} doit être {requirement}, pas {value!r}."


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("invitations", "min_notice_days", 0),
        ("followups", "digest_weekday", 6),
        ("followups", "digest_hour", 0),
        ("followups", "digest_hour", 23),
        ("mail.smtp", "port", 1),
        ("mail.smtp", "port", 65535),
        ("mail.smtp", "rate_per_minute", 0),
        ("mail.smtp", "timeout_seconds", 0.5),
    ],
)
def test_values_at_their_bounds_are_accepted(tmp_path, section, key, value):
    config = load(write(tmp_path, f"[{section}]\n{key} = {value}\n"))
    found = config
    for part in (*section.split("."), key):
        found = getattr(found, part)
    assert found == value


@pytest.mark.parametrize(
    ("smtp", "key", "problem"),
    [
        ('username_env = "SMTP_USER"\n', "password_env", "manque : l'authentification SMTP demande"),
        ('password_env = "SMTP_PASSWORD"\n', "username_env", "manque : l'authentification SMTP demande"),
        (
            'security = "none"\nusername_env = "U"\npassword_env = "P"\n',
            "security",
            "Passerelle n'envoie jamais de mot de passe sur une connexion non chiffrée",
        ),
    ],
)
def test_smtp_credentials_are_both_named_or_neither_and_never_sent_unencrypted(tmp_path, smtp, key, problem):
    path = write(tmp_path, f"[mail.smtp]\n{smtp}")
    with pytest.raises(ConfigError) as error:
        load(path)
    assert str(error.value).startswith(f"{path.resolve()}: mail.smtp.{key} ")
    assert problem in str(error.value)


def test_one_smtp_timeout_default_whoever_builds_the_transport(tmp_path):
    from automations.mail.smtp import transport_from_config

    config = load(write(tmp_path, '[mail]\ntransport = "smtp"\n'))
    assert transport_from_config(config, environ={}).config.timeout_seconds == 30.0


def test_schedule_overrides_are_kept_as_written_for_the_scheduler_to_check(tmp_path):
    config = load(write(tmp_path, '[schedule]\ndigests = "friday at 16:00"\nunknown = "off"\n'))
    assert config.schedule == {"digests": "friday at 16:00", "unknown": "off"}


def test_a_missing_file_says_how_to_give_one(tmp_path):
    with pytest.raises(
        ConfigError,
        match=r"Aucun fichier de configuration à .* : indiquez --config FICHIER, définissez \$PASSERELLE_",
    ):
        load(tmp_path / "nowhere.toml")


def test_config_is_found_from_option_then_environment_then_default(monkeypatch):
    monkeypatch.setenv("PASSERELLE_CONFIG", "/env/p.toml")
    assert locate("/opt/p.toml") == Path("/opt/p.toml")
    assert locate(None) == Path("/env/p.toml")
    monkeypatch.delenv("PASSERELLE_CONFIG")
    assert locate(None) == Path("config/passerelle.toml")


def test_checkpoint_months_are_a_list_of_whole_months_and_accompagnateurs_a_table_of_addresses(tmp_path):
    config = load(write(tmp_path, "[checkpoints]\nmonths = [1, 120]\n"))
    assert config.checkpoints.months == (1, 120)
    assert load(write(tmp_path, "")).checkpoints.months == (3, 6, 12)
    with pytest.raises(ConfigError, match=r"checkpoints.months doit être une liste entre crochets, pas 3\."):
        load(write(tmp_path, "[checkpoints]\nmonths = 3\n"))
    with pytest.raises(ConfigError, match=r"checkpoints.months doit être un nombre entier, pas '3'"):
        load(write(tmp_path, '[checkpoints]\nmonths = ["3"]\n'))
    named = '[checkpoints.accompagnateurs]\n"Karim Benhamou" = "karim@exemple.fr"\n'
    assert load(write(tmp_path, named)).checkpoints.accompagnateurs == {"Karim Benhamou": "karim@exemple.fr"}
    with pytest.raises(ConfigError, match=r"checkpoints\.accompagnateurs doit être une table nom = adresse"):
        load(write(tmp_path, '[checkpoints.accompagnateurs]\n"Karim" = "Karim Benhamou"\n'))
