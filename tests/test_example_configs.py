"""The example configurations load and show every setting there is, so nobody has to read the code
to learn that a setting exists."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

import pytest

from automations import config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ["passerelle.toml", "google.example.toml"]


def settings(cls: type, prefix: str = "") -> list[tuple[str, str]]:
    """(section, key) for every setting; nested dataclasses are sections of their own."""
    found = []
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if field.name == "path":
            continue
        if dataclasses.is_dataclass(hints[field.name]):
            found += settings(hints[field.name], f"{prefix}{field.name}.")
        else:
            found.append((prefix.rstrip("."), field.name))
    return found


def sections(text: str) -> dict[str, str]:
    """Each [section]'s lines, commented or not; "" for the lines before the first one."""
    parts, current = {"": []}, ""
    for line in text.splitlines():
        header = re.match(r"^#?\s*\[([\w.]+)\]", line)
        if header:
            current = header.group(1)
            parts.setdefault(current, [])
        else:
            parts.setdefault(current, []).append(line)
    return {name: "\n".join(lines) for name, lines in parts.items()}


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_example_loads(name):
    assert config.load(ROOT / "config" / name).path.name == name


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_example_shows_every_setting_of_every_section(name):
    found = sections((ROOT / "config" / name).read_text(encoding="utf-8"))
    missing = []
    for section, key in settings(config.Config):
        here = found.get(section, "")
        in_section = re.search(rf"^#?\s*{key}\s*=", here, re.MULTILINE)
        as_table = f"{section}.{key}".lstrip(".") in found or any(
            s.startswith(f"{section}.{key}.".lstrip(".")) for s in found
        )
        if not (in_section or as_table):
            missing.append(f"{section}.{key}".lstrip("."))
    assert missing == []


def test_the_google_example_turns_on_google_sheets_and_smtp():
    loaded = config.load(ROOT / "config" / "google.example.toml")
    assert (loaded.sheets.backend, loaded.mail.transport) == ("google", "smtp")
    assert loaded.schedule["digests"] == "friday at 16:00"
    assert loaded.answers.form_url and loaded.followups.suivi_link and loaded.followups.synthese_link
