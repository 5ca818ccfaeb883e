"""`ocr` reads international certificates and `ocr-china` Chinese licences, never both."""

from __future__ import annotations

from pathlib import Path

from consumers import ocr
from pipeline.documents import DocumentStore
from pipeline.settings import Settings
from pipeline.stage import Context
from pipeline.state import memory_state_store
from schemas.enums import Site
from schemas.events import QualityChecked
from tests.helpers import application, submission

NO_DOCUMENTS = DocumentStore([Path("/nonexistent")], 1000)


def checked(site: Site) -> QualityChecked:
    """A passed submission with no documents: a stage that took it would fail to read it."""
    typed = application(site=site.value, registered_country="CN" if site is Site.CHINA else "SG")
    event = submission(application=typed)
    ctx = Context("quality", Settings(), memory_state_store(), NO_DOCUMENTS)
    return ctx.derive(QualityChecked, event, application=typed, passed=True)


def test_each_ocr_stage_leaves_the_other_site_alone() -> None:
    ctx = Context("ocr", Settings(), memory_state_store(), NO_DOCUMENTS)
    assert ocr.handle_china(checked(Site.INTERNATIONAL), ctx) == []
    assert ocr.handle(checked(Site.CHINA), ctx) == []


def test_the_engine_is_chosen_per_site() -> None:
    settings = Settings(ocr_engine="pytesseract", ocr_engine_china="rapidocr")
    assert ocr.engine_name(settings, Site.CHINA) == "rapidocr"
    assert ocr.engine_name(settings, Site.INTERNATIONAL) == "pytesseract"
    assert Settings().ocr_engine_china == "rapidocr"  # the default, chosen by the benchmark
