"""The customer portal's side: store the two document images, then publish `SubmissionReceived`.

Everything is validated before anything is written or published, so invalid input leaves no
trace but a clear error.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from pipeline.documents import DocumentError, DocumentStore
from pipeline.publishing import Publisher
from pipeline.stage import utc_now
from schemas import DocumentRef
from schemas.base import Identifier, Model
from schemas.catalog import describe_validation_error
from schemas.enums import AccountType, Locale, Side, Site
from schemas.events import (
    Application,
    CompanyDetails,
    ComplianceSelectionChanged,
    CountryCode,
    SubmissionReceived,
)

PRODUCER = "portal"


class SubmissionError(ValueError):
    """Input the portal refuses; the message is safe to show (no values echoed)."""


class PortalForm(Model):
    """What the customer typed, before documents are attached."""

    account_id: Identifier
    site: Site = Site.INTERNATIONAL
    account_type: AccountType = AccountType.INDIVIDUAL
    registered_country: CountryCode
    contact_email: str
    locale: Locale = Locale.EN
    company: CompanyDetails
    mainland_resources: bool = False


class PortalPublisher:
    def __init__(
        self,
        publisher: Publisher,
        documents: DocumentStore,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._publisher = publisher
        self._documents = documents
        self._clock = clock

    def submit(
        self, form: PortalForm | dict[str, object], front: Path, back: Path
    ) -> SubmissionReceived:
        """Validate, store both images, publish; returns the published event."""
        form = self._validated_form(form)
        submission_id = f"sub-{uuid.uuid4().hex[:20]}"
        for side, path in ((Side.FRONT, front), (Side.BACK, back)):
            if not Path(path).is_file():
                raise SubmissionError(f"the {side.value} document is not a readable file")
        try:
            # Checked against a placeholder first so a bad email etc. never copies a file,
            # and both files' types before either is stored.
            self._application(form, ())
            for side, path in ((Side.FRONT, front), (Side.BACK, back)):
                self._documents.upload_type(Path(path), side)
            refs = tuple(
                self._documents.put(Path(path), side, submission_id)
                for side, path in ((Side.FRONT, front), (Side.BACK, back))
            )
        except DocumentError as exc:
            raise SubmissionError(str(exc)) from None
        event = SubmissionReceived(
            event_id=uuid.uuid4(),
            occurred_at=self._clock(),
            account_id=form.account_id,
            submission_id=submission_id,
            producer=PRODUCER,
            application=self._application(form, refs),
        )
        self._publisher.publish(event)
        self._publisher.flush()
        return event

    def change_mainland_answer(
        self, account_id: str, submission_id: str, mainland_resources: bool
    ) -> ComplianceSelectionChanged:
        event = ComplianceSelectionChanged(
            event_id=uuid.uuid4(),
            occurred_at=self._clock(),
            account_id=account_id,
            submission_id=submission_id,
            producer=PRODUCER,
            mainland_resources=mainland_resources,
        )
        self._publisher.publish(event)
        self._publisher.flush()
        return event

    @staticmethod
    def _validated_form(form: PortalForm | dict[str, object]) -> PortalForm:
        if isinstance(form, PortalForm):
            return form
        try:
            return PortalForm.model_validate(form)
        except ValidationError as exc:
            raise SubmissionError(f"invalid submission: {describe_validation_error(exc)}") from None

    @staticmethod
    def _application(form: PortalForm, refs: tuple[DocumentRef, ...]) -> Application:
        try:
            return Application(
                site=form.site,
                account_type=form.account_type,
                registered_country=form.registered_country,
                contact_email=form.contact_email,
                locale=form.locale,
                company=form.company,
                mainland_resources=form.mainland_resources,
                documents=refs,
            )
        except ValidationError as exc:
            raise SubmissionError(f"invalid submission: {describe_validation_error(exc)}") from None
