"""`kyb inspect`: run stage handlers on local files, outside any runtime, for operators."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from consumers import ocr, quality
from pipeline.documents import DocumentStore
from pipeline.publishing import RecordingPublisher
from pipeline.settings import Settings
from pipeline.stage import Context, utc_now
from pipeline.state import memory_state_store
from producers.portal import PortalPublisher
from schemas.events import FieldsMatched, QualityChecked, SubmissionReceived


class InspectionError(ValueError):
    """An input file cannot be read."""


@dataclass(frozen=True)
class Typed:
    """What a customer typed, for inspecting the OCR matching."""

    company: str
    regno: str
    country: str
    state: str
    city: str
    address: str
    site: str


def inspect_files(
    front: Path, back: Path, settings: Settings, typed: Typed | None = None
) -> tuple[QualityChecked, FieldsMatched | bool | None]:
    """QualityChecked, and FieldsMatched when `typed` is given (False: OCR skipped because
    the photos failed quality; None: not asked)."""
    for label, path in (("front", front), ("back", back)):
        if not path.is_file():
            raise InspectionError(f"cannot read the {label} image: {path} is not a file")
        try:
            path.open("rb").close()
        except OSError as exc:
            raise InspectionError(f"cannot read the {label} image: {exc.strerror}") from None
    with tempfile.TemporaryDirectory(prefix="kyb-inspect-") as scratch:
        documents = DocumentStore([Path(scratch)], max(settings.document_max_bytes, 1))
        keep = RecordingPublisher()
        given = typed or Typed("-", "-", "SG", "-", "-", "-", "international")
        form: dict[str, object] = {
            "account_id": "inspect",
            "site": given.site,
            "registered_country": given.country,
            "contact_email": "inspect@kyb.example",
            "company": {
                "company_name": given.company,
                "registration_number": given.regno,
                "state_province": given.state,
                "city": given.city,
                "address_line1": given.address,
            },
        }
        try:
            submitted = PortalPublisher(keep, documents).submit(form, front, back)
        except ValueError as exc:
            raise InspectionError(str(exc)) from None
        assert isinstance(submitted, SubmissionReceived)
        ctx = Context("quality", settings, memory_state_store(), documents, clock=utc_now)
        [checked] = quality.handle(submitted, ctx)
        if typed is None:
            return checked, None
        matched = ocr.handle(checked, Context("ocr", settings, ctx.state, documents))
        return checked, (matched[0] if matched else False)
