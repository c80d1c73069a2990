"""The define-by-run search spaces handed to Optuna through Ray Tune's ``OptunaSearch``.

A *search* (:func:`define_space`) draws depth first, then one width per layer, each named
for the depth it belongs to (``d3_width_0``, ``d3_width_1``, ``d3_width_2`` for a 3-layer
net). With grouped multivariate TPE (``jetstudy.study.searcher.make_sampler``: ``multivariate=True,
group=True``) the widths of each depth form their own parameter group, so TPE learns the
widths of 3-layer nets jointly, from 3-layer trials only: widths conditioned on depth. The
trial's config carries them as ``width_0``.. as well, which is what the trainables read.

Scales follow the physics of the knobs: widths, penalties and learning rate on a log scale,
dropout linear. A range with ``low == high`` is a constant (no Optuna parameter). L1/L2
``[0, 0]`` switch the penalty off; a range ``[0, x]`` with ``x > 0`` of L1, L2 or dropout lets
the search switch the term off: a categorical ``<name>_on`` (false: the term is 0), and when on
the value is drawn from ``[x/1000, x]`` on a log scale (L1, L2) or ``[x/10, x]`` linearly
(dropout) (``jetstudy.study.design.ON_RANGE``).

A size limit (``search.max_params``, ``max_flops``, ``max_multiplications``) is enforced on the
drawn configuration (:func:`size_excess`): the searcher (``jetstudy.study.searcher``) tells Optuna a
configuration over a limit was pruned before training (with its excess as a constraint value,
so TPE learns to avoid the region) and draws again; such a configuration is never trained.
:func:`smallest_size` is the smallest model the space holds (``jetstudy.study.config`` refuses a limit
below it).

A *scan* (:func:`define_scan_space`) asks for the axes of ``jetstudy.study.design`` (``depth``, one
``width`` for every layer, the varying regularisers); its trials are design points enqueued
in the Optuna study, so the distributions only have to contain them.

These functions must live in an importable module: Ray pickles them by reference.
"""

from __future__ import annotations

from typing import Any

from jetstudy.study.config import SpaceConfig
from jetstudy.study.design import REGULARISERS, is_switchable, on_range, scan_axes, to_config

__all__ = ["define_space", "define_scan_space", "SpaceFunction", "width_param",
           "optuna_params", "config_size", "smallest_size", "size_excess", "size_of_arch"]


def size_of_arch(widths: tuple[int, ...], activation: str, batch_norm: bool,
                 quantity: str) -> int:
    """``n_params``, ``flops`` or ``multiplications`` (dense multiply-adds per jet: the sum of
    in * out over the Linear layers, half the FLOPs) of the jet tagger with these hidden
    ``widths`` (:mod:`jetstudy.trainables.model` counts)."""
    from jetstudy.trainables.model import MLPArch, count_flops, count_params
    from jetstudy.trainables.schema import CLASSES, HLF_FEATURES

    arch = MLPArch(n_inputs=len(HLF_FEATURES), widths=tuple(int(w) for w in widths),
                   n_classes=len(CLASSES), activation=activation, batch_norm=bool(batch_norm))
    if quantity == "n_params":
        return count_params(arch)
    flops = count_flops(arch)
    return flops if quantity == "flops" else flops // 2


def config_size(config: dict[str, Any], quantity: str, space: SpaceConfig) -> int | None:
    """The size of a trial's configuration (``depth``, ``width_i``, ``activation``,
    ``batch_norm``; what the space fixes may be left out); None when a width is unknown."""
    depth = int(config.get("depth", space.depth[0]))
    w_low, w_high = space.width
    widths = [config.get(f"width_{i}", w_low if w_low == w_high else None)
              for i in range(depth)]
    if any(w is None for w in widths):
        return None
    activation = config.get("activation", space.activations[0])
    batch_norm = config.get("batch_norm", space.batch_norm[0])
    return size_of_arch(tuple(widths), activation, batch_norm, quantity)


def smallest_size(space: SpaceConfig, quantity: str) -> int:
    """The smallest ``quantity`` a model of the space can have: the fewest layers at the
    narrowest width (each extra layer adds ``w * w + w``), without batch norm or PReLU when the
    space allows."""
    activation = next((a for a in space.activations if a != "prelu"), space.activations[0])
    widths = (space.width[0],) * space.depth[0]
    return size_of_arch(widths, activation, min(space.batch_norm), quantity)


def size_excess(config: dict[str, Any], limits: dict[str, int],
                space: SpaceConfig) -> dict[str, tuple[int, int]]:
    """``{quantity: (size, limit)}`` for each limit the configuration exceeds (empty: fits)."""
    out = {}
    for quantity, limit in limits.items():
        size = config_size(config, quantity, space)
        if size is not None and size > limit:
            out[quantity] = (size, limit)
    return out


def width_param(depth: int, layer: int) -> str:
    """The Optuna name of layer ``layer``'s width in a ``depth``-layer net."""
    return f"d{depth}_width_{layer}"


def _choice(trial: Any, name: str, options: tuple[Any, ...]) -> Any:
    return options[0] if len(options) == 1 else trial.suggest_categorical(name, list(options))


def _knob(trial: Any, name: str, bounds: tuple[float, float]) -> float | None:
    """Ask for one float knob; returns its value when it is a constant (not an Optuna
    parameter), else None."""
    low, high = bounds
    if low == high:
        return float(low)
    if is_switchable(name, bounds):
        if not trial.suggest_categorical(f"{name}_on", [False, True]):
            return 0.0
        low, high, log = on_range(name, bounds)
        trial.suggest_float(name, low, high, log=log)
        return None
    trial.suggest_float(name, low, high, log=name != "dropout")
    return None


def define_space(space: SpaceConfig, trial: Any) -> dict[str, Any]:
    """Ask ``trial`` (an Optuna trial) for one configuration; returns what the trial's config
    needs besides the Optuna parameters (constants, ``width_i``), so every trial's config holds
    the full architecture."""
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
            constants[f"width_{i}"] = trial.suggest_int(width_param(depth, i), w_low, w_high,
                                                        log=True)
    for name in (*REGULARISERS, "lr"):
        value = _knob(trial, name, getattr(space, name))
        if value is not None:
            constants[name] = value
    for name, options in (("activation", space.activations), ("batch_norm", space.batch_norm)):
        value = _choice(trial, name, options)
        if len(options) == 1:
            constants[name] = value
    return constants


def define_scan_space(space: SpaceConfig, trial: Any) -> dict[str, Any]:
    """Ask ``trial`` for a scan's axes (``depth``, ``width``, the varying regularisers);
    returns the trial's full config (``jetstudy.study.design.to_config``)."""
    point: dict[str, Any] = {}
    for name in scan_axes(space):
        low, high = getattr(space, name)
        if name in ("depth", "width"):
            point[name] = trial.suggest_int(name, low, high, log=name == "width")
        else:
            log = low > 0 and name != "dropout"
            point[name] = trial.suggest_float(name, low, high, log=log)
    return to_config(space, point)


def optuna_params(space: SpaceConfig, point: dict[str, Any]) -> dict[str, Any]:
    """A configuration written as the user writes it (``search.initial_points``: ``depth``,
    ``width_i``, ``l2: 0`` for off) in the search's Optuna parameter names, for
    ``Study.enqueue_trial``. The point must be valid (``jetstudy.study.config`` checks it)."""
    depth = point.get("depth", space.depth[0])
    out: dict[str, Any] = {}
    for key, value in point.items():
        if key.startswith("width_"):
            out[width_param(depth, int(key.removeprefix("width_")))] = value
        elif key in REGULARISERS and is_switchable(key, getattr(space, key)):
            out[f"{key}_on"] = value != 0
            if value != 0:
                out[key] = float(value)
        else:
            out[key] = value
    return out


class SpaceFunction:
    """``define_space`` (or ``define_scan_space`` when ``scan``) bound to a
    :class:`SpaceConfig`: a picklable callable for OptunaSearch."""

    def __init__(self, space: SpaceConfig, scan: bool = False) -> None:
        self.space = space
        self.scan = scan

    def __call__(self, trial: Any) -> dict[str, Any]:
        scan = getattr(self, "scan", False)  # pickled before scans existed
        return (define_scan_space if scan else define_space)(self.space, trial)
