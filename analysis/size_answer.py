"""The answer to "how big should my tagger be" (:func:`how_big`), from the completed trials of a
size-aware search (``search.objectives: [metric, size]``): the smallest completed model within
1% of the best model's search metric and within 0.5 points of its accuracy, and the paragraph
the report prints (:func:`how_big_paragraph`). Re-exported by :mod:`jetstudy.analysis.pareto`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from jetstudy.analysis.intervals import format_error, unsigned_zero
from jetstudy.analysis.maps import score_column
from jetstudy.analysis.pareto import FRONT_STATUSES, _ranked, score_se, with_sizes

__all__ = ["SizeAnswer", "how_big", "how_big_paragraph", "scores_with_errors"]


@dataclass(frozen=True)
class SizeAnswer:
    """The smallest completed model within ``tolerance`` (relative) of the best model's search
    metric and within ``acc_points`` of its accuracy; ``pick``/``best`` are trials-table rows."""

    metric: str
    cost: str
    pick: pd.Series
    best: pd.Series
    tolerance: float
    acc_points: float


def how_big(trials: pd.DataFrame, metric: str, maximize: bool, cost: str,
            tolerance: float = 0.01, acc_points: float = 0.005) -> SizeAnswer | None:
    """The answer to "how big should my tagger be" (None: no completed trial).

    Two rules, both needed: the search metric within ``tolerance`` of the best (relative, in
    its own direction: "1%" of a loss of 0.60 is 0.006), and the validation accuracy at most
    ``acc_points`` (0.005 = 0.5 percentage points) below the best model's. Ties in size go to
    the better metric, then to the first ``trial_id``; of trials tied for the best metric the
    cheapest is "the best".
    """
    trials = with_sizes(trials)
    score, acc = score_column(trials, metric), score_column(trials, "val_acc")
    if score is None or acc is None or cost not in trials.columns:
        return None
    done = trials.drop_duplicates("trial_id", keep="last")
    done = done[done["status"].isin(FRONT_STATUSES)]
    done = done[np.isfinite(done[[cost, score, acc]].astype(float)).all(axis=1)]
    if done.empty:
        return None
    best = done.loc[_ranked(done, cost, score, maximize)["_s"].idxmax()]  # ties: the cheaper
    value = float(best[score])
    limit = value - tolerance * abs(value) if maximize else value + tolerance * abs(value)
    ok = (done[score] >= limit) if maximize else (done[score] <= limit)
    ok &= done[acc] >= float(best[acc]) - acc_points - 1e-12
    pick = done.loc[_ranked(done[ok], cost, score, maximize).index[0]]
    return SizeAnswer(metric=score, cost=cost, pick=pick, best=best,
                      tolerance=tolerance, acc_points=acc_points)


def _digits(*values: float) -> list[str]:
    """``values`` to the same decimals, 4 significant figures of the largest (0.6010 against
    0.6000, not 0.601 against 0.6: the digits shown must not differ by trailing zeros)."""
    top = max((abs(v) for v in values if math.isfinite(v) and v != 0), default=1.0)
    decimals = max(0, 3 - math.floor(math.log10(top)))
    return [unsigned_zero(f"{v:.{decimals}f}") for v in values]


def _sizes_words(row: pd.Series) -> str:
    parts = [f"{int(row[c]):,} {w}" for c, w in (("n_params", "parameters"),
                                                   ("multiplications", "multiplications per jet"))
             if c in row.index and pd.notna(row[c])]
    layers = str(row.get("widths", "") or "")
    return (f"hidden layers {layers}, " if layers else "") + ", ".join(parts)


def scores_with_errors(rows: Sequence[pd.Series], column: str, n_val: int | None,
           class_counts: Sequence[int] | None) -> list[str]:
    """``column`` of each row as ``value ± se`` when every error is known (binomial for an
    accuracy, Hanley-McNeil for the AUC; for a loss ``best_val_loss_se``, the best epoch's
    per-jet standard error (:func:`jetstudy.analysis.summary.best_epoch_loss_se`), else the
    last epoch's ``val_loss_se``), else to equal digits."""
    values = [float(r[column]) for r in rows]
    if column.removeprefix("best_") == "val_loss":
        def loss_se(r: pd.Series) -> float:
            for name in (("best_val_loss_se", "val_loss_se") if column.startswith("best_")
                         else ("val_loss_se",)):
                v = float(pd.to_numeric(r.get(name), errors="coerce"))
                if np.isfinite(v) and v > 0:
                    return v
            return np.nan
        errors = [loss_se(r) for r in rows]
    else:
        errors = list(score_se(column, pd.Series(values), n_val, class_counts))
    if all(np.isfinite(e) and e > 0 for e in errors):
        return [format_error(v, e) for v, e in zip(values, errors)]
    return _digits(*values)


def how_big_paragraph(answer: SizeAnswer | None, limits: dict[str, int] | None = None,
                      n_val: int | None = None,
                      class_counts: Sequence[int] | None = None) -> str:
    """One paragraph for the report; ``limits`` are the search's ``max_*`` constraints;
    ``n_val`` (and the validation class counts) give the scores their errors, printed to the
    digits those allow (else to equal digits)."""
    head = "How big should my tagger be? "
    bound = ""
    if limits:
        names = {"n_params": "max_params"}
        bound = (" The search was limited to " + ", ".join(
            f"search.{names.get(q, 'max_' + q)} {v}" for q, v in limits.items())
            + ": no larger model was trained, so 'the best' is the best under that limit.")
    if answer is None:
        return head + ("Undetermined: no trial ran to completion, so no finished model can "
                       "be compared." + bound)
    # the table below the paragraph applies one rule at a time and can name a smaller model
    table = (" The table below asks for one score at a time (within 1% of it alone), so it can "
             "name a smaller model that this answer's accuracy rule leaves out.")
    pick, best, cost = answer.pick, answer.best, answer.cost
    label = answer.metric.removeprefix("best_")
    rules = (f"within {answer.tolerance:.0%} of the best {label} and within "
             f"{answer.acc_points * 100:.1f} points of its accuracy")
    score = scores_with_errors([pick, best], answer.metric, n_val, class_counts)
    acc = scores_with_errors([pick, best], "best_val_acc", n_val, class_counts)
    if pick["trial_id"] == best["trial_id"]:
        return (head + f"Here the best completed model is also the smallest {rules}: trial "
                f"{pick['trial_id']} ({_sizes_words(pick)}), {label} {score[0]}, accuracy "
                f"{acc[0]}." + bound + table)
    ratio = float(best[cost]) / float(pick[cost])
    return (head + f"The smallest completed model {rules} is trial {pick['trial_id']} "
            f"({_sizes_words(pick)}): {label} {score[0]} against {score[1]}, accuracy {acc[0]} "
            f"against {acc[1]} for the best, trial {best['trial_id']} "
            f"({_sizes_words(best)}), at 1/{ratio:.3g} of its {cost}. Deploy it with "
            f"`jetstudy export RESULTS --trial {pick['trial_id']}`." + bound + table)
