"""Rendering email templates: every message of a run is rendered before the first one is sent.

Each kind has three files in the templates folder: ``KIND.subject.txt``, ``KIND.txt`` and
``KIND.html``. HTML is autoescaped (values come from sheets people type into); a missing variable
is an error (StrictUndefined), caught here as a ``TemplateError`` naming the file and line.

Whitespace follows one rule, the one people expect when they read a template: a line holding only
block tags (``{% if %}``, ``{% endfor %}``…) disappears entirely, and a tag inside a line of text
never touches the line breaks around it. Jinja's ``trim_blocks`` ate the newline after *every*
block tag, so « … à 16 h 30{% endif %}⏎Où : » rendered as « 16 h 30Où ». ``StandaloneTags`` does
the standalone part (as Mustache does) and the environment trims nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jinja2.ext

from automations.errors import TemplateError

PARTS = ("subject.txt", "txt", "html")

_TAG = r"(?:\{%(?:[^%]|%(?!\}))*%\}|\{#(?:[^#]|#(?!\}))*#\})"
_UNDEFINED = re.compile(r"'([^']+)' is undefined")
_STANDALONE = re.compile(rf"^[ \t]*({_TAG}(?:[ \t]*{_TAG})*)[ \t]*(\r?\n)", re.MULTILINE)


class StandaloneTags(jinja2.ext.Extension):
    """A line made only of block tags or comments renders as nothing, not even its line break.

    The line break moves into a Jinja comment instead of being deleted, so the line numbers of
    template errors stay those of the file.
    """

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return _STANDALONE.sub(lambda m: f"{m.group(1)}{{#{m.group(2)}#}}", source)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class Renderer:
    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise TemplateError(
                f"Le dossier des modèles d'email {folder} n'existe pas : corrigez « templates » dans la "
                "configuration."
            )
        self.folder = folder
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(folder),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
            keep_trailing_newline=True,
            extensions=[StandaloneTags],
            auto_reload=False,  # a run renders with the templates it started with, and no stat per email
        )

    def compile_all(self) -> None:
        """Every template parses: a syntax error stops a run before its first email, whatever the job."""
        for name in self.env.list_templates(filter_func=lambda n: not n.startswith((".", "_"))):
            try:
                self.env.get_template(name)
            except jinja2.TemplateSyntaxError as error:
                raise self._syntax(name, error) from None

    def render(self, kind: str, context: Mapping[str, Any]) -> Rendered:
        subject, text, html = (self._render(f"{kind}.{part}", context) for part in PARTS)
        return Rendered(" ".join(subject.split()), text, html)

    def _render(self, name: str, context: Mapping[str, Any]) -> str:
        try:
            return self.env.get_template(name).render(context)
        except jinja2.TemplateNotFound:
            raise TemplateError(
                f"Le modèle d'email {self.folder / name} est introuvable : remettez-le dans le dossier "
                "des modèles."
            ) from None
        except jinja2.TemplateSyntaxError as error:
            raise self._syntax(name, error) from None
        except jinja2.UndefinedError as error:
            raise TemplateError(
                f"Le modèle d'email {self.folder / name} utilise une valeur inconnue {_unknown(error)} : "
                "corrigez son nom ou retirez-la."
            ) from None

    def _syntax(self, name: str, error: jinja2.TemplateSyntaxError) -> TemplateError:
        return TemplateError(
            f"Le modèle d'email {self.folder / name} a une erreur de syntaxe à la ligne {error.lineno} "
            f"({error.message}) : corrigez-la, souvent une balise {{% … %}} ou {{{{ … }}}} mal fermée."
        )


def _unknown(error: jinja2.UndefinedError) -> str:
    """« accompagnatrice » from Jinja's "'accompagnatrice' is undefined"; its whole message otherwise."""
    match = _UNDEFINED.fullmatch(str(error))
    return f"« {match[1]} »" if match else f"({error})"
