"""Documents in S3-compatible object storage (`s3://bucket/key`), held to the `file://` rules.

Only allow-listed buckets (optionally a key prefix) are read; the size is checked from the
object's metadata before any byte is downloaded, then again while streaming, and the caller
hashes what was read. Credentials come from settings and never appear in an event, a log line or
an error message. The client is obstore (chosen over boto3 by `benchmarks/object_store_clients.py`:
same read speed, a fraction of the import time and memory).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import NotFoundError, PermissionDeniedError, UnauthenticatedError
from obstore.store import S3Store

from pipeline.documents import (
    DocumentNotFound,
    DocumentRefused,
    DocumentTooLarge,
)
from pipeline.settings import Settings

_CHUNK = 1 << 20
_KEY = re.compile(r"^[A-Za-z0-9!_.*'()/+=:@,-]+$")  # S3's "safe" key characters, no spaces/%


class ObjectDocuments:
    """Reads, writes and deletes documents in the allow-listed buckets."""

    def __init__(self, settings: Settings) -> None:
        self._allowed = [_allowed_entry(entry) for entry in settings.document_buckets]
        self._settings = settings
        self._stores: dict[str, S3Store] = {}

    def locate(self, uri: str) -> tuple[str, str]:
        """(bucket, key) of an allowed `s3://` URI, or `DocumentRefused` saying why not."""
        parts = urlsplit(uri)
        if parts.scheme != "s3":
            raise DocumentRefused(f"scheme {parts.scheme or '(none)'!r} is not object storage")
        if parts.query or parts.fragment or parts.username or parts.password or parts.port:
            raise DocumentRefused("object URIs carry a bucket and a key only")
        bucket, key = parts.hostname or "", parts.path.lstrip("/")
        if not key or not _KEY.match(key) or any(p in ("", ".", "..") for p in key.split("/")):
            raise DocumentRefused("object key is empty or not a plain path")
        if not any(bucket == b and key.startswith(prefix) for b, prefix in self._allowed):
            raise DocumentRefused("bucket or prefix is not allowed")
        return bucket, key

    def read(self, uri: str, max_bytes: int) -> bytes:
        bucket, key = self.locate(uri)
        store = self._store(bucket)
        try:
            size = int(obstore.head(store, key)["size"])
            if size > max_bytes:
                raise DocumentTooLarge(f"document is {size} bytes; the limit is {max_bytes}")
            chunks, read = [], 0
            for chunk in obstore.get(store, key).stream(min_chunk_size=_CHUNK):
                read += len(chunk)
                if read > max_bytes:
                    raise DocumentTooLarge(f"document grew past the limit of {max_bytes}")
                chunks.append(bytes(chunk))
        except (NotFoundError, FileNotFoundError):
            raise DocumentNotFound("document does not exist") from None
        except (PermissionDeniedError, UnauthenticatedError, PermissionError):
            raise DocumentRefused("object storage refused access") from None
        return b"".join(chunks)

    def write(self, uri: str, data: bytes) -> None:
        bucket, key = self.locate(uri)
        obstore.put(self._store(bucket), key, data)

    def delete(self, uri: str) -> bool:
        bucket, key = self.locate(uri)
        try:
            obstore.delete(self._store(bucket), key)
        except (NotFoundError, FileNotFoundError):
            return False
        return True

    def delete_prefix(self, uri: str) -> int:
        """Delete every object under an allowed `s3://bucket/prefix/`; returns how many."""
        bucket, folder = self.locate(uri.rstrip("/"))
        prefix, store = folder + "/", self._store(bucket)
        keys = [item["path"] for batch in obstore.list(store, prefix) for item in batch]
        for key in keys:
            obstore.delete(store, key)
        return len(keys)

    def _store(self, bucket: str) -> S3Store:
        if bucket not in self._stores:
            s = self._settings
            secret = s.s3_secret_access_key.get_secret_value() if s.s3_secret_access_key else None
            options: dict[str, Any] = {
                "region": s.s3_region,
                "client_options": {
                    "allow_http": s.s3_allow_http,
                    "timeout": timedelta(seconds=s.s3_timeout_s),
                    "connect_timeout": timedelta(seconds=min(5.0, s.s3_timeout_s)),
                },
                "retry_config": {
                    "max_retries": s.s3_retries,
                    "retry_timeout": timedelta(seconds=s.s3_timeout_s * (s.s3_retries + 1)),
                },
            }
            if s.s3_endpoint:
                options["endpoint"] = s.s3_endpoint
            if s.s3_access_key_id and secret:
                options |= {"access_key_id": s.s3_access_key_id, "secret_access_key": secret}
            self._stores[bucket] = S3Store(bucket, **options)
        return self._stores[bucket]


def _allowed_entry(entry: str) -> tuple[str, str]:
    """ "bucket" or "bucket/prefix" → (bucket, "prefix/" or "")."""
    bucket, _, prefix = entry.strip("/").partition("/")
    return bucket, (prefix.rstrip("/") + "/") if prefix else ""


__all__ = ["ObjectDocuments"]
