"""The define-by-run search spaces handed to Optuna through Ray Tune's ``OptunaSearch``.

A *search* (:func:`define_space`) draws depth first, then one width per layer, each named
for the depth it belongs to (``d3_width_0``, ``d3_width_1``, ``d3_width_2`` for a 3-layer
net). With grouped multivariate TPE (``jetstudy.study.sampler.make_sampler``: ``multivariate=True,
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
           "optuna_params", "config_size", "smallest_size", "size_excess", "size_of_arch",
           "continuous_fields", "count_configurations", "space_distributions", "limit_share"]


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


def continuous_fields(space: SpaceConfig) -> list[str]:
    """The float knobs (``dropout``, ``l1``, ``l2``, ``lr``) the search draws from a range (a
    ``[0, x]`` off-switch included): any one makes the space's configurations countless."""
    return [name for name in (*REGULARISERS, "lr")
            if getattr(space, name)[0] != getattr(space, name)[1]]


def count_configurations(space: SpaceConfig, limits: dict[str, int] | None = None,
                         cap: int | None = None) -> int | None:
    """How many distinct configurations a search (:func:`define_space`) can draw: None when
    a float knob is a range (countless), else the depths' width tuples times the activations
    and batch-norm choices. With size ``limits`` only those within every limit count (a
    configuration over one is never trained); ``cap`` stops the count there (a huge integer
    space under a limit is not enumerated), and past :data:`MAX_SIZE_EVALUATIONS` models
    sized the count is unknown (None)."""
    if continuous_fields(space):
        return None
    (d_low, d_high), (w_low, w_high) = space.depth, space.width
    choices = len(space.activations) * len(space.batch_norm)
    if not limits:
        return choices * sum((w_high - w_low + 1) ** d for d in range(d_low, d_high + 1))
    total, work = 0, [MAX_SIZE_EVALUATIONS]
    try:
        for activation in space.activations:
            for batch_norm in space.batch_norm:
                for depth in range(d_low, d_high + 1):
                    left = None if cap is None else cap - total
                    total += _count_fitting(depth, (w_low, w_high), activation, batch_norm,
                                            limits, left, work)
                    if cap is not None and total >= cap:
                        return cap
    except _TooMuchWork:
        return None  # unknown: too many models to size (about 20 microseconds each)
    return total


#: Models :func:`count_configurations` sizes at most before it answers "unknown" (None).
MAX_SIZE_EVALUATIONS = 20_000


class _TooMuchWork(Exception):
    pass


def _count_fitting(depth: int, widths: tuple[int, int], activation: str, batch_norm: bool,
                   limits: dict[str, int], cap: int | None, work: list[int],
                   prefix: tuple[int, ...] = ()) -> int:
    """Width tuples of ``depth`` layers starting with ``prefix`` within ``limits``, up to
    ``cap``: every size grows with every width, so a prefix whose narrowest completion is over
    a limit ends the loop over wider layers. ``work``: sizings left (:class:`_TooMuchWork`)."""
    low, high = widths
    found = 0
    for width in range(low, high + 1):
        arch = (*prefix, width) + (low,) * (depth - len(prefix) - 1)
        work[0] -= 1
        if work[0] < 0:
            raise _TooMuchWork
        if any(size_of_arch(arch, activation, batch_norm, q) > limit
               for q, limit in limits.items()):
            break
        if len(prefix) + 1 == depth:
            found += 1
        else:
            found += _count_fitting(depth, widths, activation, batch_norm, limits,
                                    None if cap is None else cap - found, work,
                                    (*prefix, width))
        if cap is not None and found >= cap:
            break
    return found


def limit_share(space: SpaceConfig, limits: dict[str, int], samples: int = 4000,
                seed: int = 0) -> float:
    """The share of random draws of the space (what TPE's start-up and ``search.sampler:
    random`` propose: depth uniform, each width log-uniform, as Optuna's RandomSampler) that
    fit the size ``limits``; estimated from ``samples`` seeded draws (an architecture alone
    decides, so the float knobs do not matter)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    (d_low, d_high), (w_low, w_high) = space.depth, space.width
    depths = rng.integers(d_low, d_high + 1, size=samples)
    lows, highs = np.log(w_low - 0.5), np.log(w_high + 0.5)
    widths = np.clip(np.rint(np.exp(rng.uniform(lows, highs, size=(samples, d_high)))),
                     w_low, w_high).astype(int)
    acts = rng.integers(len(space.activations), size=samples)
    norms = rng.integers(len(space.batch_norm), size=samples)
    fit = 0
    for depth, row, act, norm in zip(depths, widths, acts, norms):
        arch = tuple(int(w) for w in row[:depth])
        fit += all(size_of_arch(arch, space.activations[act], space.batch_norm[norm], q) <= limit
                   for q, limit in limits.items())
    return fit / samples


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


def space_distributions(space: SpaceConfig, scan: bool = False) -> dict[str, Any]:
    """Every Optuna parameter the space can ask for, with the distribution it asks with
    (:func:`define_space`'s conditional widths ``d<depth>_width_<i>`` for every depth, the
    ``<name>_on`` switches; a scan's :func:`define_scan_space` axes), by asking a recording
    trial: the same code that draws, so ``provenance.json`` shows the space Optuna sees."""
    recorder = _Recorder()
    if scan:
        define_scan_space(space, recorder)
        return recorder.seen
    for depth in range(space.depth[0], space.depth[1] + 1):
        recorder.depth = depth
        define_space(space, recorder)
    return recorder.seen


class _Recorder:
    """A stand-in Optuna trial that records each distribution asked for and answers with a
    value that lets :func:`define_space` ask for the rest (switches on, ``depth`` as set)."""

    def __init__(self) -> None:
        self.seen: dict[str, Any] = {}
        self.depth: int | None = None

    def suggest_int(self, name: str, low: int, high: int, log: bool = False) -> int:
        import optuna

        self.seen[name] = optuna.distributions.IntDistribution(low, high, log=log)
        return self.depth if name == "depth" and self.depth is not None else low

    def suggest_float(self, name: str, low: float, high: float, log: bool = False) -> float:
        import optuna

        self.seen[name] = optuna.distributions.FloatDistribution(low, high, log=log)
        return low

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
        import optuna

        self.seen[name] = optuna.distributions.CategoricalDistribution(choices)
        return True if name.endswith("_on") else choices[0]


class SpaceFunction:
    """``define_space`` (or ``define_scan_space`` when ``scan``) bound to a
    :class:`SpaceConfig`: a picklable callable for OptunaSearch."""

    def __init__(self, space: SpaceConfig, scan: bool = False) -> None:
        self.space = space
        self.scan = scan

    def __call__(self, trial: Any) -> dict[str, Any]:
        scan = getattr(self, "scan", False)  # pickled before scans existed
        return (define_scan_space if scan else define_space)(self.space, trial)
