from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from pipeline.app.cli import app
from schemas import EVENT_TYPES, TOPICS


def test_schema_export_writes_a_schema_per_event_and_asyncapi(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["schema", "export", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in EVENT_TYPES:
        schema = json.loads((tmp_path / f"{name}.schema.json").read_text())
        assert schema["properties"]["event_type"]["const"] == name
        assert schema["additionalProperties"] is False
    doc = json.loads((tmp_path / "asyncapi.json").read_text())
    assert doc["asyncapi"] == "3.0.0"
    assert {channel["address"] for channel in doc["channels"].values()} == {t.name for t in TOPICS}
    for message in doc["components"]["messages"].values():
        ref = message["payload"]["$ref"].split("/")[-1]
        assert ref in doc["components"]["schemas"]
    actions = {(op["action"], op["channel"]["$ref"]) for op in doc["operations"].values()}
    assert ("receive", "#/channels/kyb_submissions") in actions
    assert ("send", "#/channels/kyb_ocr_matched") in actions


def test_asyncapi_states_the_kafka_key_partitioner_and_partitions(tmp_path: Path) -> None:
    CliRunner().invoke(app, ["schema", "export", str(tmp_path)])
    doc = json.loads((tmp_path / "asyncapi.json").read_text())
    by_address = {channel["address"]: channel for channel in doc["channels"].values()}
    for topic in TOPICS:
        kafka = by_address[topic.name]["bindings"]["kafka"]
        assert kafka["partitions"] == topic.partitions
        assert kafka["topicConfiguration"]["retention.ms"] == topic.retention_ms
    messages = doc["components"]["messages"]
    assert (
        "`account_id`" in messages["SubmissionReceived"]["bindings"]["kafka"]["key"]["description"]
    )
    assert "`stage`" in messages["DeadLetter"]["bindings"]["kafka"]["key"]["description"]
    assert all(
        "murmur2_random" in m["bindings"]["kafka"]["key"]["description"] for m in messages.values()
    )


def test_every_field_is_described_and_every_schema_has_a_valid_example(tmp_path: Path) -> None:
    CliRunner().invoke(app, ["schema", "export", str(tmp_path)])
    described = fields = exemplified = 0
    for name in EVENT_TYPES:
        schema = json.loads((tmp_path / f"{name}.schema.json").read_text())
        models = {name: schema, **schema.get("$defs", {})}
        for model_name, model in models.items():
            assert model.get("description"), model_name
            for field, spec in model.get("properties", {}).items():
                fields += 1
                described += bool(spec.get("description"))
                assert spec.get("description"), f"{model_name}.{field}"
                assert "examples" in spec, f"{model_name}.{field} has no example"
                exemplified += 1
        [example] = schema["examples"]
        validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.FormatChecker()
        )
        validator.validate(example)
        assert example["event_type"] == name
    assert described == exemplified == fields > 300
    doc = json.loads((tmp_path / "asyncapi.json").read_text())
    for name, message in doc["components"]["messages"].items():
        [example] = message["examples"]
        assert example["payload"]["event_type"] == name
        assert example["key"]


def test_the_portal_integration_commands_in_readme_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    section = readme.split("## Portal integration", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].split() for line in block.splitlines() if line.strip()]
    assert commands
    assert all(command[0] == "kyb" for command in commands)
    monkeypatch.chdir(tmp_path)
    for command in commands:
        result = CliRunner().invoke(app, command[1:])
        assert result.exit_code == 0, (command, result.output)
    assert (tmp_path / "contract" / "asyncapi.json").is_file()
    assert len(list((tmp_path / "contract").glob("*.schema.json"))) == len(EVENT_TYPES)
