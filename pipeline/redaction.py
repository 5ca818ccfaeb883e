"""What a dead letter keeps of the record it could not use: ids, never personal fields.

Dead letters are read by people on call and kept for weeks, so they carry the record's
identifiers (event, account, submission, task), the names of its top-level fields, its size and
sha256, and where it came from (topic, partition, offset): enough to find the record, see why
it failed and replay it from its source topic within that topic's retention. Company details,
contact addresses, document URIs and free text never reach `kyb.deadletter`.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

#: Top-level keys whose (short, identifier-shaped) values are kept.
KEPT = (
    "event_type",
    "event_id",
    "schema_version",
    "occurred_at",
    "account_id",
    "submission_id",
    "producer",
    "causation_id",
    "task_id",
    "notification_id",
    "stage",
)
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_.:+\-]{1,128}$")
_MAX_KEYS = 64


def redacted(raw: bytes) -> str:
    """JSON text describing `raw` without its content."""
    summary: dict[str, Any] = {
        "redacted": True,
        "bytes": len(raw),
        "sha256": hashlib.sha256(raw).hexdigest(),
    }
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        summary["json"] = False
        return json.dumps(summary)
    summary["json"] = True
    if not isinstance(value, dict):
        summary["type"] = type(value).__name__
        return json.dumps(summary)
    summary["fields"] = sorted(str(key)[:64] for key in list(value)[:_MAX_KEYS])
    for key in KEPT:
        kept = value.get(key)
        if (isinstance(kept, str) and _IDENTIFIER.match(kept)) or (
            isinstance(kept, int) and not isinstance(kept, bool)
        ):
            summary[key] = kept
    return json.dumps(summary)
