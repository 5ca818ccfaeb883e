"""How every Kafka client authenticates: one mapping from settings, for kafka-python and faust.

Each stage runs under its own principal (`KYB_KAFKA_SASL_USERNAME`), so the broker's ACLs (see
README "Security") decide which topics it may read and write; a client built without these
options would be refused by a broker that requires them, never quietly fall back.
"""

from __future__ import annotations

import ssl
from typing import Any

from pipeline.settings import Settings


def client_security(settings: Settings) -> dict[str, Any]:
    """Options for kafka-python's producer, consumer and admin client."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol.startswith("SASL_"):
        password = settings.kafka_sasl_password
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": password.get_secret_value() if password else None,
        }
    if protocol.endswith("SSL"):
        key_password = settings.kafka_ssl_key_password
        options |= {
            "ssl_check_hostname": True,
            "ssl_cafile": _path(settings.kafka_ssl_cafile),
            "ssl_certfile": _path(settings.kafka_ssl_certfile),
            "ssl_keyfile": _path(settings.kafka_ssl_keyfile),
            "ssl_password": key_password.get_secret_value() if key_password else None,
        }
    return options


def faust_credentials(settings: Settings) -> Any:
    """`broker_credentials` for the dashboard's faust app (None on PLAINTEXT)."""
    import faust

    protocol = settings.kafka_security_protocol
    context = ssl_context(settings) if protocol.endswith("SSL") else None
    if protocol.startswith("SASL_"):
        password = settings.kafka_sasl_password
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=password.get_secret_value() if password else None,
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def ssl_context(settings: Settings) -> ssl.SSLContext:
    """A verifying client context: the CA file if given, else the system's trust store."""
    context = ssl.create_default_context(cafile=_path(settings.kafka_ssl_cafile))
    if settings.kafka_ssl_certfile is not None:
        key_password = settings.kafka_ssl_key_password
        context.load_cert_chain(
            str(settings.kafka_ssl_certfile),
            _path(settings.kafka_ssl_keyfile),
            key_password.get_secret_value() if key_password else None,
        )
    return context


def _path(value: object) -> str | None:
    return None if value is None else str(value)
