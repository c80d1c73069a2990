"""The define-by-run search space handed to Optuna through Ray Tune's ``OptunaSearch``.

Depth is drawn first, then one width per layer, so Optuna's TPE learns per-layer widths
conditioned on depth (a static space would waste samples on widths of layers that do not
exist). Scales follow the physics of the knobs: widths, penalties and learning rate on a log
scale, dropout linear. A range with ``low == high`` is a constant (no Optuna parameter); L1/L2
``[0, 0]`` switch the penalty off.

This function must live in an importable module: Ray pickles it by reference.
"""

from __future__ import annotations

from typing import Any

from study.config import SpaceConfig

__all__ = ["define_space", "SpaceFunction"]


def _float(trial: Any, name: str, bounds: tuple[float, float], log: bool) -> float:
    low, high = bounds
    if low == high:
        return float(low)
    return trial.suggest_float(name, low, high, log=log)


def _choice(trial: Any, name: str, options: tuple[Any, ...]) -> Any:
    return options[0] if len(options) == 1 else trial.suggest_categorical(name, list(options))


def define_space(space: SpaceConfig, trial: Any) -> dict[str, Any]:
    """Ask ``trial`` (an Optuna trial) for one configuration; returns the constants that are
    not Optuna parameters, so every trial's config holds the full architecture."""
    constants: dict[str, Any] = {}
    low, high = space.depth
    depth = low if low == high else trial.suggest_int("depth", low, high)
    if low == high:
        constants["depth"] = depth
    w_low, w_high = space.width
    for i in range(depth):
        if w_low == w_high:
            constants[f"width_{i}"] = w_low
        else:
            trial.suggest_int(f"width_{i}", w_low, w_high, log=True)
    for name, log in (("dropout", False), ("l1", True), ("l2", True), ("lr", True)):
        bounds = getattr(space, name)
        value = _float(trial, name, bounds, log=log and bounds != (0.0, 0.0))
        if bounds[0] == bounds[1]:
            constants[name] = value
    for name, options in (("activation", space.activations), ("batch_norm", space.batch_norm)):
        value = _choice(trial, name, options)
        if len(options) == 1:
            constants[name] = value
    return constants


class SpaceFunction:
    """``define_space`` bound to a :class:`SpaceConfig`: a picklable callable for OptunaSearch."""

    def __init__(self, space: SpaceConfig) -> None:
        self.space = space

    def __call__(self, trial: Any) -> dict[str, Any]:
        return define_space(self.space, trial)
