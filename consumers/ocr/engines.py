"""Two OCR engines behind one interface, both keeping word boxes and confidences.

- `tesserocr`: libtesseract in-process; the model stays loaded (one API per thread) and the
  GIL is released while it reads. The fast path.
- `pytesseract`: the tesseract CLI per call. Portable baseline.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from cv2.typing import MatLike
from PIL import Image

TESSDATA_CANDIDATES = (
    Path("/usr/share/tesseract-ocr/5/tessdata"),
    Path("/usr/share/tesseract-ocr/4.00/tessdata"),
    Path("/usr/share/tessdata"),
)


@dataclass(frozen=True)
class Word:
    text: str
    confidence: float  # 0..100
    box: tuple[int, int, int, int]  # left, top, width, height in the OCR'd image
    line: tuple[int, int, int]  # (block, paragraph, line): words with equal keys share a line


class OcrTimeout(Exception):
    """Reading took longer than the configured limit."""


class OcrEngine(Protocol):
    name: str

    def read(self, gray: MatLike, languages: str, timeout_s: float, psm: int = 4) -> list[Word]: ...

    def read_line(self, gray: MatLike, whitelist: str, timeout_s: float) -> tuple[str, float]:
        """One line of English text restricted to `whitelist`: (text, mean confidence)."""
        ...


def tessdata_path() -> str:
    for candidate in TESSDATA_CANDIDATES:
        if (candidate / "eng.traineddata").is_file():
            return str(candidate)
    raise FileNotFoundError("no tessdata with eng.traineddata (apt-get install tesseract-ocr-eng)")


class TesserocrEngine:
    name = "tesserocr"

    def __init__(self, tessdata: str | None = None) -> None:
        self._tessdata = tessdata or tessdata_path()
        self._local = threading.local()

    def _api(self, languages: str):  # type: ignore[no-untyped-def]
        """One loaded model per thread and language set; page mode is switched per call."""
        import tesserocr

        apis = self._local.__dict__.setdefault("apis", {})
        if languages not in apis:
            apis[languages] = tesserocr.PyTessBaseAPI(
                path=self._tessdata, lang=languages, oem=tesserocr.OEM.LSTM_ONLY
            )
        return apis[languages]

    def read_line(self, gray: MatLike, whitelist: str, timeout_s: float) -> tuple[str, float]:
        import tesserocr

        api = self._api("eng")
        api.SetPageSegMode(tesserocr.PSM.SINGLE_LINE)
        api.SetVariable("tessedit_char_whitelist", whitelist)
        try:
            api.SetImage(Image.fromarray(np.asarray(gray)))
            if not api.Recognize(timeout=int(timeout_s * 1000)):
                raise OcrTimeout(f"tesserocr gave up after {timeout_s} s")
            return (api.GetUTF8Text() or "").strip(), float(api.MeanTextConf())
        finally:
            api.SetVariable("tessedit_char_whitelist", "")
            api.Clear()

    def read(self, gray: MatLike, languages: str, timeout_s: float, psm: int = 4) -> list[Word]:
        import tesserocr

        api = self._api(languages)
        api.SetPageSegMode(psm)
        api.SetImage(Image.fromarray(np.asarray(gray)))
        if not api.Recognize(timeout=int(timeout_s * 1000)):
            api.Clear()
            raise OcrTimeout(f"tesserocr gave up after {timeout_s} s")
        words: list[Word] = []
        level = tesserocr.RIL.WORD
        iterator = api.GetIterator()
        block = paragraph = line = 0
        for item in tesserocr.iterate_level(iterator, level):
            if item.IsAtBeginningOf(tesserocr.RIL.BLOCK):
                block += 1
            if item.IsAtBeginningOf(tesserocr.RIL.PARA):
                paragraph += 1
            if item.IsAtBeginningOf(tesserocr.RIL.TEXTLINE):
                line += 1
            try:
                text = item.GetUTF8Text(level)
            except RuntimeError:  # tesserocr's way of saying "an empty element"
                continue
            box = item.BoundingBox(level)
            if not text or not text.strip() or box is None:
                continue
            x1, y1, x2, y2 = box
            words.append(
                Word(
                    text.strip(),
                    float(item.Confidence(level)),
                    (x1, y1, x2 - x1, y2 - y1),
                    (block, paragraph, line),
                )
            )
        api.Clear()
        return words


class PytesseractEngine:
    name = "pytesseract"

    def __init__(self, command: str = "tesseract") -> None:
        self._command = command

    def read_line(self, gray: MatLike, whitelist: str, timeout_s: float) -> tuple[str, float]:
        return _pytesseract_line(self._command, gray, whitelist, timeout_s)

    def read(self, gray: MatLike, languages: str, timeout_s: float, psm: int = 4) -> list[Word]:
        import pytesseract

        pytesseract.pytesseract.tesseract_cmd = self._command
        try:
            data = pytesseract.image_to_data(
                Image.fromarray(np.asarray(gray)),
                lang=languages,
                timeout=timeout_s,
                config=f"--psm {psm}",
                output_type=pytesseract.Output.DICT,
            )
        except RuntimeError as exc:  # pytesseract's timeout
            raise OcrTimeout(f"tesseract gave up after {timeout_s} s") from exc
        words = []
        for i, text in enumerate(data["text"]):
            if not text or not text.strip() or float(data["conf"][i]) < 0:
                continue
            words.append(
                Word(
                    text.strip(),
                    float(data["conf"][i]),
                    (
                        int(data["left"][i]),
                        int(data["top"][i]),
                        int(data["width"][i]),
                        int(data["height"][i]),
                    ),
                    (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i])),
                )
            )
        return words


def upright_quarter_turns(gray: MatLike, timeout_s: float) -> int:
    """How many 90° counter-clockwise turns make the text upright (tesseract's OSD)."""
    import tesserocr

    with tesserocr.PyTessBaseAPI(
        path=tessdata_path(), lang="osd", psm=tesserocr.PSM.OSD_ONLY
    ) as api:
        api.SetImage(Image.fromarray(np.asarray(gray)))
        try:
            found = api.DetectOrientationScript()
        except RuntimeError:  # no text to orient by
            return 0
    if not found:
        return 0
    degrees = int(found.get("orient_deg", 0))  # clockwise rotation the page has
    return (degrees // 90) % 4


def _pytesseract_line(
    command: str, gray: MatLike, whitelist: str, timeout_s: float
) -> tuple[str, float]:
    import pytesseract

    pytesseract.pytesseract.tesseract_cmd = command
    config = f"--psm 7 -c tessedit_char_whitelist={whitelist}"
    try:
        data = pytesseract.image_to_data(
            Image.fromarray(np.asarray(gray)),
            lang="eng",
            config=config,
            timeout=timeout_s,
            output_type=pytesseract.Output.DICT,
        )
    except RuntimeError as exc:
        raise OcrTimeout(f"tesseract gave up after {timeout_s} s") from exc
    pairs = [
        (t.strip(), float(c))
        for t, c in zip(data["text"], data["conf"], strict=True)
        if t and t.strip() and float(c) >= 0
    ]
    if not pairs:
        return "", 0.0
    return " ".join(t for t, _ in pairs), sum(c for _, c in pairs) / len(pairs)


_ENGINES: dict[str, OcrEngine] = {}
_LOCK = threading.Lock()


def engine(name: str, command: str = "tesseract") -> OcrEngine:
    """One engine per process and name (tesserocr keeps its models loaded inside)."""
    with _LOCK:
        if name not in _ENGINES:
            _ENGINES[name] = (
                TesserocrEngine() if name == "tesserocr" else PytesseractEngine(command)
            )
        return _ENGINES[name]
