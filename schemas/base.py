"""The envelope every event carries, and the claim-check reference to a document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from schemas.enums import Side

SCHEMA_VERSION = 1


def _require_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp must carry a timezone")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_require_utc)]
Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]


class Model(BaseModel):
    """Frozen, strict about unknown fields: an event is a fact, and a typo is an error."""

    # the docstring under each field is its description in the exported JSON Schema
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Envelope(Model):
    """Fields shared by every event; `event_type` is fixed per subclass."""

    event_id: UUID
    """Unique id of this event (UUID). Set by the producer; outputs of a stage derive theirs from
    their input's id, so a replayed input yields the same ids: consumers drop duplicates by this
    id.
    """
    event_type: str
    """The event's type; each event schema fixes it to its own name."""
    schema_version: int = Field(default=SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION)
    """Version of the event contract (1). A worker sets aside (dead letter `unsupported_version`) a
    newer version than it knows.
    """
    occurred_at: UtcDatetime
    """When it happened, ISO 8601 with a timezone (stored as UTC). For a SubmissionReceived: when
    the customer submitted; newer submissions of an account supersede older ones by this time.
    """
    account_id: Identifier
    """The customer's account in the account center; also the Kafka record key (UTF-8), so an
    account's events stay in order.
    """
    submission_id: Identifier
    """The portal's id of one submission (both sides plus typed details); events caused by it carry
    it. "-" for events about the whole account (erasure).
    """
    producer: Identifier
    """Who wrote the event: a stage name, "portal", "reviewers" or "operator"; for the audit trail.
    """


class DocumentRef(Model):
    """A document travels by reference (claim check); the store verifies `sha256` on read."""

    side: Side
    """Which side of the certificate: front or back."""
    uri: Annotated[str, Field(min_length=1, max_length=2048)]
    """Where the file is: `file://` under the document roots the workers share (or, later, object
    storage). Documents never travel inside events.
    """
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    """Hex sha256 of the file's bytes, computed by the portal at upload; the workers refuse a file
    whose bytes differ (identity status `refused`, reason `hash_mismatch`).
    """
    media_type: Annotated[str, Field(pattern=r"^[a-z]+/[a-z0-9.+\-]+$")]
    """The file's type from its content (magic bytes), e.g. image/jpeg, image/png, image/webp,
    image/tiff, application/pdf; must match the stored bytes.
    """
    size_bytes: Annotated[int, Field(ge=0)]
    """The file's size in bytes; must match the stored file."""
