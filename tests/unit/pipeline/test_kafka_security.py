"""Kafka credentials from settings reach every client the project builds.

The test broker (Tansu 0.6) enforces `--authentication` but keeps SCRAM users only in storage
that is wiped on restart and cannot be written before authentication is on, so a real SASL
handshake cannot be set up here; instead each client constructor is captured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import pipeline.kafka_runtime as kafka_runtime
import pipeline.lag as lag
import pipeline.publishing as publishing
import producers.review.feed as feed
from pipeline.kafka_security import client_security, faust_credentials
from pipeline.settings import Settings, unknown_variables
from producers.review.inbox import Inbox

SECURE = {
    "kafka_security_protocol": "SASL_SSL",
    "kafka_sasl_mechanism": "SCRAM-SHA-512",
    "kafka_sasl_username": "kyb-quality",
    "kafka_sasl_password": "pw-from-env",
}


class Captured:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def factory(self, name: str) -> Any:
        calls = self.calls

        class Client:
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                calls.append((name, kwargs))

            def partitions_for_topic(self, topic: str) -> set[int]:
                return {0}

            def __getattr__(self, attribute: str) -> Any:
                return lambda *args, **kwargs: None

        return Client


def test_every_kafka_client_gets_the_sasl_and_tls_options(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(**SECURE)  # type: ignore[arg-type]
    captured = Captured()
    monkeypatch.setattr(publishing, "KafkaProducer", captured.factory("producer"))
    monkeypatch.setattr(kafka_runtime, "KafkaAdminClient", captured.factory("admin"))
    monkeypatch.setattr(lag, "KafkaConsumer", captured.factory("lag consumer"))
    monkeypatch.setattr(feed, "KafkaConsumer", captured.factory("review feed"))

    publishing.kafka_producer(settings)
    kafka_runtime.admin_client(settings)
    lag.LagReader(settings)
    feed.TaskFeed(settings, Inbox())
    worker_consumer = kafka_runtime.consumer_config(settings, "kyb-quality")

    names = [name for name, _ in captured.calls] + ["stage consumer"]
    assert names == ["producer", "admin", "admin", "lag consumer", "review feed", "stage consumer"]
    for kwargs in [kwargs for _, kwargs in captured.calls] + [worker_consumer]:
        assert kwargs["security_protocol"] == "SASL_SSL"
        assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
        assert kwargs["sasl_plain_username"] == "kyb-quality"
        assert kwargs["sasl_plain_password"] == "pw-from-env"
        assert kwargs["ssl_check_hostname"] is True


def test_the_dashboards_faust_app_gets_the_same_credentials() -> None:
    import faust

    credentials = faust_credentials(Settings(**SECURE))  # type: ignore[arg-type]
    assert isinstance(credentials, faust.SASLCredentials)
    assert (credentials.username, credentials.password) == ("kyb-quality", "pw-from-env")
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert credentials.ssl_context is not None  # SASL over TLS, verifying the broker
    assert faust_credentials(Settings()) is None


def test_plaintext_is_only_the_default_for_a_loopback_broker() -> None:
    assert client_security(Settings()) == {"security_protocol": "PLAINTEXT"}


def test_mutual_tls_files_are_passed_through(tmp_path: Path) -> None:
    options = client_security(
        Settings(
            kafka_security_protocol="SSL",
            kafka_ssl_cafile=tmp_path / "ca.pem",
            kafka_ssl_certfile=tmp_path / "client.pem",
            kafka_ssl_keyfile=tmp_path / "client.key",
        )
    )
    assert options["ssl_cafile"] == str(tmp_path / "ca.pem")
    assert options["ssl_certfile"] == str(tmp_path / "client.pem")
    assert options["ssl_keyfile"] == str(tmp_path / "client.key")
    assert "sasl_mechanism" not in options


def test_sasl_without_a_password_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="KYB_KAFKA_SASL_PASSWORD"):
        Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="kyb-quality")


def test_unknown_kyb_variables_are_named() -> None:
    environ = {
        "KYB_BOOTSTRAP_SERVERS": "b:9092",
        "KYB_QUALITY__MIN_SHARPNESS": "1",
        "KYB_KAFKA_SECURITY_PROTOCL": "SASL_SSL",  # the typo that would leave PLAINTEXT on
        "KYB_QUALITY__MIN_SHARPNES": "1",
        "KYB_BOOTSTRAP_SERVERS__X": "1",
        "HOME": "/root",
    }
    assert unknown_variables(environ) == [
        "KYB_BOOTSTRAP_SERVERS__X",
        "KYB_KAFKA_SECURITY_PROTOCL",
        "KYB_QUALITY__MIN_SHARPNES",
    ]


def test_an_unknown_variable_is_warned_at_start(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from pipeline.settings import get_settings

    monkeypatch.setenv("KYB_DECISION_SIGNING_KYE", "x")
    get_settings.cache_clear()
    try:
        get_settings()
    finally:
        get_settings.cache_clear()
    assert "KYB_DECISION_SIGNING_KYE is not a kyb setting" in caplog.text
