"""Event models and the topic catalog: the contract between every stage of kyb-pipeline."""

from schemas.base import SCHEMA_VERSION, DocumentRef, Envelope
from schemas.catalog import (
    EVENT_TYPES,
    TOPICS,
    TOPICS_BY_NAME,
    Event,
    TopicSpec,
    UndecodableEvent,
    decode_event,
    encode_event,
    topic_for,
)
from schemas.events import *  # noqa: F403
from schemas.events import __all__ as _event_names

__all__ = [
    "EVENT_TYPES",
    "SCHEMA_VERSION",
    "TOPICS",
    "TOPICS_BY_NAME",
    "DocumentRef",
    "Envelope",
    "Event",
    "TopicSpec",
    "UndecodableEvent",
    "decode_event",
    "encode_event",
    "topic_for",
    *_event_names,
]
