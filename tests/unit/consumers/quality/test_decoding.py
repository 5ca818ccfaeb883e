from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from consumers.quality import check_image, decoding
from consumers.quality.decoding import ImageRejected, decode, read_header, sniff
from pipeline.settings import Settings
from schemas.enums import QualityCode, Side


def png_bomb(width: int, height: int, complete: bool = False) -> bytes:
    """A PNG claiming width x height; `complete` makes its (tiny) data really expand that far."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    if complete:
        packer, row = zlib.compressobj(9), b"\x00" * (width * 3 + 1)
        body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    else:
        body = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def jpeg(width: int = 400, height: int = 300, **save: object) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buffer, "JPEG", **save)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (jpeg(), "image/jpeg"),
        (png_bomb(10, 10), "image/png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"II*\x00rest", "image/tiff"),
        (b"GIF89a...", "image/gif"),
        (b"%PDF-1.7", "application/pdf"),
        (b"hello", None),
    ],
)
def test_sniff_uses_magic_bytes(data: bytes, media_type: str | None) -> None:
    assert sniff(data) == media_type


def test_decompression_bomb_is_refused_from_the_header() -> None:
    with pytest.raises(ImageRejected) as info:
        read_header(png_bomb(30_000, 30_000))
    assert info.value.code is QualityCode.TOO_MANY_PIXELS
    assert info.value.value == 900.0


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", QualityCode.CORRUPT_FILE),
        (b"just some text named .jpg", QualityCode.UNSUPPORTED_FORMAT),
        (jpeg()[:-200], QualityCode.CORRUPT_FILE),
        (b"GIF89a" + b"\x00" * 40, QualityCode.UNSUPPORTED_FORMAT),
    ],
)
def test_bad_files_are_rejected_with_a_code(data: bytes, code: QualityCode) -> None:
    with pytest.raises(ImageRejected) as info:
        read_header(data)
    assert info.value.code is code


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = jpeg(400, 300, exif=exif.tobytes())
    header = read_header(data)
    assert (header.width, header.height, header.orientation) == (300, 400, 6)
    decoded = decode(data, header, 1000)
    assert decoded.pixels.shape[:2] == (400, 300)


def test_large_jpeg_is_decoded_reduced_and_scale_is_reported() -> None:
    data = jpeg(4000, 3000, quality=80)
    header = read_header(data)
    decoded = decode(data, header, 1000)
    assert decoded.reduction == 4
    assert decoded.pixels.shape[:2] == (750, 1000)
    assert decoded.scale == pytest.approx(4.0)


def test_a_jpeg_just_over_the_target_comes_from_the_decoder_reduced_not_resized() -> None:
    """1,400 px against a target of 800: decoded whole and resized, unless the floor lets DCT
    scaling take it to 700 (what the pixel checks ask for); never below the floor, and only a
    JPEG can be scaled by its decoder."""
    data = jpeg(1400, 980, quality=85)
    header = read_header(data)
    whole = decode(data, header, 800)
    assert (whole.reduction, whole.pixels.shape[:2]) == (1, (560, 800))
    reduced = decode(data, header, 800, min_long_side=640)
    assert (reduced.reduction, reduced.pixels.shape[:2]) == (2, (490, 700))
    assert reduced.scale == pytest.approx(2.0)
    assert decode(data, header, 800, min_long_side=720).reduction == 1  # 700 < 720
    png = png_bomb(1400, 980, complete=True)
    assert decode(png, read_header(png), 800, min_long_side=640).pixels.shape[:2] == (560, 800)


def test_grey_decoding_matches_the_colour_decode_turned_grey() -> None:
    """OCR decodes straight to grey (the JPEG's luma, reduced by DCT scaling): the same pixels
    as the colour decode converted, within JPEG colour rounding, upright and at the same size."""
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (30, 40, 3), np.uint8).repeat(50, axis=0).repeat(50, axis=1)
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90, exif=exif.tobytes())
    data = buffer.getvalue()
    header = read_header(data)
    colour = decode(data, header, 700)
    grey = decode(data, header, 700, grey=True)
    assert grey.pixels.shape == colour.pixels.shape[:2] == (1000, 750)
    assert (grey.reduction, grey.scale) == (colour.reduction, colour.scale) == (2, 2.0)
    converted = cv2.cvtColor(colour.pixels, cv2.COLOR_BGR2GRAY).astype(int)
    assert np.abs(grey.pixels.astype(int) - converted).mean() < 2.0


def test_editing_software_and_jpeg_quality_are_read() -> None:
    exif = Image.Exif()
    exif[0x0131] = "Adobe Photoshop 25.0"
    header = read_header(jpeg(exif=exif.tobytes(), quality=75))
    assert header.software == "Adobe Photoshop 25.0"
    assert header.jpeg_quality == pytest.approx(75, abs=1)
    assert header.jpeg_library_tables is True


def test_sixteen_bit_png_decodes_to_eight_bit() -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.full((200, 300), 40000, np.uint16)).save(buffer, "PNG")
    data = buffer.getvalue()
    decoded = decode(data, read_header(data), 1000)
    assert decoded.pixels.dtype == np.uint8
    assert decoded.pixels.shape == (200, 300, 3)


@pytest.mark.parametrize("extension", [".png", ".webp", ".tiff", ".jpg"])
def test_the_decoded_size_estimate_covers_what_opencv_allocates(extension: str) -> None:
    import io

    import cv2
    import numpy as np
    from PIL import Image

    from consumers.quality.decoding import decoded_bytes

    pixels = np.random.default_rng(1).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    ok, encoded = cv2.imencode(extension, pixels)
    assert ok
    data = encoded.tobytes()
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    with Image.open(io.BytesIO(data)) as image:
        estimate = decoded_bytes(image, data, sniff(data) or "")
    assert estimate >= decoded.nbytes
    assert estimate <= 3 * decoded.nbytes  # not so cautious that real scans are refused


def test_the_sample_page_that_prepares_a_child_goes_through_every_pixel_check() -> None:
    """A sandbox child checks it before its first customer's picture: it only readies the
    decoder and OpenCV's colour tables if it gets past the file checks into the measurements."""
    report = check_image(decoding.sample_page(), Side.FRONT, Settings().quality)
    assert report.measurements.media_type == "image/jpeg"
    assert {"sharpness", "chroma_p997", "brightness_p50"} <= set(report.measurements.values)
    assert report.measurements.values["chroma_p997"] > 10  # the red seal was measured
