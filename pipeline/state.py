"""Per-account state shared by the workers of a stage: Redis in production, a dict for local runs.

The interface is deliberately small; anything that must be atomic goes through `update`,
a read-modify-write that either applies completely or retries against the newer value.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import redis

T = TypeVar("T")
Mutation = Callable[[str | None], tuple[str | None, T]]


class StateStore(Protocol):
    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str, ttl_s: int | None = None) -> None: ...
    def set_if_absent(self, key: str, value: str, ttl_s: int | None = None) -> bool: ...
    def delete(self, *keys: str) -> None: ...
    def update(self, key: str, mutate: Mutation[T]) -> T:
        """Atomically replace the value with `mutate(old)[0]` (None deletes); return `[1]`."""
        ...

    def append(self, key: str, value: str) -> None: ...
    def items(self, key: str) -> list[str]: ...
    def ping(self) -> bool: ...


def update_json(store: StateStore, key: str, mutate: Callable[[Any], tuple[Any, T]]) -> T:
    """`update` for JSON documents."""

    def on_text(raw: str | None) -> tuple[str | None, T]:
        new, result = mutate(None if raw is None else json.loads(raw))
        return (None if new is None else json.dumps(new, sort_keys=True)), result

    return store.update(key, on_text)


def get_json(store: StateStore, key: str) -> Any:
    raw = store.get(key)
    return None if raw is None else json.loads(raw)


class InMemoryStateStore:
    """Thread-safe dict; expiry is honoured lazily. For the local runtime and unit tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._values: dict[str, str] = {}
        self._lists: dict[str, list[str]] = {}
        self._expiry: dict[str, float] = {}
        self._lock = threading.RLock()
        self._clock = clock

    def _live(self, key: str) -> bool:
        deadline = self._expiry.get(key)
        if deadline is not None and self._clock() >= deadline:
            self._values.pop(key, None)
            self._expiry.pop(key, None)
        return key in self._values

    def _put(self, key: str, value: str, ttl_s: int | None) -> None:
        self._values[key] = value
        if ttl_s is None:
            self._expiry.pop(key, None)
        else:
            self._expiry[key] = self._clock() + ttl_s

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._values[key] if self._live(key) else None

    def set(self, key: str, value: str, ttl_s: int | None = None) -> None:
        with self._lock:
            self._put(key, value, ttl_s)

    def set_if_absent(self, key: str, value: str, ttl_s: int | None = None) -> bool:
        with self._lock:
            if self._live(key):
                return False
            self._put(key, value, ttl_s)
            return True

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._values.pop(key, None)
                self._lists.pop(key, None)
                self._expiry.pop(key, None)

    def update(self, key: str, mutate: Mutation[T]) -> T:
        with self._lock:
            new, result = mutate(self.get(key))
            if new is None:
                self.delete(key)
            else:
                self._put(key, new, None)
            return result

    def append(self, key: str, value: str) -> None:
        with self._lock:
            self._lists.setdefault(key, []).append(value)

    def items(self, key: str) -> list[str]:
        with self._lock:
            return list(self._lists.get(key, []))

    def ping(self) -> bool:
        return True


class RedisStateStore:
    """Redis with a key prefix, so tests and deployments can share one server safely."""

    def __init__(self, client: redis.Redis, prefix: str = "kyb:", max_update_attempts: int = 50):
        self.client = client
        self.prefix = prefix
        self._max_update_attempts = max_update_attempts

    @classmethod
    def from_url(cls, url: str, prefix: str = "kyb:") -> RedisStateStore:
        return cls(redis.Redis.from_url(url, decode_responses=True), prefix)

    def key(self, key: str) -> str:
        return self.prefix + key

    def get(self, key: str) -> str | None:
        value = self.client.get(self.key(key))
        return None if value is None else str(value)

    def set(self, key: str, value: str, ttl_s: int | None = None) -> None:
        self.client.set(self.key(key), value, ex=ttl_s)

    def set_if_absent(self, key: str, value: str, ttl_s: int | None = None) -> bool:
        return bool(self.client.set(self.key(key), value, ex=ttl_s, nx=True))

    def delete(self, *keys: str) -> None:
        if keys:
            self.client.delete(*(self.key(key) for key in keys))

    def update(self, key: str, mutate: Mutation[T]) -> T:
        full = self.key(key)
        for _ in range(self._max_update_attempts):
            with self.client.pipeline() as pipe:
                try:
                    pipe.watch(full)  # type: ignore[no-untyped-call]  # untyped in redis 8
                    current = pipe.get(full)
                    new, result = mutate(None if current is None else str(current))
                    pipe.multi()
                    if new is None:
                        pipe.delete(full)
                    else:
                        pipe.set(full, new)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue
        raise RuntimeError(f"update of a state key lost {self._max_update_attempts} races in a row")

    def append(self, key: str, value: str) -> None:
        self.client.rpush(self.key(key), value)

    def items(self, key: str) -> list[str]:
        return [str(item) for item in self.client.lrange(self.key(key), 0, -1)]

    def ping(self) -> bool:
        return bool(self.client.ping())
