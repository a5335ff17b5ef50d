"""Header matching: the same column whatever case, accents, spacing or inclusive form people use.

Advisors write "Conseiller·ère", "conseillere", "CONSEILLER.ERE" or "Conseiller(e)"; all must
find the column Passerelle calls "Conseiller·ère". Each header is turned into the set of plain
spellings it stands for (masculine, feminine, joined) and two headers match when the sets meet.
Only a feminine ending makes an inclusive form: a hyphenated or longer header is another column
("État-civil" is not "État", "Nom-Prénom" is neither "Nom" nor "Prénom"; "E-mail" is "Email").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_ENDINGS = "e|es|ere|eres|euse|euses|rice|rices|trice|trices|ice|ices|le|les|ne|nes|te|tes|se|ses"
_INCLUSIVE = re.compile(rf"(\w+)(?:[·•.∙⋅]({_ENDINGS})\b|\(({_ENDINGS})\))")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_MAX_STEM_CUT = 3


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _word_forms(stem: str, suffix: str) -> set[str]:
    """ "conseiller"+"ere" gives conseiller, conseillere, conseillerere...: every plausible form."""
    forms = {stem, stem + suffix}
    forms.update(stem[: len(stem) - cut] + suffix for cut in range(1, _MAX_STEM_CUT + 1))
    return forms


@lru_cache(maxsize=4096)
def spellings(header: str) -> frozenset[str]:
    """All plain spellings a header stands for (letters and digits only)."""
    text = _plain(str(header)).strip()
    variants = [""]
    position = 0
    for match in _INCLUSIVE.finditer(text):
        before = text[position : match.start()]
        suffix = match.group(2) or match.group(3)
        forms = _word_forms(match.group(1), suffix)
        variants = [v + before + form for v in variants for form in forms]
        position = match.end()
    variants = [v + text[position:] for v in variants]
    return frozenset(_NOT_ALNUM.sub("", v) for v in variants if _NOT_ALNUM.sub("", v))


def same_header(a: str, b: str) -> bool:
    return bool(spellings(a) & spellings(b))
