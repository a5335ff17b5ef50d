"""What an advisor's weekly digest says changed for a person: plain values in, French phrases out."""

from __future__ import annotations

import pytest

from automations.jobs.news import changes

BLANK = {
    "session": "",
    "date": "",
    "attente": "",
    "reponse": "",
    "presence": "",
    "presence_le": "",
    "etape": "",
    "cape": "",
    "activite": "",
    "facture": "",
    "cesa": "",
    "sortie": "",
    "motif": "",
}


@pytest.mark.parametrize(
    ("before", "now", "said"),
    [
        ({}, {"etape": "CAPE signé", "cape": "2027-01-04"}, ["CAPE signé le 04/01"]),
        ({}, {"etape": "CAPE signé"}, ["CAPE signé"]),
        (
            {"etape": "CAPE signé", "cape": "2027-01-04"},
            {"etape": "CAPE signé", "cape": "2027-01-04", "activite": "2027-01-15", "facture": "2027-01-20"},
            ["activité démarrée le 15/01", "1re facture le 20/01"],
        ),
        (
            {"etape": "CESA signé", "cesa": "2027-02-15", "cape": "2027-01-04"},
            {
                "etape": "Sortie",
                "cesa": "2027-02-15",
                "cape": "2027-01-04",
                "sortie": "2027-03-12",
                "motif": "Emploi salarié",
            },
            ["sortie le 12/03 : emploi salarié"],
        ),
        ({}, {"etape": "Sortie", "motif": "Formation"}, ["sortie : formation"]),
        ({}, {"etape": "Diagnostic"}, ["étape : Diagnostic"]),
        (
            {"etape": "CAPE signé", "cape": "2027-01-04"},
            {"etape": "CAPE signé", "cape": "2027-01-05"},
            ["CAPE signé le 05/01"],
        ),
    ],
)
def test_each_stage_is_told_with_its_date_and_an_exit_with_its_reason(before, now, said):
    full = {**BLANK, **now}
    assert changes({**BLANK, **before} if before else {}, full, None) == said
    assert changes(full, full, None) == [], "nothing new, nothing said"


def test_a_digest_remembered_before_dates_were_told_does_not_repeat_last_weeks_news():
    old = {
        key: value
        for key, value in BLANK.items()
        if key not in ("cape", "activite", "facture", "cesa", "sortie", "motif")
    }
    old["etape"] = "CAPE signé"
    assert changes(old, {**BLANK, "etape": "CAPE signé", "cape": "2027-01-04"}, None) == []
