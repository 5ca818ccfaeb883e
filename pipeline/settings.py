"""The one settings object: every knob comes from here (env prefix `KYB_`), never os.environ."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.priority import YieldPolicy

OcrEngineName = Literal["tesserocr", "pytesseract", "rapidocr"]


class QualityThresholds(BaseModel):
    """Limits of the image-quality checks (calibrated by benchmarks/quality_accuracy.py).

    Override any of them with e.g. `KYB_QUALITY__MIN_SHARPNESS=10`.
    """

    max_pixels: int = Field(default=50_000_000, description="header check, before decoding")
    max_decoded_mb: float = Field(
        default=250,
        gt=0,
        description="header check: decoder buffer (bit depth x samples) plus the 8-bit copy",
    )
    decode_long_side: int = Field(default=800, description="decode JPEGs down to about this")
    decode_min_long_side: int = Field(
        default=640,
        ge=1,
        description="the pixel checks take a JPEG smaller than decode_long_side, down to this, "
        "when the decoder's DCT scaling gets there (no full decode and resize)",
    )
    decode_timeout_s: float = Field(
        default=20.0, gt=0, description="hard limit for checking one side (child process)"
    )
    max_jpeg_scans: int = Field(
        default=32, ge=1, description="progressive JPEG scans; libjpeg writes 10, bombs thousands"
    )
    detail_long_side: int = Field(
        default=1800, description="faint print is confirmed on a decode this large"
    )
    min_document_short_side_px: float = Field(
        default=800, description="about 96 dpi on A4: 8-pt capitals are ~8 px tall"
    )
    min_letter_height_px: float = Field(
        default=7.0,
        description="median letter height (~x-height) that keeps a page under the pixel line "
        "legible: OCR word recall on real pages >= 0.85 of its 300-dpi value from 7 px",
    )
    min_sharpness: float = Field(default=0.4, description="2nd-derivative energy, worst direction")
    max_dark_p98: float = Field(default=100, description="the paper itself is darker than this")
    max_clipped_fraction: float = Field(
        default=0.25,
        description="share of burnt-out pixels that makes washed-out print overexposure",
    )
    min_text_contrast: float = Field(
        default=90, description="paper minus ink brightness; below it the print is faint"
    )
    min_print_contrast: float = Field(
        default=15, description="below this nothing is printed: a blank page, no document"
    )
    min_text_contrast_clipped: float = Field(
        default=110, description="the same when the highlights are burnt out (overexposure)"
    )
    min_glare_blob: float = Field(default=0.005, description="largest highlight / document area")
    min_colour_ratio: float = Field(default=0.1, description="chroma p99.7 / contrast")
    min_colour_chroma: float = Field(
        default=6.0, description="chroma p99.7 below this is scanner and JPEG noise, not colour"
    )
    min_colour_contrast: float = Field(
        default=25.0, description="below this print contrast the ratio is noise over noise"
    )
    min_coverage: float = Field(default=0.15, description="document area / picture area")
    max_skew_deg: float = 8.0
    max_same_picture_distance: int = Field(default=8, description="perceptual-hash bits")
    ela_flag_ratio: float = Field(default=4.0, description="tamper signal, reviewers only")
    editing_software: list[str] = Field(
        default_factory=lambda: [
            "photoshop",
            "gimp",
            "pixelmator",
            "affinity",
            "snapseed",
            "lightroom",
            "paint.net",
            "canva",
            "picsart",
            "fotor",
            "facetune",
            # PDF editors, as they name themselves in Producer / Creator
            "pdfescape",
            "sejda",
            "smallpdf",
            "ilovepdf",
            "pdfelement",
            "pdf-xchange editor",
            "foxit pdf editor",
            "foxit phantompdf",
            "nitro pro",
            "master pdf editor",
            "acrobat pro",
            "inkscape",
            "libreoffice draw",
        ]
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KYB_", env_nested_delimiter="__", extra="ignore")

    # --- Kafka
    bootstrap_servers: str = "127.0.0.1:9092"
    client_id: str = "kyb"
    session_timeout_ms: int = Field(default=10_000, ge=1_000)
    heartbeat_interval_ms: int = Field(default=2_000, ge=100)
    max_poll_records: int = Field(default=100, ge=1)
    max_poll_records_cpu_bound: int = Field(
        default=2,
        ge=1,
        description="OCR takes ~1 s per record: small batches commit often, so a rebalance "
        "(a worker added or lost) never waits on a long batch; a stage handling several "
        "records at once (quality: 2) reads that many times this",
    )
    max_poll_interval_ms: int = Field(default=300_000, ge=10_000)
    poll_timeout_ms: int = Field(default=500, ge=10)
    producer_linger_ms: int = Field(
        default=5,
        ge=0,
        le=1_000,
        description="how long a producer waits for more records to put into one request, "
        "each of which costs kafka-python ~1-2 ms of CPU: 20 cut a no-op hop's CPU per record "
        "to ~0.8x when records come one at a time (benchmarks/kafka_hop.py, paced_hop), for "
        "~15 ms more per hop, and changed nothing measurable in benchmarks/chain.py",
    )
    shutdown_timeout_s: float = Field(
        default=20.0,
        gt=0,
        description="bounds a worker's hand-over on stop (flush, commit, leave the group), well "
        "inside the pods' 60 s grace period; what is not acknowledged by then is re-read",
    )
    default_partitions: int = Field(default=6, ge=1)
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="PLAINTEXT is for a loopback test broker only"
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = Field(default=None, description="one principal per stage")
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = Field(default=None, description="CA that signed the broker")
    kafka_ssl_certfile: Path | None = Field(default=None, description="client certificate (mTLS)")
    kafka_ssl_keyfile: Path | None = None
    kafka_ssl_key_password: SecretStr | None = None
    replication_factor: int = Field(default=1, ge=1)

    health_file: Path | None = Field(
        default=None, description="workers touch it every loop; `kyb health` checks its age"
    )
    native_threads: int = Field(default=1, ge=1, description="OpenCV/OpenMP threads per worker")
    yield_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="nice increment for the stages only reviewers wait on (OCR, assignment, "
        "compliance) under `yield_policy=nice`, and for notify under either policy, so they "
        "yield the CPU to the customer's instant feedback (quality, verdict); 0 runs them at "
        "normal priority",
    )
    yield_policy: YieldPolicy = Field(
        default="idle",
        description="how those stages yield: `nice` lowers their priority by `yield_nice`; "
        "`idle` runs them under Linux SCHED_IDLE, so they get a core only when nothing else "
        "wants it",
    )
    sandbox: bool = Field(
        default=True, description="decode customer files and run OCR in a bounded child process"
    )
    sandbox_memory_mb: int = Field(
        default=2048, ge=256, description="address-space limit of each such child process"
    )
    sandbox_children: int = Field(
        default=2,
        ge=1,
        le=8,
        description="child processes per worker for independent work: the quality stage "
        "checks a submission's front and back at once, one per child (2 uses two cores)",
    )

    metrics_window_s: float = Field(
        default=10.0, gt=0, description="each worker publishes a StageMetric this often"
    )

    # --- delivery
    max_attempts: int = Field(default=3, ge=1, description="handler attempts before dead-lettering")
    retry_backoff_ms: int = Field(default=200, ge=0)

    # --- state
    state_backend: Literal["memory", "redis"] = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "kyb:"

    # --- documents
    document_roots: list[Path] = Field(default_factory=lambda: [Path("documents").resolve()])
    document_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1)

    # --- documents in object storage (s3://bucket/key), read like file:// ones
    document_buckets: list[str] = Field(
        default_factory=list,
        description='allow-listed "bucket" or "bucket/prefix" entries; other s3:// URIs are '
        "refused",
    )
    document_upload_to: str | None = Field(
        default=None,
        description="where `kyb submit` stores uploads, e.g. s3://kyb-documents/uploads "
        "(default: the first document root)",
    )
    s3_endpoint: str | None = Field(default=None, description="S3-compatible endpoint URL")
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_allow_http: bool = Field(default=False, description="plain HTTP (a local store only)")
    s3_timeout_s: float = Field(default=10.0, gt=0, description="per request")
    s3_retries: int = Field(default=3, ge=0)

    # --- image quality
    quality: QualityThresholds = Field(default_factory=QualityThresholds)

    # --- OCR
    ocr_engine: OcrEngineName = Field(
        default="tesserocr", description="international certificates (Latin script)"
    )
    ocr_engine_china: OcrEngineName = Field(
        default="rapidocr",
        description="China-site licences: PP-OCRv4 reads the Chinese name and USCC where "
        "tesseract's chi_sim misses (README: choosing the OCR engine)",
    )
    ocr_document_long_side: int = Field(default=1800, description="OCR the document at this size")
    ocr_document_long_side_china: int = Field(
        default=2400, description="Chinese licences: CJK plus small Latin print need more pixels"
    )
    ocr_min_long_side: int = Field(default=1400, description="upscale smaller documents to this")
    ocr_page_segmentation: int = Field(
        default=4,
        ge=0,
        le=13,
        description="tesseract PSM; 4 (one column, mixed sizes) keeps a label and its value "
        "on one line and does not merge a CJK line with the translation under it",
    )
    tesseract_cmd: str = "tesseract"
    ocr_timeout_s: float = Field(default=30.0, gt=0)
    ocr_languages_international: str = "eng"
    ocr_languages_china: str = "chi_sim+eng"

    # --- review
    review_business_days: int = Field(default=3, ge=1)
    review_idle_reassign_s: float = Field(
        default=8 * 3600, gt=0, description="reassign a task its reviewer has not decided by then"
    )
    decision_signing_key: SecretStr | None = Field(
        default=None,
        description="HMAC key the reviewers' tools sign decisions with and assign/verdict "
        "verify; decisions are refused without it",
    )
    console_secure_cookies: bool = Field(
        default=True,
        description="the session cookie is Secure (HTTPS only; browsers also keep it on "
        "http://localhost); set false only for plain-HTTP development on another host",
    )
    review_decisions_lookback_s: float = Field(
        default=86_400,
        gt=0,
        description="reviewers' tools read decisions this far back at start (tasks come from "
        "the ledger), so kyb.review.decisions needs no longer retention",
    )
    console_session_idle_s: float = Field(default=30 * 60, gt=0, description="sign out after")
    console_session_lifetime_s: float = Field(default=12 * 3600, gt=0, description="at most")
    console_signin_per_address: str = Field(
        default="10/minute", description="failed sign-ins per client address (`limits` syntax)"
    )
    console_signin_overall: str = Field(
        default="100/minute", description="failed sign-ins from all addresses together"
    )
    tick_interval_s: float = Field(
        default=5.0, gt=0, description="periodic work: backlog, idle reassignment, SLA breaches"
    )

    # --- retention of personal data in Redis
    account_state_days: int = Field(
        default=400,
        ge=1,
        description="an account's verdict and compliance state expire this long after their "
        "last change (the audit trail on kyb.status is kept as long); `kyb erase` removes "
        "them at once",
    )

    # --- eligibility
    sole_proprietorship_restrictions: list[str] = Field(
        default_factory=lambda: [
            "Chinese mainland resources",
            "reseller and distribution programmes",
            "monthly invoiced billing",
        ],
        description="services a verified sole proprietorship may not use (stated in the result)",
    )

    # --- email
    mail_transport: Literal["smtp", "outbox"] = "smtp"
    outbox_dir: Path = Path("outbox")
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    mail_retry_attempts: int = Field(
        default=8, ge=1, description="tries while the SMTP server is down or answers 4xx"
    )
    mail_retry_initial_s: float = Field(default=0.5, ge=0, description="then 2x, 4x, …")
    mail_retry_max_delay_s: float = Field(default=15.0, ge=0)
    mail_from: str = "KYB Verification <no-reply@kyb.example>"
    mail_domain: str = "kyb.example"

    # --- dashboard
    dashboard_window_s: float = Field(default=60.0, gt=0, description="tumbling window size")
    dashboard_windows: int = Field(default=30, ge=2, description="windows kept and charted")
    dashboard_data_dir: Path = Path(".kyb-dashboard")
    dashboard_token: SecretStr | None = Field(
        default=None,
        description="when set, every dashboard URL needs it: `Authorization: Bearer <token>` "
        "(Prometheus) or HTTP basic auth with the token as password (browsers)",
    )

    # --- logging
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _kafka_credentials_complete(self) -> Self:
        if self.kafka_security_protocol.startswith("SASL_") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"KYB_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                "KYB_KAFKA_SASL_USERNAME and KYB_KAFKA_SASL_PASSWORD"
            )
        if (self.kafka_ssl_certfile is None) != (self.kafka_ssl_keyfile is None):
            raise ValueError("KYB_KAFKA_SSL_CERTFILE and KYB_KAFKA_SSL_KEYFILE go together")
        return self


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """`KYB_*` names no setting reads: a typo here would silently leave a default in force."""
    prefix = "KYB_"
    nested = {
        name: set(field.annotation.model_fields)
        for name, field in Settings.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    }
    unknown = []
    for variable in environ:
        if not variable.upper().startswith(prefix):
            continue
        name, _, sub = variable[len(prefix) :].lower().partition("__")
        if name not in Settings.model_fields or (sub and sub not in nested.get(name, set())):
            unknown.append(variable)
    return sorted(unknown)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process from the environment; unknown `KYB_*` names are warned."""
    for variable in unknown_variables(os.environ):
        logging.getLogger(__name__).warning(
            "%s is not a kyb setting and is ignored (a typo?); see `kyb settings`", variable
        )
    return Settings()
