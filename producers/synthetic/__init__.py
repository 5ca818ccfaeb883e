"""Synthetic business registration certificates (front + back), drawn with real TTF fonts.

Several layouts per site, several fonts and sizes, bilingual Chinese certificates with a valid
Unified Social Credit Code, and registration numbers that pass each country's check digits.
Used by `kyb demo`, the tests and the benchmarks; everything derives from a seed and nothing
here is a real company. `data` holds the tables, `specs` what a certificate says, `render`
how it is drawn.
"""

from producers.synthetic.canvas import cjk_font, font
from producers.synthetic.data import CJK_FONT, FONT_DIR, FONT_FAMILIES, LAYOUTS
from producers.synthetic.render import render_back, render_front, write_pair
from producers.synthetic.specs import (
    CertificateSpec,
    portal_form,
    random_spec,
    swap_digits,
    uscc,
    with_typo,
)

__all__ = [
    "CJK_FONT",
    "FONT_DIR",
    "FONT_FAMILIES",
    "LAYOUTS",
    "CertificateSpec",
    "cjk_font",
    "font",
    "portal_form",
    "random_spec",
    "render_back",
    "render_front",
    "swap_digits",
    "uscc",
    "with_typo",
    "write_pair",
]
