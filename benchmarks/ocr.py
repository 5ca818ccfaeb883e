"""OCR stage speed and accuracy, side by side in one run on the same generated certificates.

For each document: the stage's reading with each engine (tesserocr, pytesseract) and the bare
`tesseract` CLI on the full photo (default OpenMP threads, as someone would run it), with the
share of company names and registration numbers each got right. Prints JSON with the ratios.

    python benchmarks/ocr.py --documents 16
    python benchmarks/ocr.py --documents 16 --profile   # where the stage's time goes (stderr)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import peak_rss_mb, summary_ms

from consumers.ocr import read_document
from consumers.ocr.engines import Word, engine
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
    ocr = engine(engine_name)
    cases = [replace(case, front=b"") for case in cases]  # keep the labels, not the photos
    photo = Path(folder)
    warmed: set[object] = set()
    for index, case in enumerate(cases):  # warm up: each site's model loaded once, as a
        if case.spec.site not in warmed:  # worker of that site's stage holds it
            data = (photo / f"{index}.jpg").read_bytes()
            read_document(data, measurements[index], case.spec.site, settings, ocr)
            warmed.add(case.spec.site)
    seconds, right = [], 0
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
        "key_field_accuracy": round(right / (len(cases) * len(KEY_FIELDS)), 4),
        "peak_rss_mb": peak_rss_mb(),
    }


def cli_run(cases: list[OcrCase]) -> dict[str, object]:
    """`tesseract photo.jpg - -l LANG` on the full photo, default threads, then the same matcher."""
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
    results: dict[str, dict[str, object]] = {"tesseract_cli_full_image": cli_run(cases)}
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
    cli = float(results["tesseract_cli_full_image"]["seconds_total"])  # type: ignore[arg-type]
    ratios = {
        f"{name}_vs_cli_time": round(float(r["seconds_total"]) / cli, 3)  # type: ignore[arg-type]
        for name, r in results.items()
        if name.startswith("stage_")
    }
    cli_sites: dict[str, float] = results["tesseract_cli_full_image"]["seconds_by_site"]  # type: ignore[assignment]
    for name, r in results.items():
        if name.startswith("stage_"):
            sites: dict[str, float] = r["seconds_by_site"]  # type: ignore[assignment]
            for site, spent in sites.items():
                ratios[f"{name}_vs_cli_time_{site}"] = round(spent / cli_sites[site], 3)
    print(
        json.dumps(
            {
                "benchmark": "ocr",
                "documents": len(cases),
                "results": results,
                "ratios": ratios,
                "goal_ratio": 0.5,
                "goal_rss_mb": 250,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
