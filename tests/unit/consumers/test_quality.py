from __future__ import annotations

from pathlib import Path

import pytest

from consumers import quality
from pipeline.errors import PermanentError
from schemas.enums import QualityCode, Side
from tests.helpers import application, document_ref, submission


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_both_sides_present_and_intact_pass(tmp_path: Path, ctx_for) -> None:  # type: ignore[no-untyped-def]
    docs = (
        document_ref(write(tmp_path, "f.jpg", b"front"), Side.FRONT),
        document_ref(write(tmp_path, "b.jpg", b"back!"), Side.BACK),
    )
    [checked] = quality.handle(submission(application=application(docs)), ctx_for("quality"))
    assert checked.passed
    assert [m.values["size_bytes"] for m in checked.measurements] == [5.0, 5.0]


def test_missing_side_and_changed_file_are_findings(tmp_path: Path, ctx_for) -> None:  # type: ignore[no-untyped-def]
    front = write(tmp_path, "f.jpg", b"front")
    ref = document_ref(front, Side.FRONT)
    front.write_bytes(b"edited")
    [checked] = quality.handle(submission(application=application((ref,))), ctx_for("quality"))
    assert not checked.passed
    codes = {(f.code, f.side) for f in checked.findings}
    assert codes == {(QualityCode.HASH_MISMATCH, Side.FRONT), (QualityCode.MISSING_SIDE, Side.BACK)}
    assert all(f.message.endswith(".") for f in checked.findings)


def test_reference_outside_the_roots_is_a_permanent_error(tmp_path: Path, ctx_for) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path.parent / f"{tmp_path.name}-outside.jpg"
    outside.write_bytes(b"x")
    ref = document_ref(outside, Side.FRONT)
    with pytest.raises(PermanentError, match="outside the document roots"):
        quality.handle(submission(application=application((ref,))), ctx_for("quality"))
