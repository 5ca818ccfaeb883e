"""`kyb inspect`: run stage handlers on local files, outside any runtime, for operators."""

from __future__ import annotations

import tempfile
from pathlib import Path

from consumers import quality
from pipeline.documents import DocumentStore
from pipeline.settings import Settings
from pipeline.stage import Context, utc_now
from pipeline.state import InMemoryStateStore
from producers.portal import PortalPublisher
from schemas import Envelope
from schemas.events import QualityChecked, SubmissionReceived


class InspectionError(ValueError):
    """An input file cannot be read."""


class _Keep:
    def __init__(self) -> None:
        self.events: list[Envelope] = []

    def publish(self, event: Envelope) -> None:
        self.events.append(event)

    def flush(self) -> None:
        """Nothing to flush."""


def inspect_files(front: Path, back: Path, settings: Settings) -> QualityChecked:
    for label, path in (("front", front), ("back", back)):
        if not path.is_file():
            raise InspectionError(f"cannot read the {label} image: {path} is not a file")
        try:
            path.open("rb").close()
        except OSError as exc:
            raise InspectionError(f"cannot read the {label} image: {exc.strerror}") from None
    with tempfile.TemporaryDirectory(prefix="kyb-inspect-") as scratch:
        documents = DocumentStore([Path(scratch)], max(settings.document_max_bytes, 1))
        keep = _Keep()
        form: dict[str, object] = {
            "account_id": "inspect",
            "registered_country": "SG",
            "contact_email": "inspect@kyb.example",
            "company": {
                "company_name": "-",
                "registration_number": "-",
                "state_province": "-",
                "city": "-",
                "address_line1": "-",
            },
        }
        try:
            submitted = PortalPublisher(keep, documents).submit(form, front, back)
        except ValueError as exc:
            raise InspectionError(str(exc)) from None
        assert isinstance(submitted, SubmissionReceived)
        ctx = Context("quality", settings, InMemoryStateStore(), documents, clock=utc_now)
        [checked] = quality.handle(submitted, ctx)
        return checked
