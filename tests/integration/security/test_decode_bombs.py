"""Files built to stall the quality stage (security issue 14.3): a progressive JPEG whose scan
is repeated thousands of times decodes for minutes from 120 KB. It is refused from its markers
before decoding, and any decode that still runs too long is killed in its child process and
becomes a finding, while the worker goes on with the next submission."""

from __future__ import annotations

import io
import random
import time
from pathlib import Path

import pytest
from PIL import Image

from consumers import quality
from consumers.quality import decoding
from pipeline.documents import DocumentStore
from pipeline.sandbox import Sandbox
from pipeline.settings import QualityThresholds, Settings
from pipeline.stage import Context
from pipeline.state import memory_state_store
from producers.photos import encode, make_case
from producers.synthetic import random_spec
from schemas.enums import QualityCode, Side
from tests.helpers import application, document_ref, submission


def scan_bomb(size: int = 3000, repeats: int = 3000) -> bytes:
    """The attack: a progressive JPEG with its smallest scan repeated `repeats` times."""
    out = io.BytesIO()
    Image.new("RGB", (size, size), "white").save(out, "JPEG", progressive=True, quality=90)
    data = out.getvalue()
    starts = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xDA]
    ends = [*starts[1:], len(data) - 2]
    spans = [(end - start, start, end) for start, end in zip(starts, ends, strict=True)]
    _, start, end = min(spans)
    return data[:-2] + data[start:end] * repeats + b"\xff\xd9"


def pair(tmp_path: Path, front: bytes, back: bytes, name: str):  # type: ignore[no-untyped-def]
    paths = tmp_path / f"{name}-front.jpg", tmp_path / f"{name}-back.jpg"
    paths[0].write_bytes(front)
    paths[1].write_bytes(back)
    refs = (document_ref(paths[0], Side.FRONT), document_ref(paths[1], Side.BACK))
    return submission(account_id=f"acct-{name}", application=application(refs))


def clean_side(seed: int, side: str) -> bytes:
    rng = random.Random(seed)
    return encode(make_case(random_spec(rng), rng, None, side=side), quality=90)


def test_a_scan_bomb_is_refused_from_its_markers_before_any_decoding() -> None:
    bomb = scan_bomb()
    assert len(bomb) < 200_000
    assert decoding.jpeg_scans(bomb) > 3000
    started = time.perf_counter()
    with pytest.raises(decoding.ImageRejected) as rejected:
        decoding.read_header(bomb)
    assert time.perf_counter() - started < 1.0
    assert rejected.value.code is QualityCode.CORRUPT_FILE
    assert rejected.value.value is not None
    assert rejected.value.value > 3000
    # ordinary progressive and baseline JPEGs are not affected
    normal = io.BytesIO()
    Image.new("RGB", (800, 600), "white").save(normal, "JPEG", progressive=True)
    assert 1 < decoding.jpeg_scans(normal.getvalue()) <= 12
    assert decoding.jpeg_scans(clean_side(3, "front")) == 1


@pytest.mark.parametrize("children", [1, 2])
def test_a_decode_past_its_limit_becomes_a_finding_and_the_next_submission_is_served(
    tmp_path: Path, children: int
) -> None:
    """Even with the marker check switched off, the bomb costs one bounded child process; with
    two children the other side, checked beside it, keeps its measurements."""
    sandbox = Sandbox(memory_bytes=2 << 30, children=children)
    settings = Settings(
        document_roots=[tmp_path],
        quality=QualityThresholds(max_jpeg_scans=1_000_000, decode_timeout_s=3.0),
    )
    ctx = Context(
        "quality",
        settings,
        memory_state_store(),
        DocumentStore([tmp_path], 50_000_000),
        sandbox=sandbox,
    )
    try:
        started = time.perf_counter()
        [bombed] = quality.handle(pair(tmp_path, scan_bomb(), clean_side(5, "back"), "a"), ctx)
        assert time.perf_counter() - started < 20  # the decode alone takes ~50 s here
        assert not bombed.passed
        assert [(f.code, f.side) for f in bombed.findings] == [
            (QualityCode.CORRUPT_FILE, Side.FRONT)
        ]
        back = next(m for m in bombed.measurements if m.side is Side.BACK)
        assert back.values["sharpness"] > 0  # measured, not lost with the bombed front
        good = pair(tmp_path, clean_side(6, "front"), clean_side(6, "back"), "b")
        [served] = quality.handle(good, ctx)
        assert served.passed, [f.code for f in served.findings]
    finally:
        sandbox.close()


def deep_png(width: int, height: int) -> bytes:
    """16-bit RGBA, all zeros: 8 bytes a pixel once decoded, a few hundred KB on disk."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    packer, row = zlib.compressobj(9), b"\x00" * (width * 8 + 1)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("kind", ["png-16bit-rgba", "webp-lossless"])
def test_small_files_that_decode_to_hundreds_of_megabytes_are_refused_from_the_header(
    kind: str,
) -> None:
    import cv2
    import numpy as np

    if kind == "png-16bit-rgba":
        bomb = deep_png(7000, 7000)
    else:
        ok, encoded = cv2.imencode(
            ".webp", np.zeros((7000, 7000, 3), np.uint8), [cv2.IMWRITE_WEBP_QUALITY, 101]
        )
        assert ok
        bomb = encoded.tobytes()
    assert QualityThresholds().max_pixels > 7000 * 7000  # the pixel limit alone lets it in
    assert len(bomb) < 400_000
    # decoding the PNG grew a fresh process by 214-282 MB here (ru_maxrss); the WebP's pixels
    # are all zero, so its pages stay untouched and RSS cannot show its 343 MB of buffers
    started = time.perf_counter()
    with pytest.raises(decoding.ImageRejected) as rejected:
        decoding.read_header(bomb)
    assert time.perf_counter() - started < 1.0
    assert rejected.value.code is QualityCode.TOO_MANY_PIXELS
    assert rejected.value.value is not None
    assert rejected.value.value > QualityThresholds().max_decoded_mb


def tiff_whose_second_page_points_past_the_end() -> bytes:
    import struct

    import numpy as np

    rng = np.random.default_rng(0)
    pages = [Image.fromarray(rng.integers(0, 255, (900, 1200, 3), dtype=np.uint8)) for _ in "ab"]
    out = io.BytesIO()
    pages[0].save(out, "TIFF", save_all=True, append_images=pages[1:])
    data = bytearray(out.getvalue())
    first = struct.unpack("<I", data[4:8])[0]
    entries = struct.unpack("<H", data[first : first + 2])[0]
    link = first + 2 + 12 * entries  # where the first page says the second one starts
    data[link : link + 4] = struct.pack("<I", len(data) + 1000)
    return bytes(data)


def test_a_malformed_multi_page_tiff_is_a_finding_not_a_dead_letter(tmp_path: Path) -> None:
    """PIL raised TypeError counting its pages: the submission was dead-lettered and the
    customer stayed `submitted` without an email. Now it is `corrupt_file`, mailed as such."""
    ctx = Context(
        "quality",
        Settings(document_roots=[tmp_path]),
        memory_state_store(),
        DocumentStore([tmp_path], 50_000_000),
    )
    submitted = pair(
        tmp_path, tiff_whose_second_page_points_past_the_end(), clean_side(7, "back"), "t"
    )
    [checked] = quality.handle(submitted, ctx)
    assert not checked.passed
    assert [(f.code, f.side) for f in checked.findings] == [(QualityCode.CORRUPT_FILE, Side.FRONT)]
