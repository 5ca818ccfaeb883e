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

    model_config = ConfigDict(frozen=True, extra="forbid")


class Envelope(Model):
    """Fields shared by every event; `event_type` is fixed per subclass."""

    event_id: UUID
    event_type: str
    schema_version: int = Field(default=SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION)
    occurred_at: UtcDatetime
    account_id: Identifier
    submission_id: Identifier
    producer: Identifier


class DocumentRef(Model):
    """A document travels by reference (claim check); the store verifies `sha256` on read."""

    side: Side
    uri: Annotated[str, Field(min_length=1, max_length=2048)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    media_type: Annotated[str, Field(pattern=r"^[a-z]+/[a-z0-9.+\-]+$")]
    size_bytes: Annotated[int, Field(ge=0)]
