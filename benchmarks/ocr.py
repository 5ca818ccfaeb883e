"""OCR stage speed and accuracy, side by side in one run on the same generated certificates.

For each document: the stage's reading with each engine (tesserocr, pytesseract) and the bare
`tesseract` CLI on the full photo, twice: with OpenMP's default threads, as someone would run
it, and with one thread, the stage's own budget; with the share of company names and
registration numbers each got right. Also the time the stage spends in tesseract's reading of
the prepared page alone: no preparation can take the stage below that share of the CLI.
Prints JSON with the ratios.

    python benchmarks/ocr.py --documents 16
    python benchmarks/ocr.py --documents 16 --profile   # where the stage's time goes (stderr)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import peak_rss_mb, summary_ms
from cv2.typing import MatLike

from consumers.ocr import read_document
from consumers.ocr.engines import OcrEngine, Word, engine
from consumers.ocr.extract import lines_of
from consumers.ocr.matching import Reading, match_fields
from consumers.quality import check_image
from pipeline.settings import Settings
from pipeline.threads import limit_native_threads, release_native_memory
from producers.ocr_cases import TODAY, OcrCase, make_ocr_case
from schemas.enums import FieldName, MatchStatus, Side
from schemas.events import SideMeasurements

KEY_FIELDS = (FieldName.COMPANY_NAME, FieldName.REGISTRATION_NUMBER)


def _correct(reading: Reading, case: OcrCase) -> int:
    fields = {m.field: m for m in match_fields(reading, case.application(), TODAY)}
    right = 0
    for field in KEY_FIELDS:
        flagged = fields[field].status is not MatchStatus.MATCH
        right += flagged == (field in case.truly_mismatched)
    return right


def _by_site(cases: list[OcrCase], seconds: list[float]) -> dict[str, float]:
    """Seconds per site: a Chinese licence costs the CLI and the stage about three times a
    Latin-script certificate, so the mix moves the overall ratio."""
    totals: dict[str, float] = {}
    for case, spent in zip(cases, seconds, strict=True):
        totals[case.spec.site.value] = totals.get(case.spec.site.value, 0.0) + spent
    return totals


class _PageTimer:
    """The stage's engine, timing its whole-page passes: tesseract's own reading of the
    prepared page, the part no preparation can shorten (the floor of the stage / CLI ratio)."""

    def __init__(self, inner: OcrEngine) -> None:
        self._inner = inner
        self.name, self.rereads = inner.name, inner.rereads
        self.long_side, self.needs_rules_erased = inner.long_side, inner.needs_rules_erased
        self.seconds = 0.0

    def read(self, gray: MatLike, languages: str, timeout_s: float, psm: int = 4) -> list[Word]:
        started = time.perf_counter()
        try:
            return self._inner.read(gray, languages, timeout_s, psm)
        finally:
            self.seconds += time.perf_counter() - started

    def read_line(self, gray: MatLike, whitelist: str, timeout_s: float) -> tuple[str, float]:
        return self._inner.read_line(gray, whitelist, timeout_s)


def stage_run(
    cases: list[OcrCase],
    measurements: list[SideMeasurements],
    folder: str,
    engine_name: str,
    profile: bool = False,
) -> dict[str, object]:
    """The stage as a worker runs it: one native thread, model kept loaded, one document in
    memory at a time (read from disk, as from the document store); the quality measurements
    arrive with the event, as in the pipeline."""
    limit_native_threads(1)
    settings = Settings(ocr_engine=engine_name)
    ocr = _PageTimer(engine(engine_name))
    cases = [replace(case, front=b"") for case in cases]  # keep the labels, not the photos
    photo = Path(folder)
    warmed: set[object] = set()
    for index, case in enumerate(cases):  # warm up: each site's model loaded once, as a
        if case.spec.site not in warmed:  # worker of that site's stage holds it
            data = (photo / f"{index}.jpg").read_bytes()
            read_document(data, measurements[index], case.spec.site, settings, ocr)
            warmed.add(case.spec.site)
    seconds, right = [], 0
    ocr.seconds = 0.0
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.002)
        profiler.start()
    for index, (case, measured) in enumerate(zip(cases, measurements, strict=True)):
        data = (photo / f"{index}.jpg").read_bytes()
        started = time.perf_counter()
        reading = read_document(data, measured, case.spec.site, settings, ocr)
        seconds.append(time.perf_counter() - started)
        release_native_memory()  # as the Kafka runner does after each batch
        right += _correct(reading, case)
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=False, show_all=False), file=sys.stderr)
    return {
        "time": summary_ms(seconds),
        "seconds_total": sum(seconds),
        "seconds_by_site": _by_site(cases, seconds),
        "seconds_in_page_reading": round(ocr.seconds, 3),
        "key_field_accuracy": round(right / (len(cases) * len(KEY_FIELDS)), 4),
        "peak_rss_mb": peak_rss_mb(),
    }


def cli_run(cases: list[OcrCase], threads: int | None) -> dict[str, object]:
    """`tesseract photo.jpg - -l LANG` on the full photo, then the same matcher. `threads`
    None: OpenMP's default, as someone would run it (on this busy 2-core machine that is
    slower than one thread: its threads spin and wait); 1: the stage's own CPU budget."""
    environment = {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT"}
    if threads is not None:
        environment["OMP_THREAD_LIMIT"] = str(threads)
    seconds, right = [], 0
    with tempfile.TemporaryDirectory() as scratch:
        for index, case in enumerate(cases):
            path = Path(scratch) / f"{index}.jpg"
            path.write_bytes(case.front)
            languages = "chi_sim+eng" if case.spec.site.value == "china" else "eng"
            started = time.perf_counter()
            text = subprocess.run(
                ["tesseract", str(path), "-", "-l", languages],
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
                env=environment,
            ).stdout
            seconds.append(time.perf_counter() - started)
            words = [
                Word(token, 90.0, (x * 10, y * 30, 9, 20), (0, 0, y))
                for y, line in enumerate(text.splitlines())
                for x, token in enumerate(line.split())
            ]
            reading = Reading(Side.FRONT, lines_of(words), lambda box: box)
            right += _correct(reading, case)
    return {
        "time": summary_ms(seconds),
        "seconds_total": sum(seconds),
        "seconds_by_site": _by_site(cases, seconds),
        "key_field_accuracy": round(right / (len(cases) * len(KEY_FIELDS)), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=16)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--profile", action="store_true", help="pyinstrument tree on stderr")
    args = parser.parse_args()
    master = random.Random(args.seed)
    cases = [make_ocr_case(master.randrange(2**31)) for _ in range(args.documents)]
    spawn = multiprocessing.get_context("spawn")
    quality = Settings().quality
    measured = [check_image(c.front, Side.FRONT, quality).measurements for c in cases]
    clis = {"": None, "_one_thread": 1}
    results: dict[str, dict[str, Any]] = {
        f"tesseract_cli_full_image{suffix}": cli_run(cases, threads)
        for suffix, threads in clis.items()
    }
    with tempfile.TemporaryDirectory() as folder:
        for index, case in enumerate(cases):
            (Path(folder) / f"{index}.jpg").write_bytes(case.front)
        labels = [replace(case, front=b"") for case in cases]
        for name in ("tesserocr", "pytesseract"):
            with ProcessPoolExecutor(1, mp_context=spawn) as worker:  # fresh process: honest RSS
                job = worker.submit(
                    stage_run, labels, measured, folder, name, args.profile and name == "tesserocr"
                )
                results[f"stage_{name}"] = job.result()
    ratios: dict[str, float] = {}
    for suffix in clis:
        cli: dict[str, Any] = results[f"tesseract_cli_full_image{suffix}"]
        for name, r in results.items():
            if not name.startswith("stage_"):
                continue
            ratios[f"{name}_vs_cli{suffix}_time"] = round(
                r["seconds_total"] / cli["seconds_total"], 3
            )
            for site, spent in r["seconds_by_site"].items():
                ratios[f"{name}_vs_cli{suffix}_time_{site}"] = round(
                    spent / cli["seconds_by_site"][site], 3
                )
        reading = results["stage_tesserocr"]["seconds_in_page_reading"]
        ratios[f"tesserocr_page_reading_alone_vs_cli{suffix}_time"] = round(
            reading / cli["seconds_total"], 3
        )
    print(
        json.dumps(
            {
                "benchmark": "ocr",
                "documents": len(cases),
                "results": results,
                "ratios": ratios,
                "goal_ratio": 0.25,
                "goal_rss_mb": 250,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
