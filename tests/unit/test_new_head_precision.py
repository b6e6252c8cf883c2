"""A head-only retrain's new model: measured for int8 or bf16 where its base runs so on this CPU
kind; run in fp32 without measuring where its base runs fp32, or a precision checked by fp32
(building and measuring an int8 file would add 20-30 s to a product's time to live)."""
from __future__ import annotations

import pytest

from assistant import machine
from assistant.inference.precision import PrecisionChoice, write_choice
from assistant.maintainer import session


@pytest.mark.parametrize(("base_runs", "fp32_without_measuring"), [
    (None, True), ("fp32", True), ("int8-checked", True), ("bf16-checked", True),
    ("int8", False), ("bf16", False)])
def test_a_new_head_is_measured_only_where_its_base_runs_int8_or_bf16(tmp_path, monkeypatch, base_runs,
                                                                      fp32_without_measuring):
    base = tmp_path / "base.safetensors"
    base.write_bytes(b"the base model")
    if base_runs is not None:
        write_choice(base, PrecisionChoice(base_runs, machine.cpu_kind(), 1.0, 0.9, 0.9, 10, 20))
    monkeypatch.setattr(session, "read_metadata", lambda path: {"retrain": {"mode": "fast", "base": str(base)}})
    assert session.fp32_like_its_base(tmp_path / "new.safetensors") is fp32_without_measuring
