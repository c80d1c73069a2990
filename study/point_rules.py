"""``search.initial_points``: each point inside the space, none twice, no more than
``search.num_trials``, and one fixing only part of its architecture able to fit the size limits
(split from :mod:`jetstudy.study.search_rules`, which calls :func:`check_points`); a refused
value is named as the user wrote it in YAML (:func:`as_written`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from jetstudy.study.design import REGULARISERS, is_switchable, on_range
from jetstudy.trainables.errors import ConfigError

if TYPE_CHECKING:  # study.config imports this module's caller
    from jetstudy.study.config import StudyConfig

__all__ = ["as_written", "check_points"]


def check_points(cfg: StudyConfig) -> None:
    """Every ``search.initial_points`` entry checked (see the module)."""
    for k, point in enumerate(cfg.search.initial_points):
        _check_point(cfg, k, point)
    _check_points_fit(cfg)


def as_written(value: Any) -> str:
    """``value`` as the user wrote it in YAML: ``true``/``false``/``null``, not Python's
    ``True``/``False``/``None``; text quoted ('64'), lists and mappings in flow style."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return f"[{', '.join(as_written(v) for v in value)}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {as_written(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _quoted_number(value: Any) -> str | None:
    """``value`` without its quotes when it is a number written as quoted text ('64')."""
    if not isinstance(value, str):
        return None
    try:
        number = float(value.strip().replace("_", ""))
    except ValueError:
        return None
    return value.strip() if math.isfinite(number) and value.strip().isascii() else None


def _not_a_number(at: str, value: Any, why: str, example: str) -> ConfigError:
    """A point's value that is no number: quoted text that is one says to drop the quotes, a
    true/false says YAML read a yes/no/on/off as one."""
    bare = _quoted_number(value)
    if bare is not None:
        return _fail(at, value, f"{why} (quoted text, not a number)",
                     f"drop the quotes: write {bare}")
    if isinstance(value, bool):
        return _fail(at, value, f"{why} (YAML reads true/false, yes/no, on/off as a "
                     f"boolean)", f"write a number, e.g. {example}")
    return _fail(at, value, why, f"write e.g. {example}")


def _fail(where: str, value: Any, why: str, fix: str) -> ConfigError:
    return ConfigError(f"{where} is {as_written(value)}: {why}; {fix}")


def _check_point(cfg: StudyConfig, k: int, point: dict[str, Any]) -> None:
    sp = cfg.space
    where = f"search.initial_points[{k}]"
    fixed_depth = sp.depth[0] if sp.depth[0] == sp.depth[1] else None
    depth = point.get("depth", fixed_depth)
    for key, value in point.items():
        at = f"{where}.{key}"
        if key == "depth" or key.startswith("width_"):
            field = "depth" if key == "depth" else "width"
            low, high = getattr(sp, field)
            if not isinstance(value, int) or isinstance(value, bool):
                raise _not_a_number(at, value, "must be an integer", f"{low}")
            if not low <= value <= high:
                raise _fail(at, value, f"outside space.{field} [{low}, {high}]",
                            f"use a value in the range or widen space.{field}")
            if key.startswith("width_"):
                layer = int(key.removeprefix("width_"))
                if depth is None:
                    raise _fail(at, value, "a width needs the point's depth (space.depth is "
                                "a range)", f"add depth: {layer + 1} to the point")
                if layer >= depth:
                    raise _fail(at, value, f"the point has depth {depth}, so its layers are "
                                f"width_0..width_{depth - 1}", f"drop {key} or set depth: "
                                f"{layer + 1}")
        elif key in (*REGULARISERS, "lr"):
            _check_knob(sp, at, key, value)
        else:  # activation, batch_norm
            options = sp.activations if key == "activation" else sp.batch_norm
            kind = bool if key == "batch_norm" else str
            if not isinstance(value, kind) or value not in options:
                field = "activations" if key == "activation" else "batch_norm"
                from jetstudy.study.check_hints import point_choice_hint
                from jetstudy.study.config import ACTIVATIONS

                hint = point_choice_hint(key, value, options, ACTIVATIONS)
                raise _fail(at, value, f"not in space.{field} {as_written(options)}{hint}",
                            f"use one of them or add it to space.{field}")


def _check_knob(sp: Any, at: str, key: str, value: Any) -> None:
    low, high = getattr(sp, key)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise _not_a_number(at, value, "must be a number", f"{high:g}")
    if low == high:
        if value != low:
            raise _fail(at, value, f"space.{key} is fixed at {low:g}, so the point's value would "
                        f"be ignored", f"drop {key} from the point or widen space.{key}")
        return
    if is_switchable(key, (low, high)):
        on_lo, on_hi, _ = on_range(key, (low, high))
        if value != 0 and not on_lo * (1 - 1e-9) <= value <= on_hi * (1 + 1e-9):
            raise _fail(at, value, f"space.{key} [0, {high:g}] means 0 (off) or a value in "
                        f"[{on_lo:g}, {on_hi:g}]", "use 0 or a value in that range")
        return
    if not low * (1 - 1e-9) <= value <= high * (1 + 1e-9):
        raise _fail(at, value, f"outside space.{key} [{low:g}, {high:g}]",
                    f"use a value in the range or widen space.{key}")


def _check_points_fit(cfg: StudyConfig) -> None:
    """Each initial point is one of the first trials: none repeated (it would train the same
    configuration twice), and no more of them than ``num_trials`` (the rest never train)."""
    s = cfg.search
    seen: dict[tuple, int] = {}
    for k, point in enumerate(s.initial_points):
        key = tuple(sorted((name, float(v) if isinstance(v, (int, float)) and not isinstance(
            v, bool) else v) for name, v in point.items()))
        if key in seen:
            raise _fail(f"search.initial_points[{k}]", point,
                        f"the same configuration as search.initial_points[{seen[key]}], so it "
                        f"would be trained twice", f"drop search.initial_points[{k}]")
        seen[key] = k
    if len(s.initial_points) > s.num_trials:
        raise ConfigError(
            f"search.initial_points has {len(s.initial_points)} points, but search.num_trials "
            f"is {s.num_trials}: the initial points are the study's first trials, so the last "
            f"{len(s.initial_points) - s.num_trials} would never be trained; set "
            f"search.num_trials to at least {len(s.initial_points)} or drop points")
    for k, point in enumerate(s.initial_points):
        _check_partial_point_fits(cfg, k, point)


def _check_partial_point_fits(cfg: StudyConfig, k: int, point: dict[str, Any]) -> None:
    """An initial point that leaves some of its architecture to the search (its depth, a
    width) is drawn again while its drawn part is over a size limit (``search.max_*``); one
    whose smallest completion (free widths at the narrowest, no batch norm or PReLU where
    free) is over a limit never fits, and the study would stop after :data:`MAX_REDRAWS`
    draws: refused here. A whole point is checked with the limits themselves."""
    from jetstudy.study.space import config_size, size_of_arch

    sp = cfg.space
    if not cfg.size_limits or all(config_size(point, q, sp) is not None
                                  for q in cfg.size_limits):
        return
    depth = int(point.get("depth", sp.depth[0]))
    widths = tuple(int(point.get(f"width_{i}", sp.width[0])) for i in range(depth))
    activation = point.get("activation", next((a for a in sp.activations if a != "prelu"),
                                              sp.activations[0]))
    batch_norm = bool(point.get("batch_norm", min(sp.batch_norm)))
    for quantity, limit in cfg.size_limits.items():
        least = size_of_arch(widths, activation, batch_norm, quantity)
        if least > limit:
            field = "max_params" if quantity == "n_params" else f"max_{quantity}"
            raise _fail(f"search.initial_points[{k}]", point,
                        f"its smallest completion (widths {list(widths)}: its free widths at "
                        f"space.width's lowest, {sp.width[0]}) has {least} {quantity}, over "
                        f"search.{field} {limit}, so no draw of its free parameters fits",
                        f"remove the point, give it a smaller depth, or raise search.{field}")
