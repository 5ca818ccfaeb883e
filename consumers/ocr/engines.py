"""Three OCR engines behind one interface, all keeping boxes and confidences.

- `tesserocr`: libtesseract in-process; the model stays loaded (one API per thread) and the
  GIL is released while it reads. The fast path for Latin-script certificates.
- `pytesseract`: the tesseract CLI per call. Portable baseline.
- `rapidocr`: PP-OCRv4 detection + recognition on ONNX Runtime (the models ship inside the
  `rapidocr-onnxruntime` wheel; nothing is downloaded). It reads Chinese licences far better
  than tesseract's chi_sim; its unit is the printed line, so a word's box is cut from its
  line's box by character position.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
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
    #: Whether a second, restricted read of a field's region can correct this engine (true
    #: for tesseract, whose page pass confuses J, I and 1 next to CJK text).
    rereads: bool
    #: The engine reads the page at most this large (None: as large as settings say).
    long_side: int | None
    #: Whether ruled lines must be painted out first (tesseract reads them as |, ~ or 'ee';
    #: a text detector such as RapidOCR's skips them, and painting out also erases strokes
    #: that cross a rule: "Store" read "Sto e").
    needs_rules_erased: bool

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
    rereads = True
    long_side: int | None = None
    needs_rules_erased = True

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
    rereads = True
    long_side: int | None = None
    needs_rules_erased = True

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


class RapidOcrEngine:
    name = "rapidocr"
    rereads = False
    needs_rules_erased = False

    def __init__(self, max_side: int = 960) -> None:
        from rapidocr_onnxruntime import RapidOCR

        self.long_side: int | None = max_side
        # One thread per session like the other engines (a worker scales by processes);
        # upright documents only (the page is turned upright before, by tesseract's OSD).
        self._ocr = RapidOCR(
            intra_op_num_threads=1,
            inter_op_num_threads=1,
            max_side_len=max_side,
            det_limit_side_len=min(640, max_side),
            # one line per batch: a batch pads every line to its widest, and the padding
            # cost more than batching saved (1.0 vs 1.55 s of recognition per licence)
            rec_batch_num=1,
            use_cls=False,
            print_verbose=False,
        )
        self._lock = threading.Lock()  # the pipeline object keeps per-call state

    def read(self, gray: MatLike, languages: str, timeout_s: float, psm: int = 4) -> list[Word]:
        """Every printed line, split into words at spaces. (`languages` and `psm` are
        tesseract's: one model reads Chinese and Latin script here. The sandbox bounds the
        time: ONNX Runtime cannot be interrupted.)"""
        image = cv2.cvtColor(np.asarray(gray), cv2.COLOR_GRAY2BGR)
        with self._lock:
            result, _ = self._ocr(image)
        words: list[Word] = []
        for index, (quad, text, score) in enumerate(result or ()):
            xs = [point[0] for point in quad]
            ys = [point[1] for point in quad]
            left, top = int(min(xs)), int(min(ys))
            box = (left, top, int(max(xs)) - left, int(max(ys)) - top)
            words += _split_line(str(text), float(score) * 100, box, (1, 1, index + 1))
        return words

    def read_line(self, gray: MatLike, whitelist: str, timeout_s: float) -> tuple[str, float]:
        image = cv2.cvtColor(np.asarray(gray), cv2.COLOR_GRAY2BGR)
        with self._lock:
            result, _ = self._ocr(image, use_det=False)
        if not result:
            return "", 0.0
        text, score = result[0][0], float(result[0][1])
        allowed = set(whitelist)
        return "".join(ch for ch in str(text) if ch in allowed).strip(), score * 100


def _split_line(
    text: str, confidence: float, box: tuple[int, int, int, int], line: tuple[int, int, int]
) -> list[Word]:
    """A line's words with boxes cut from the line's box in proportion to their characters."""
    left, top, width, height = box
    per_character = width / max(len(text), 1)
    words = []
    for match in re.finditer(r"\S+", text):
        start = left + int(match.start() * per_character)
        end = left + int(match.end() * per_character)
        words.append(
            Word(match.group(), confidence, (start, top, max(end - start, 1), height), line)
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
    """One engine per process and name (tesserocr and RapidOCR keep their models loaded)."""
    with _LOCK:
        if name not in _ENGINES:
            made: OcrEngine
            if name == "tesserocr":
                made = TesserocrEngine()
            elif name == "rapidocr":
                made = RapidOcrEngine()
            else:
                made = PytesseractEngine(command)
            _ENGINES[name] = made
        return _ENGINES[name]
