"""JSON Schema per event and one AsyncAPI 3.0 document, derived from the models and topology."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from schemas.base import SCHEMA_VERSION, Envelope
from schemas.catalog import EVENT_TYPES, TOPICS, topic_for_type_or_none
from schemas.examples import EXAMPLES

REF_TEMPLATE = "#/components/schemas/{model}"


def event_json_schemas() -> dict[str, dict[str, Any]]:
    """Standalone JSON Schema (draft 2020-12) for every event type."""
    values = _field_examples()
    schemas = {}
    for name, cls in EVENT_TYPES.items():
        schema = cls.model_json_schema() | {"examples": [_example(name)]}
        for model_name, model in [(name, schema), *schema.get("$defs", {}).items()]:
            for field, spec in model.get("properties", {}).items():
                if (model_name, field) in values:
                    spec.setdefault("examples", [values[model_name, field]])
        schemas[name] = schema
    return schemas


def _field_examples() -> dict[tuple[str, str], Any]:
    """(model, field) -> an example value, taken from the event examples (nested models too)."""
    found: dict[tuple[str, str], Any] = {}

    def walk(model: BaseModel) -> None:
        dumped = model.model_dump(mode="json")
        for field in type(model).model_fields:
            found.setdefault((type(model).__name__, field), dumped[field])
            value = getattr(model, field)
            for item in value if isinstance(value, tuple) else (value,):
                if isinstance(item, BaseModel):
                    walk(item)

    for event in EXAMPLES.values():
        walk(event)
    return found


def _example(name: str) -> Any:
    return EXAMPLES[name].model_dump(mode="json")


def asyncapi_document(
    operations: Iterable[tuple[str, str, str]],
    title: str = "kyb-pipeline",
) -> dict[str, Any]:
    """AsyncAPI 3.0; `operations` are (actor, "send"|"receive", topic name) triples."""
    _, definitions = models_json_schema(
        [(cls, "validation") for cls in EVENT_TYPES.values()], ref_template=REF_TEMPLATE
    )
    channels: dict[str, Any] = {}
    for topic in TOPICS:
        channels[_channel_id(topic.name)] = {
            "address": topic.name,
            "description": f"{topic.description} Key: {topic.key}. Partitions: {topic.partitions}.",
            "messages": {
                cls.__name__: {"$ref": f"#/components/messages/{cls.__name__}"}
                for cls in topic.event_types
            },
            "bindings": {
                "kafka": {
                    "bindingVersion": "0.5.0",
                    "topic": topic.name,
                    "partitions": topic.partitions,
                    "topicConfiguration": {"retention.ms": topic.retention_ms},
                }
            },
        }
    ops: dict[str, Any] = {}
    for actor, action, topic_name in operations:
        channel = _channel_id(topic_name)
        ops[f"{actor}_{action}_{channel}"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"{actor} {action}s {topic_name}",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": title,
            "version": f"{SCHEMA_VERSION}.0.0",
            "description": "Enterprise identity verification events. Every message is JSON, "
            "keyed by account_id unless stated otherwise.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": ops,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "messages": {
                name: {
                    "name": name,
                    "payload": {"$ref": REF_TEMPLATE.format(model=name)},
                    "bindings": {"kafka": _message_binding(cls)},
                    "examples": [
                        {
                            "key": _example(name).get(_key_field(cls)),
                            "payload": _example(name),
                        }
                    ],
                }
                for name, cls in EVENT_TYPES.items()
            },
        },
    }


def write_export(directory: Path, operations: Iterable[tuple[str, str, str]]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in event_json_schemas().items():
        written.append(_write(directory / f"{name}.schema.json", schema))
    written.append(_write(directory / "asyncapi.json", asyncapi_document(operations)))
    return written


def _message_binding(cls: type[Envelope]) -> dict[str, Any]:
    """The record key: which field, how encoded, and the partitioner producers must use."""
    key = _key_field(cls)
    return {
        "bindingVersion": "0.5.0",
        "key": {
            "type": "string",
            "description": f"The event's `{key}`, UTF-8. Partitioner: murmur2 of the key bytes "
            "(the Java client's and kafka-python's default; librdkafka clients set "
            "partitioner=murmur2_random). No headers.",
        },
    }


def _key_field(cls: type[Envelope]) -> str:
    topic = topic_for_type_or_none(cls)
    return topic.key if topic is not None else "account_id"


def _channel_id(topic_name: str) -> str:
    return topic_name.replace(".", "_")


def _write(path: Path, document: Mapping[str, Any]) -> Path:
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return path
