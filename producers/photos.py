"""Synthetic photos and scans of certificates, clean or with one labelled defect.

`capture()` photographs a rendered certificate the way customers do (perspective, background,
uneven light, sensor noise, JPEG quality) or scans it; `degrade()` applies exactly one defect
whose label is the quality finding code a correct checker must raise. Used by the calibration
report, the benchmarks, the demo and the tests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np
from cv2.typing import MatLike
from PIL import Image

from producers.synthetic import CertificateSpec, render_back, render_front

Array = MatLike  # BGR, uint8


class Defect(StrEnum):
    """Degradations; each value is the finding code the quality stage should report."""

    BLUR = "blurry"
    MOTION_BLUR = "blurry_motion"
    DARK = "too_dark"
    OVEREXPOSED = "overexposed"
    LOW_CONTRAST = "low_contrast"
    GLARE = "glare"
    GRAYSCALE = "not_colour"
    CROPPED = "cropped"
    LOW_RESOLUTION = "low_resolution"
    ROTATED = "skewed"

    @property
    def code(self) -> str:
        return "blurry" if self is Defect.MOTION_BLUR else self.value


@dataclass(frozen=True)
class Shot:
    """How one side was captured."""

    kind: str  # "photo" or "scan"
    frame: tuple[int, int]  # width, height of the photo (scans: of the page)
    coverage: float = 0.55  # document area / frame area (photos)
    angle: float = 0.0  # in-plane rotation, degrees
    perspective: float = 0.03  # corner jitter, fraction of the document size
    gain: float = 0.92  # overall light level
    noise: float = 2.0  # sensor noise sigma
    quality: int = 90  # JPEG quality
    shift: tuple[float, float] = (0.0, 0.0)  # document centre offset, fraction of the frame


FRAMES = ((2592, 1944), (3264, 2448), (4000, 3000))  # 5, 8 and 12 MP phone photos


def random_shot(rng: random.Random, kind: str | None = None) -> Shot:
    kind = kind or ("scan" if rng.random() < 0.3 else "photo")
    if kind == "scan":
        width = rng.choice((1700, 2000, 2480))
        return Shot(
            "scan",
            (width, int(width * 0.72)),
            gain=rng.uniform(0.97, 1.0),
            noise=rng.uniform(0.5, 1.5),
            quality=rng.randint(85, 95),
            perspective=0,
            angle=rng.uniform(-1.0, 1.0),
        )
    return Shot(
        "photo",
        rng.choice(FRAMES),
        coverage=rng.uniform(0.35, 0.6),
        angle=rng.uniform(-4, 4),
        perspective=rng.uniform(0.0, 0.03),
        gain=rng.uniform(0.78, 0.97),
        noise=rng.uniform(1.0, 4.0),
        quality=rng.randint(75, 95),
        shift=(rng.uniform(-0.03, 0.03), rng.uniform(-0.03, 0.03)),
    )


def _background(rng: random.Random, width: int, height: int) -> Array:
    """Table, cloth or wall behind the document; drawn at 1/4 size (it carries no fine detail)."""
    full = (width, height)
    width, height = max(1, width // 4), max(1, height // 4)
    base = np.array([rng.randint(25, 150) for _ in range(3)], dtype=np.float32)
    style = rng.choice(("flat", "wood", "gradient"))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    if style == "wood":
        grain = 12 * np.sin(xx / rng.uniform(2, 8) + 3 * np.sin(yy / rng.uniform(15, 50)))
        field = base[None, None, :] + grain[..., None]
    elif style == "gradient":
        ramp = xx / width * rng.uniform(-40, 40) + yy / height * rng.uniform(-40, 40)
        field = base[None, None, :] + ramp[..., None]
    else:
        field = np.broadcast_to(base, (height, width, 3)).copy()
    small = np.clip(field, 0, 255).astype(np.uint8)
    return cv2.resize(small, full, interpolation=cv2.INTER_LINEAR)


def to_bgr(image: Image.Image) -> Array:
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)


def capture(document: Image.Image, shot: Shot, rng: random.Random) -> Array:
    """Photograph or scan `document` (an RGB certificate image) as `shot` says; returns BGR."""
    doc = to_bgr(document)
    if shot.kind == "scan":
        width, height = shot.frame
        page = cv2.resize(doc, (width, height), interpolation=cv2.INTER_AREA)
        centre = (width / 2, height / 2)
        matrix = cv2.getRotationMatrix2D(centre, shot.angle, 1.0)
        page = cv2.warpAffine(page, matrix, (width, height), borderValue=(238, 238, 238))
        return _finish(page, shot, rng)
    width, height = shot.frame
    frame = _background(rng, width, height)
    aspect = doc.shape[1] / doc.shape[0]
    doc_h = int(np.sqrt(shot.coverage * width * height / aspect))
    doc_w = int(doc_h * aspect)
    if doc_w > width * 0.97:
        doc_w = int(width * 0.97)
        doc_h = int(doc_w / aspect)
    if doc_h > height * 0.97:  # a portrait page in a landscape frame
        doc_h = int(height * 0.97)
        doc_w = int(doc_h * aspect)
    cx = width / 2 + shot.shift[0] * width
    cy = height / 2 + shot.shift[1] * height
    corners = np.array(
        [
            [-doc_w / 2, -doc_h / 2],
            [doc_w / 2, -doc_h / 2],
            [doc_w / 2, doc_h / 2],
            [-doc_w / 2, doc_h / 2],
        ],
        dtype=np.float32,
    )
    theta = np.deg2rad(shot.angle)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    jitter = np.array(
        [
            [
                rng.uniform(-1, 1) * shot.perspective * doc_w,
                rng.uniform(-1, 1) * shot.perspective * doc_h,
            ]
            for _ in range(4)
        ]
    )
    target = corners @ rotation.T + jitter + [cx, cy]
    if max(abs(shot.shift[0]), abs(shot.shift[1])) < IN_FRAME_SHIFT:
        target = _inside(target, width, height)
    target = target.astype(np.float32)
    source = np.array(
        [[0, 0], [doc.shape[1], 0], [doc.shape[1], doc.shape[0]], [0, doc.shape[0]]],
        dtype=np.float32,
    )
    homography = cv2.getPerspectiveTransform(source, target)
    warped = cv2.warpPerspective(doc, homography, (width, height), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full(doc.shape[:2], 255, np.uint8), homography, (width, height))
    np.copyto(frame, warped, where=(mask > 0)[..., None])
    return _finish(frame, shot, rng)


IN_FRAME_SHIFT = 0.1  # shots shifted less than this are meant to hold the whole document


def _inside(corners: np.ndarray, width: int, height: int) -> np.ndarray:
    """Shrink and move the document's corners into the frame (1% margin): a tall page turned
    and tilted could otherwise run off the bottom, and a photo labelled clean be cropped."""
    margin = 0.01 * min(width, height)
    low, high = corners.min(axis=0), corners.max(axis=0)
    room = np.array([width - 2 * margin, height - 2 * margin])
    scale = min(1.0, *(room / np.maximum(high - low, 1.0)))
    centre = (low + high) / 2
    corners = (corners - centre) * scale + centre
    low, high = corners.min(axis=0), corners.max(axis=0)
    limit = np.array([width - margin, height - margin])
    shift = np.maximum(margin - low, 0.0) - np.maximum(high - limit, 0.0)
    return corners + shift


def _finish(image: Array, shot: Shot, rng: random.Random) -> Array:
    """Uneven light, a colour cast and sensor noise; smooth fields are computed at 1/16 size."""
    height, width = image.shape[:2]
    small_w, small_h = max(1, width // 16), max(1, height // 16)
    yy, xx = np.mgrid[0:small_h, 0:small_w].astype(np.float32)
    cx, cy = rng.uniform(0.2, 0.8) * small_w, rng.uniform(0.2, 0.8) * small_h
    falloff = 1 - 0.12 * (((xx - cx) / small_w) ** 2 + ((yy - cy) / small_h) ** 2)
    tint = np.array([rng.uniform(0.96, 1.02), 1.0, rng.uniform(0.96, 1.03)], np.float32)
    light_small = (shot.gain * falloff)[..., None] * tint[None, None, :]
    light_small = np.clip(light_small * 255, 0, 255).astype(np.uint8)
    light = cv2.resize(light_small, (width, height), interpolation=cv2.INTER_LINEAR)
    lit = cv2.multiply(image, light, scale=1 / 255)
    # Noise from a random 512-px tile, repeated: indistinguishable here, and 10x faster.
    tile = np.random.default_rng(rng.randrange(2**32)).normal(0, shot.noise, (512, 512, 3))
    reps = (height // 512 + 1, width // 512 + 1, 1)
    noise = np.tile(tile.astype(np.int16), reps)[:height, :width]
    return np.clip(lit.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def degrade(image: Array, defect: Defect, rng: random.Random) -> Array:
    """Apply one defect to a captured image (BGR)."""
    height, width = image.shape[:2]
    long_side = max(width, height)
    if defect is Defect.BLUR:
        sigma = rng.uniform(0.0028, 0.006) * long_side
        return cv2.GaussianBlur(image, (0, 0), sigma)
    if defect is Defect.MOTION_BLUR:
        length = max(5, int(rng.uniform(0.008, 0.016) * long_side))
        line = np.zeros((length, length), np.float32)
        line[length // 2, :] = 1.0
        rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1)
        kernel = cv2.warpAffine(line, rot, (length, length))
        return cv2.filter2D(image, -1, kernel / kernel.sum())
    if defect is Defect.DARK:
        return np.clip(image.astype(np.float32) * rng.uniform(0.18, 0.32), 0, 255).astype(np.uint8)
    if defect is Defect.OVEREXPOSED:
        return overexpose(image, rng)
    if defect is Defect.LOW_CONTRAST:
        factor = rng.uniform(0.22, 0.32)
        mid = rng.uniform(120, 170)
        return np.clip((image.astype(np.float32) - 128) * factor + mid, 0, 255).astype(np.uint8)
    if defect is Defect.GLARE:
        return _glare(image, rng)
    if defect is Defect.GRAYSCALE:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        out = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR).astype(np.float32)
        tint = np.array([rng.uniform(0.97, 1.0), 1.0, rng.uniform(1.0, 1.04)], np.float32)
        return np.clip(out * tint, 0, 255).astype(np.uint8)
    if defect is Defect.LOW_RESOLUTION:
        # Small enough that the print itself is illegible (letters under ~6 px), not just a
        # page under the pixel line: at 0.22-0.34 a third of generated certificates, whose
        # type is large, kept letters of 7-9 px, which OCR reads as well as at 300 dpi.
        scale = rng.uniform(0.14, 0.22) if long_side < 2000 else rng.uniform(0.08, 0.13)
        size = (int(width * scale), int(height * scale))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    raise ValueError(f"{defect} is applied at capture time")


def overexpose(image: Array, rng: random.Random) -> Array:
    """Too much light: the paper burns out and the print washes out towards white."""
    gain = rng.uniform(1.3, 1.8)
    keep = rng.uniform(0.25, 0.42)  # share of the print's darkness that survives
    lifted = np.clip(image.astype(np.float32) * gain, 0, 255)
    return np.clip(255 - (255 - lifted) * keep, 0, 255).astype(np.uint8)


def _glare(image: Array, rng: random.Random) -> Array:
    height, width = image.shape[:2]
    radius = rng.uniform(0.06, 0.11) * min(width, height)
    cx = rng.uniform(0.35, 0.65) * width
    cy = rng.uniform(0.35, 0.65) * height
    spot = np.zeros((height, width), np.float32)
    cv2.ellipse(spot, (int(cx), int(cy)), (int(radius * 1.4), int(radius)), 0, 0, 360, 1.0, -1)
    spot = cv2.GaussianBlur(spot, (0, 0), radius / 3)
    spot = np.clip(spot * 1.6, 0, 1)[..., None]
    out = image.astype(np.float32) * (1 - spot) + 255 * spot
    return np.clip(out, 0, 255).astype(np.uint8)


def make_case(
    spec: CertificateSpec,
    rng: random.Random,
    defect: Defect | None = None,
    side: str = "front",
    kind: str | None = None,
) -> Array:
    """One captured side with at most one defect, as BGR pixels."""
    document = render_front(spec, 1800) if side == "front" else render_back(spec, 1800)
    shot = random_shot(rng, "photo" if defect in (Defect.CROPPED, Defect.ROTATED) else kind)
    if defect is Defect.CROPPED:
        axis = rng.choice((0, 1))
        sign = rng.choice((-1, 1))
        amount = rng.uniform(0.5, 0.6) + (shot.coverage**0.5) / 2 * rng.uniform(0.1, 0.3)
        shift = [0.0, 0.0]
        shift[axis] = sign * amount * 0.5
        shot = Shot(
            **{**shot.__dict__, "shift": (shift[0], shift[1]), "coverage": min(shot.coverage, 0.55)}
        )
    if defect is Defect.ROTATED:
        shot = Shot(**{**shot.__dict__, "frame": rng.choice(FRAMES[1:])})
        angle = rng.choice((-1, 1)) * rng.uniform(14, 35)
        shot = Shot(**{**shot.__dict__, "angle": angle, "coverage": min(shot.coverage, 0.3)})
    image = capture(document, shot, rng)
    if defect is not None and defect not in (Defect.CROPPED, Defect.ROTATED):
        image = degrade(image, defect, rng)
    return image


def encode(image: Array, fmt: str = ".jpg", quality: int = 90) -> bytes:
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if fmt == ".jpg" else []
    ok, buffer = cv2.imencode(fmt, image, params)
    if not ok:
        raise ValueError(f"cannot encode {fmt}")
    return buffer.tobytes()
