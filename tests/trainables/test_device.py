"""training.matmul_precision: auto is TF32 on CUDA and exact fp32 elsewhere."""

from __future__ import annotations

import pytest
import torch

from jetstudy.trainables.device import matmul_precision_for, set_matmul_precision


def test_auto_is_tf32_on_cuda_only() -> None:
    assert matmul_precision_for("auto", torch.device("cuda")) == "high"
    assert matmul_precision_for("auto", torch.device("cpu")) == "highest"
    assert matmul_precision_for("highest", torch.device("cuda")) == "highest"  # the opt-out
    assert matmul_precision_for("high", torch.device("cpu")) == "high"
    with pytest.raises(ValueError, match="training.matmul_precision must be one of auto"):
        matmul_precision_for("medium-ish", torch.device("cpu"))


def test_set_matmul_precision_applies_it() -> None:
    before = torch.get_float32_matmul_precision()
    try:
        assert set_matmul_precision("auto", torch.device("cpu")) == "highest"
        assert torch.get_float32_matmul_precision() == "highest"
        assert set_matmul_precision("high", torch.device("cpu")) == "high"
        assert torch.get_float32_matmul_precision() == "high"
    finally:
        torch.set_float32_matmul_precision(before)
