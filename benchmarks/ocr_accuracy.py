"""Accuracy of the OCR field matching on generated certificates with realistic typed values.

Prints JSON per field: precision and recall of "mismatch" (a status of mismatch or partial
counts as flagged) and the rate of "not_found". Tuned on --seed 1; report on another seed.

    python benchmarks/ocr_accuracy.py --seed 2 --cases 220
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

from consumers.ocr import read_document
from consumers.ocr.engines import engine
from consumers.ocr.matching import match_fields
from consumers.quality import check_image
from pipeline.settings import Settings
from pipeline.threads import limit_native_threads
from producers.ocr_cases import TODAY, make_ocr_case
from schemas.enums import FieldName, MatchStatus, Side

FIELDS = (
    FieldName.COMPANY_NAME,
    FieldName.REGISTRATION_NUMBER,
    FieldName.CITY,
    FieldName.EXPIRY_DATE,
    FieldName.ADDRESS_LINE1,
    FieldName.STATE_PROVINCE,
)
FLAGGED = {MatchStatus.MISMATCH, MatchStatus.PARTIAL}


def evaluate(seed: int, engine_name: str = "tesserocr") -> dict[str, object]:
    limit_native_threads(1)
    case = make_ocr_case(seed)
    settings = Settings(ocr_engine=engine_name)
    quality = check_image(case.front, Side.FRONT, settings.quality)
    reading = read_document(
        case.front, quality.measurements, case.spec.site, settings, engine(engine_name)
    )
    fields = {m.field: m for m in match_fields(reading, case.application(), TODAY)}
    return {
        "site": case.spec.site.value,
        "layout": case.spec.layout,
        "variant": case.variant,
        "quality_passed": not any(f.blocking for f in quality.findings),
        "status": {f.value: fields[f].status.value for f in FIELDS},
        "truth": sorted(f.value for f in case.truly_mismatched),
    }


def report(results: list[dict[str, object]]) -> dict[str, object]:
    per_field = {}
    for field in FIELDS:
        tp = fp = fn = not_found = 0
        for result in results:
            status = MatchStatus(result["status"][field.value])  # type: ignore[index]
            truth = field.value in result["truth"]  # type: ignore[operator]
            flagged = status in FLAGGED
            not_found += status is MatchStatus.NOT_FOUND
            tp += flagged and truth
            fp += flagged and not truth
            fn += (not flagged) and truth
        per_field[field.value] = {
            "mismatch_precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "mismatch_recall": round(tp / (tp + fn), 4) if tp + fn else None,
            "mismatches": tp + fn,
            "false_alarms": fp,
            "not_found_rate": round(not_found / len(results), 4),
        }
    misses = Counter(
        f"{r['site']}/L{r['layout']} {field.value}={r['status'][field.value]} ({r['variant']})"  # type: ignore[index]
        for r in results
        for field in FIELDS[:3]
        if (r["status"][field.value] in {"mismatch", "partial", "not_found"})  # type: ignore[index]
        != (field.value in r["truth"])  # type: ignore[operator]
    )
    return {"per_field": per_field, "errors": dict(misses.most_common(25))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--cases", type=int, default=220)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engine", default="tesserocr", choices=("tesserocr", "pytesseract"))
    args = parser.parse_args()
    master = random.Random(args.seed)
    seeds = [master.randrange(2**31) for _ in range(args.cases)]
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(evaluate, seeds, [args.engine] * len(seeds), chunksize=2))
    print(
        json.dumps(
            {
                "benchmark": "ocr_accuracy",
                "seed": args.seed,
                "engine": args.engine,
                "certificates": len(results),
                "by_site": dict(Counter(str(r["site"]) for r in results)),
                "by_layout": dict(Counter(f"{r['site']}/L{r['layout']}" for r in results)),
                "quality_refused": sum(1 for r in results if not r["quality_passed"]),
                **report(results),
                "seconds": round(time.perf_counter() - started, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
