"""What the contract suite cannot see of MemoryStore: it shares no list with its callers, and keeps
the chart each rewrite left. Its behaviour as a store is tests/contract, on all backends."""

from __future__ import annotations

from automations.sheets.memory import MemoryStore
from automations.values import ChartSpec, RowAppend, SheetLayout

LAYOUT = SheetLayout("Personnes", ("Référence", "Nom"))


def test_grids_are_copied_in_and_out():
    seeded = [["Référence", "Nom"], ["R1", "Alix"]]
    store = MemoryStore({"Personnes": seeded, "Absente": None})
    seeded[1][1] = "changé après coup"
    read = store.read(["Personnes", "Absente"])
    assert read == {"Personnes": [["Référence", "Nom"], ["R1", "Alix"]], "Absente": None}
    read["Personnes"].append(["R2", "ajouté par l'appelant"])
    rewritten = [["Indicateur"], [17]]
    store.replace(SheetLayout("Synthèse", ("Indicateur",)), rewritten)
    rewritten[1][0] = 0
    assert store.read(["Personnes", "Synthèse"]) == {
        "Personnes": [["Référence", "Nom"], ["R1", "Alix"]],
        "Synthèse": [["Indicateur"], [17]],
    }


def test_each_rewrite_keeps_its_chart():
    store = MemoryStore()
    funnel = ChartSpec("Parcours", label_column=0, value_column=1, first_row=1, last_row=1, anchor_column=3)
    store.replace(SheetLayout("Synthèse", ()), [["Étape", "Nombre"], ["Orienté·es", 17]], funnel)
    assert store.charts == {"Synthèse": funnel}
    store.replace(SheetLayout("Synthèse", ()), [["Étape", "Nombre"]])
    assert store.charts == {"Synthèse": None}


def test_ensure_makes_a_missing_sheet_with_its_header_row_and_leaves_an_existing_one():
    store = MemoryStore({"Personnes": [["Nom"], ["Alix"]]})
    store.ensure([LAYOUT, SheetLayout("Journal", ("Date", "Détail"), reference=None)])
    store.write(
        {"Journal": SheetLayout("Journal", ("Date", "Détail"))}, [], [RowAppend("Journal", {"Date": "lundi"})]
    )
    assert store.read(["Personnes", "Journal"]) == {
        "Personnes": [["Nom"], ["Alix"]],
        "Journal": [["Date", "Détail"], ["lundi"]],
    }
