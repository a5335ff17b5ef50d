"""Reading what people type: dates, times, Oui/Non, seat counts, addresses."""

from datetime import date, datetime, time

import pytest

from automations.cells import (
    CellProblem,
    parse_count,
    parse_datetime,
    parse_email,
    parse_time,
    parse_yes_no,
    text,
)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (datetime(2020, 12, 10, 14, 0), datetime(2020, 12, 10, 14, 0)),
        (date(2020, 12, 10), datetime(2020, 12, 10)),
        ("10/12/2020", datetime(2020, 12, 10)),
        ("10/12/2020 14:00", datetime(2020, 12, 10, 14, 0)),
        (" 10/12/2020  14h30 ", datetime(2020, 12, 10, 14, 30)),
        ("2020-12-10", datetime(2020, 12, 10)),
        ("2020-12-10T14:00", datetime(2020, 12, 10, 14, 0)),
        ("10.12.2020", datetime(2020, 12, 10)),
        ("10/12/20", datetime(2020, 12, 10)),
        (44175, datetime(2020, 12, 10)),
        (44175.5833333333, datetime(2020, 12, 10, 14, 0)),
        ("", None),
        (None, None),
    ],
)
def test_dates_in_the_forms_sheets_and_people_produce(cell, expected):
    parsed = parse_datetime(cell)
    assert parsed == expected or abs((parsed - expected).total_seconds()) < 1


@pytest.mark.parametrize("cell", ["demain", "32/12/2020", "10/13/2020", "12-2020", -5, True])
def test_unreadable_dates_are_a_french_sentence_quoting_the_cell(cell):
    with pytest.raises(CellProblem, match="n'est pas une date"):
        parse_datetime(cell)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("14:00", time(14)),
        ("14h", time(14)),
        ("14h30", time(14, 30)),
        ("14 h 30", time(14, 30)),
        (0.5833333333, time(14)),
        (datetime(2020, 1, 1, 9, 15), time(9, 15)),
        ("", None),
    ],
)
def test_times(cell, expected):
    assert parse_time(cell) == expected


@pytest.mark.parametrize(
    "cell", ["oui", "Oui", "OUI ", "o", "x", "X", "yes", "true", "TRUE", "1", 1, True, "vrai"]
)
def test_yes_spellings(cell):
    assert parse_yes_no(cell) is True


@pytest.mark.parametrize("cell", ["non", "Non", "n", "no", "false", "0", 0, False, "faux"])
def test_no_spellings(cell):
    assert parse_yes_no(cell) is False


def test_empty_yes_no_is_unknown_and_anything_else_is_reported():
    assert parse_yes_no("") is None
    with pytest.raises(CellProblem, match="« peut-être » n'est ni Oui ni Non"):
        parse_yes_no("peut-être")


@pytest.mark.parametrize(("cell", "expected"), [("13", 13), (13, 13), (13.0, 13), (" 5 ", 5), ("", None)])
def test_seat_counts(cell, expected):
    assert parse_count(cell) == expected


@pytest.mark.parametrize("cell", ["treize", -1, "-1", 2.5, "13 places"])
def test_seat_counts_that_are_not_whole_positive_numbers(cell):
    with pytest.raises(CellProblem):
        parse_count(cell)


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("jean.dupont@", "il manque la partie après le @"),
        ("a b@c.fr", "elle contient un espace"),
        ("jean.dupont.exemple.fr", "il manque le @"),
        ("jean@exemple", "le nom de domaine après le @ est incomplet"),
        ('=HYPERLINK("http://x")', "il manque le @"),
    ],
)
def test_invalid_addresses_say_what_is_wrong_in_french(cell, reason):
    with pytest.raises(CellProblem) as problem:
        parse_email(cell)
    assert str(problem.value).startswith("Adresse email invalide : « ")
    assert reason in str(problem.value)


def test_missing_address():
    with pytest.raises(CellProblem, match="Adresse email manquante"):
        parse_email("  ")


def test_valid_addresses_are_normalised_without_dns():
    assert parse_email(" Jean.Dupont@Exemple.FR ") == "Jean.Dupont@exemple.fr"
    assert parse_email("ève@exemple.fr") == "ève@exemple.fr"


def test_long_cells_are_shortened_in_messages():
    with pytest.raises(CellProblem) as problem:
        parse_yes_no("x" * 5000)
    assert len(str(problem.value)) < 120


def test_control_characters_and_line_breaks_never_reach_a_message_or_a_header():
    from automations.cells import text

    assert text("Eve\r\nBcc: x@y.fr\x07\x00") == "Eve Bcc: x@y.fr"


@pytest.mark.parametrize(
    "cell", ["10 novembre 2026", "mardi 10 novembre 2026", "10 Novembre 2026 à 14h", "10 novembre 2026 14:00"]
)
def test_dates_written_in_words(cell):
    assert parse_datetime(cell).date() == date(2026, 11, 10)


def test_a_date_time_typed_with_an_offset_is_read_in_paris_time():
    assert parse_datetime("2026-12-10T13:00+00:00") == datetime(2026, 12, 10, 14, 0)
    assert parse_datetime("2026-07-10T12:00Z") == datetime(2026, 7, 10, 14, 0)


def test_text_takes_its_shortcut_only_where_the_full_cleaning_would_give_the_same():
    """The shortcut trusts printable text to hold no control character and no whitespace but the
    space: true of every code point. Then a few lines with spaces, tabs and no-break spaces."""
    import re
    import sys

    control, spaces = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"), re.compile(r"\s")
    printable = (chr(p) for p in range(sys.maxunicode + 1) if chr(p).isprintable())
    assert [c for c in printable if c != " " and (spaces.match(c) or control.match(c))] == []
    for value, line in [
        ("  Zoé  ", "Zoé"),
        ("Le  Goff", "Le Goff"),
        ("Le\u00a0Goff\t", "Le Goff"),
        ("D'Arcy\x07 ", "D'Arcy"),
        ("a \u2009 b", "a b"),
    ]:
        assert text(value) == line
