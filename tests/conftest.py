"""Shared test set-up: the ``gpu`` marker skips without CUDA; small standardised jet data."""

from __future__ import annotations

import numpy as np
import pytest

from trainables.data import Standardiser
from trainables.loop import TrialData
from trainables.synth import sample_jets


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (none visible)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def small_trial_data() -> TrialData:
    """6,000 synthetic jets, standardised on the training part: 4,000 train / 2,000 val."""
    x, y = sample_jets(6_000, seed=11)
    scaler = Standardiser.fit(x[:4000])
    xs = scaler.transform(x)
    return TrialData(x_train=xs[:4000], y_train=y[:4000], x_val=xs[4000:], y_val=y[4000:])
