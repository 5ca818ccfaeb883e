"""The in-process (fakeredis) and the Redis store must behave alike; the Redis cases use a real
server."""

from __future__ import annotations

import threading

import pytest

from pipeline.state import RedisStateStore, StateStore, get_json, memory_state_store, update_json


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> StateStore:
    if request.param == "memory":
        return memory_state_store()
    redis_store: RedisStateStore = request.getfixturevalue("redis_store")
    return redis_store


def test_get_set_delete(store: StateStore) -> None:
    assert store.get("k") is None
    store.set("k", "v")
    assert store.get("k") == "v"
    store.delete("k")
    assert store.get("k") is None


def test_set_if_absent_only_once(store: StateStore) -> None:
    assert store.set_if_absent("once", "a") is True
    assert store.set_if_absent("once", "b") is False
    assert store.get("once") == "a"


def test_lists_keep_order(store: StateStore) -> None:
    for item in ("a", "b", "c"):
        store.append("list", item)
    assert store.items("list") == ["a", "b", "c"]


def test_update_is_atomic_across_threads(store: StateStore) -> None:
    def bump() -> None:
        for _ in range(50):
            update_json(store, "counter", lambda doc: ({"n": (doc or {"n": 0})["n"] + 1}, None))

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert get_json(store, "counter") == {"n": 200}


def test_update_returning_none_deletes(store: StateStore) -> None:
    store.set("gone", "x")
    assert store.update("gone", lambda old: (None, old)) == "x"
    assert store.get("gone") is None


def test_redis_keys_carry_the_prefix(redis_store: RedisStateStore) -> None:
    redis_store.set("k", "v")
    assert redis_store.client.get(redis_store.prefix + "k") == "v"
    assert redis_store.ping()


def test_an_update_with_a_ttl_expires_and_each_write_renews_it(store: StateStore) -> None:
    assert isinstance(store, RedisStateStore)
    update_json(store, "doc", lambda old: ({"n": 1}, None), ttl_s=100)
    assert 0 < store.client.ttl(store.key("doc")) <= 100
    update_json(store, "doc", lambda old: ({"n": old["n"] + 1}, None), ttl_s=5000)
    assert 100 < store.client.ttl(store.key("doc")) <= 5000
    update_json(store, "plain", lambda old: ({"n": 1}, None))
    assert store.client.ttl(store.key("plain")) == -1  # no ttl asked for: none set


@pytest.mark.parametrize("before", [None, "v0"])
def test_an_update_whose_key_changed_after_its_read_applies_again_to_the_newer_value(
    store: StateStore, before: str | None
) -> None:
    if before is not None:
        store.set("raced", before)
    seen: list[str | None] = []

    def append_x(old: str | None) -> tuple[str, int]:
        seen.append(old)
        if len(seen) == 1:
            store.set("raced", "other")  # another writer, between this read and this write
        return f"{old}+x", len(seen)

    assert store.update("raced", append_x) == 2
    assert seen == [before, "other"]
    assert store.get("raced") == "other+x"


def test_a_delete_is_not_applied_over_a_newer_value(store: StateStore) -> None:
    store.set("kept", "a")
    calls: list[str | None] = []

    def delete_if_a(old: str | None) -> tuple[str | None, None]:
        calls.append(old)
        if len(calls) == 1:
            store.set("kept", "b")
        return (None if old == "a" else old), None

    store.update("kept", delete_if_a)
    assert calls == ["a", "b"]
    assert store.get("kept") == "b"
