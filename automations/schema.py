"""The sheets Passerelle works with: their default names and headers, keyed for the code.

Code refers to a column by key ("email"); people see its label ("Email"), which the config may
rename. ``SheetSpec.layout()`` gives the label-only view the backends work with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from automations.values import SheetLayout

YES_NO = ("Oui", "Non")
ANSWERS = ("Oui", "Non, pas à cette date", "Plus intéressé·e")
ACTIONS = ("Réinviter", "Renvoyer", "Clôturer")
PRESENCE = ("Présent·e", "Absent·e", "Excusé·e")
STAGES = ("Candidat·e", "Diagnostic", "CAPE signé", "CESA signé", "Sortie")
TURNOVER = ("Aucun", "< 500 € / mois", "500 à 1 500 € / mois", "> 1 500 € / mois")
EXIT_REASONS = (
    "Emploi salarié",
    "Création hors coopérative",
    "Formation",
    "Raisons personnelles",
    "Sans nouvelles",
    "Autre",
)


@dataclass(frozen=True)
class SheetSpec:
    key: str
    name: str
    columns: Mapping[str, str]
    required: tuple[str, ...] = ()
    owned: tuple[str, ...] = ()
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    reference: str | None = "reference"

    def label(self, key: str) -> str:
        return self.columns[key]

    def layout(self) -> SheetLayout:
        return SheetLayout(
            name=self.name,
            headers=tuple(self.columns.values()),
            reference=self.columns[self.reference] if self.reference else None,
            required=tuple(self.columns[k] for k in self.required),
            owned=tuple(self.columns[k] for k in self.owned),
            choices={self.columns[k]: v for k, v in self.choices.items()},
        )

    def renamed(self, name: str | None, labels: Mapping[str, str]) -> SheetSpec:
        return replace(self, name=name or self.name, columns={**self.columns, **labels})


ORIENTATIONS = SheetSpec(
    key="orientations",
    name="Orientations",
    columns={
        "reference": "Référence",
        "nom": "Nom",
        "prenom": "Prénom",
        "email": "Email",
        "telephone": "Téléphone",
        "conseiller": "Conseiller·ère",
        "email_conseiller": "Email conseiller·ère",
        "projet": "Projet",
        "activ_crea": "Activ'Créa",
        "accord": "Accord de partage",
        "date_orientation": "Date d'orientation",
        "remarques": "Remarques",
        "action": "Action",
        "session": "Session",
        "invitation": "Invitation envoyée le",
        "rappel": "Rappel envoyé le",
        "reponse": "Réponse",
        "relance": "Relance envoyée le",
        "etat": "État",
    },
    required=("nom", "prenom", "email"),
    owned=("reference", "session", "invitation", "rappel", "reponse", "relance", "etat"),
    choices={"activ_crea": YES_NO, "accord": YES_NO, "reponse": ANSWERS, "action": ACTIONS},
)

REUNIONS = SheetSpec(
    key="reunions",
    name="Réunions",
    columns={
        "reference": "Référence",
        "date": "Date",
        "debut": "Heure de début",
        "fin": "Heure de fin",
        "lieu": "Lieu",
        "adresse": "Adresse ou lien",
        "places": "Places",
        "animateur": "Animateur·rice",
        "email_contact": "Email contact",
        "annulee": "Annulée",
    },
    required=("date", "debut", "places"),
    owned=("reference",),
    choices={"annulee": YES_NO},
)

PRESENCES = SheetSpec(
    key="presences",
    name="Présences",
    columns={
        "reference": "Référence",
        "nom": "Nom",
        "prenom": "Prénom",
        "session": "Session",
        "date": "Date",
        "presence": "Présence",
        "etat": "État",
    },
    owned=("reference", "nom", "prenom", "session", "date", "etat"),
    choices={"presence": PRESENCE},
)

SUIVI = SheetSpec(
    key="suivi",
    name="Suivi",
    columns={
        "reference": "Référence",
        "nom": "Nom",
        "prenom": "Prénom",
        "conseiller": "Conseiller·ère",
        "session": "Première réunion",
        "etape": "Étape",
        "accompagnateur": "Accompagnateur·rice",
        "date_cape": "Date CAPE",
        "fin_cape": "Fin de CAPE prévue",
        "date_cesa": "Date CESA",
        "activite": "Activité démarrée le",
        "facture": "1re facture le",
        "chiffre": "Chiffre d'affaires",
        "date_sortie": "Date de sortie",
        "motif_sortie": "Motif de sortie",
        "commentaire": "Commentaire",
        "maj": "Mis à jour le",
        "prochain_point": "Prochain point",
        "a_corriger": "À corriger",
    },
    owned=("reference", "nom", "prenom", "conseiller", "session", "maj", "prochain_point", "a_corriger"),
    choices={"etape": STAGES, "chiffre": TURNOVER, "motif_sortie": EXIT_REASONS},
)
STAFF_COLUMNS = tuple(key for key in SUIVI.columns if key not in SUIVI.owned)
"""What the cooperative's staff fill in « Suivi »: a change there is stamped « Mis à jour le »."""

REPONSES = SheetSpec(
    key="reponses",
    name="Réponses",
    columns={
        "horodateur": "Horodateur",
        "code": "Code",
        "reponse": "Réponse",
        "comment": "Comment ça se passe",
        "demarree": "Activité démarrée",
    },
    required=("code", "reponse"),
    reference=None,
)
"""The form's responses; the last two questions are the checkpoints' (optional columns)."""

HISTORIQUE = SheetSpec(
    key="historique",
    name="Historique",
    columns={
        "date": "Date",
        "reference": "Référence",
        "colonne": "Colonne",
        "avant": "Avant",
        "apres": "Après",
    },
    owned=("date", "reference", "colonne", "avant", "apres"),
    reference=None,
)
"""The dated journey, appended only: one row per change seen in a staff column of « Présences » or
« Suivi » and per checkpoint answer. Rows are never located (many share a Référence)."""

SYNTHESE = SheetSpec(key="synthese", name="Synthèse", columns={"maj": "Mis à jour le"}, reference=None)

JOURNAL = SheetSpec(
    key="journal",
    name="Journal",
    columns={
        "date": "Date",
        "jobs": "Tâches",
        "emails": "Emails envoyés",
        "problemes": "Problèmes",
        "detail": "Détail",
    },
    reference=None,
)

SPECS: dict[str, SheetSpec] = {
    spec.key: spec
    for spec in (ORIENTATIONS, REUNIONS, PRESENCES, SUIVI, REPONSES, HISTORIQUE, SYNTHESE, JOURNAL)
}
PEOPLE_FILL = ("orientations", "reunions")
"""Sheets people fill: a missing one is an error, never silently created."""
