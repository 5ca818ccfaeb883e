"""Accuracy of the OCR field matching, per medium and source, and the born-digital fast path.

Generated certificates (realistic typed values: abbreviations, typos, swapped digits, another
company) are uploaded as a phone photo, a flat-bed scan, an image-only PDF, a screenshot and a
born-digital PDF; real born-digital PDFs from `corpus/` (fields written down by hand) are read
with the true values typed. Per medium and field: precision/recall of "mismatch" (mismatch or
partial counts as flagged), the share of correct verdicts and of "not_found". Born-digital PDFs
are read the way the stage reads them (text layer plus a printed cross-check) and also by full
OCR of the same page, side by side: exactness and the speed ratio.

    python benchmarks/ocr_accuracy.py --seed 2 --per-medium 40 --split holdout

China site, both engines side by side on the same licences (accuracy per layout, time per
document, peak RSS of the process reading, install size):

    python benchmarks/ocr_accuracy.py --site china --engines tesserocr,rapidocr --seed 5 \
        --per-medium 50
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import resource
import statistics
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from consumers.ocr import engine_name as site_engine
from consumers.ocr import read_born_digital, read_document
from consumers.ocr.engines import engine
from consumers.ocr.matching import match_fields
from consumers.quality import check_image, decoding, pdf
from pipeline.settings import Settings
from pipeline.threads import limit_native_threads
from producers import corpus
from producers.media import Medium
from producers.ocr_cases import TODAY, make_ocr_case
from schemas.enums import AccountType, FieldName, MatchStatus, Side, Site
from schemas.events import Application, CompanyDetails

FIELDS = (
    FieldName.COMPANY_NAME,
    FieldName.REGISTRATION_NUMBER,
    FieldName.CITY,
    FieldName.EXPIRY_DATE,
    FieldName.ADDRESS_LINE1,
    FieldName.STATE_PROVINCE,
)
KEY_FIELDS = (FieldName.COMPANY_NAME, FieldName.REGISTRATION_NUMBER)
FLAGGED = {MatchStatus.MISMATCH, MatchStatus.PARTIAL}


def _statuses(fields: list[Any]) -> dict[str, str]:
    by_field = {m.field: m for m in fields}
    return {f.value: by_field[f].status.value for f in FIELDS if f in by_field}


def _ocr(data: bytes, application: Application, settings: Settings) -> tuple[dict[str, Any], float]:
    quality = check_image(data, Side.FRONT, settings.quality)
    started = time.perf_counter()  # the OCR stage's work: prepare, read, match
    reading = read_document(
        data,
        quality.measurements,
        application.site,
        settings,
        engine(site_engine(settings, application.site)),
    )
    fields = match_fields(reading, application, TODAY)
    return {
        "quality_passed": not any(f.blocking for f in quality.findings),
        "status": _statuses(fields),
    }, time.perf_counter() - started


def _text_layer(data: bytes, application: Application, settings: Settings) -> tuple[Any, float]:
    started = time.perf_counter()
    pdf.inspect(data, decoding.MAX_PDF_PAGES, settings.quality.max_pixels)  # as the stage does
    fields, reasons, _ = read_born_digital(
        data, application, TODAY, engine(settings.ocr_engine), settings.ocr_timeout_s
    )
    elapsed = time.perf_counter() - started
    found = {m.field.value: m.found for m in fields}
    return {"status": _statuses(fields), "found": found, "reasons": reasons}, elapsed


def engine_settings(engine_name: str) -> Settings:
    """`default`: each site's configured engine; otherwise that engine on both sites."""
    if engine_name == "default":
        return Settings()
    return Settings(ocr_engine=engine_name, ocr_engine_china=engine_name)


def evaluate(seed: int, medium: str, engine_name: str, site: str = "any") -> dict[str, Any]:
    limit_native_threads(1)
    case = make_ocr_case(seed, None if site == "any" else Site(site), Medium(medium))
    settings = engine_settings(engine_name)
    application = case.application()
    result: dict[str, Any] = {
        "source": "generated",
        "medium": medium,
        "site": case.spec.site.value,
        "layout": case.spec.layout,
        "variant": case.variant,
        "truth": sorted(f.value for f in case.truly_mismatched),
    }
    if medium == Medium.BORN_DIGITAL:
        layer, layer_s = _text_layer(case.front, application, settings)
        ocr, ocr_s = _ocr(case.front, application, settings)
        printed = {
            FieldName.COMPANY_NAME.value: case.spec.company_name,
            FieldName.REGISTRATION_NUMBER.value: case.spec.registration_number,
        }
        exact = all(layer["found"].get(k) == v for k, v in printed.items())
        result |= {
            "quality_passed": ocr["quality_passed"],
            "status": layer["status"],
            "ocr_status": ocr["status"],
            "extracted_exactly": exact,
            "seconds": {"text_layer": layer_s, "ocr": ocr_s},
        }
    else:
        ocr, seconds = _ocr(case.front, application, settings)
        result |= ocr | {"seconds": {"ocr": seconds}}
    return result


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def evaluate_real(document_id: str, engine_name: str) -> dict[str, Any]:
    """A real born-digital PDF with its true values typed: every verdict should be `match`."""
    limit_native_threads(1)
    document = corpus.by_id(document_id)
    settings = engine_settings(engine_name)
    typed = {
        "company_name": document.company_name,
        "registration_number": document.registration_number or "0000",  # scored only if printed
        "state_province": "-",
        "city": "-",
        "address_line1": "-",
    }
    application = Application(
        site=Site.INTERNATIONAL,
        account_type=AccountType.INDIVIDUAL,
        registered_country="US",
        contact_email="case@kyb.example",
        company=CompanyDetails.model_validate(typed),
        mainland_resources=False,
        documents=(),
    )
    layer, layer_s = _text_layer(document.data, application, settings)
    ocr, ocr_s = _ocr(document.data, application, settings)
    key = [f.value for f in KEY_FIELDS if getattr(document, f.value)]
    return {
        "source": "real",
        "medium": Medium.BORN_DIGITAL.value,
        "id": document.id,
        "variant": "exact",
        "truth": [],
        "quality_passed": ocr["quality_passed"],
        "status": {k: v for k, v in layer["status"].items() if k in key},
        "ocr_status": {k: v for k, v in ocr["status"].items() if k in key},
        "extracted_exactly": all(layer["found"].get(k) == getattr(document, k) for k in key),
        "seconds": {"text_layer": layer_s, "ocr": ocr_s},
    }


def field_table(results: list[dict[str, Any]], key: str = "status") -> dict[str, Any]:
    table = {}
    for field in FIELDS:
        scored = [r for r in results if field.value in r[key]]
        if not scored:
            continue
        tp = fp = fn = correct = not_found = 0
        for result in scored:
            status = MatchStatus(result[key][field.value])
            truth = field.value in result["truth"]
            flagged = status in FLAGGED
            not_found += status is MatchStatus.NOT_FOUND
            tp += flagged and truth
            fp += flagged and not truth
            fn += (not flagged) and truth
            correct += (status is MatchStatus.MATCH and not truth) or (flagged and truth)
        table[field.value] = {
            "verdict_correct": round(correct / len(scored), 4),
            "mismatch_precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "mismatch_recall": round(tp / (tp + fn), 4) if tp + fn else None,
            "mismatches": tp + fn,
            "not_found_rate": round(not_found / len(scored), 4),
        }
    return table


def born_digital_summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    layer = [r["seconds"]["text_layer"] for r in results]
    ocr = [r["seconds"]["ocr"] for r in results]
    return {
        "documents": len(results),
        "extracted_exactly": round(sum(r["extracted_exactly"] for r in results) / len(results), 4),
        "text_layer_s_median": round(statistics.median(layer), 3),
        "ocr_s_median": round(statistics.median(ocr), 3),
        "speedup_median": round(
            statistics.median(o / t for o, t in zip(ocr, layer, strict=True)), 1
        ),
        "ocr_of_the_same_page": field_table(results, "ocr_status"),
    }


#: What each engine adds to an install: its Python distributions and model files.
ENGINE_FOOTPRINT = {
    "tesserocr": (("tesserocr",), ("eng.traineddata", "chi_sim.traineddata", "osd.traineddata")),
    "pytesseract": (
        ("pytesseract",),
        ("eng.traineddata", "chi_sim.traineddata", "osd.traineddata"),
    ),
    "rapidocr": (("rapidocr-onnxruntime", "onnxruntime", "shapely", "pyclipper"), ()),
}


def _read_only(data: bytes, measured: Any, site: str, engine_name: str) -> tuple[float, float]:
    """Read one document as the OCR sandbox's child does: (seconds, the process's peak RSS
    in MB)."""
    limit_native_threads(1)
    settings = engine_settings(engine_name)
    reader = engine(site_engine(settings, Site(site)))
    started = time.perf_counter()
    read_document(data, measured, Site(site), settings, reader)
    return time.perf_counter() - started, _peak_rss_mb()


def reader_alone(engine_name: str, site: str, documents: int = 12) -> dict[str, float]:
    """A fresh process that only reads, one document after another with nothing else running
    (the quality check ran here first, as in the pipeline it runs in another stage): the
    median time per document on one thread and the peak RSS, what the OCR worker's sandbox
    child holds with this engine. The first document (loading the model) is not timed."""
    settings = Settings()
    cases = [make_ocr_case(seed, Site(site), Medium.PHOTO) for seed in range(documents)]
    measured = [check_image(c.front, Side.FRONT, settings.quality).measurements for c in cases]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        runs = list(
            pool.map(
                _read_only,
                [c.front for c in cases],
                measured,
                [site] * documents,
                [engine_name] * documents,
            )
        )
    return {
        "alone_median_ms": round(1000 * statistics.median(s for s, _ in runs[1:])),
        "reader_peak_rss_mb": max(rss for _, rss in runs),
    }


def install_mb(engine_name: str) -> float:
    """Installed size of the engine's distributions plus its tessdata models (not libtesseract
    itself, a Debian package both need for OSD)."""
    from importlib import metadata

    from consumers.ocr.engines import tessdata_path

    if engine_name == "default":
        settings = Settings()
        return round(install_mb(settings.ocr_engine) + install_mb(settings.ocr_engine_china), 1)
    distributions, models = ENGINE_FOOTPRINT[engine_name]
    total = 0
    for name in distributions:
        for file in metadata.distribution(name).files or ():
            located = Path(str(file.locate()))
            total += located.stat().st_size if located.is_file() else 0
    total += sum((Path(tessdata_path()) / model).stat().st_size for model in models)
    return round(total / 2**20, 1)


def key_fields(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Name and registration-number verdicts over all `results`, in one flat row."""
    table = field_table(results)
    row: dict[str, Any] = {"documents": len(results)}
    for field, short in (
        (FieldName.COMPANY_NAME, "name"),
        (FieldName.REGISTRATION_NUMBER, "number"),
    ):
        scored = table.get(field.value, {})
        row |= {
            f"{short}_precision": scored.get("mismatch_precision"),
            f"{short}_recall": scored.get("mismatch_recall"),
            f"{short}_correct": scored.get("verdict_correct"),
            f"{short}_not_found": scored.get("not_found_rate"),
        }
    return row


def engine_report(results: list[dict[str, Any]], engine_name: str, site: str) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    layouts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for result in results:
        groups[f"{result['source']}/{result['medium']}"].append(result)
        if result.get("site") == Site.CHINA.value:
            layouts[f"china layout {result['layout']}"].append(result)
    errors = Counter(
        f"{r['source']}/{r['medium']} {f.value}={r['status'].get(f.value)} ({r['variant']})"
        for r in results
        for f in KEY_FIELDS
        if f.value in r["status"]
        and (r["status"][f.value] in {"mismatch", "partial", "not_found"})
        != (f.value in r["truth"])
    )
    seconds = sorted(r["seconds"]["ocr"] for r in results if "seconds" in r)
    return {
        "summary": key_fields(results)
        | {
            "median_ms": round(1000 * statistics.median(seconds)) if seconds else None,
            "p95_ms": round(1000 * seconds[int(0.95 * (len(seconds) - 1))]) if seconds else None,
            **reader_alone(engine_name, Site.INTERNATIONAL.value if site == "any" else site),
            "install_mb": install_mb(engine_name),
        },
        "by_layout": {name: key_fields(group) for name, group in sorted(layouts.items())},
        "by_medium": {
            name: {
                "documents": len(group),
                "quality_refused": sum(not r["quality_passed"] for r in group),
                "fields": field_table(group),
            }
            for name, group in sorted(groups.items())
        },
        "born_digital": {
            name: born_digital_summary(group)
            for name, group in sorted(groups.items())
            if name.endswith(Medium.BORN_DIGITAL.value)
        },
        "errors": dict(errors.most_common(25)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=2, help="1 = tuning; report on another")
    parser.add_argument("--per-medium", type=int, default=40)
    parser.add_argument("--split", choices=("tune", "holdout", "all"), default="holdout")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--site", choices=("any", "international", "china"), default="any", help="any: 30%% China"
    )
    parser.add_argument(
        "--engines",
        default="default",
        help="comma-separated: default (each site's configured engine), tesserocr, "
        "pytesseract, rapidocr",
    )
    args = parser.parse_args()
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    master = random.Random(args.seed)
    media = [m for m in Medium if not (args.site == "china" and m is Medium.BORN_DIGITAL)]
    jobs = [
        (master.randrange(2**31), medium.value) for medium in media for _ in range(args.per_medium)
    ]
    real = [
        doc.id
        for doc in corpus.documents()
        if doc.kind == "born_digital_pdf"
        and doc.company_name
        and args.split in (doc.split, "all")
        and args.site != "china"
    ]
    started = time.perf_counter()
    gathered = {}
    # spawn, not fork: a child forked after OpenCV ran in this process can hang in its pool
    spawn = multiprocessing.get_context("spawn")
    for name in engines:
        with ProcessPoolExecutor(args.workers, mp_context=spawn) as pool:
            results = list(
                pool.map(
                    evaluate,
                    [seed for seed, _ in jobs],
                    [medium for _, medium in jobs],
                    [name] * len(jobs),
                    [args.site] * len(jobs),
                    chunksize=2,
                )
            )
            results += list(pool.map(evaluate_real, real, [name] * len(real)))
        gathered[name] = results
    reports = {name: engine_report(results, name, args.site) for name, results in gathered.items()}
    print(
        json.dumps(
            {
                "benchmark": "ocr_accuracy",
                "seed": args.seed,
                "split": args.split,
                "site": args.site,
                "side_by_side": {name: report["summary"] for name, report in reports.items()},
                "engines": reports,
                "seconds": round(time.perf_counter() - started, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
