"""Per-account state shared by the workers of a stage: Redis in production, fakeredis locally.

The interface is deliberately small; anything that must be atomic goes through `update`,
a read-modify-write that either applies completely or retries against the newer value.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

import fakeredis
import redis

T = TypeVar("T")
Mutation = Callable[[str | None], tuple[str | None, T]]


class StateStore(Protocol):
    #: The Redis-protocol client and key prefix, for stages whose atomic logic is a Redis
    #: script (the review ledger); fakeredis locally.
    client: redis.Redis
    prefix: str

    def get(self, key: str) -> str | None: ...
    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """The values of `keys` in one round trip (None where absent)."""
        ...

    def set(self, key: str, value: str, ttl_s: int | None = None) -> None: ...
    def set_if_absent(self, key: str, value: str, ttl_s: int | None = None) -> bool: ...
    def delete(self, *keys: str) -> None: ...
    def update(self, key: str, mutate: Mutation[T], ttl_s: int | None = None) -> T:
        """Atomically replace the value with `mutate(old)[0]` (None deletes); return `[1]`.
        With `ttl_s` the key expires that long after its last write."""
        ...

    def append(self, key: str, value: str) -> None: ...
    def items(self, key: str) -> list[str]: ...
    def ping(self) -> bool: ...


def update_json(
    store: StateStore,
    key: str,
    mutate: Callable[[Any], tuple[Any, T]],
    ttl_s: int | None = None,
) -> T:
    """`update` for JSON documents."""

    def on_text(raw: str | None) -> tuple[str | None, T]:
        new, result = mutate(None if raw is None else json.loads(raw))
        return (None if new is None else json.dumps(new, sort_keys=True)), result

    return store.update(key, on_text, ttl_s)


def get_json(store: StateStore, key: str) -> Any:
    raw = store.get(key)
    return None if raw is None else json.loads(raw)


def get_json_many(store: StateStore, keys: Sequence[str]) -> list[Any]:
    """`get_json` for several keys in one round trip."""
    return [None if raw is None else json.loads(raw) for raw in store.get_many(keys)]


class RedisStateStore:
    """Redis with a key prefix, so tests and deployments can share one server safely."""

    def __init__(self, client: redis.Redis, prefix: str = "kyb:", max_update_attempts: int = 200):
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

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        if not keys:
            return []
        values = self.client.mget([self.key(key) for key in keys])
        return [None if value is None else str(value) for value in values]

    def set(self, key: str, value: str, ttl_s: int | None = None) -> None:
        self.client.set(self.key(key), value, ex=ttl_s)

    def set_if_absent(self, key: str, value: str, ttl_s: int | None = None) -> bool:
        return bool(self.client.set(self.key(key), value, ex=ttl_s, nx=True))

    def delete(self, *keys: str) -> None:
        if keys:
            self.client.delete(*(self.key(key) for key in keys))

    def update(self, key: str, mutate: Mutation[T], ttl_s: int | None = None) -> T:
        full = self.key(key)
        for attempt in range(self._max_update_attempts):
            with self.client.pipeline() as pipe:
                try:
                    pipe.watch(full)  # type: ignore[no-untyped-call]  # untyped in redis 8
                    current = pipe.get(full)
                    new, result = mutate(None if current is None else str(current))
                    pipe.multi()
                    if new is None:
                        pipe.delete(full)
                    else:
                        pipe.set(full, new, ex=ttl_s)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    # lost a race: back off a little, with jitter, so one writer cannot starve
                    time.sleep(random.uniform(0, min(0.05, 0.001 * (attempt + 1))))
        raise RuntimeError(f"update of a state key lost {self._max_update_attempts} races in a row")

    def append(self, key: str, value: str) -> None:
        self.client.rpush(self.key(key), value)

    def items(self, key: str) -> list[str]:
        return [str(item) for item in self.client.lrange(self.key(key), 0, -1)]

    def ping(self) -> bool:
        return bool(self.client.ping())


def memory_state_store(prefix: str = "kyb:") -> RedisStateStore:
    """An in-process Redis (fakeredis, with Lua) for the local runtime and unit tests.

    Being the same protocol, it runs the very same Lua scripts as production, so the atomic
    assignment logic has one implementation instead of a hand-written twin.
    """
    client = fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    return RedisStateStore(client, prefix)
