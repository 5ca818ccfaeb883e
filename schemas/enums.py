"""Closed vocabularies shared by every event: statuses, decisions, reason and finding codes."""

from enum import StrEnum


class Site(StrEnum):
    """Which website the account belongs to; decides registration-number rules and OCR languages."""

    INTERNATIONAL = "international"
    CHINA = "china"


class Side(StrEnum):
    """A side of the business registration certificate."""

    FRONT = "front"
    BACK = "back"


class AccountType(StrEnum):
    """The account's type: individual until an identity verification is approved, then enterprise
    (never back).
    """

    INDIVIDUAL = "individual"
    ENTERPRISE = "enterprise"


class EntityType(StrEnum):
    """What the customer declared the organisation to be."""

    COMPANY = "company"
    SOLE_PROPRIETORSHIP = "sole_proprietorship"
    PARTNERSHIP = "partnership"
    OTHER = "other"


class Locale(StrEnum):
    """The language of the customer's emails."""

    EN = "en"
    ZH_CN = "zh-CN"


class IdentityStatus(StrEnum):
    """The identity track: submitted, checking, in_review, then final verified, rejected,
    resubmission_required, or refused (the portal's mistake)."""

    SUBMITTED = "submitted"
    CHECKING = "checking"
    IN_REVIEW = "in_review"
    VERIFIED = "verified"
    REJECTED = "rejected"
    RESUBMISSION_REQUIRED = "resubmission_required"
    REFUSED = "refused"  # the portal sent what cannot be processed (see SubmissionRefusal)


#: The one definition of "the case is decided" per track (verdict, dashboard and tests use it).
FINAL_IDENTITY_STATUSES = frozenset(
    {
        IdentityStatus.VERIFIED,
        IdentityStatus.REJECTED,
        IdentityStatus.RESUBMISSION_REQUIRED,
        IdentityStatus.REFUSED,
    }
)


class ComplianceStatus(StrEnum):
    """The compliance track: not_required or pending, then final approved or rejected."""

    NOT_REQUIRED = "not_required"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


FINAL_COMPLIANCE_STATUSES = frozenset({ComplianceStatus.APPROVED, ComplianceStatus.REJECTED})


class MainlandAnswer(StrEnum):
    """The customer's answer to "will you buy resources in the Chinese mainland?"."""

    YES = "yes"
    NO = "no"


class StatusTrack(StrEnum):
    """The independent status machines kept per account."""

    IDENTITY = "identity"
    COMPLIANCE = "compliance"
    ACCOUNT_TYPE = "account_type"
    MAINLAND_RESOURCES = "mainland_resources"  # the customer's answer, "yes" / "no": audit only


class ReviewQueue(StrEnum):
    """The two review queues: identity (the certificate) and compliance (Chinese mainland
    resources).
    """

    IDENTITY = "identity"
    COMPLIANCE = "compliance"


class TaskAction(StrEnum):
    """What happened to a review task: assigned to a reviewer, unassigned (moved or put back),
    cancelled.
    """

    ASSIGNED = "assigned"
    UNASSIGNED = "unassigned"  # reassigned to someone else, or back in the backlog
    CANCELLED = "cancelled"  # superseded by a newer submission; nothing to decide


class Decision(StrEnum):
    """A reviewer's decision on a task; final for that task."""

    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_RESUBMISSION = "request_resubmission"


class ReasonCode(StrEnum):
    """Why a reviewer decided as they did; shown to the customer in plain words."""

    DOCUMENTS_CONSISTENT = "documents_consistent"
    NAME_MISMATCH = "name_mismatch"
    REGISTRATION_NUMBER_MISMATCH = "registration_number_mismatch"
    ADDRESS_MISMATCH = "address_mismatch"
    DOCUMENT_EXPIRED = "document_expired"
    COUNTRY_MISMATCH = "country_mismatch"
    DOCUMENT_ILLEGIBLE = "document_illegible"
    DOCUMENT_ALTERED = "document_altered"
    NOT_OWN_ORGANIZATION = "not_own_organization"
    COMPLIANCE_CLEARED = "compliance_cleared"
    COMPLIANCE_RESTRICTED = "compliance_restricted"
    OTHER = "other"


class SubmissionRefusal(StrEnum):
    """Why a submission cannot be processed at all: a mistake of the portal, not the customer.
    The portal is told on `kyb.status` (identity `refused`); the customer gets no email."""

    DOCUMENT_REFUSED = "document_refused"  # URI scheme, host, path outside the roots, not a file
    DOCUMENT_MISSING = "document_missing"  # nothing at the URI
    HASH_MISMATCH = "hash_mismatch"  # the bytes are not those the sha256 names
    SIZE_MISMATCH = "size_mismatch"  # size_bytes differs from the stored file
    MEDIA_TYPE_MISMATCH = "media_type_mismatch"  # media_type differs from the content


class QualityCode(StrEnum):
    """Finding codes of the image-quality stage."""

    MISSING_SIDE = "missing_side"
    DOCUMENT_UNREADABLE = "document_unreadable"
    HASH_MISMATCH = "hash_mismatch"
    FILE_TOO_LARGE = "file_too_large"
    UNSUPPORTED_FORMAT = "unsupported_format"
    CORRUPT_FILE = "corrupt_file"
    TOO_MANY_PIXELS = "too_many_pixels"
    SAME_PICTURE = "same_picture"
    DOCUMENT_NOT_FOUND = "document_not_found"
    CROPPED = "cropped"
    DOCUMENT_TOO_SMALL = "document_too_small"
    LOW_RESOLUTION = "low_resolution"
    BLURRY = "blurry"
    TOO_DARK = "too_dark"
    OVEREXPOSED = "overexposed"
    LOW_CONTRAST = "low_contrast"
    GLARE = "glare"
    NOT_COLOUR = "not_colour"
    SKEWED = "skewed"
    PDF_ENCRYPTED = "pdf_encrypted"
    PDF_ACTIVE_CONTENT = "pdf_active_content"
    TOO_MANY_PAGES = "too_many_pages"


class FieldName(StrEnum):
    """A field compared between what the customer typed and what the certificate says."""

    COMPANY_NAME = "company_name"
    REGISTRATION_NUMBER = "registration_number"
    STATE_PROVINCE = "state_province"
    CITY = "city"
    ADDRESS_LINE1 = "address_line1"
    ISSUE_DATE = "issue_date"
    EXPIRY_DATE = "expiry_date"
    ISSUING_COUNTRY = "issuing_country"
    ENTITY_TYPE = "entity_type"


class MatchStatus(StrEnum):
    """How a typed field compares with the certificate: match, partial (the reviewer must look),
    mismatch, not_found.
    """

    MATCH = "match"
    PARTIAL = "partial"
    MISMATCH = "mismatch"
    NOT_FOUND = "not_found"


class Recommendation(StrEnum):
    """The OCR stage's hint to the reviewer: clean, or attention (look closely); never a
    decision."""

    CLEAN = "clean"
    ATTENTION = "attention"


class NotificationTemplate(StrEnum):
    """Which email the customer gets."""

    RECEIVED = "received"
    RESUBMISSION_REQUIRED = "resubmission_required"
    VERIFIED = "verified"
    REJECTED = "rejected"
    COMPLIANCE_PENDING = "compliance_pending"
    COMPLIANCE_APPROVED = "compliance_approved"
    COMPLIANCE_REJECTED = "compliance_rejected"


class DeadLetterReason(StrEnum):
    """Why a record was set aside on kyb.deadletter (replay it from its source once fixed)."""

    UNPARSEABLE = "unparseable"
    UNSUPPORTED_VERSION = "unsupported_version"  # a newer schema_version: upgrade, then replay
    INVALID_EVENT = "invalid_event"
    WRONG_TOPIC = "wrong_topic"
    WRONG_KEY = "wrong_key"  # the record key is not the event's account_id (ordering lost)
    REFUSED = "refused"
    PROCESSING_FAILED = "processing_failed"
