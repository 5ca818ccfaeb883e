"""Handing memory back after each batch must not cost a process spawn per batch."""

from __future__ import annotations

import ctypes.util

import pytest

from pipeline import threads


def test_libc_is_looked_up_once_however_many_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    lookups: list[str] = []
    real = ctypes.util.find_library

    def counting(name: str) -> str | None:
        lookups.append(name)
        return real(name)

    threads._libc_function.cache_clear()
    monkeypatch.setattr(ctypes.util, "find_library", counting)
    try:
        for _ in range(5):
            threads.release_native_memory()
    finally:
        threads._libc_function.cache_clear()
    assert lookups == ["c"]
