"""The page is prepared at the size settings ask for, whatever the photo's size."""

from __future__ import annotations

import cv2
import numpy as np

from consumers.ocr.preprocess import prepare
from pipeline.settings import Settings


def jpeg(width: int, height: int) -> bytes:
    image = np.full((height, width, 3), 235, np.uint8)
    for y in range(100, height - 100, 80):  # lines of "text"
        cv2.putText(image, "Harbour Logistics Ltd 201912345K", (80, y), 0, 1.6, (20, 20, 20), 3)
    ok, encoded = cv2.imencode(".jpg", image)
    assert ok
    return encoded.tobytes()


def test_a_large_page_is_prepared_at_the_requested_long_side_not_its_own() -> None:
    settings = Settings()
    data = jpeg(4000, 3000)
    small = prepare(data, None, settings, 1800)
    large = prepare(data, None, settings, 3600)
    assert max(small.gray.shape[:2]) <= 1800 * 1.25
    assert max(small.gray.shape[:2]) >= settings.ocr_min_long_side
    assert max(large.gray.shape[:2]) > max(small.gray.shape[:2])
    # boxes still map back to the original photo's pixels
    width = small.to_original((0, 0, 100, 100))[2]
    assert width > 100  # the page was shrunk, so a box grows on the way back


def test_rules_are_erased_only_when_asked() -> None:
    image = np.full((1500, 2000, 3), 235, np.uint8)
    cv2.line(image, (100, 700), (1900, 700), (10, 10, 10), 4)  # a table rule
    ok, encoded = cv2.imencode(".jpg", image)
    assert ok
    settings = Settings()
    kept = prepare(encoded.tobytes(), None, settings, 2000, erase_rules=False)
    erased = prepare(encoded.tobytes(), None, settings, 2000, erase_rules=True)
    assert int(kept.gray[690:710, 900:1100].min()) < 100
    assert int(erased.gray[690:710, 900:1100].min()) > 200
