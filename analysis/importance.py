"""Hyperparameter importance, computed by Optuna's own evaluators on a study rebuilt from the table.

We do not write an importance method: the trials table is turned back into an in-memory Optuna
study (``create_study`` + ``add_trial(create_trial(...))``) and handed to Optuna. Distributions
come from ``config.yaml``'s ``space`` when given (widened to cover the data, in case the table
came from another config), else they are inferred from the table.

The default evaluator is PED-ANOVA (``PedAnovaImportanceEvaluator``): deterministic, numpy-only
and ~0.02 s on 1,000 trials, where fANOVA (``FanovaImportanceEvaluator(seed=0)``, also
deterministic) needs scikit-learn and ~25 s on 1,000 trials. PED-ANOVA measures how much each
hyperparameter's distribution in the top 10% of trials differs from the whole; fANOVA how much
of the metric's variance each one explains.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.maps import max_width, score_column
from jetstudy.analysis.regimes import ran_full

__all__ = ["Importance", "hyperparameter_importance", "search_distributions", "EVALUATORS",
           "PED_ANOVA_TOP", "MIN_TOP_TRIALS", "top_group",
           "trials_for_top_group"]

logger = logging.getLogger(__name__)

#: PED-ANOVA's top group: the best 10% of the trials (Optuna's default target_quantile),
#: whose distribution of each hyperparameter it compares with all trials'.
PED_ANOVA_TOP = 0.1
#: Optuna's advice for PED-ANOVA: "at least 5 trials above target_quantile" (its docstring);
#: a smaller top group is a handful of trials, its ranking mostly noise.
MIN_TOP_TRIALS = 5

#: Evaluator names accepted by :func:`hyperparameter_importance` and how the report names them.
EVALUATORS: dict[str, str] = {
    "ped-anova": "Optuna PedAnovaImportanceEvaluator (PED-ANOVA, top 10% of trials)",
    "fanova": "Optuna FanovaImportanceEvaluator(seed=0) (fANOVA)",
}

# table column -> (config.space key, kind, log scale when positive); "max_width" is derived.
# Sizes, penalties and learning rates act multiplicatively, so they live on a log scale.
_PARAMS: dict[str, tuple[str, str, bool]] = {
    "depth": ("depth", "int", False),
    "max_width": ("width", "int", True),
    "dropout": ("dropout", "float", False),
    "l1": ("l1", "float", True),
    "l2": ("l2", "float", True),
    "lr": ("lr", "float", True),
    "activation": ("activations", "cat", False),
    "batch_norm": ("batch_norm", "cat", False),
    "batch_size": ("batch_size", "cat", False),
}


@dataclass(frozen=True)
class Importance:
    """``table``: ``param, importance`` sorted high to low, summing to 1; ``evaluator``: its
    description; ``n_trials``: trials the study was rebuilt from; ``target``: the column used."""

    table: pd.DataFrame
    evaluator: str
    n_trials: int
    target: str
    #: of the ``n_trials``, those stopped early (ASHA, the time budget): values of fewer epochs
    n_stopped: int = 0


def _range(space: dict[str, Any], key: str) -> tuple[float, float] | None:
    value = space.get(key)
    numbers = isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value)
    if numbers and len(value) == 2:
        return float(value[0]), float(value[1])
    return None


def search_distributions(df: pd.DataFrame, space: dict[str, Any] | None) -> dict[str, Any]:
    """Optuna distributions for the columns of ``df`` that vary, keyed by column name."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    space = space or {}
    out: dict[str, Any] = {}
    for col, (key, kind, log_scale) in _PARAMS.items():
        if col not in df.columns or df[col].nunique(dropna=True) < 2:
            continue  # a constant (or switched-off) hyperparameter has no importance to measure
        values = df[col]
        if kind == "cat":
            listed = space.get(key) if isinstance(space.get(key), list) else []
            choices = sorted({*listed, *values.tolist()}, key=str)
            out[col] = CategoricalDistribution(choices)
            continue
        lo, hi = float(values.min()), float(values.max())
        configured = _range(space, key)
        if configured is not None:
            lo, hi = min(lo, configured[0]), max(hi, configured[1])
        log = log_scale and lo > 0
        if kind == "int":
            out[col] = IntDistribution(int(math.floor(lo)), int(math.ceil(hi)), log=log and lo >= 1)
        else:
            out[col] = FloatDistribution(lo, hi, log=log)
    return out


def _param_value(value: Any, dist: Any) -> Any:
    """A table value in the type its Optuna distribution checks for (ints come back as floats)."""
    from optuna.distributions import FloatDistribution, IntDistribution

    if isinstance(dist, IntDistribution):
        return int(round(value))
    return float(value) if isinstance(dist, FloatDistribution) else value


def _evaluator(name: str) -> Any:
    import optuna

    if name == "ped-anova":
        return optuna.importance.PedAnovaImportanceEvaluator(target_quantile=PED_ANOVA_TOP)
    if name == "fanova":
        return optuna.importance.FanovaImportanceEvaluator(seed=0)
    raise AnalysisError(
        f"importance evaluator {name!r} is unknown; use one of {', '.join(EVALUATORS)}"
    )


def _vary(df: pd.DataFrame, target: str, which: str) -> None:
    """Raise when ``target`` is the same for every row: nothing to explain (equal shares, or
    optuna's zeros, would read as a finding)."""
    values = df[target].astype(float)
    if len(df) and values.max() - values.min() <= 1e-12 * max(1.0, float(values.abs().max())):
        raise AnalysisError(f"`{target}` is the same ({values.iloc[0]:.6g}) for all {len(df)} "
                            f"{which}: no hyperparameter changed it, so none can be ranked by "
                            "importance")


def hyperparameter_importance(
    trials: pd.DataFrame,
    space: dict[str, Any] | None,
    metric: str,
    maximize: bool,
    evaluator: Literal["ped-anova", "fanova"] = "ped-anova",
    min_trials: int = 5,
) -> Importance:
    """Importance of each varying hyperparameter for ``metric`` over finished trials.

    Uses completed and stopped trials with a finite metric (``best_<metric>`` when present: the
    value the search itself saw). Raises :class:`AnalysisError` with fewer than ``min_trials``
    such trials or when no hyperparameter varies.
    """
    import optuna

    target = score_column(trials, metric)
    if target is None:
        raise AnalysisError(f"the trials table has no `{metric}` values to explain")
    trials = trials.drop_duplicates("trial_id", keep="last")  # listed twice: its last row
    df = trials[trials["status"].isin(("completed", "stopped"))].copy()
    has_widths = any(c.startswith("width_") for c in df.columns) or "widths" in df.columns
    df["max_width"] = max_width(df) if has_widths and not df.empty else np.nan
    df = df[np.isfinite(df[target])]
    too_few = (f"needs at least {min_trials} finished trials with `{target}`, found {{}} "
               "(an importance ranked over fewer is a guess: each hyperparameter's share would "
               "rest on one or two differences)")
    if len(df) < min_trials:
        raise AnalysisError(too_few.format(len(df)))
    _vary(df, target, "finished trials")
    dists = search_distributions(df, space)
    if not dists:
        raise AnalysisError("no hyperparameter varies between the finished trials")
    df = df.dropna(subset=list(dists))
    if len(df) < min_trials:
        raise AnalysisError(too_few.format(len(df)))
    # the trials left (every hyperparameter recorded) are what optuna ranks: the metric and the
    # hyperparameters must vary among them, not only among the trials dropped
    _vary(df, target, "finished trials with every hyperparameter recorded")
    dists = search_distributions(df, space)
    if not dists:
        raise AnalysisError("no hyperparameter varies between the finished trials with every "
                            "hyperparameter recorded")
    frozen = [
        optuna.trial.create_trial(
            params={col: _param_value(row[col], dist) for col, dist in dists.items()},
            distributions=dists,
            value=float(row[target]),
        )
        for _, row in df.iterrows()
    ]
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # "A new study created" is noise here
    try:
        study = optuna.create_study(direction="maximize" if maximize else "minimize")
        study.add_trials(frozen)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scores = optuna.importance.get_param_importances(study, evaluator=_evaluator(evaluator))
    finally:
        optuna.logging.set_verbosity(previous)
    for w in caught:
        logger.info("optuna: %s", w.message)
    table = pd.DataFrame({"param": list(scores), "importance": [float(v) for v in scores.values()]})
    total = table["importance"].sum()
    if not total > 0:  # every hyperparameter equally useless: share equally rather than divide by 0
        table["importance"] = 1.0 / len(table)
    return Importance(table=table.sort_values("importance", ascending=False, ignore_index=True),
                      evaluator=EVALUATORS[evaluator], n_trials=len(df), target=target,
                      n_stopped=_n_cut_short(df))


def _n_cut_short(df: pd.DataFrame) -> int:
    """The stopped trials that did not train their whole ``max_epochs`` (one the time budget
    ended after its last epoch is complete, as regimes.csv says)."""
    stopped = df[df["status"] == "stopped"]
    n, budget = (pd.to_numeric(stopped[c], errors="coerce").astype(float) if c in stopped
                 else pd.Series(np.nan, index=stopped.index) for c in ("epochs", "max_epochs"))
    return int(sum(not ran_full(a, b) for a, b in zip(n, budget)))


def top_group(result: Importance) -> int | None:
    """How many trials PED-ANOVA's top group held (the best :data:`PED_ANOVA_TOP` of
    ``n_trials``, rounded up as Optuna does); None for another evaluator."""
    if result.evaluator != EVALUATORS["ped-anova"]:
        return None
    return math.ceil(PED_ANOVA_TOP * result.n_trials)


def trials_for_top_group() -> int:
    """The fewest trials whose PED-ANOVA top group holds :data:`MIN_TOP_TRIALS` (41 for 5 in
    the best 10%)."""
    return next(n for n in range(1, 100_000) if math.ceil(PED_ANOVA_TOP * n) >= MIN_TOP_TRIALS)
