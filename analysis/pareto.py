"""Accuracy/AUC against model cost: the Pareto front and the smallest model that is good enough.

For a trigger (hls4ml targets FPGAs) a model 1% worse but ten times smaller usually wins, so the
question is not "which is best" but "what is the smallest model within a tolerance of the best".
Costs are ``n_params`` and ``flops``; scores are the validation accuracy and macro AUC at each
trial's best epoch (``best_val_*``, the checkpoint a trial keeps). Test metrics exist only for the
study's best trial, so they are a single marker, not a front.

Only trials trained to the end (status ``completed``: ``max_epochs`` or converged by patience;
or a stopped/running trial that trained all its ``max_epochs``, whose curve regimes.csv calls
complete: :func:`~jetstudy.analysis.curve_stats.ran_to_the_end`) may be on the front or be the
pick, and the notes say why a pick whose status is ``stopped`` is one: a trial ASHA stopped after one epoch has a score from a
model that was still learning, and would put "cheap" points on the front that no finished
model reaches. Stopped and running trials are kept apart (``partial``) to be drawn faded. With
no completed trial the front is undetermined, never built from partial scores.

The scores are measured on the validation jets, so they carry counting noise: the binomial
standard error of an accuracy, and a Hanley-McNeil estimate for the macro AUC. The pick's
distance from the best is given with its error, and called "within noise" when it is smaller
than :data:`NOISE_SIGMAS` standard errors: the validation set then cannot tell the two apart.

A size-aware search (``search.objectives: [metric, size]``) has its own front, in the search's
objectives (:func:`search_front`), and the question "how big should my tagger be" its answer
(:func:`how_big`): the smallest fully trained model within 1% of the best model's search metric
and within 0.5 points of its accuracy. ``multiplications`` (dense multiply-adds per jet) is
half the ``flops`` column when a table lacks it (:func:`with_sizes`). The sentences on the pick
(:func:`pick_notes`, :func:`unsized_words`) are :mod:`jetstudy.analysis.pareto_notes`'s.

>>> df = pd.DataFrame({"trial_id": list("abc"), "n_params": [10, 20, 30], "acc": [0.7, 0.8, 0.75]})
>>> pareto_front(df, "n_params", "acc")["trial_id"].tolist()
['a', 'b']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from jetstudy.analysis.curve_stats import ran_to_the_end
from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.heldout_tables import few_validation_jets
from jetstudy.analysis.intervals import binomial_se, hanley_mcneil_se
from jetstudy.analysis.maps import score_column
from jetstudy.analysis.pick_words import band_edge
from jetstudy.analysis.significance import below
from jetstudy.analysis.trial_order import CONFIG_COLUMNS, TIE_KEYS, with_tie_keys
from jetstudy.trainables.objective import METRIC_MODES, Objective
from jetstudy.trainables.table_schema import TRIAL_ORDER

__all__ = ["ParetoResult", "pareto_front", "smallest_within", "compute_pareto", "score_se",
           "pick_notes", "tied_with", "unsized_trials", "unsized_words", "with_sizes", "search_front", "how_big", "SizeAnswer",
           "how_big_paragraph", "FRONT_STATUSES", "SCORED_STATUSES", "PARETO_STATUSES", "NOISE_SIGMAS",
           "few_validation_jets"]

#: The status that always means trained to the end (max_epochs, or converged by patience);
#: the front takes a stopped or running trial that trained all of max_epochs too
#: (:func:`~jetstudy.analysis.curve_stats.ran_to_the_end`, the one rule).
FRONT_STATUSES: tuple[str, ...] = ("completed",)

#: Trials whose scores are real measurements (a stopped or running trial's describe a model
#: still learning; usable for "best so far", drawn faded on the Pareto plot).
SCORED_STATUSES: tuple[str, ...] = ("completed", "stopped", "running")

#: Former name of :data:`SCORED_STATUSES` (it never meant "may be on the front").
PARETO_STATUSES = SCORED_STATUSES

#: A difference smaller than this many standard errors is "within noise".
NOISE_SIGMAS = 2.0


def _finite_rows(df: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """The rows whose ``columns`` are all finite numbers (a NaN cost or score is no point)."""
    values = df[list(columns)].apply(pd.to_numeric, errors="coerce").astype(float)
    return df[np.isfinite(values).all(axis=1)]


def _ranked(df: pd.DataFrame, cost: str, score: str, maximize: bool) -> pd.DataFrame:
    """``df`` (finite rows only) with ``_s`` (higher is better), cheapest first, then the
    better score, then the trial the search proposed first (``trial_number``, then
    ``trial_id``: :func:`jetstudy.analysis.trial_order.tie_keys`): the tie-break, whatever
    order the table's rows came in and whatever Ray's random ids."""
    df = _finite_rows(df, cost, score)
    s = df[score].astype(float) if maximize else -df[score].astype(float)
    df = with_tie_keys(df)
    return df.assign(_s=s).sort_values([cost, "_s", *TIE_KEYS],
                                       ascending=[True, False, True, True], kind="mergesort")


def pareto_front(df: pd.DataFrame, cost: str, score: str, maximize: bool = True) -> pd.DataFrame:
    """Rows not dominated by another (no other row is at most as costly and strictly better, or
    cheaper and at least as good), sorted by cost. Rows with a NaN or infinite cost or score
    are no points. Of exact duplicates (equal cost and score) the first the search proposed
    (``trial_number``, then ``trial_id``) is kept, so the front does not depend on the order of the table's rows."""
    ordered = _ranked(df, cost, score, maximize)
    best = -np.inf
    keep = []
    for i, value in zip(ordered.index, ordered["_s"]):
        if value > best:
            keep.append(i)
            best = value
    return ordered.loc[keep].drop(columns=["_s", *TIE_KEYS], errors="ignore")


def exact_ties(points: pd.DataFrame, row: pd.Series, cost: str, score: str) -> list[str]:
    """The other trials of ``points`` with exactly ``row``'s cost and score (one point on the
    front: ``row`` is the one the tie-break named), in the order the search proposed them."""
    if row is None or points is None or points.empty:
        return []
    same = points[(points[cost].astype(float) == float(row[cost]))
                  & (points[score].astype(float) == float(row[score]))
                  & (points["trial_id"].astype(str) != str(row["trial_id"]))]
    same = with_tie_keys(same).sort_values(list(TIE_KEYS), kind="mergesort")
    return [str(i) for i in same["trial_id"]]


def tied_with(points: pd.DataFrame, cost: str = "cost", score: str = "score") -> list[str]:
    """Per row of ``points``, the other rows' trial ids with exactly its cost and score
    (:func:`exact_ties`: first proposed first), joined by ``;`` (``pareto.csv``'s
    ``tied_with``; empty without a tie): the same trials the notes, the size answer and the
    export's ``selection.size_answer.*.tied_with`` name."""
    return [";".join(exact_ties(points, row, cost, score)) for _, row in points.iterrows()]


def smallest_within(
    df: pd.DataFrame, cost: str, score: str, tolerance: float = 0.01, maximize: bool = True
) -> pd.Series | None:
    """The cheapest row whose score is within ``tolerance`` (relative) of the best score.

    Relative, so "1%" means 0.0076 accuracy at 0.76 and 0.0095 AUC at 0.95; ties in cost go to
    the better score (then the first proposed: ``trial_number``, then ``trial_id``). None for a frame without a finite row.
    """
    if not 0 <= tolerance < 1:
        raise AnalysisError(f"`tolerance` is {tolerance!r}, but must be in [0, 1), e.g. 0.01")
    df = _finite_rows(df, cost, score)
    if df.empty:
        return None
    best = df[score].max() if maximize else df[score].min()
    limit = band_edge(float(best), tolerance, maximize)
    good = df[df[score] >= limit] if maximize else df[df[score] <= limit]
    return pareto_front(good, cost, score, maximize).iloc[0]


def score_se(
    score: str, values: pd.Series, n_val: int | None, class_counts: Sequence[int] | None = None
) -> np.ndarray:
    """Standard error of each validation score from the validation set's size.

    Accuracy: binomial, ``sqrt(p (1 - p) / n_val)``. Macro AUC: the Hanley-McNeil error of each
    class's one-vs-rest AUC with the macro value standing in for the (untabled) per-class one,
    combined as the error of a mean of five independent terms: an approximation good to tens
    of percent, enough to tell noise from a difference. NaN where unknown (no ``n_val``, or
    another score).
    """
    v = values.to_numpy(dtype=float)
    name = score.removeprefix("best_")
    if name == "val_acc":
        return np.asarray(binomial_se(v, n_val), dtype=float)
    if name == "val_auc" and n_val and class_counts and sum(class_counts) > 0:
        counts = [c for c in class_counts if 0 < c < n_val]
        if counts:
            var = [sum(hanley_mcneil_se(a, c, n_val - c) ** 2 for c in counts) for a in v]
            return np.sqrt(np.asarray(var)) / len(counts)
    return np.full(len(v), np.nan)


@dataclass(frozen=True)
class ParetoResult:
    """One cost/score pair.

    ``points``: completed trials (``trial_id, cost, score, se``), the only candidates;
    ``partial``: stopped or running trials (same columns plus ``status``), drawn faded;
    ``front`` and ``pick`` (smallest within ``tolerance`` of the best) from ``points``; ``best``
    the best completed trial; ``gap`` = best - pick score and ``gap_se`` its error (NaN when the
    scores' errors are unknown). ``pick`` and ``best`` are None when no trial completed.
    """

    cost: str
    score: str
    points: pd.DataFrame
    partial: pd.DataFrame
    front: pd.DataFrame
    pick: pd.Series | None
    best: pd.Series | None
    tolerance: float
    gap: float = math.nan
    gap_se: float = math.nan
    #: the score's direction: True for accuracy/AUC, False for a loss (``gap`` is then
    #: pick - best, still >= 0 for a pick worse than the best)
    maximize: bool = True
    #: fully trained trials with a score but no usable size (0, negative, NaN, inf: a damaged
    #: or hand-edited row): left off the front, named in the notes (:func:`unsized_trials`)
    unsized: tuple[str, ...] = ()
    #: an AUC panel's classes whose one-vs-rest AUC rests on too few validation jets
    #: (:func:`few_validation_jets`: "1 t jet"), which the macro AUC averages in
    few_jets: tuple[str, ...] = ()

    @property
    def determined(self) -> bool:
        """Whether a front exists (some trial completed)."""
        return self.pick is not None

    @property
    def cheapest_within_noise(self) -> pd.Series | None:
        """The cheapest completed trial cheaper than the best whose score is within
        :data:`NOISE_SIGMAS` standard errors of the best's, or None: when the pick is the best
        itself, such a trial shows that the validation set cannot tell that the best needs
        its size."""
        return _cheapest_within_noise(self)

    @property
    def within_noise(self) -> bool | None:
        """Whether the pick's distance from the best is below :data:`NOISE_SIGMAS` standard
        errors; None when the errors are unknown or there is no pick."""
        if self.pick is None or not np.isfinite(self.gap_se):
            return None
        # strictly below, as every sentence says; the best as its own pick is no distance at all
        return bool(self.gap == 0 or below(self.gap, NOISE_SIGMAS * self.gap_se))


def _candidates(trials: pd.DataFrame, cost: str, score: str, which: str,
                n_val: int | None, class_counts: Sequence[int] | None) -> pd.DataFrame:
    """The scored trials (:data:`SCORED_STATUSES`) with a finite score and a size above 0 as
    ``trial_id, status, complete, cost, score, se`` (and the tie and configuration columns):
    ``which`` ``full`` keeps those that ran to the end
    (:func:`~jetstudy.analysis.curve_stats.ran_to_the_end`), ``partial`` the others, ``all``
    both."""
    # a loss's error: the best epoch's (best_val_loss_se, summary.best_epoch_loss_se) when the
    # caller gave it, else the last epoch's per-jet spread / sqrt(n) stands in
    loss_se = next((c for c in (("best_val_loss_se", "val_loss_se") if score.startswith("best_")
                                else ("val_loss_se",)) if c in trials.columns), None)
    loss = score.removeprefix("best_") == "val_loss" and loss_se is not None
    columns = ["trial_id", "status", cost, score] + ([loss_se] if loss else [])
    columns += [TRIAL_ORDER] if TRIAL_ORDER in trials.columns else []  # ties (trial_order)
    # the configuration, to tell repeats of one configuration apart from other models
    columns += [c for c in CONFIG_COLUMNS if c in trials.columns and c not in columns]
    # how far each got, for the note on a full run that its status calls stopped
    columns += [c for c in ("epochs", "max_epochs", "stop_reason")
                if c in trials.columns and c not in columns]
    trials = trials.drop_duplicates("trial_id", keep="last")  # a trial listed twice: its last row
    full = ran_to_the_end(trials).to_numpy(dtype=bool)
    keep = {"full": full, "partial": ~full, "all": np.ones_like(full)}[which]
    keep = keep & trials["status"].isin(SCORED_STATUSES).to_numpy()
    rows = trials.loc[keep, columns].assign(complete=full[keep])
    rows = rows[np.isfinite(rows[[cost, score]].astype(float)).all(axis=1) & (rows[cost] > 0)]
    rows = rows.rename(columns={cost: "cost", score: "score"}).reset_index(drop=True)
    if loss:
        se = pd.to_numeric(rows.pop(loss_se), errors="coerce").astype(float).to_numpy()
        return rows.assign(se=np.where(se > 0, se, np.nan))
    return rows.assign(se=score_se(score, rows["score"], n_val, class_counts))


def unsized_trials(trials: pd.DataFrame, cost: str, score: str) -> tuple[str, ...]:
    """Fully trained, scored trials whose ``cost`` is no size (not a number > 0, finite): a
    damaged or hand-edited row, left out of the front and the size answer -- which must say
    so, or "the best fully trained trial" is not the best of the table."""
    last = trials.drop_duplicates("trial_id", keep="last")
    full = ran_to_the_end(last).to_numpy(dtype=bool) & last["status"].isin(
        SCORED_STATUSES).to_numpy()
    size = pd.to_numeric(last[cost], errors="coerce").astype(float)
    value = pd.to_numeric(last[score], errors="coerce").astype(float)
    bad = full & np.isfinite(value).to_numpy() & ~(np.isfinite(size) & (size > 0)).to_numpy()
    return tuple(str(t) for t in last.loc[bad, "trial_id"])


def compute_pareto(
    trials: pd.DataFrame, cost: str, metric: str, tolerance: float = 0.01,
    n_val: int | None = None, class_counts: Sequence[int] | None = None,
) -> ParetoResult:
    """Front and pick for ``metric`` by ``cost``, from completed trials only, in the metric's
    direction (:class:`~jetstudy.trainables.objective.Objective`: ``val_acc``/``val_auc``
    higher is better, ``val_loss`` lower); ``n_val`` (and the validation class counts, for the
    AUC) give the scores' errors. Ties go to the cheaper, then the first proposed
    (``trial_number``, then ``trial_id``)."""
    if cost not in trials.columns:
        raise AnalysisError(f"the trials table has no `{cost}` column")
    score = score_column(trials, metric)
    if score is None:
        raise AnalysisError(f"the trials table has no `{metric}` values")
    points = _candidates(trials, cost, score, "full", n_val, class_counts)
    partial = _candidates(trials, cost, score, "partial", n_val, class_counts)
    if points.empty and partial.empty:
        size = pd.to_numeric(trials.loc[trials["status"].isin(SCORED_STATUSES), cost],
                             errors="coerce")
        if (size <= 0).any() and not (size > 0).any():  # a size of 0 has no place on a log axis
            raise AnalysisError(f"no finished trial has `{cost}` above 0 (a model has at least "
                                "one weight): the trials table is damaged or hand-edited")
        raise AnalysisError(f"no finished trial has both `{cost}` and `{score}`")
    maximize = _maximize(metric)
    unsized = unsized_trials(trials, cost, score)
    few = tuple(few_validation_jets(class_counts).values()) if score.removeprefix(
        "best_") == "val_auc" else ()
    front = pareto_front(points, "cost", "score", maximize).reset_index(drop=True)
    pick = smallest_within(points, "cost", "score", tolerance, maximize)
    if pick is None:
        return ParetoResult(cost=cost, score=score, points=points, partial=partial, front=front,
                            pick=None, best=None, tolerance=tolerance, maximize=maximize,
                            unsized=unsized, few_jets=few)
    best = points.loc[_ranked(points, "cost", "score", maximize)["_s"].idxmax()]
    gap = float(best["score"] - pick["score"]) * (1.0 if maximize else -1.0)
    gap_se = 0.0 if best["trial_id"] == pick["trial_id"] else float(
        math.hypot(best["se"], pick["se"]))
    return ParetoResult(cost=cost, score=score, points=points, partial=partial, front=front,
                        pick=pick, best=best, tolerance=tolerance, gap=gap, gap_se=gap_se,
                        maximize=maximize, unsized=unsized, few_jets=few)


def _maximize(metric: str) -> bool:
    """The metric's direction by the one rule; an unknown metric is taken as a score."""
    name = metric.removeprefix("best_")
    return Objective.of(name).maximize if name in METRIC_MODES else True


def _cheapest_within_noise(result: ParetoResult) -> pd.Series | None:
    """The cheapest completed trial, cheaper than the best, whose score is within
    :data:`NOISE_SIGMAS` standard errors of the best's (None: none, or errors unknown)."""
    best = result.best
    if best is None or not np.isfinite(best["se"]):
        return None
    p = result.points
    gap = (best["score"] - p["score"]) * (1.0 if result.maximize else -1.0)
    near = p[(p["cost"] < best["cost"]) & np.isfinite(p["se"])
             & below(gap.to_numpy(dtype=float), NOISE_SIGMAS * np.hypot(best["se"], p["se"]))]
    if near.empty:
        return None
    return near.loc[_ranked(near, "cost", "score", result.maximize).index[0]]


def with_sizes(trials: pd.DataFrame) -> pd.DataFrame:
    """``trials`` with a ``multiplications`` column (half the FLOPs: one multiply-add per weight
    of the Linear layers) when it has ``flops`` but not that column."""
    if "multiplications" in trials.columns or "flops" not in trials.columns:
        return trials
    flops = pd.to_numeric(trials["flops"], errors="coerce")
    return trials.assign(multiplications=(flops // 2).astype("Int64"))


def search_front(trials: pd.DataFrame, metric: str, maximize: bool, cost: str) -> pd.DataFrame:
    """Every trial tried that has a score (``trial_id, status, cost, score``, the search metric
    at its best epoch) with ``on_front``: a completed trial not dominated by another completed
    one in the search's two objectives (metric, size); stopped and running trials are listed,
    never on the front. Sorted by cost."""
    trials = with_sizes(trials)
    score = score_column(trials, metric)
    if score is None or cost not in trials.columns:
        raise AnalysisError(f"the trials table has no `{metric}` or `{cost}` values")
    points = _candidates(trials, cost, score, "all", None, None).drop(columns="se")
    done = points[points["complete"]]
    front = set(pareto_front(done, "cost", "score", maximize)["trial_id"])
    return (points.assign(on_front=points["trial_id"].isin(front))
            .sort_values(["cost", "score"], kind="mergesort").reset_index(drop=True))


# the size answer lives in its own module; re-exported here, where it always was
from jetstudy.analysis.size_answer import SizeAnswer, how_big, how_big_paragraph  # noqa: E402
# the words on the pick (pick_notes, unsized_words) live in their own module; re-exported here
from jetstudy.analysis.pareto_notes import pick_notes, unsized_words  # noqa: E402
