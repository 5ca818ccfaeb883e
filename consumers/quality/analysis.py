"""Pixel measurements of one photographed document: where it is, and how good the picture is.

The outline is found on a ~500-px grey copy; the document is then perspective-corrected out of
the decoded image into a rectangle of at most 600 px on its short side, and exposure, glare,
colour and sharpness are measured there. So the numbers mean the same for a 2-MP scan, a 12-MP photo
and a document that fills a third of the picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from cv2.typing import MatLike
from numpy.typing import NDArray

from consumers.quality.levels import Levels, percentile_at_least

Pixels = MatLike  # BGR, uint8
ANALYSIS_LONG_SIDE = 500
OUTLINE_LONG_SIDE = 500
MIN_BACKGROUND_SEPARATION = 35.0  # grey levels between paper and what it lies on
FULL_FRAME_BORDER = 0.85  # this much paper along the frame's edge: the page fills the frame
DOCUMENT_SHORT_SIDE = 600
INNER_MARGIN = 0.03  # of each side left out of exposure, print and glare: the cut's edge
SHARPNESS_MARGIN = 0.1  # and of sharpness: the page's own border and what lies around it


@dataclass(frozen=True)
class Outline:
    """The document's outline in the analysis image."""

    quad: NDArray[np.float32]  # 4 x 2, clockwise from top-left, analysis pixels
    touching: tuple[str, ...]  # frame sides the document runs into
    coverage: float  # document area / frame area
    full_frame: bool  # a scan (or close-up) where the document is the whole picture


@dataclass
class Measurements:
    small: Pixels  # the analysis-size image the outline was found on (its scale for larger decodes)
    values: dict[str, float] = field(default_factory=dict)
    outline: Outline | None = None
    phash: int = 0
    quad_normalised: tuple[tuple[float, float], ...] = ()


def analyse(pixels: Pixels, scale: float) -> Measurements:
    """Measure `pixels` (BGR); `scale` maps decoded pixels to original pixels."""
    height, width = pixels.shape[:2]
    factor = min(1.0, ANALYSIS_LONG_SIDE / max(height, width))
    # The outline needs only brightness: reduce one grey channel, not three colour ones, and
    # bilinearly: area averaging at these factors (0.4-0.8) cost 0.7 ms a side, and blurring
    # the print into grey it left more pictures near the one-class cut-off, where the full
    # median runs (30 % of the chain benchmark's sides, 7 % now); no finding moved on either
    # split of `quality_accuracy.py`, outlines by a pixel or so.
    grey = cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)
    small = (
        cv2.resize(grey, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
        if factor < 1
        else grey
    )
    result = Measurements(small=small)
    v = result.values
    outline = find_outline(small)
    result.outline = outline
    v["document_found"] = float(outline is not None)
    if outline is not None:
        v["coverage"] = round(outline.coverage, 4)
        v["full_frame"] = float(outline.full_frame)
        v["touching_sides"] = float(len(outline.touching))
        v["skew_deg"] = round(skew_degrees(outline.quad), 2) if not outline.full_frame else 0.0
        short = _short_side(outline.quad) if not outline.full_frame else min(small.shape[:2])
        v["document_short_side_px"] = round(short * scale / factor, 1)
        h, w = small.shape[:2]
        result.quad_normalised = tuple(
            (round(float(x) / w, 4), round(float(y) / h, 4)) for x, y in outline.quad
        )
    document = rectified(pixels, outline, factor)
    document_grey = grey if document is pixels else cv2.cvtColor(document, cv2.COLOR_BGR2GRAY)
    inner = _inner(document, INNER_MARGIN)
    gray = _inner(document_grey, INNER_MARGIN)
    sharp_gray = _inner(document_grey, SHARPNESS_MARGIN)
    sharp_levels = Levels.of(sharp_gray)
    levels = _enclosing_levels(document_grey, INNER_MARGIN, sharp_levels, SHARPNESS_MARGIN)
    v.update(exposure(gray, levels))
    v.update(ink_contrast(gray, levels))
    v.update(glare(inner))
    v["chroma_p997"] = round(colourfulness(_inner(document, 0.012)), 2)
    v["colour_ratio"] = round(v["chroma_p997"] / max(v["contrast"], 20.0), 4)
    v["sharpness"] = round(sharpness(sharp_gray, sharp_levels), 4)
    result.phash = phash(gray)
    return result


OUTLINE_MEDIAN = 11  # px at OUTLINE_LONG_SIDE: wider than a printed stroke
#: Estimates this close to the cut-off between one class and two are decided on the full median.
SEPARATION_MARGIN = 20.0
#: Grey levels the full median's Otsu threshold may lie above the estimate's (2 at most on the
#: chain benchmark's pages) for a paper border at the estimate to still mean a full frame.
THRESHOLD_SLACK = 16


def find_outline(small: Pixels) -> Outline | None:
    """The largest bright quadrilateral in the grey analysis image: paper is lighter than what
    it lies on.

    A wide median removes the print, leaving two classes for Otsu: paper and background. The
    median of every pixel was a third of the whole analysis, so Otsu's threshold and the two
    classes' levels are estimated on every other pixel (a 5-px median there reaches as far);
    the paper mask itself is exact for that threshold (`_median_above`). Where the estimated
    separation is close to the one-class cut-off, the full median decides, as before; unless
    the frame's edge is paper even at a threshold `THRESHOLD_SLACK` above the estimate (paper
    only shrinks as the threshold rises). Then either of its answers is the whole frame, and
    the full median (~5 ms, most of a blurred scan's analysis) would change nothing.
    """
    shrink = OUTLINE_LONG_SIDE / max(small.shape[:2])
    gray = (
        small
        if shrink == 1
        else cv2.resize(small, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    )
    sampled = cv2.medianBlur(np.ascontiguousarray(gray[::2, ::2]), OUTLINE_MEDIAN // 2)
    threshold, _ = cv2.threshold(sampled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    paper, rest = _class_levels(sampled, threshold)
    if abs(paper - rest - MIN_BACKGROUND_SEPARATION) >= SEPARATION_MARGIN:
        binary = _median_above(gray, threshold, OUTLINE_MEDIAN)
        return _outline_from(binary, paper, rest, shrink)
    higher = _median_above(gray, threshold + THRESHOLD_SLACK, OUTLINE_MEDIAN)
    if _bright_border(higher) >= FULL_FRAME_BORDER:
        return _whole_frame(gray.shape, shrink)
    blurred = cv2.medianBlur(gray, OUTLINE_MEDIAN)
    threshold, binary = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    paper, rest = _class_levels(blurred, threshold)
    return _outline_from(binary, paper, rest, shrink)


def _class_levels(blurred: MatLike, threshold: float) -> tuple[float, float]:
    """Mean level above `threshold` (paper) and at or below it (the rest)."""
    above = blurred > threshold
    count = int(np.count_nonzero(above))
    paper = float(blurred[above].mean()) if count else 0.0
    rest = float(blurred[~above].mean()) if count < above.size else paper
    return paper, rest


def _median_above(gray: MatLike, threshold: float, size: int) -> MatLike:
    """255 where the `size` x `size` median of `gray` is above `threshold`, else 0, without
    the median: it is above exactly where more than half the window is (OpenCV's median
    replicates the border, and so does this count)."""
    above = (gray > threshold).astype(np.uint8)
    count = cv2.boxFilter(
        above, cv2.CV_16U, (size, size), normalize=False, borderType=cv2.BORDER_REPLICATE
    )
    return np.where(count > size * size // 2, np.uint8(255), np.uint8(0))


def _outline_from(binary: MatLike, paper: float, rest: float, shrink: float) -> Outline | None:
    """The outline in a paper mask (255 = paper) whose classes have these mean levels."""
    height, width = binary.shape
    if paper - rest < MIN_BACKGROUND_SEPARATION:
        # One class only (a scan, or a close-up): Otsu just split the lighting gradient.
        return _whole_frame(binary.shape, shrink)
    if _bright_border(binary) >= FULL_FRAME_BORDER:
        # The frame's edge is paper (a scan on a white bed, a close-up): what Otsu split off
        # is print inside the page, not a background around it.
        return _whole_frame(binary.shape, shrink)
    _clear_ui_bars(binary)
    kernel = np.ones((3, 3), np.uint8)
    binary = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, kernel, iterations=2)
    binary = cv2.morphologyEx(binary, cv2.MORPH_OPEN, kernel)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    # A dark band printed across the paper (a title banner) splits it into several bright
    # regions: the document is the hull of all the large ones, not just the largest.
    frame_area = float(height * width)
    parts = [c for c in contours if cv2.contourArea(c) >= 0.004 * frame_area]
    if not parts:
        return None
    contour = np.vstack(parts)
    hull = cv2.convexHull(contour)
    coverage = cv2.contourArea(hull) / frame_area
    if coverage < 0.05:
        return None
    touching = _touching_sides(contour, width, height)
    full_frame = len(touching) == 4 or coverage > 0.9
    approx = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
    quad: NDArray[np.float32] = np.asarray(
        approx.reshape(-1, 2) if len(approx) == 4 else cv2.boxPoints(cv2.minAreaRect(hull)),
        dtype=np.float32,
    )
    return Outline(_order(quad.astype(np.float32) / shrink), touching, coverage, full_frame)


def _whole_frame(shape: tuple[int, ...], shrink: float) -> Outline:
    """The document is the whole picture (a scan, a close-up)."""
    height, width = shape[:2]
    frame = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    return Outline(frame / shrink, ("left", "right", "top", "bottom"), 1.0, True)


def _bright_border(binary: MatLike) -> float:
    """Share of the frame's outermost 2 % that belongs to the bright (paper) class."""
    height, width = binary.shape
    band = max(1, int(0.02 * min(height, width)))
    ring = np.concatenate(
        [
            binary[:band].ravel(),
            binary[-band:].ravel(),
            binary[:, :band].ravel(),
            binary[:, -band:].ravel(),
        ]
    )
    return float((ring > 0).mean())


def _clear_ui_bars(binary: MatLike) -> None:
    """Blank light strips across the whole frame at its top or bottom edge: a screenshot's
    tool or status bars, not paper (paper running off an edge goes on past 8 % of the frame)."""
    height = binary.shape[0]
    full = (binary > 0).mean(axis=1) >= 0.97
    for rows in (range(height), range(height - 1, -1, -1)):
        run = 0
        for row in rows:
            if not full[row]:
                break
            run += 1
        if 0 < run <= 0.08 * height:
            if rows.step > 0:
                binary[:run] = 0
            else:
                binary[height - run :] = 0


def _touching_sides(contour: MatLike, width: int, height: int) -> tuple[str, ...]:
    points = contour.reshape(-1, 2)
    margin = 1
    sides = {
        "left": points[:, 0] <= margin,
        "right": points[:, 0] >= width - 1 - margin,
        "top": points[:, 1] <= margin,
        "bottom": points[:, 1] >= height - 1 - margin,
    }
    touching = []
    for name, on_side in sides.items():
        along = points[on_side][:, 1 if name in ("left", "right") else 0]
        length = height if name in ("left", "right") else width
        if along.size >= 2 and (along.max() - along.min()) > 0.04 * length:
            touching.append(name)
    return tuple(touching)


def _order(quad: NDArray[np.float32]) -> NDArray[np.float32]:
    """Top-left, top-right, bottom-right, bottom-left."""
    by_sum = quad.sum(axis=1)
    by_diff = np.diff(quad, axis=1).ravel()
    return np.array(
        [
            quad[np.argmin(by_sum)],
            quad[np.argmin(by_diff)],
            quad[np.argmax(by_sum)],
            quad[np.argmax(by_diff)],
        ],
        dtype=np.float32,
    )


def _edges(quad: NDArray[np.float32]) -> tuple[float, float]:
    """Mean lengths of (top/bottom, left/right) edges."""
    lengths = [float(np.linalg.norm(quad[i] - quad[(i + 1) % 4])) for i in range(4)]
    return (lengths[0] + lengths[2]) / 2, (lengths[1] + lengths[3]) / 2


def _short_side(quad: NDArray[np.float32]) -> float:
    return min(_edges(quad))


def skew_degrees(quad: NDArray[np.float32]) -> float:
    """Tilt of the document's long edges from the horizontal, folded into (-45, 45]."""
    edges = [quad[(i + 1) % 4] - quad[i] for i in range(4)]
    longest = sorted(edges, key=lambda e: -float(np.hypot(*e)))[:2]
    angles = [(float(np.degrees(np.arctan2(dy, dx))) + 45) % 90 - 45 for dx, dy in longest]
    return float(np.mean(angles))


def rectified(
    pixels: Pixels,
    outline: Outline | None,
    factor: float,
    short_side: int = DOCUMENT_SHORT_SIDE,
) -> Pixels:
    """The document alone, perspective-corrected, never upscaled, short side <= `short_side`."""
    if outline is None or outline.full_frame:
        shrink = min(1.0, short_side / min(pixels.shape[:2]))
        if shrink < 1:
            return cv2.resize(pixels, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
        return pixels
    quad = outline.quad / factor  # decoded pixels
    width, height = _edges(quad)
    shrink = min(1.0, short_side / max(1.0, min(width, height)))
    size = (max(8, int(width * shrink)), max(8, int(height * shrink)))
    target = np.array([[0, 0], [size[0], 0], [size[0], size[1]], [0, size[1]]], np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    return cv2.warpPerspective(pixels, matrix, size, flags=cv2.INTER_AREA)


def _inner(image: Pixels, margin: float) -> Pixels:
    top, bottom, left, right = _inner_box(image, margin)
    return image[top:bottom, left:right]


def _inner_box(image: Pixels, margin: float) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of `image` without `margin` of each side (all of a tiny one)."""
    h, w = image.shape[:2]
    dy, dx = int(h * margin), int(w * margin)
    return (dy, h - dy, dx, w - dx) if h - 2 * dy > 4 and w - 2 * dx > 4 else (0, h, 0, w)


def _enclosing_levels(image: Pixels, margin: float, inner: Levels, inner_margin: float) -> Levels:
    """`Levels.of(_inner(image, margin))` from `inner`, the levels of the smaller
    `_inner(image, inner_margin)`: only the frame between the two is counted. Counting is
    ~1.5 ns a pixel, the largest single cost after decoding: the sharpness region and then the
    frame around it count 88 % of a document's pixels once, where the exposure region and then
    the same frame taken off again counted 112 % (0.52 against 0.66 ms a side)."""
    top, bottom, left, right = _inner_box(image, margin)
    in_top, in_bottom, in_left, in_right = _inner_box(image, inner_margin)
    if not (top <= in_top <= in_bottom <= bottom and left <= in_left <= in_right <= right):
        return Levels.of(image[top:bottom, left:right])
    return inner.plus(
        image[top:in_top, left:right],
        image[in_bottom:bottom, left:right],
        image[in_top:in_bottom, left:in_left],
        image[in_top:in_bottom, in_right:right],
    )


def exposure(gray: Pixels, levels: Levels | None = None) -> dict[str, float]:
    levels = Levels.of(gray) if levels is None else levels
    p2, p50, p98 = (levels.percentile(q) for q in (2, 50, 98))
    return {
        "brightness_mean": round(cv2.mean(gray)[0], 2),
        "brightness_p2": p2,
        "brightness_p50": p50,
        "brightness_p98": p98,
        "contrast": p98 - p2,
        "clipped_fraction": round(cv2.countNonZero(cv2.inRange(gray, 250, 255)) / gray.size, 4),
    }


INK_MARGIN = 40  # grey levels below the paper that count as print
WHITE_PAPER = 248  # paper (90th percentile, darkest channel) this bright is clipped itself


def ink_contrast(gray: Pixels, levels: Levels | None = None) -> dict[str, float]:
    """How dark the print is against the paper: what a washed-out or faded picture loses.

    Paper is the 90th brightness percentile (most of a document is paper); ink is the 10th
    percentile of the pixels clearly darker than it, so the number does not depend on how much
    of the page is printed. White paper is not a defect: a clean scan has paper at 255 and ink
    near black. Thin strokes look grey when the image is reduced, so a low value is confirmed
    on a larger copy before it is reported (see `consumers.quality.check_image`).
    """
    levels = Levels.of(gray) if levels is None else levels
    paper = levels.percentile(90)
    ink_pixels = levels.below(paper - INK_MARGIN)
    if ink_pixels.count < max(50, gray.size // 2000):
        ink = levels.percentile(0.5)  # next to no print: its darkest trace
    else:
        ink = ink_pixels.percentile(10)
    return {
        "paper_level": paper,
        "ink_level": ink,
        "text_contrast": round(paper - ink, 1),
    }


def detail_contrast(detailed: Pixels, measured: Measurements) -> dict[str, float]:
    """`ink_contrast` again on a larger decode of the same picture (same outline)."""
    factor = max(measured.small.shape[:2]) / max(detailed.shape[:2])
    document = rectified(detailed, measured.outline, factor, short_side=max(detailed.shape[:2]))
    gray = cv2.cvtColor(_inner(document, 0.03), cv2.COLOR_BGR2GRAY)
    return ink_contrast(gray)


MIN_LETTERS = 20  # fewer letter-sized marks than this: no print to measure (a photo, a seal)


def letter_height(gray: Pixels) -> float | None:
    """Median height in pixels of the letter-sized marks of the print, or None if too few.

    Legibility is a property of the print, not of the page: a legal page fitted to a screen
    at 90 dpi with 12-pt type reads well, a form with 7-pt type at 100 dpi does not. Most
    letters are lower-case, so the median is close to the x-height. Ink is what is darker than
    halfway between paper and print; rules, boxes and seals are too tall or too wide to count.
    """
    measured = ink_contrast(gray)
    cut = (measured["paper_level"] + measured["ink_level"]) / 2
    _, ink = cv2.threshold(gray, cut, 255, cv2.THRESH_BINARY_INV)
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    widths = stats[1:, cv2.CC_STAT_WIDTH]
    areas = stats[1:, cv2.CC_STAT_AREA]
    letters = heights[
        (heights >= 2) & (areas >= 3) & (heights <= 0.05 * gray.shape[0]) & (widths <= 3 * heights)
    ]
    if letters.size < MIN_LETTERS:
        return None
    return float(np.median(letters))


def native_letter_height(native: Pixels, scale: float, measured: Measurements) -> dict[str, float]:
    """`letter_height` of the document in a decode at (close to) its original resolution, in
    original pixels; nothing when there is too little print to measure."""
    factor = max(measured.small.shape[:2]) / max(native.shape[:2])
    document = rectified(native, measured.outline, factor, short_side=max(native.shape[:2]))
    height = letter_height(cv2.cvtColor(_inner(document, 0.03), cv2.COLOR_BGR2GRAY))
    return {} if height is None else {"letter_height_px": round(height * scale, 1)}


_NEIGHBOURS = np.ones((1, 3), np.uint8)


def darkest_channel(image: Pixels) -> Pixels:
    """The smallest of each pixel's three channels.

    A row's channels lie side by side (b, g, r, b, g, r, ...): an erosion three samples wide
    centred on each green takes the minimum of exactly its pixel's three, in one OpenCV pass
    (splitting the channels and taking two minima were three passes: 0.62 ms a side, now 0.22).
    """
    height, width = image.shape[:2]
    eroded = cv2.erode(np.asarray(image).reshape(height, width * 3), _NEIGHBOURS)
    return np.ascontiguousarray(eroded[:, 1::3])


def glare(document: Pixels) -> dict[str, float]:
    """Specular highlights: blobs where every channel is clipped."""
    darkest = cv2.GaussianBlur(darkest_channel(document), (5, 5), 0)
    if percentile_at_least(darkest, 90, WHITE_PAPER):
        # White paper (a flat-bed scan, a rendered page) is clipped everywhere: a highlight
        # cannot stand out from it. Print lost to light is judged as overexposure instead.
        return {"glare_fraction": 0.0, "glare_largest_blob": 0.0}
    _, highlight = cv2.threshold(darkest, 251, 255, cv2.THRESH_BINARY)
    if not cv2.countNonZero(highlight):
        # Nothing clipped (most pictures): the opening and the blob count would find nothing.
        return {"glare_fraction": 0.0, "glare_largest_blob": 0.0}
    highlight = cv2.morphologyEx(highlight, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    area = highlight.size
    count, _, stats, _ = cv2.connectedComponentsWithStats(highlight, connectivity=8)
    largest = int(stats[1:, cv2.CC_STAT_AREA].max()) if count > 1 else 0
    return {
        "glare_fraction": round(cv2.countNonZero(highlight) / area, 5),
        "glare_largest_blob": round(largest / area, 5),
    }


#: Pixels sampled for the colour percentile: every `COLOUR_STRIDE`-th in both directions.
COLOUR_STRIDE = 2
#: The a and b levels OpenCV's 8-bit Lab conversion gives (all 2**24 colours converted): the
#: colour table counts only these, 58 % of 256 x 256 pairs to clear, count and walk.
LAB_A_RANGE, LAB_B_RANGE = (42, 227), (20, 224)


def colourfulness(document: Pixels) -> float:
    """99.7th percentile of chroma after removing the colour cast (grey-world on paper).

    A high percentile, because a certificate's colour is often only a seal or a thin border.
    The percentile is taken on every other pixel of every other row of the smoothed document
    (`COLOUR_STRIDE`): the colour conversion was two thirds of this measurement, and a border
    that survives the 3-px median is at least that wide, so it keeps its share of the sample.
    """
    smoothed = cv2.medianBlur(document, 3)
    height, width = smoothed.shape[:2]
    if min(height, width) >= COLOUR_STRIDE * 32:
        # Picked by OpenCV's nearest-neighbour resize at an exact integer factor (pixel
        # `COLOUR_STRIDE * i`), from the part whose sides are whole multiples of the stride:
        # numpy's strided copy of three channels cost more than the conversion it saved.
        whole = smoothed[: height - height % COLOUR_STRIDE, : width - width % COLOUR_STRIDE]
        size = (width // COLOUR_STRIDE, height // COLOUR_STRIDE)
        smoothed = cv2.resize(whole, size, interpolation=cv2.INTER_NEAREST)
    lab = cv2.cvtColor(smoothed, cv2.COLOR_BGR2LAB)
    # Every pixel's chroma comes from one of at most 65,536 (a, b) pairs: count the pairs,
    # compute each present pair's chroma once and walk them in order. The same value as
    # partitioning the per-pixel chroma (which cost ~2/3 of the whole analysis) to float32
    # rounding (OpenCV's vector and scalar paths differ in the last bit). The pair counts
    # (exact in float32 up to 2**24 pixels; documents here are under a million) also give
    # each channel's own histogram, for the cast to remove.
    (a_low, a_high), (b_low, b_high) = LAB_A_RANGE, LAB_B_RANGE
    b_levels = b_high - b_low
    table = cv2.calcHist(
        [lab], [1, 2], None, [a_high - a_low, b_levels], [a_low, a_high, b_low, b_high]
    ).astype(np.int64)
    pairs = table.ravel()  # index (a - a_low) * b_levels + (b - b_low)
    present = np.flatnonzero(pairs)
    a_counts, b_counts = np.zeros(256, np.int64), np.zeros(256, np.int64)
    a_counts[a_low:a_high], b_counts[b_low:b_high] = table.sum(axis=1), table.sum(axis=0)
    a_f = (present // b_levels + a_low).astype(np.float32) - Levels(a_counts).percentile(50)
    b_f = (present % b_levels + b_low).astype(np.float32) - Levels(b_counts).percentile(50)
    chroma = cv2.magnitude(a_f, b_f).ravel()
    order = np.argsort(chroma, kind="stable")
    at_or_below = np.cumsum(pairs[present][order])
    k = int(lab.shape[0] * lab.shape[1] * 0.997)
    return float(chroma[order][np.searchsorted(at_or_below, k, side="right")])


_DIRECTIONS = tuple(
    np.array(kernel, np.float32)
    for kernel in (
        [[0, 0, 0], [1, -2, 1], [0, 0, 0]],
        [[0, 1, 0], [0, -2, 0], [0, 1, 0]],
        [[1, 0, 0], [0, -2, 0], [0, 0, 1]],
        [[0, 0, 1], [0, -2, 0], [1, 0, 0]],
    )
)


def sharpness(gray: Pixels, levels: Levels | None = None) -> float:
    """Contrast-normalised second-derivative energy (x100) in the blurriest of 4 directions.

    Motion blur smears one direction only; an isotropic Laplacian would still see the sharp
    edges across the motion and call the picture sharp. `levels`: those of `gray`, if known.
    """
    if min(gray.shape[:2]) < 8:
        return 0.0
    levels = Levels.of(gray) if levels is None else levels
    spread = max(levels.percentile(98) - levels.percentile(2), 16.0)
    # Second differences of 8-bit pixels are whole numbers within +-510: 16-bit integers hold
    # them exactly, in half the memory traffic of floats (the filtering's cost was halved).
    energies = [_variance(cv2.filter2D(gray, cv2.CV_16S, k)) for k in _DIRECTIONS]
    return min(energies) / spread**2 * 100


def _variance(values: MatLike) -> float:
    """Variance of an image in two of OpenCV's passes, summed in doubles (numpy's `var`
    makes three and a temporary copy; this was half of the sharpness measurement)."""
    count = values.shape[0] * values.shape[1]
    mean = cv2.sumElems(values)[0] / count
    return max(0.0, cv2.norm(values, cv2.NORM_L2SQR) / count - mean * mean)


HASH_THUMB = 32


def phash(gray: Pixels) -> int:
    """64-bit perceptual hash (DCT of a 32x32 thumbnail) of the document.

    The thumbnail averages whole blocks: the document is first resampled bilinearly to the
    nearest multiple of 32 px a side (a few per cent), which OpenCV then averages 0.26 ms
    against 0.73 for its area reduction at a fractional factor. Against that reduction, on 120
    generated documents: the same hash 106 times, 2 bits apart 14 times; the same picture
    re-encoded or scaled by 0.8 at most 8 bits apart and a certificate's two sides at least
    28, with either thumbnail. Cutting to whole blocks instead moved hashes by ~8 bits."""
    height, width = gray.shape[:2]
    whole_blocks = tuple(
        max(HASH_THUMB, HASH_THUMB * round(n / HASH_THUMB)) for n in (width, height)
    )
    resampled = cv2.resize(gray, whole_blocks, interpolation=cv2.INTER_LINEAR)
    thumb = cv2.resize(resampled, (HASH_THUMB, HASH_THUMB), interpolation=cv2.INTER_AREA)
    thumb = thumb.astype(np.float32)
    low = cv2.dct(thumb)[:8, :8].ravel()
    bits = low[1:] > np.median(low[1:])
    return int(sum(1 << i for i, bit in enumerate(bits) if bit))


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()
