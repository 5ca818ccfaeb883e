"""Exceptions that tell the runtime what to do with a failed event."""


class PermanentError(Exception):
    """Retrying cannot help (bad reference, refused transition): dead-letter at once."""


class RefusedError(PermanentError):
    """A request the business rules refuse (enterprise → individual): audited, dead-lettered."""


class TransientError(Exception):
    """A dependency is briefly unavailable; retry with backoff."""
