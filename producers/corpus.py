"""The real-document corpus (`corpus/` in the repository): files, hand-written fields, splits.

Real documents keep the benchmarks and tests honest: our own generator agrees with our own
checks by construction. `page()` renders a document's first page the way a printer would put it
on paper (200 dpi), so every medium in `producers.media` can be made from a real page too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from cv2.typing import MatLike

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
PRINT_DPI = 200


@dataclass(frozen=True)
class RealDocument:
    id: str
    path: Path
    split: str  # "tune" or "holdout"
    colour: bool
    kind: str  # born_digital_pdf, image_pdf, scan, bad_pdf
    expect: str | None  # the finding for the file as it is; None = accepted
    company_name: str | None
    registration_number: str | None

    @property
    def data(self) -> bytes:
        return self.path.read_bytes()


@lru_cache(maxsize=1)
def documents() -> tuple[RealDocument, ...]:
    manifest = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
    return tuple(
        RealDocument(
            id=entry["id"],
            path=CORPUS / entry["file"],
            split=entry["split"],
            colour=entry["colour"],
            kind=entry["kind"],
            expect=entry["expect"],
            company_name=entry["fields"]["company_name"],
            registration_number=entry["fields"]["registration_number"],
        )
        for entry in manifest["documents"]
    )


def by_id(document_id: str) -> RealDocument:
    return next(doc for doc in documents() if doc.id == document_id)


def page(document: RealDocument) -> MatLike:
    """The first page of a born-digital document as printed paper (BGR, 200 dpi)."""
    pdf = pdfium.PdfDocument(document.path)
    try:
        bitmap = pdf[0].render(scale=PRINT_DPI / 72)
        return np.array(bitmap.to_numpy()[:, :, :3], dtype=np.uint8, copy=True)
    finally:
        pdf.close()
