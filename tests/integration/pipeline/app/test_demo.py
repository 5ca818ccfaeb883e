"""The demo on the local runtime: real tesseract, synthetic certificates, outbox emails."""

from __future__ import annotations

import io
from email import message_from_bytes, policy
from pathlib import Path

from rich.console import Console

from pipeline.app import demo


def test_demo_reaches_the_expected_outcome_for_every_scenario(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    rows = demo.run(tmp_path / "work", outbox, seed=7, console=Console(file=io.StringIO()))
    outcomes = {
        row["scenario"]: (row["identity"], row["compliance"], row["account type"]) for row in rows
    }
    assert outcomes == {
        "clean": ("verified", "not_required", "enterprise"),
        "clean, mainland yes, 中文": ("verified", "approved", "enterprise"),
        "registration no. typed wrong": ("rejected", "not_required", "individual"),
        # the stored file no longer matches the portal's sha256: the portal hears of it, the
        # customer is not asked to fix what they did not break
        "back photo changed after upload": ("refused", "not_required", "individual"),
        "sole proprietorship": ("verified", "not_required", "enterprise"),
        "blurry photo of the front": ("resubmission_required", "not_required", "individual"),
    }
    messages = [
        message_from_bytes(p.read_bytes(), policy=policy.default) for p in outbox.glob("*.eml")
    ]
    subjects = sorted(str(message["Subject"]) for message in messages)
    resubmit = [
        m.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        for m in messages
        if m["Subject"] == "Action needed: please resubmit your documents"
    ]
    assert any("The front photo is blurry. Hold the camera steady" in body for body in resubmit)
    assert subjects.count("Your enterprise identity is verified") == 2
    assert subjects.count("您的企业实名认证已通过") == 1  # the zh-CN customer
    assert subjects.count("Action needed: please resubmit your documents") == 1
    assert len(subjects) == sum(int(row["emails"]) for row in rows)
