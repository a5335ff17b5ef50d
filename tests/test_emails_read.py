"""What people read: every email, in every variant a run can produce, reads as French sentences.

Words never run together (« 16 h 30Où », « Travail,nous », « orienté·evers »), neither in the plain
text nor in what a mail client shows of the HTML; every HTML part is French and phone-sized.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from automations import check, config, french, wiring
from automations.mail.render import Renderer

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2027, 6, 24, 10, 0)
KINDS = sorted(
    p.name.removesuffix(".subject.txt") for p in (ROOT / "templates" / "emails").glob("*.subject.txt")
)
STAFF = ("rappel_presences", "synthese_conseiller", "alerte_attente", "point_etape")
"""Emails to the cooperative's staff and to advisors: the others go to the person referred."""

# A letter, digit or closing punctuation directly followed by a capital, or punctuation directly
# followed by a letter: the marks of a line break a template lost.
RUN_TOGETHER = re.compile(r"[a-zà-ÿ0-9·)»][A-ZÀ-Ý]|[.,;:!?][A-Za-zÀ-ÿ]")
# Real words that match the pattern above.
ALLOWED = {"Activ'Créa", "reunion.ics"}
# Inclusive writing: the middle dot is followed by an ending, never by the next word.
INCLUSIVE = re.compile(r"(?<=[a-zà-ÿ])·(?!(?:e|es|ère|ères|rice|rices|euse|euses|le|les|ne|nes)\b)")
URLS = re.compile(r"(?:https?://|mailto:)\S+|\S+@\S+")

BLOCKS = {"p", "br", "li", "ul", "ol", "tr", "td", "th", "table", "div", "h1", "h2", "h3", "title", "body"}


class VisibleText(HTMLParser):
    """What a mail client shows: whitespace collapsed as a browser does, blocks on lines of their own."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.lang: str | None = None
        self.viewport: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        if tag == "meta" and values.get("name") == "viewport":
            self.viewport = values.get("content")
        if tag in ("head", "style", "script"):
            self.skip += 1
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "style", "script"):
            self.skip -= 1
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        return "\n".join(line.strip() for line in "".join(self.parts).splitlines() if line.strip())


def visible(html: str) -> VisibleText:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return parser


def faults(text: str) -> list[str]:
    words = URLS.sub(" ", text)
    for allowed in ALLOWED:
        words = words.replace(allowed, " ")
    found = [words[max(m.start() - 20, 0) : m.end() + 20] for m in RUN_TOGETHER.finditer(words)]
    found += [words[max(m.start() - 20, 0) : m.end() + 20] for m in INCLUSIVE.finditer(words)]
    return found


@pytest.fixture(scope="module")
def settings() -> config.Config:
    return config.load(ROOT / "config" / "passerelle.toml")


@pytest.fixture(scope="module")
def renderer(settings: config.Config) -> Renderer:
    return wiring.make_renderer(settings)


def session(day: int, *, fin: bool = True, lieu: str = "adresse", animateur: bool = True) -> dict[str, str]:
    starts = datetime(2027, 7, day, 14, 0)
    link = "https://visio.exemple.fr/reunion-juillet"
    return {
        "reference": f"R-{day}",
        "date": french.day(starts),
        "date_heure": french.day_at(starts),
        "debut": french.hour(starts),
        "fin": french.hour(starts.replace(hour=16, minute=30)) if fin else "",
        "lieu": "Visioconférence" if lieu == "lien" else "Maison de l'emploi",
        "adresse": {"adresse": "1 rue de la Paix, Saint-Nazaire", "lien": link, "rien": ""}[lieu],
        "lien": link if lieu == "lien" else "",
        "animateur": "Camille Roux" if animateur else "",
        "contact": "camille.roux@ouvre-boites.example",
    }


ANSWERS = {
    "oui": "https://docs.google.com/forms/d/e/X/viewform?usp=pp_url&entry.1=AbC9&entry.2=Oui",
    "non": "https://docs.google.com/forms/d/e/X/viewform?usp=pp_url&entry.1=AbC9&entry.2=Non",
    "code": "AbC9",
}
COOPERATIVES = [
    {"nom": "L'Ouvre-Boîtes", "email": "accueil@ouvre-boites.example", "telephone": "", "site": ""},
    {
        "nom": "Coopaname",
        "email": "accueil@coopaname.example",
        "telephone": "01 00 00 00 00",
        "site": "https://coopaname.example",
    },
]


def seeker_contexts() -> list[dict]:
    """Every combination a seeker's email can meet: answer links or not, end time or not, an
    address, a link or nothing, an advisor's name or not, the previous session or not."""
    contexts = []
    for answers, fin, lieu, advisor, coop, animateur in itertools.product(
        (ANSWERS, None),
        (True, False),
        ("adresse", "lien", "rien"),
        ("Sophie Le Goff", ""),
        COOPERATIVES,
        (True, False),
    ):
        contexts.append(
            {
                "personne": {"prenom": "Anaïs", "nom": "Péron", "nom_complet": "Anaïs Péron"},
                "conseiller": {"nom": advisor, "email": "sophie@francetravail.example"},
                "cooperative": coop,
                "reunion": session(8, fin=fin, lieu=lieu, animateur=animateur),
                "reponses": answers,
                "precedente": session(1, fin=not fin, lieu="adresse"),
                "accompagnateur": "Karim Benhamou" if answers else "",
                "mois": 6 if fin else 12,
                "lien_point": "https://docs.google.com/forms/d/e/X/viewform?usp=pp_url&entry.1=AbC9",
            }
        )
    return contexts


def staff_contexts() -> list[dict]:
    people = [
        {
            "nom_complet": "Anaïs Péron",
            "point": "3 mois",
            "date": "01/06/2027",
            "accompagnateur": "Karim Benhamou",
            "ligne": 2,
            "changements": ["a confirmé sa venue"],
            "depuis": "01/06/2027",
        },
        {
            "nom_complet": "Noël Prigent",
            "point": "6 mois",
            "date": "02/06/2027",
            "accompagnateur": "",
            "ligne": 5,
            "changements": ["invité·e", "a confirmé sa venue"],
            "depuis": "02/06/2027",
        },
        {
            "nom_complet": "Benoît Le Floc'h",
            "point": "12 mois",
            "date": "03/06/2027",
            "accompagnateur": "Lou Marchand",
            "ligne": 9,
            "changements": ["nouvelle étape : CAPE signé"],
            "depuis": "03/06/2027",
        },
    ]
    funnel = [{"etape": "Orienté·es", "nombre": 17}, {"etape": "Invité·es", "nombre": 13}]
    contexts = []
    for count, link, coop in itertools.product((1, 3), ("", "https://docs.google.com/x"), COOPERATIVES):
        contexts.append(
            {
                "cooperative": coop,
                "conseiller": {"nom": "Nadia Benali"},
                "reunion": session(1),
                "feuille": "Présences",
                "lignes": people[:count],
                "lien_presences": link,
                "lien_suivi": link,
                "personnes": people[:count],
                "a_recontacter": people[:count],
                "en_attente": [{**person, "depuis": "depuis le lundi 7 juin"} for person in people[:count]],
                "sans_accord": count - 1,
                "entonnoir": funnel,
                "lien_synthese": link,
                "semaine": "2027-W26",
                "depuis": "mardi 1er juin 2027",
            }
        )
    return contexts


def variants(settings: config.Config) -> list[tuple[str, dict]]:
    samples = check.sample_contexts(settings, NOW)
    cases = [(kind, context) for kind, context in samples.items()]
    for context in seeker_contexts():
        cases += [(kind, context) for kind in KINDS if kind not in STAFF]
        cases.append(("liste_attente", {**context, "reunion": None, "reponses": None}))
        cases.append(("relance_absent", {**context, "reunion": None, "reponses": None}))
        cases.append(("modification", {k: v for k, v in context.items() if k != "precedente"}))
    for context in staff_contexts():
        cases += [(kind, context) for kind in STAFF]
    return cases


def test_every_email_kind_has_sample_data_and_varied_contexts(settings):
    assert set(check.sample_contexts(settings, NOW)) == set(KINDS)
    assert {kind for kind, _ in variants(settings)} == set(KINDS)


def test_no_word_runs_into_the_next_in_any_part_of_any_email(settings, renderer):
    problems = []
    for kind, context in variants(settings):
        rendered = renderer.render(kind, context)
        for part, text in (
            ("subject", rendered.subject),
            ("text", rendered.text),
            ("html", visible(rendered.html).text()),
        ):
            problems += [f"{kind} ({part}): …{fault}…" for fault in faults(text)]
    assert sorted(set(problems)) == []


def test_the_check_catches_the_words_that_ran_together_before():
    assert faults("de 14 h à 16 h 30Où : Maison")
    assert faults("France Travail,nous avons")
    assert faults("vous a orienté·evers la réunion")
    assert not faults("Activ'Créa, L'Ouvre-Boîtes, entrepreneur·e salarié·e, fichier reunion.ics.")


def test_a_line_holding_only_tags_disappears_and_a_tag_inside_text_keeps_its_line_breaks(tmp_path):
    (tmp_path / "essai.subject.txt").write_text("Sujet\n")
    (tmp_path / "essai.txt").write_text(
        "Quand : de 14 h{% if fin %} à {{ fin }}{% endif %}\nOù : ici\n{% for x in xs %}\n  - {{ x }}\n"
        "{% endfor %}\nFin\n"
    )
    (tmp_path / "essai.html").write_text("<p>{% if a %}A,{% else %}B,{% endif %}\nnous</p>\n")
    rendered = Renderer(tmp_path).render("essai", {"fin": "16 h 30", "xs": [1, 2], "a": True})
    assert rendered.text == "Quand : de 14 h à 16 h 30\nOù : ici\n  - 1\n  - 2\nFin\n"
    assert rendered.html == "<p>A,\nnous</p>\n"


def test_template_errors_still_name_the_line_of_the_file(tmp_path):
    from automations.errors import TemplateError

    (tmp_path / "essai.subject.txt").write_text("Sujet\n")
    (tmp_path / "essai.html").write_text("<p></p>\n")
    (tmp_path / "essai.txt").write_text(
        "{% if a %}\nun\n{% endif %}\n{% for x in xs %}\n{{ x }\n{% endfor %}\n"
    )
    with pytest.raises(TemplateError, match="à la ligne 5 "):
        Renderer(tmp_path).render("essai", {"a": 1, "xs": []})


def test_every_html_part_is_french_and_sized_for_phones(settings, renderer):
    for kind, context in check.sample_contexts(settings, NOW).items():
        page = visible(renderer.render(kind, context).html)
        assert page.lang == "fr", kind
        assert page.viewport == "width=device-width, initial-scale=1", kind


def test_the_modification_shows_the_session_before_and_after(settings, renderer):
    [context] = [c for c in seeker_contexts() if c["reponses"] and c["reunion"]["fin"]][:1]
    rendered = renderer.render("modification", context)
    assert "Avant : le jeudi 1er juillet 2027, de 14 h, Maison de l'emploi" in rendered.text
    assert "Désormais : le jeudi 8 juillet 2027, de 14 h à 16 h 30" in rendered.text
    html = visible(rendered.html).text()
    assert "Avant\nle jeudi 1er juillet 2027" in html and "Désormais\nle jeudi 8 juillet 2027" in html


def test_the_absent_seeker_reads_which_session_they_were_not_seen_at(settings, renderer):
    rendered = renderer.render("relance_absent", seeker_contexts()[0])
    assert "manqué" not in rendered.subject + rendered.text + rendered.html
    assert rendered.subject.startswith("Nous ne vous avons pas vu·e le jeudi 1er juillet 2027")
    assert "Nous ne vous avons pas vu·e à la réunion d'information collective" in rendered.text


def test_subjects_name_the_cooperative_with_de(settings, renderer):
    samples = check.sample_contexts(settings, NOW)
    for kind in ("invitation", "rappel", "modification", "annulation", "liste_attente"):
        assert "union d'information de L'Ouvre-Boîtes" in renderer.render(kind, samples[kind]).subject
