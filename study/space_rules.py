"""The ``space`` section's rules against the search that spans it: how many distinct
configurations the space holds against ``search.num_trials`` (fewer: trials repeat; more, but
few: repeats by chance, :func:`expected_repeats`), a largest model far beyond a jet tagger, and
the share of the space within the ``search.max_*`` size limits (:func:`limit_check` refuses
one the search cannot draw from). Split off :mod:`jetstudy.study.search_rules`, which calls
:func:`space_warnings` from its ``config_warnings``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from jetstudy.study.design import REGULARISERS, scan_axes
from jetstudy.trainables.errors import ConfigError

if TYPE_CHECKING:  # study.config imports this module (through search_rules)
    from jetstudy.study.config import StudyConfig

__all__ = ["space_warnings", "expected_repeats", "repeat_safe_trials", "limit_check", "MAX_REDRAWS", "HUGE_PARAMS",
           "LIMIT_SHARE_REFUSED", "LIMIT_SHARE_WARNED"]


def space_warnings(cfg: StudyConfig) -> tuple[list[str], bool]:
    """The space's warnings for ``config_warnings`` (a largest model far beyond a jet tagger,
    a size limit few draws meet, too few or likely repeated configurations) and whether the
    space holds fewer configurations than trials (then advice for more trials is moot)."""
    out = [w for w in (_huge_space(cfg),) if w]
    share = _limit_share(cfg)
    if share is not None and share < LIMIT_SHARE_WARNED:
        out.append(f"{_limit_words(cfg, share)}, slowing every trial's start; "
                   f"{_limit_fix(cfg)}")
    few = _few_configurations(cfg)
    if few:
        return out + [few], True
    repeats = _likely_repeats(cfg)
    return out + ([repeats] if repeats else []), False


#: A space of at most this many times ``num_trials`` configurations is checked for repeats.
REPEAT_CHECK_FACTOR = 4


def expected_repeats(cfg: StudyConfig) -> float | None:
    """How many of a search's ``num_trials`` random draws are expected to repeat an earlier
    one: ``num_trials`` minus the expected distinct, ``sum(1 - (1 - p)**n)`` over the
    configurations, each ``p`` as Optuna draws it (depth uniform, each width log-uniform over
    integers, activation and batch norm uniform). None for a countless space (a float knob a
    range), one under size limits, or one over :data:`REPEAT_CHECK_FACTOR` times
    ``num_trials`` configurations. TPE concentrates, so it repeats more."""
    from jetstudy.study.space import count_configurations

    s, sp = cfg.search, cfg.space
    n = s.num_trials
    if cfg.size_limits or s.sampler not in ("tpe", "random"):
        return None
    count = count_configurations(sp, None, cap=REPEAT_CHECK_FACTOR * n + 1)
    if count is None or count > REPEAT_CHECK_FACTOR * n:
        return None
    return _repeats(_draw_probabilities(cfg), n)


def _draw_probabilities(cfg: StudyConfig) -> list[float]:
    """Each configuration's probability in one random draw of the space (no size limits;
    every float knob fixed): depth uniform, each width log-uniform over integers as Optuna
    draws a log integer, activation and batch norm uniform."""
    import itertools

    sp = cfg.space
    (d_low, d_high), (w_low, w_high) = sp.depth, sp.width
    span = math.log(w_high + 0.5) - math.log(w_low - 0.5)
    width_p = [(math.log(w + 0.5) - math.log(w - 0.5)) / span for w in range(w_low, w_high + 1)]
    choices = len(sp.activations) * len(sp.batch_norm)  # each drawn alike
    return [math.prod(widths) / ((d_high - d_low + 1) * choices)
            for depth in range(d_low, d_high + 1)
            for widths in itertools.product(width_p, repeat=depth) for _ in range(choices)]


def _repeats(probabilities: list[float], n: int) -> float:
    """Expected draws of ``n`` (with replacement) that repeat an earlier one."""
    return n - sum(1 - (1 - p) ** n for p in probabilities)


def _quiet_repeats(repeats: float, n: int) -> bool:
    """Below :func:`_likely_repeats`' warning: under 3 and a fifth of the trials."""
    return repeats < max(3.0, n / 5)


def repeat_safe_trials(cfg: StudyConfig, count: int) -> tuple[int, float]:
    """For a space of ``count`` configurations: the most trials whose draws are not likely to
    repeat (what :func:`_likely_repeats` accepts), and the repeats expected of ``count``
    trials. Under size limits the draws that fit are taken as equally likely, the fewest
    repeats any draw gives: a bound."""
    probabilities = ([1 / count] * count if cfg.size_limits or count < 1
                     else _draw_probabilities(cfg))
    best = next((n for n in range(count, 0, -1)
                 if _quiet_repeats(_repeats(probabilities, n), n)), 1)
    return best, _repeats(probabilities, count)


def _likely_repeats(cfg: StudyConfig) -> str | None:
    """A search whose space holds more configurations than ``num_trials`` but few enough
    that many draws are expected to repeat one (``_few_configurations`` warns only below
    ``num_trials``): a 20-trial TPE search of depth 1-2, widths 4-8, every float knob fixed
    (30 configurations) trained 12 distinct. None when under 3 and a fifth of the trials
    (a search of as many trials as configurations, the fix ``_few_configurations`` names,
    expects about a third to repeat: 2 of 6, 3 of 8)."""
    repeats = expected_repeats(cfg)
    n = cfg.search.num_trials
    if repeats is None or _quiet_repeats(repeats, n):
        return None
    widen = "space.depth or space.width" + (", or give space.lr a range (e.g. [1e-4, 1e-2])"
                                             if cfg.space.lr[0] == cfg.space.lr[1] else "")
    return (f"the space ({_fixed_fields(cfg)}) holds few configurations for search.num_trials "
            f"{n}: drawn at random with replacement (depth first, then log-uniform widths), "
            f"about {repeats:.0f} of the {n} trials would repeat an earlier trial's "
            f"configuration, only the seed differing ({cfg.search.sampler}"
            + (", which concentrates on what scored well, repeats more" if
               cfg.search.sampler == "tpe" else "")
            + f"; the report counts them); widen {widen}, or lower search.num_trials")


def _fixed_fields(cfg: StudyConfig) -> str:
    """The space's fields as the user set them, for a message about its size."""
    sp = cfg.space
    shown = [f"space.{name} {list(getattr(sp, name))}" for name in ("depth", "width")]
    fixed = [name for name in (*REGULARISERS, "lr") if getattr(sp, name)[0] == getattr(sp, name)[1]]
    if fixed:
        shown.append(f"space.{'/'.join(fixed)} single values")
    for name in ("activations", "batch_norm"):
        if len(getattr(sp, name)) > 1:
            shown.append(f"space.{name} {list(getattr(sp, name))}")
    return ", ".join(shown)


def _few_configurations(cfg: StudyConfig) -> str | None:
    """A search whose space holds fewer distinct configurations than ``search.num_trials``
    (only integer ranges, every float knob a single value): TPE and random search draw with
    replacement, so the extra trials train configurations again, the same seed aside; and a
    scan whose design is one configuration. None when neither is the case."""
    from jetstudy.study.space import count_configurations

    s = cfg.search
    if cfg.kind == "scan":
        if scan_axes(cfg.space) or s.num_trials != 1:
            return None
        return (f"search.sampler is {s.sampler!r} (a scan), but no axis of the space varies "
                f"({_fixed_fields(cfg)}): the scan trains 1 configuration, so its regime maps "
                f"and complexity curve have one point; widen space.depth or space.width (or "
                f"vary space.dropout, l1 or l2) to scan")
    n = s.num_trials
    count = count_configurations(cfg.space, cfg.size_limits, cap=n)
    if count is None or count >= n:
        return None
    within = " within the search.max_* limits" if cfg.size_limits else ""
    if count == 1:
        what = (f"a single configuration{within}, so the {n} trials of this {s.sampler} "
                f"search train the same configuration {n} times (only their seeds differ)")
    else:
        what = (f"only {count} distinct configurations{within}, fewer than search.num_trials "
                f"{n}: {s.sampler} draws with replacement, so at least {n - count} trials train "
                f"a configuration again (only the seed differs: the search learns nothing "
                f"from a repeat)")
    widen = "space.depth or space.width" + (", or give space.lr a range (e.g. [1e-4, 1e-2])"
                                             if cfg.space.lr[0] == cfg.space.lr[1] else "")
    limits = ", raise " + " / ".join(f"search.{f}" for f in _limit_fields(cfg)) if within else ""
    safe, repeats = repeat_safe_trials(cfg, count)
    fewer = (f"{safe}" if safe == count else
             f"{safe} (at {count}, as many as the configurations, about {repeats:.0f} of the "
             f"draws would repeat one by chance{' or more' if cfg.size_limits else ''})")
    return (f"the space ({_fixed_fields(cfg)}) holds {what}; set search.num_trials to "
            f"{fewer}{limits}, or widen {widen}")


def _limit_fields(cfg: StudyConfig) -> list[str]:
    return ["max_params" if q == "n_params" else f"max_{q}" for q in cfg.size_limits]


#: Parameters of the space's largest model above which the config check warns: with its
#: gradients and Adam's two moments a trial holds 16 bytes per parameter (160 MB here), while
#: the jet taggers of the hls4ml papers hold a few thousand parameters.
HUGE_PARAMS = 10_000_000


def _huge_space(cfg: StudyConfig) -> str | None:
    """A warning when the space's largest model (``space.depth``'s top at ``space.width``'s
    top) is far beyond a jet tagger and no ``search.max_params`` keeps the search below it:
    e.g. ``width [8192, 8192]``, ``depth [16, 16]`` (~1e9 parameters, ~17 GB a trial)."""
    from jetstudy.study.space import size_of_arch

    sp = cfg.space
    activation = "prelu" if "prelu" in sp.activations else sp.activations[0]
    largest = size_of_arch((sp.width[1],) * sp.depth[1], activation, max(sp.batch_norm),
                           "n_params")
    limit = cfg.size_limits.get("n_params")
    if largest <= HUGE_PARAMS or (limit is not None and limit <= HUGE_PARAMS):
        return None
    gib = largest * 16 / 2**30
    return (f"the space's largest model (space.depth {sp.depth[1]} at space.width "
            f"{sp.width[1]}) has {largest:,} parameters, ~{gib:.3g} GiB with its gradients and "
            f"Adam's state per trial (a jet tagger of 16 features has thousands); lower "
            f"space.width / space.depth, or set search.max_params to keep the search below it")


#: Draws over a size limit in a row before the search gives up (the space barely fits it;
#: ``jetstudy.study.searcher.HonestOptunaSearch._draw``).
MAX_REDRAWS = 1000
#: Below this share of random draws within the size limits a search is refused: each trial
#: costs 100+ rejected Optuna trials, and MAX_REDRAWS misses in a row stop the study.
LIMIT_SHARE_REFUSED = 0.01
#: Below this share a warning says so (20+ rejected draws per trial).
LIMIT_SHARE_WARNED = 0.05


def _limit_share(cfg: StudyConfig) -> float | None:
    from jetstudy.study.space import limit_share

    if not cfg.size_limits or cfg.kind != "search":
        return None
    return limit_share(cfg.space, cfg.size_limits)


def _limit_words(cfg: StudyConfig, share: float) -> str:
    limits = ", ".join(f"search.{f} {v}" for f, v in zip(_limit_fields(cfg),
                                                          cfg.size_limits.values()))
    said = f"about {share:.1%}" if share > 0 else "almost none"
    rejected = f"about {round(1 / share)}" if share > 0 else "thousands of"
    return (f"{limits} admits {said} of the models a random draw of the space gives "
            f"(space.depth {list(cfg.space.depth)}, space.width {list(cfg.space.width)}): each "
            f"trial takes {rejected} draws (every rejected one a pruned Optuna trial)")


def limit_check(cfg: StudyConfig) -> None:
    """Refuse size limits that nearly every draw of the space exceeds (see
    :data:`LIMIT_SHARE_REFUSED`), naming the share, the limit and how to narrow the space."""
    share = _limit_share(cfg)
    if share is not None and share < LIMIT_SHARE_REFUSED:
        raise ConfigError(f"{_limit_words(cfg, share)}, and {MAX_REDRAWS} rejected draws in a "
                          f"row stop the study; {_limit_fix(cfg)}")


def _limit_fix(cfg: StudyConfig) -> str:
    """Narrow the space to the models within the limits, or raise them."""
    from jetstudy.study.space import size_excess

    sp = cfg.space
    (d_low, d_high), (w_low, w_high) = sp.depth, sp.width
    activation = next((a for a in sp.activations if a != "prelu"), sp.activations[0])

    def fits(depth: int, width: int) -> bool:
        config = {"depth": depth, **{f"width_{i}": width for i in range(depth)},
                  "activation": activation, "batch_norm": min(sp.batch_norm)}
        return not size_excess(config, cfg.size_limits, sp)

    widest = max((w for w in range(w_low, w_high + 1) if fits(d_low, w)), default=w_low)
    deepest = max((d for d in range(d_low, d_high + 1) if fits(d, w_low)), default=d_low)
    fixes = []
    if widest < w_high:
        fixes.append(f"space.width to [{w_low}, {widest}] (the widest {d_low}-layer model "
                     f"within the limit)")
    if deepest < d_high:
        fixes.append(f"space.depth to [{d_low}, {deepest}]")
    raise_it = " or ".join(f"search.{f}" for f in _limit_fields(cfg))
    return (f"narrow {' and '.join(fixes)}, or raise {raise_it}" if fixes
            else f"raise {raise_it}")
