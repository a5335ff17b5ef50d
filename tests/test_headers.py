"""Headers match whatever case, accents, spaces or inclusive forms people use."""

import pytest

from automations.headers import same_header


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("conseillere", "Conseiller·ère"),
        ("CONSEILLER", "Conseiller·ère"),
        ("Conseiller.ère", "Conseiller·ère"),
        ("Conseiller(e)", "Conseiller·ère"),
        ("  Email conseillère ", "Email conseiller·ère"),
        ("Animatrice", "Animateur·rice"),
        ("Accompagnateur", "Accompagnateur·rice"),
        ("reference", "Référence"),
        ("ETAT", "État"),
        ("activ crea", "Activ'Créa"),
        ("Date d’orientation", "Date d'orientation"),
        ("E-mail", "Email"),
    ],
)
def test_spellings_of_one_header_match(typed, expected):
    assert same_header(typed, expected)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Email", "Email conseiller·ère"),
        ("Date", "Date d'orientation"),
        ("Nom", "Prénom"),
        ("Session", "Réponse"),
        ("État-civil", "État"),
        ("Nom-Prénom", "Nom"),
        ("Nom-Prénom", "Prénom"),
        ("Nom.Prénom", "Nom"),
        ("Date.début", "Date"),
    ],
)
def test_different_headers_do_not_match(a, b):
    assert not same_header(a, b)
