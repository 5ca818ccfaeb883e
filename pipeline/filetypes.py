"""File types from magic bytes, never from a name: what an upload really is.

The one table of signatures the document store, the quality stage and the console share. A
file's stored name and `media_type` come from here, so a `front.html` that is a JPEG is stored
and served as a JPEG, and an HTML file is refused whatever it is called.
"""

from __future__ import annotations

__all__ = ["ACCEPTED", "IMAGES", "extension", "sniff"]

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"%PDF-", "application/pdf"),
)
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/tiff": ".tif",
    "application/pdf": ".pdf",
}
ACCEPTED = frozenset(_EXTENSIONS)  # what customers may upload
IMAGES = frozenset({"image/jpeg", "image/png", "image/webp"})  # what a browser may be shown


def sniff(data: bytes) -> str | None:
    """Media type from the first bytes; None when unrecognised."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, media_type in _SIGNATURES:
        if data.startswith(magic):
            return media_type
    return None


def extension(media_type: str) -> str:
    """The stored file's suffix for an accepted type."""
    return _EXTENSIONS[media_type]
