"""The rules of the ``search``, ``scheduler`` and ``space`` sections that span fields.

Called by :func:`jetstudy.study.config.from_dict` after each field passed its own check:

- a *scan* (``search.sampler`` grid or sobol, :mod:`jetstudy.study.design`) trains every design point to
  the end: no ASHA, capacity and regularisation axes only, no ``initial_points``, and a grid's
  ``num_trials`` is its size;
- ``search.initial_points`` must lie inside the space (each value in its range or choices,
  widths only for layers that exist), or Optuna would silently replace or ignore them; they
  are the study's first trials, counted in ``num_trials``: no more of them than that, and none
  twice (:mod:`jetstudy.study.point_rules`);
- :func:`config_warnings`: a TPE search whose trials nearly all start before TPE has anything
  to learn from is random search under another name; ASHA with ``grace_period`` at
  ``max_epochs`` stops nothing, and with a ``reduction_factor`` above ``num_trials`` it keeps
  less than one trial per rung; a search over fewer configurations than ``num_trials`` trains
  some again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jetstudy.study.design import REGULARISERS, grid_size, scan_axes, sobol_design
from jetstudy.study.space_rules import (MAX_REDRAWS, expected_repeats, limit_check,
                                        space_warnings)
from jetstudy.study.point_rules import check_points
from jetstudy.trainables.errors import ConfigError

if TYPE_CHECKING:  # study.config imports this module
    from jetstudy.study.config import StudyConfig

__all__ = ["tpe_startup_trials", "tpe_guided_trials", "whole_point", "config_warnings",
           "search_checks", "limit_check", "expected_repeats", "MAX_REDRAWS"]


def tpe_startup_trials(num_trials: int, max_concurrent: int) -> int:
    """Random trials TPE waits for before it models anything: ``max(10, 2 * max_concurrent)``
    (a batch of concurrent trials is proposed from one model, which should rest on more
    finished trials than the batch holds), at most half the study."""
    return max(1, min(max(10, 2 * max_concurrent), num_trials // 2))


def tpe_guided_trials(num_trials: int, max_concurrent: int,
                      initial: int | Sequence[bool] = 0) -> int:
    """How many trials TPE proposes from a model. Optuna counts *finished* trials toward the
    start-up: with ``c`` trials at a time, the trial asked when the ``n``-th one finishes is the
    ``(n + c)``-th, so the first guided one is number ``startup + c`` and
    ``num_trials - startup - c + 1`` are guided. The ``initial`` points
    (``search.initial_points``) are the first trials asked: a count (each fixed whole by the
    user), or one flag per point in order, true where it fixes every parameter Optuna draws
    (:func:`whole_point`); one fixing only some past the start-up has its other parameters
    drawn from the model, and is guided. A whole point past the start-up is not."""
    startup = tpe_startup_trials(num_trials, max_concurrent)
    first = startup + max_concurrent - 1  # the position of the first guided trial
    flags = [True] * initial if isinstance(initial, int) else list(initial)
    whole_after = sum(1 for i, whole in enumerate(flags) if whole and i >= first)
    return max(0, num_trials - first - whole_after)


def whole_point(cfg: StudyConfig, point: dict[str, Any]) -> bool:
    """Whether an initial point fixes every parameter the search draws (its depth, each of
    its widths, every float knob given as a range, activation and batch norm where the space
    offers a choice): nothing of it is left to the sampler."""
    sp = cfg.space
    if sp.depth[0] != sp.depth[1] and "depth" not in point:
        return False
    depth = int(point.get("depth", sp.depth[0]))
    if sp.width[0] != sp.width[1] and any(f"width_{i}" not in point for i in range(depth)):
        return False
    if any(getattr(sp, name)[0] != getattr(sp, name)[1] and name not in point
           for name in (*REGULARISERS, "lr")):
        return False
    return ((len(sp.activations) == 1 or "activation" in point)
            and (len(sp.batch_norm) == 1 or "batch_norm" in point))


def _guided_enough(num_trials: int, max_concurrent: int,
                   initial: int | Sequence[bool]) -> bool:
    return tpe_guided_trials(num_trials, max_concurrent, initial) >= num_trials / 4


def _fewest_trials_guided_enough(num_trials: int, max_concurrent: int,
                                 initial: int | Sequence[bool]) -> int:
    """The smallest ``num_trials`` (at least the given one) that :func:`_guided_enough` accepts,
    by bisection (the test is monotone in ``num_trials``): a scan up to a fixed bound missed it
    for a large ``max_concurrent`` (search.max_concurrent 100000 ended in StopIteration)."""
    k = initial if isinstance(initial, int) else len(initial)
    low, high = num_trials, max(num_trials, 4 * (max_concurrent + k + 10))
    while not _guided_enough(high, max_concurrent, initial):
        high *= 2
    while low < high:
        middle = (low + high) // 2
        if _guided_enough(middle, max_concurrent, initial):
            high = middle
        else:
            low = middle + 1
    return low


def config_warnings(cfg: StudyConfig) -> list[str]:
    """Valid settings that defeat their purpose (see :func:`tpe_guided_trials`): a TPE search
    of which less than a quarter is guided by what it learned. The fixes it names silence it:
    the smallest ``num_trials`` at this concurrency, and the largest ``max_concurrent`` below
    this one that is enough (none when no concurrency is, as for a single trial)."""
    s, sch = cfg.search, cfg.scheduler
    out: list[str] = []
    if sch.type == "asha" and sch.grace_period >= sch.max_epochs:
        out.append(
            f"scheduler.grace_period is {sch.grace_period} with scheduler.max_epochs "
            f"{sch.max_epochs}: ASHA has no rung before the last epoch, so it never stops a "
            f"trial (every trial trains to max_epochs, as scheduler.type fifo); set "
            + (f"scheduler.grace_period to e.g. {max(1, sch.max_epochs // 8)} for early "
               f"stopping, or " if sch.max_epochs > 1 else "")
            + "scheduler.type to fifo to say so")
    if sch.type == "asha" and 3 <= s.num_trials < sch.reduction_factor:  # 2: one to compare
        out.append(
            f"scheduler.reduction_factor is {sch.reduction_factor} with search.num_trials "
            f"{s.num_trials}: ASHA keeps the top 1/{sch.reduction_factor} at each rung, less "
            f"than one of the {s.num_trials} trials, so a trial passes a rung only if it "
            f"is about as good as the best that reached it before (the first to arrive always "
            f"passes): the order trials finish in decides; set scheduler.reduction_factor to "
            f"{min(3, s.num_trials)} or raise search.num_trials to at least "
            f"{sch.reduction_factor}")
    if sch.type == "patience" and sch.patience == sch.max_epochs - 1:  # >=: a config error
        out.append(
            f"scheduler.patience is {sch.patience} with scheduler.max_epochs {sch.max_epochs}: "
            f"a trial stops by its patience {sch.patience} epochs after its best epoch (the "
            f"first at the earliest), so never before max_epochs: no trial stops early; set "
            + (f"scheduler.patience to at most {sch.max_epochs - 2} or " if sch.max_epochs > 2
               else "")
            + "scheduler.type to fifo to say so")
    space, few = space_warnings(cfg)
    out += space
    if few:
        return out  # "nearly random" would advise more trials of a space that has none
    if s.sampler != "tpe":
        return out
    n, c, k = s.num_trials, s.max_concurrent, len(s.initial_points)
    flags = [whole_point(cfg, p) for p in s.initial_points]
    if _guided_enough(n, c, flags):
        return out
    guided = tpe_guided_trials(n, c, flags)
    startup = tpe_startup_trials(n, c)
    suggested = _fewest_trials_guided_enough(n, c, flags)
    fewer = next((m for m in range(c - 1, 0, -1) if _guided_enough(n, m, flags)), None)
    fix = f"set search.num_trials to at least {suggested}"
    if fewer is not None:
        fix += f" or search.max_concurrent to {fewer} or less"
    from jetstudy.study.space import count_configurations

    count = count_configurations(cfg.space, cfg.size_limits, cap=suggested)
    if count is not None and count < suggested:  # more trials would repeat configurations
        if fewer is None and count <= n:
            return out  # e.g. one trial of a one-configuration space: nothing to guide
        fix = (f"set search.max_concurrent to {fewer} or less" if fewer is not None else
               f"set search.sampler to random (the space holds only {count} configurations, "
               f"too few for more trials) or widen space.depth or space.width")
    at_once = (f"proposes {c} at a time" if c < n
               else f"proposes all {n} at once (search.max_concurrent {c})")
    given = (f" after the {k} search.initial_points" if any(
        flags[startup + c - 1:]) else "")  # a whole point past the start-up guides nothing
    if given and not all(flags):
        given += (f" ({sum(flags)} of them fix every parameter; the others' free "
                  f"parameters are drawn)")
    if n == 1:
        out.append(f"search.num_trials is 1: a TPE search of one trial trains one random "
                   f"configuration (TPE has nothing to learn from yet); {fix}")
        return out
    out.append(
        f"search.max_concurrent is {c} for search.num_trials {n}: TPE starts from "
        f"{startup} random trial(s) and {at_once}, so only {guided} of {n} trials are "
        f"guided by what it learned{given} (less than a quarter): this is nearly random "
        f"search; {fix}")
    return out


def _scan_checks(cfg: StudyConfig) -> None:
    s, sp = cfg.search, cfg.space
    if cfg.scheduler.type == "asha":
        raise ConfigError(
            f"search.sampler is {s.sampler!r} (a scan: every configuration trained to the end) "
            f"but scheduler.type is 'asha', which stops most trials after a few epochs; set "
            f"scheduler.type to fifo (every trial to max_epochs) or patience (early stopping)")
    for name, fixed in (("lr", sp.lr[0] == sp.lr[1]), ("activations", len(sp.activations) == 1),
                        ("batch_norm", len(sp.batch_norm) == 1)):
        if not fixed:
            value = getattr(sp, name)
            example = f"[{value[0]:g}, {value[0]:g}]" if name == "lr" else f"[{value[0]}]"
            raise ConfigError(
                f"space.{name} is {list(value)}, but a scan varies only depth, width and "
                f"regularisation (search.sampler {s.sampler!r}); set space.{name} to one value, "
                f"e.g. {example}, or use search.sampler tpe")
    varied = [n for n in REGULARISERS if n in scan_axes(sp)]
    if len(varied) > 2:
        raise ConfigError(
            "space.dropout, space.l1 and space.l2 are all ranges, but a scan varies at most two "
            "regularisers (its maps are 2-d); set one to a single value, e.g. space.l1: [0, 0]")
    if s.initial_points:
        raise ConfigError(
            f"search.initial_points has {len(s.initial_points)} points, but a scan's "
            f"configurations are its design (search.sampler {s.sampler!r}); remove "
            f"search.initial_points or use search.sampler tpe")


def optuna_major() -> int:
    """The installed Optuna's major version, read without importing it."""
    from importlib.metadata import version

    return int(version("optuna").split(".")[0])


def _size_aware_needs_optuna5(cfg: StudyConfig) -> None:
    """Optuna 4.x's multi-objective TPE weighs its "good" trials by their values, pruned ones
    included, whose values are None: the first proposal from its model after an ASHA stop or a
    diverged trial (both *pruned*) failed with a raw TypeError (``unsupported operand type(s)
    for *: 'NoneType' and 'float'``, Optuna 4.5.0) and ended the study; Optuna 5 ranks them."""
    if cfg.size_objective is None or cfg.search.sampler != "tpe":
        return
    major = optuna_major()
    if major < 5:
        raise ConfigError(
            f"search.objectives is {list(cfg.search.objectives)} (a size-aware TPE search), but "
            f"the installed Optuna {major}.x's multi-objective TPE fails on the pruned trials "
            f"ASHA stops and diverged trials leave; install Optuna 5 (pip install "
            f"'optuna>=5,<6'), or set search.sampler to random, or leave search.objectives out")


def search_checks(cfg: StudyConfig, raw_search: dict[str, Any]) -> StudyConfig:
    """Check the search, scheduler and space sections together; returns ``cfg`` with a grid's
    ``search.num_trials`` set to the grid size when the user left it out."""
    s, sch = cfg.search, cfg.scheduler
    _size_aware_needs_optuna5(cfg)
    if sch.type == "patience" and sch.patience >= sch.max_epochs:
        raise ConfigError(
            f"scheduler.patience is {sch.patience} with scheduler.max_epochs {sch.max_epochs}: "
            f"no trial could stop early; set scheduler.patience to e.g. "
            f"{max(1, sch.max_epochs // 5)} or scheduler.type to fifo")
    if cfg.kind == "scan":
        _scan_checks(cfg)
    if s.sampler == "sobol":
        try:
            sobol_design(cfg.space, s.num_trials, s.seed)
        except ValueError as exc:
            raise ConfigError(
                f"search.num_trials is {s.num_trials} for a Sobol scan, but {exc}; lower "
                f"search.num_trials or widen space.depth / space.width (or vary a "
                f"regulariser)") from None
    check_points(cfg)
    if s.sampler != "grid":
        return cfg
    size = grid_size(cfg.space, s.grid_levels)
    if "num_trials" not in raw_search:
        return dataclasses.replace(cfg, search=dataclasses.replace(s, num_trials=size))
    if s.num_trials != size:
        axes = " x ".join(scan_axes(cfg.space)) or "no axis"
        raise ConfigError(
            f"search.num_trials is {s.num_trials}, but the grid ({axes}, search.grid_levels "
            f"{s.grid_levels}) has {size} configurations; set search.num_trials to {size} or "
            f"leave it out (a grid's size is its number of trials)")
    return cfg
