"""Per-advisor views ([advisor_views]): « Synthèse » restricted to one advisor's people, in their own
spreadsheet or workbook file.

First on plain values (the small world of test_synthese, worked out by hand there): who is in which
view, that every figure is the figure of those people only, an advisor with nobody referred. Then
on both backends through a real run: every cell of every view is read, and nothing of another
advisor, nor the name of anyone who did not consent, is in it; a dry run writes nothing; a Google
view not shared with the service account is named by the run and by `check`, and written by the
next run once shared.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from automations import check, wiring
from automations import config as config_module
from automations.cells import text
from automations.errors import ConfigError, SheetAccessError
from automations.jobs import summary
from automations.jobs.funnel import everyone, standing
from automations.journal import JournalFacts
from automations.settings import Settings
from automations.sheets.google import GoogleSheetStore
from automations.sheets.workbook import WorkbookStore
from automations.values import Grid
from tests.conftest import NOW, Project, referral, session
from tests.test_synthese import NOW as SYNTHESE_NOW
from tests.test_synthese import WAITED, world

pytestmark = pytest.mark.backends("workbook", "google")

SOPHIE = "sophie.legoff@francetravail.example"
NADIA = "nadia.benali@francetravail.example"
NOBODY = "yves.nouveau@francetravail.example"


def cells(grid: Grid) -> set[str]:
    return {text(value) for row in grid for value in row if value not in (None, "")}


def block(grid: Grid, header: str) -> list[list]:
    start = next(i for i, row in enumerate(grid) if row and row[0] == header) + 1
    end = next(
        (i for i in range(start, len(grid)) if not any(v not in (None, "") for v in grid[i])), len(grid)
    )
    return grid[start:end]


def funnel(grid: Grid) -> dict[str, int]:
    return {row[0]: row[1] for row in block(grid, "Étape")}


# -- plain values ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def views() -> dict[str, Grid]:
    # Sophie's address in capitals in the configuration: the same advisor.
    settings = Settings(advisor_views={SOPHIE: "sophie.xlsx", NADIA: "nadia.xlsx", NOBODY: "yves.xlsx"})
    plan = summary.plan(world(), JournalFacts([WAITED]), SYNTHESE_NOW, settings)
    assert [r.sheet for r in plan.elsewhere] == ["Synthèse"] * 3
    return {r.destination: r.grid for r in plan.elsewhere}


def test_each_view_is_the_same_layout_over_only_that_advisors_people(views):
    whole = world()
    population = [standing(whole, JournalFacts([WAITED]), r) for r in everyone(whole)]
    mine = [p for p in population if p.referral.reference in {"P3", "P4", "P5"}]
    expected, _, _ = summary.synthese(whole, mine, SYNTHESE_NOW)
    assert views[NADIA][1:] == expected[1:]


def test_a_view_counts_its_advisors_people_once_and_names_only_those_who_consented(views):
    # Sophie: P1, P2 (her address in capitals), P7, P8; P6 is P1 again.
    assert funnel(views[SOPHIE])["Orienté·es"] == 4
    # Nadia: P3, P5, and P4 whose address has a typo (joined by her name), counted, never named.
    assert funnel(views[NADIA])["Orienté·es"] == 3
    named = {row[0] for row in block(views[NADIA], "Référence")}
    assert named == {"P3", "P5"}
    assert not {"Petit", "Damien"} & cells(views[NADIA])
    assert not {"Martin", "Bruno"} & cells(views[SOPHIE])


def test_a_view_holds_nothing_of_another_advisor(views):
    assert not {"Leroy", "Roux", "Chloé", "Emma", "Nadia Benali", NADIA, "Traiteur"} & cells(views[SOPHIE])
    assert not {"Durand", "Blanc", "Garnier", "Sophie Le Goff", SOPHIE, "Couture"} & cells(views[NADIA])


def test_an_advisor_with_nobody_referred_gets_headers_and_zero_counts(views):
    grid = views[NOBODY]
    assert grid[0][0] == "Données du"
    assert set(funnel(grid).values()) == {0}
    assert block(grid, "Référence") == []
    assert not {"Durand", "Leroy", "P1", SOPHIE, NADIA} & cells(grid)


def test_a_view_is_rewritten_only_when_its_content_changed_or_it_moved():
    settings = Settings(advisor_views={SOPHIE: "sophie.xlsx", NADIA: "nadia.xlsx"})
    first = summary.plan(world(), JournalFacts([WAITED]), SYNTHESE_NOW, settings)
    memory = {(ns, key): value for ns, key, value in first.memory}
    memory |= {(ns, key): value for r in first.elsewhere for ns, key, value in r.remember}
    again = summary.plan(world(), JournalFacts([WAITED], memory), SYNTHESE_NOW, settings)
    assert again.replaced == [] and again.elsewhere == []
    moved = Settings(advisor_views={SOPHIE: "ailleurs.xlsx", NADIA: "nadia.xlsx"})
    later = summary.plan(world(), JournalFacts([WAITED], memory), SYNTHESE_NOW, moved)
    assert [r.destination for r in later.elsewhere] == [SOPHIE]


def test_a_view_in_passerelles_own_workbook_or_two_advisors_in_one_view_is_refused(tmp_path):
    base = 'state_dir = "state"\n[sheets]\nworkbook = "passerelle.xlsx"\n'
    for views_table in (
        f'[advisor_views]\n"{SOPHIE}" = "passerelle.xlsx"\n',
        f'[advisor_views]\n"{SOPHIE}" = "vue.xlsx"\n"{NADIA}" = "./vue.xlsx"\n',
    ):
        path = tmp_path / "passerelle.toml"
        path.write_text(base + views_table, encoding="utf-8")
        loaded = config_module.load(path)
        with pytest.raises(ConfigError, match="advisor_views"):
            wiring.view_stores(loaded, WorkbookStore(loaded.sheets.workbook))


def test_an_advisor_address_that_is_not_one_is_a_configuration_error(tmp_path):
    path = tmp_path / "passerelle.toml"
    path.write_text('[advisor_views]\n"Sophie Le Goff" = "vue.xlsx"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="advisor_views"):
        config_module.load(path)


# -- both backends, through a run --------------------------------------------------------------

REFERRALS = [
    referral(1, Nom="Durand", Prénom="Alice"),
    referral(2, Nom="Martin", Prénom="Bruno", **{"Accord de partage": "Non"}),
    referral(
        3,
        Nom="Leroy",
        Prénom="Chloé",
        **{"Conseiller·ère": "Nadia Benali", "Email conseiller·ère": "Nadia.Benali@FranceTravail.example"},
    ),
]
SESSIONS = [session("S1", 10, 12)]
PRIVATE = {
    SOPHIE: {"Leroy", "Chloé", "Nadia Benali", "Nadia.Benali@FranceTravail.example", "personne03@exemple.fr"},
    NADIA: {"Durand", "Alice", "Martin", "Bruno", "Sophie Le Goff", SOPHIE, "personne01@exemple.fr"},
    NOBODY: {"Durand", "Alice", "Martin", "Bruno", "Leroy", "Chloé", SOPHIE, "Nadia Benali"},
}


def create(project: Project) -> dict[str, str]:
    """The project with three views (one advisor has nobody); each view's place as configured."""
    if project.backend == "google":
        places = {email: project.adapter.create_spreadsheet(f"Vue {email}").id for email in PRIVATE}
    else:
        places = {email: f"vues/{email.split('@')[0]}.xlsx" for email in PRIVATE}
    # Nadia's address as the agency typed it in her rows, in another case than in the configuration.
    table = "".join(f'"{email}" = "{place}"\n' for email, place in places.items())
    project.create(REFERRALS, SESSIONS, extra_config=f"\n[advisor_views]\n{table}")
    return places


def view(project: Project, place: str) -> Grid | None:
    if project.backend == "google":
        return GoogleSheetStore(project.sheets.client, place).read(["Synthèse"])["Synthèse"]
    path = project.root / place
    return WorkbookStore(path).read(["Synthèse"])["Synthèse"] if path.exists() else None


def test_every_cell_of_every_view_holds_only_that_advisors_people(project):
    places = create(project)
    project.run("invitations", "summary")
    grids = {email: view(project, place) for email, place in places.items()}
    for email, grid in grids.items():
        assert grid is not None, email
        assert not PRIVATE[email] & cells(grid), email
    assert {"Durand", "Alice"} <= cells(grids[SOPHIE]) and "Leroy" in cells(grids[NADIA])
    assert funnel(grids[SOPHIE])["Orienté·es"] == 2 and funnel(grids[SOPHIE])["Invité·es"] == 2
    assert set(funnel(grids[NOBODY]).values()) == {0}
    # The main « Synthèse » still holds everyone.
    assert {"Durand", "Leroy"} <= cells(project.grid("Synthèse"))


def test_views_are_rewritten_only_when_their_content_changed(project):
    create(project)
    project.run("summary")
    before = project.snapshot()
    [outcome] = project.run("summary")
    assert outcome.rewritten == []
    assert project.snapshot() == before


def test_a_dry_run_shows_the_views_it_would_rewrite_and_writes_none(project):
    places = create(project)
    project.run("summary")
    config = config_module.load(project.config_path)
    journal = config.state_dir / "journal.sqlite3"
    journal_before = journal.read_bytes()
    project.set("Orientations", 0, "Nom", "Durand-Roux")
    before = project.snapshot()
    [outcome] = project.run("summary", dry_run=True)
    assert f"Synthèse ({SOPHIE})" in outcome.rewritten
    assert f"Synthèse ({NADIA})" not in outcome.rewritten  # Nadia's people did not change
    assert project.snapshot() == before and journal.read_bytes() == journal_before
    assert "Durand-Roux" not in cells(view(project, places[SOPHIE]) or [])


@pytest.mark.backends("workbook")
def test_a_workbook_view_is_created_with_its_folder(project):
    places = create(project)
    assert not (project.root / "vues").exists()
    project.run("summary")
    assert all((project.root / place).is_file() for place in places.values())


@pytest.mark.backends("google")
def test_a_google_view_not_shared_is_named_with_the_address_to_share_it_with(project):
    places = create(project)
    project.adapter.spreadsheets[places[NADIA]].accessible = False
    config = config_module.load(project.config_path)
    report = check.check(config, NOW, store=project.sheets.store(config))
    [sentence] = [line for line in report.general if NADIA in line]
    assert places[NADIA] in sentence and "partagez le classeur" in sentence
    with pytest.raises(SheetAccessError, match="partagez le classeur"):
        project.run("summary")
    # Everything else landed: « Synthèse » and the other views; Nadia's is written once shared.
    assert "Durand" in cells(project.grid("Synthèse")) and view(project, places[SOPHIE])
    project.adapter.spreadsheets[places[NADIA]].accessible = True
    [outcome] = project.run("summary")
    assert outcome.rewritten == [f"Synthèse ({NADIA})"]
    assert "Leroy" in cells(view(project, places[NADIA]) or [])


def test_check_says_nothing_of_views_that_can_be_opened(project):
    create(project)
    config = config_module.load(project.config_path)
    report = check.check(config, NOW, store=project.sheets.store(config))
    assert not [line for line in report.general if "advisor_views" in line or "vue" in line]
    assert not Path(project.root / "vues").exists()  # check writes no view
