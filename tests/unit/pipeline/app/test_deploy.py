"""Deployment files are derived from the topology and say what the catalog says."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import yaml

from pipeline.app import deploy
from pipeline.app.topology import STAGES
from pipeline.stage import Scaling
from schemas import TOPICS, TOPICS_BY_NAME

DEPLOY = Path(__file__).parents[4] / "deploy"


def test_committed_files_are_what_the_topology_renders() -> None:
    for relative, text in deploy.render().items():
        committed = DEPLOY / relative
        assert committed.read_text(encoding="utf-8") == text, (
            f"{relative} is stale: run `kyb deploy render deploy/`"
        )


def test_compose_has_a_scaled_service_per_stage_and_the_infrastructure() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    for stage in STAGES:
        service = services[f"worker-{stage.name}"]
        assert service["command"] == ["worker", stage.name]
        assert service["deploy"]["replicas"] >= 1
        assert service["healthcheck"]["test"][1:3] == ["kyb", "health"]
        assert service["depends_on"]["topics-init"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "--appendonly" in services["redis"]["command"]
    assert services["topics-init"]["command"] == ["topics", "create"]
    assert {"smtp", "console", "dashboard", "lag-reporter"} <= set(services)
    # secrets are the operator's (.env), never written here: only interpolations
    for service in services.values():
        for name, value in (service.get("environment") or {}).items():
            if any(word in name for word in ("PASSWORD", "SECRET")):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]+\}", value), (name, value)
    assert services["worker-quality"]["environment"]["KYB_S3_ENDPOINT"] == "http://minio:9000"
    assert "minio-init" in services["worker-ocr"]["depends_on"]


def test_each_stage_scales_on_its_own_group_lag_up_to_its_partitions() -> None:
    for stage in STAGES:
        docs = list(yaml.safe_load_all((DEPLOY / "k8s" / f"stage-{stage.name}.yaml").read_text()))
        kinds = {doc["kind"]: doc for doc in docs}
        assert set(kinds) == {"Deployment", "ScaledObject", "PodDisruptionBudget"}
        container = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == ["worker", stage.name]
        assert container["livenessProbe"]["exec"]["command"][:2] == ["kyb", "health"]
        assert container["securityContext"]["runAsNonRoot"] is True
        scaled = kinds["ScaledObject"]["spec"]
        assert scaled["scaleTargetRef"]["name"] == kinds["Deployment"]["metadata"]["name"]
        triggers = scaled["triggers"]
        assert {t["metadata"]["consumerGroup"] for t in triggers} == {stage.group_id}
        topics = {t["metadata"]["topic"] for t in triggers}
        assert topics == {topic.name for topic in stage.reads}
        assert all(name in TOPICS_BY_NAME for name in topics)
        assert scaled["maxReplicaCount"] == max(TOPICS_BY_NAME[t].partitions for t in topics)
        assert kinds["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1


def test_the_image_runs_as_non_root_with_tesseract_and_the_project() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    for package in ("tesseract-ocr-eng", "tesseract-ocr-chi-sim"):
        assert package in text
    assert re.search(r"^USER kyb$", text, re.M)
    # the locked, hashed versions first; the project on top without resolving anything
    locked = text.index("RUN pip install --require-hashes -r requirements.lock")
    assert locked < text.index("RUN pip install --no-deps .")
    for folder in ("schemas", "pipeline", "consumers", "producers"):
        assert f"COPY {folder} ./{folder}" in text  # every package setuptools is told to include


def test_every_container_has_a_memory_limit_and_compose_publishes_on_loopback_only() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    for stage in STAGES:
        limits = compose["services"][f"worker-{stage.name}"]["deploy"]["resources"]["limits"]
        assert re.fullmatch(r"\d+[MG]", limits["memory"])
    published = [
        port for service in compose["services"].values() for port in service.get("ports", [])
    ]
    assert published
    assert all(port.startswith("127.0.0.1:") for port in published)
    for path in (DEPLOY / "k8s").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc["kind"] != "Deployment":
                continue
            [container] = doc["spec"]["template"]["spec"]["containers"]
            assert container["resources"]["limits"]["memory"], path
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_each_deployment_signs_in_to_kafka_as_a_principal_with_a_kafka_user() -> None:
    users = {
        doc["metadata"]["name"]: doc
        for doc in yaml.safe_load_all((DEPLOY / "k8s" / "kafka-users.yaml").read_text())
    }
    shared = list(yaml.safe_load_all((DEPLOY / "k8s" / "shared.yaml").read_text()))
    [config] = [doc for doc in shared if doc["kind"] == "ConfigMap"]
    assert config["data"]["KYB_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    principals = set()
    for path in (DEPLOY / "k8s").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc["kind"] == "Deployment":
                [container] = doc["spec"]["template"]["spec"]["containers"]
                env = {item["name"]: item for item in container["env"]}
                principal = env["KYB_KAFKA_SASL_USERNAME"]["value"]
                secret = env["KYB_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
                assert secret["name"] == principal  # Strimzi's secret for that KafkaUser
                principals.add(principal)
    assert principals <= set(users)
    assert {f"kyb-{stage.name}" for stage in STAGES} <= principals


def test_kubernetes_topics_carry_the_catalog_retention() -> None:
    docs = list(yaml.safe_load_all((DEPLOY / "k8s" / "kafka-topics.yaml").read_text()))
    by_name = {doc["spec"]["topicName"]: doc["spec"] for doc in docs}
    assert set(by_name) == {topic.name for topic in TOPICS}
    for topic in TOPICS:
        assert by_name[topic.name]["config"]["retention.ms"] == str(topic.retention_ms)
        assert by_name[topic.name]["partitions"] == topic.partitions
    assert int(by_name["kyb.review.tasks"]["config"]["retention.ms"]) < 30 * 86_400_000


def test_a_stage_declares_its_own_scaling_and_deploy_reads_it() -> None:
    quality = next(stage for stage in STAGES if stage.name == "quality")
    bigger = replace(
        quality,
        name="probe",
        scaling=Scaling(replicas=4, lag_threshold=7, cpu_request="2", memory_limit="5Gi"),
    )
    deployment, scaled, _ = deploy.stage_manifests(bigger)
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["resources"] == {
        "requests": {"cpu": "2", "memory": "256Mi"},
        "limits": {"memory": "5Gi"},
    }
    assert {t["metadata"]["lagThreshold"] for t in scaled["spec"]["triggers"]} == {"7"}
    assert scaled["spec"]["maxReplicaCount"] == bigger.max_replicas
    services = deploy.compose()["services"]
    for stage in STAGES:
        assert services[f"worker-{stage.name}"]["deploy"]["replicas"] == stage.scaling.replicas
