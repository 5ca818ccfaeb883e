"""The quality stage on real pixels: generated photos, every defect, and hostile files."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from consumers import quality
from consumers.quality import analysis, check_image, decoding, findings, tamper
from pipeline.documents import DocumentStore
from pipeline.settings import Settings
from pipeline.stage import Context
from pipeline.state import memory_state_store
from producers.photos import Defect, encode, make_case
from producers.synthetic import random_spec
from schemas.enums import QualityCode, Side
from tests.helpers import application, document_ref, run_kyb, saved_by_editor, submission
from tests.unit.consumers.quality.test_decoding import png_bomb

LIMITS = Settings().quality
SEED = 11  # neither the tuning seed (1) nor the report seed (2)


def codes_for(data: bytes, side: Side = Side.FRONT) -> set[str]:
    return {f.code.value for f in check_image(data, side, LIMITS).findings}


@pytest.mark.parametrize("defect", list(Defect))
def test_each_defect_is_reported_with_its_code(defect: Defect) -> None:
    rng = random.Random(f"{SEED}-{defect.value}")
    image = make_case(random_spec(rng), rng, defect)
    assert defect.code in codes_for(encode(image))


@pytest.mark.parametrize("kind", ["photo", "scan"])
def test_clean_captures_pass(kind: str) -> None:
    rng = random.Random(f"{SEED}-{kind}")
    for side in ("front", "back"):
        image = make_case(random_spec(rng), rng, None, side=side, kind=kind)
        report = check_image(encode(image), Side(side), LIMITS)
        assert [f.code for f in report.findings if f.blocking] == []
        assert report.measurements.values["document_found"] == 1.0
        assert report.measurements.tamper == ()  # the reviewer's, examined by the OCR stage
        assert {s.name for s in tamper.examine(encode(image), LIMITS)} == {
            "editing_software",
            "error_level",
            "double_jpeg",
        }


@pytest.mark.parametrize("long_side", [1400, 1600, 2592, 3264])
def test_the_slightest_generated_blur_is_reported_on_every_decode_path(long_side: int) -> None:
    """The pixel checks take a JPEG from the decoder at 640-1,200 px, by DCT scaling alone or
    decoded whole and resized (1,400 and 2,592 px come out at 700 and 648; 1,600 and 3,264 at
    800 and 816): a page blurred as little as the tuning's blur defect (sigma 0.0028 of the
    long side) is blurry on each path, the same page unblurred is not."""
    rng = random.Random(f"{SEED}-paths")
    image = make_case(random_spec(rng), rng, None, kind="scan")
    factor = long_side / max(image.shape[:2])
    image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(image, (0, 0), 0.0028 * long_side)
    assert "blurry" not in codes_for(encode(image, ".jpg", 90))
    assert "blurry" in codes_for(encode(blurred, ".jpg", 90))


def _decodes_counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The long side asked of every decode `check_image` makes (the real decoder still runs)."""
    asked: list[int] = []
    real = decoding.decode

    def counted(data: bytes, header: decoding.Header, target: int, **kwargs: Any) -> Any:
        asked.append(target)
        return real(data, header, target, **kwargs)

    monkeypatch.setattr(decoding, "decode", counted)
    return asked


def _scan_1400(name: str) -> np.ndarray:
    rng = random.Random(f"{SEED}-{name}")
    image = make_case(random_spec(rng), rng, None, kind="scan")
    factor = 1400 / max(image.shape[:2])
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)


def test_a_blurry_side_is_not_decoded_again_to_confirm_faint_print(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Heavy blur greys the print below the faint-print line in the reduced copy; blur is what
    the customer is told, so the larger confirming decode is skipped, and the findings are
    exactly those the confirmed contrast gives."""
    data = encode(cv2.GaussianBlur(_scan_1400("faint"), (0, 0), 10), ".jpg", 90)
    asked = _decodes_counted(monkeypatch)
    report = check_image(data, Side.FRONT, LIMITS)
    values = report.measurements.values
    assert values["text_contrast"] < LIMITS.min_text_contrast  # faint: confirmation was due
    assert asked == [LIMITS.decode_long_side]
    codes = [f.code for f in report.findings]
    assert codes == [QualityCode.BLURRY]

    header = decoding.read_header(data, LIMITS)
    reduced = decoding.decode(
        data, header, LIMITS.decode_long_side, min_long_side=LIMITS.decode_min_long_side
    )
    measured = analysis.analyse(reduced.pixels, reduced.scale)
    detailed = decoding.decode(data, header, LIMITS.detail_long_side)
    confirmed = values | analysis.detail_contrast(detailed.pixels, measured)
    assert [f.code for f in findings.judge(Side.FRONT, confirmed, LIMITS)] == codes


def test_faint_print_on_a_sharp_side_is_still_confirmed_on_a_larger_decode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    image = _scan_1400("faint")
    faded = cv2.addWeighted(image, 0.35, np.full_like(image, 255), 0.65, 0)
    asked = _decodes_counted(monkeypatch)
    report = check_image(encode(faded, ".jpg", 90), Side.FRONT, LIMITS)
    assert asked == [LIMITS.decode_long_side, LIMITS.detail_long_side]
    assert [f.code for f in report.findings] == [QualityCode.LOW_CONTRAST]


def _hostile() -> dict[str, tuple[bytes, QualityCode]]:
    good = encode(make_case(random_spec(random.Random(SEED)), random.Random(SEED), None))
    gif, cmyk, wide16, one = io.BytesIO(), io.BytesIO(), io.BytesIO(), io.BytesIO()
    frames = [Image.new("RGB", (64, 64), colour) for colour in ("red", "blue")]
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    Image.new("CMYK", (1700, 1200), (10, 200, 30, 0)).save(cmyk, "JPEG")
    Image.fromarray(np.full((1200, 1700), 40000, np.uint16)).save(wide16, "PNG")
    Image.new("RGB", (1, 1)).save(one, "PNG")
    return {
        "zero bytes": (b"", QualityCode.CORRUPT_FILE),
        "truncated jpeg": (good[: len(good) // 2], QualityCode.CORRUPT_FILE),
        "text named .jpg": (
            b"Dear customer, this is not a picture.\n" * 20,
            QualityCode.UNSUPPORTED_FORMAT,
        ),
        "30000x30000 png": (png_bomb(30_000, 30_000), QualityCode.TOO_MANY_PIXELS),
        "one pixel": (one.getvalue(), QualityCode.LOW_RESOLUTION),
        "animated gif": (gif.getvalue(), QualityCode.UNSUPPORTED_FORMAT),
        # flat colour fields: decodable, judged on their pixels: nothing printed on them
        "cmyk jpeg": (cmyk.getvalue(), QualityCode.DOCUMENT_NOT_FOUND),
        "16-bit png": (wide16.getvalue(), QualityCode.DOCUMENT_NOT_FOUND),
    }


@pytest.mark.parametrize("name", list(_hostile()))
def test_hostile_files_get_a_clear_finding_fast(name: str) -> None:
    data, expected = _hostile()[name]
    started = time.perf_counter()
    report = check_image(data, Side.BACK, LIMITS)
    assert time.perf_counter() - started < 5
    assert expected in {f.code for f in report.findings}
    assert all(f.message and f.side is Side.BACK for f in report.findings)


def test_a_decompression_bomb_never_costs_memory(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bomb(12_000, 12_000, complete=True))  # ~100 kB; 432 MB decoded
    assert bomb.stat().st_size < 1_000_000
    # VmHWM (peak RSS of this address space); ru_maxrss would include pytest's own peak.
    script = (
        "import re, sys\n"
        "from consumers.quality import check_image\n"
        "from pipeline.settings import Settings\n"
        "from schemas.enums import Side\n"
        "r = check_image(open(sys.argv[1], 'rb').read(), Side.FRONT, Settings().quality)\n"
        "peak = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
        "print(r.findings[0].code.value, peak)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(bomb)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert out[0] == "too_many_pixels"
    assert int(out[1]) < 250_000  # KiB; imports alone are ~75 MB, decoding needs 432 MB


def test_same_picture_on_both_sides_is_refused(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    image = make_case(random_spec(rng), rng, None)
    front, back = tmp_path / "front.jpg", tmp_path / "back.jpg"
    front.write_bytes(encode(image, quality=90))
    back.write_bytes(encode(image, quality=80))  # re-saved, so not byte-identical
    docs = (document_ref(front, Side.FRONT), document_ref(back, Side.BACK))
    ctx = Context(
        "quality",
        Settings(document_roots=[tmp_path]),
        memory_state_store(),
        DocumentStore([tmp_path], 50_000_000),
    )
    [checked] = quality.handle(submission(application=application(docs)), ctx)
    assert not checked.passed
    assert [f.code for f in checked.findings] == [QualityCode.SAME_PICTURE]
    assert {m.side for m in checked.measurements} == {Side.FRONT, Side.BACK}
    assert all(m.skew_deg is not None and len(m.document_quad) == 4 for m in checked.measurements)


def _area_hash(gray: np.ndarray) -> int:
    """The perceptual hash as computed before: OpenCV's area reduction straight to 32x32."""
    thumb = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(thumb)[:8, :8].ravel()
    bits = low[1:] > np.median(low[1:])
    return int(sum(1 << i for i, bit in enumerate(bits) if bit))


@pytest.mark.parametrize("seed", range(6))
def test_the_perceptual_hash_tells_the_same_picture_from_the_other_side(seed: int) -> None:
    """Whole-block thumbnails hash a document as the area reduction did (within 2 bits), the
    same picture scaled and re-saved stays within the limit, and the other side far outside."""
    rng = random.Random(f"{SEED}-hash-{seed}")
    spec = random_spec(rng)
    kind = ("photo", "scan")[seed % 2]
    front = make_case(spec, rng, None, side="front", kind=kind)
    back = make_case(spec, rng, None, side="back", kind=kind)
    smaller = cv2.resize(front, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_AREA)
    hashes = [
        check_image(encode(image, ".jpg", quality), side, LIMITS).phash
        for image, side, quality in (
            (front, Side.FRONT, 90),
            (smaller, Side.BACK, 85),
            (back, Side.BACK, 90),
        )
    ]
    assert None not in hashes
    original, same, other = (h or 0 for h in hashes)
    assert analysis.hamming(original, same) <= LIMITS.max_same_picture_distance
    assert analysis.hamming(original, other) > 3 * LIMITS.max_same_picture_distance
    document = cv2.cvtColor(front, cv2.COLOR_BGR2GRAY)
    assert analysis.hamming(analysis.phash(document), _area_hash(document)) <= 2


def test_editing_software_is_a_tamper_signal_not_a_finding() -> None:
    rng = random.Random(SEED)
    pixels = make_case(random_spec(rng), rng, None)
    edited = saved_by_editor(pixels, "Adobe Photoshop 25.0 (Windows)")
    report = check_image(edited, Side.FRONT, LIMITS)
    signal = next(s for s in tamper.examine(edited, LIMITS) if s.name == "editing_software")
    assert signal.flagged
    assert signal.value == "Adobe Photoshop 25.0 (Windows)"
    assert [f.code for f in report.findings if f.blocking] == []


def test_kyb_inspect_prints_quality_json_and_exits_2_on_unreadable_files(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    spec = random_spec(rng)
    front, back = tmp_path / "f.jpg", tmp_path / "b.jpg"
    front.write_bytes(encode(make_case(spec, rng, None, side="front")))
    back.write_bytes(encode(make_case(spec, rng, Defect.BLUR, side="back")))
    run = run_kyb("inspect", "--front", str(front), "--back", str(back), timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["event_type"] == "QualityChecked"
    assert result["passed"] is False
    assert [(f["code"], f["side"]) for f in result["findings"]] == [("blurry", "back")]
    missing = run_kyb(
        "inspect", "--front", str(tmp_path / "nope.jpg"), "--back", str(back), timeout=60
    )
    assert missing.returncode == 2
    assert "cannot read the front image" in missing.stderr
