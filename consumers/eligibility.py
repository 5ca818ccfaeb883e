"""Eligibility policy: what a verified organisation may use, by entity type.

A sole proprietorship (declared by the customer, or found by OCR: the licence's wording, or a
Chinese USCC starting with 92) is verified with restrictions; which services it may not use is
configuration (`KYB_SOLE_PROPRIETORSHIP_RESTRICTIONS`), stated in the audit trail and the email.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.settings import Settings
from schemas.enums import EntityType, FieldName
from schemas.events import Application, FieldMatch


def is_sole_proprietorship(application: Application, fields: Sequence[FieldMatch] = ()) -> bool:
    if application.company.entity_type is EntityType.SOLE_PROPRIETORSHIP:
        return True
    return any(
        match.field is FieldName.ENTITY_TYPE and match.found == EntityType.SOLE_PROPRIETORSHIP.value
        for match in fields
    )


def restrictions(sole_proprietorship: bool, settings: Settings) -> list[str]:
    """The services this organisation may not use; empty for companies."""
    return list(settings.sole_proprietorship_restrictions) if sole_proprietorship else []
