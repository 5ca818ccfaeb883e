"""Where print stops being legible: OCR word recall against the letter height we measure.

Prints JSON. Each real born-digital page of the corpus's `tune` split is rendered at 300 dpi,
shrunk to 40-300 dpi (as a screen or a low-resolution scan would) and read by tesseract; the
words of its text layer are the truth. Beside each recall is the page's letter height as the
quality stage measures it (`consumers.quality.analysis.letter_height`). The `low_resolution`
check's letter-height line (`KYB_QUALITY__MIN_LETTER_HEIGHT_PX`) is read off this table: the
smallest height from which recall stays close to its 300-dpi value on every page.

    python benchmarks/legibility.py
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass

import cv2
import pypdfium2 as pdfium
import pytesseract

from consumers.quality.analysis import letter_height
from producers import corpus

FULL_DPI = 300
DPIS = (40, 50, 60, 70, 80, 90, 100, 120, 150, FULL_DPI)


def _words(text: str) -> Counter[str]:
    return Counter(word.lower() for word in re.findall(r"[A-Za-z0-9]{3,}", text))


@dataclass(frozen=True)
class Reading:
    document: str
    dpi: int
    short_side_px: int
    letter_height_px: float | None
    word_recall: float


def _measure(job: tuple[str, int]) -> Reading:
    document_id, dpi = job
    document = pdfium.PdfDocument(corpus.by_id(document_id).data)
    page = document[0]
    truth = _words(page.get_textpage().get_text_range())
    full = page.render(scale=FULL_DPI / 72, grayscale=True).to_numpy()
    gray = full if full.ndim == 2 else full[..., 0]
    factor = dpi / FULL_DPI
    shown = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    read = _words(pytesseract.image_to_string(shown, config="--psm 3"))
    recall = sum((truth & read).values()) / max(1, sum(truth.values()))
    return Reading(document_id, dpi, min(shown.shape[:2]), letter_height(shown), round(recall, 3))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--split", choices=("tune", "holdout"), default="tune")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    documents = [
        d.id for d in corpus.documents() if d.split == args.split and d.kind == "born_digital_pdf"
    ]
    jobs = [(document, dpi) for document in documents for dpi in DPIS]
    with ProcessPoolExecutor(args.workers) as pool:
        readings = list(pool.map(_measure, jobs))
    full = {r.document: r.word_recall or 1.0 for r in readings if r.dpi == FULL_DPI}
    pages = []
    worst: dict[float, float] = {}
    for reading in readings:
        relative = round(reading.word_recall / full[reading.document], 3)
        pages.append(asdict(reading) | {"recall_vs_300dpi": relative})
        if reading.letter_height_px is not None:
            height = reading.letter_height_px
            worst[height] = min(worst.get(height, relative), relative)
    print(
        json.dumps(
            {
                "benchmark": "legibility",
                "split": args.split,
                "pages": pages,
                "worst_recall_vs_300dpi_by_letter_height": {
                    str(height): worst[height] for height in sorted(worst)
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
