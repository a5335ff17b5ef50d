"""Dates and names as people in France write and sort them."""

from __future__ import annotations

from datetime import datetime

from automations import french


def test_the_first_of_the_month_is_an_ordinal_and_times_are_typographic():
    assert french.day_at(datetime(2027, 7, 1, 14, 0)) == "jeudi 1er juillet 2027 à 14 h"
    assert french.day(datetime(2027, 7, 1), year=False) == "jeudi 1er juillet"
    assert french.day(datetime(2027, 7, 8)) == "jeudi 8 juillet 2027"
    assert french.day(datetime(2027, 7, 11)) == "dimanche 11 juillet 2027"
    assert french.hour(datetime(2027, 7, 1, 16, 30)) == "16 h 30"
    assert french.hour(datetime(2027, 7, 1, 9, 5)) == "9 h 05"


def test_names_sort_as_in_a_french_list_not_by_character_code():
    names = [
        "Prigent",
        "Péron",
        "Le Floc'h",
        "Lebrun",
        "Le Bihan",
        "Zoé",
        "Çağla",
        "Yılmaz",
        "Œuvray",
        "Oudin",
    ]
    assert sorted(names, key=french.sort_key) == [
        "Çağla",
        "Le Bihan",
        "Le Floc'h",
        "Lebrun",
        "Œuvray",
        "Oudin",
        "Péron",
        "Prigent",
        "Yılmaz",
        "Zoé",
    ]


def test_accents_and_case_only_break_ties_so_the_order_is_total():
    assert french.sort_key("Péron") < french.sort_key("Prigent")
    assert french.sort_key("peron") < french.sort_key("Péron")
    assert sorted(["Péron", "Peron", "peron"], key=french.sort_key) == sorted(
        ["peron", "Peron", "Péron"], key=french.sort_key
    )
    assert french.sort_key("Le  Floc'h")[0] == french.sort_key("Le Floc'h")[0]
