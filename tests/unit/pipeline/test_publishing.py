"""What the producer and consumer rely on from kafka-python: its installation and the options
the project gives it."""

from __future__ import annotations

import os
from typing import Any

import pytest
from kafka.record import util
from pydantic import ValidationError

import pipeline.publishing as publishing
from pipeline.settings import Settings


def test_record_checksums_are_computed_natively() -> None:
    """kafka-python checks a CRC32C over every record batch it writes and reads; without the
    `crc32c` extension (the `kafka-python[crc32c]` extra) it does so in pure Python, ~0.5 ms
    per 4-KB batch in every stage on both sides of every hop."""
    assert util._crc32c is not util.crc32c_py
    batch = os.urandom(4096)
    assert util.calc_crc32c(batch) == util.crc32c_py(batch)  # the same checksum, natively


def test_every_producer_lingers_as_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each produce request costs kafka-python ~1-2 ms of CPU: how long a producer waits to
    put more records into one comes from settings (`KYB_PRODUCER_LINGER_MS`)."""
    built: list[dict[str, Any]] = []
    monkeypatch.setattr(publishing, "KafkaProducer", lambda **config: built.append(config))
    monkeypatch.setenv("KYB_PRODUCER_LINGER_MS", "37")

    publishing.kafka_producer(Settings())
    publishing.kafka_producer(Settings(producer_linger_ms=0), max_block_ms=100)

    assert [config["linger_ms"] for config in built] == [37, 0]
    assert built[1]["max_block_ms"] == 100  # per-call overrides still win


def test_the_linger_is_bounded() -> None:
    """A linger is added to every hop of the customer's answer: seconds of it is a typo."""
    assert Settings().producer_linger_ms <= 50
    with pytest.raises(ValidationError):
        Settings(producer_linger_ms=5_000)
    with pytest.raises(ValidationError):
        Settings(producer_linger_ms=-1)
