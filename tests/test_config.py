"""The configuration file: validated when loaded, every mistake one sentence naming file and key."""

from pathlib import Path

import pytest

from automations.config import load, locate
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
        ('[mail]\nsendr_address = "x@y.fr"\n', "mail.sendr_address is not a known setting"),
        (
            '[invitations]\nmin_notice_days = "deux"\n',
            "invitations.min_notice_days must be a whole number, not 'deux'",
        ),
        ('[sheets]\nbackend = "excel"\n', "sheets.backend must be one of 'workbook', 'google', not 'excel'"),
        ("[mail.smtp]\nport = true\n", "mail.smtp.port must be a whole number, not True"),
        ("cooperative = 3\n", "cooperative must be a table"),
        ("[mail\n", "is not valid TOML"),
    ],
)
def test_mistakes_name_the_file_and_the_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load(path)
    assert str(path.resolve()) in str(error.value) or str(path) in str(error.value)
    assert message in str(error.value)


def test_a_missing_file_says_how_to_give_one(tmp_path):
    with pytest.raises(
        ConfigError, match=r"No configuration file at .*: pass --config FILE, set \$PASSERELLE_CONFIG"
    ):
        load(tmp_path / "nowhere.toml")


def test_config_is_found_from_option_then_environment_then_default(monkeypatch):
    monkeypatch.setenv("PASSERELLE_CONFIG", "/env/p.toml")
    assert locate("/opt/p.toml") == Path("/opt/p.toml")
    assert locate(None) == Path("/env/p.toml")
    monkeypatch.delenv("PASSERELLE_CONFIG")
    assert locate(None) == Path("config/passerelle.toml")
