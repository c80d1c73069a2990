"""The answer to "how big should my tagger be" (:func:`how_big`), from the completed trials of a
size-aware search (``search.objectives: [metric, size]``): the smallest fully trained model within
1% of the best model's search metric and within 0.5 points of its accuracy, and the paragraph
the report prints (:func:`how_big_paragraph`). Re-exported by :mod:`jetstudy.analysis.pareto`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from jetstudy.analysis.curve_stats import ran_to_the_end
from jetstudy.analysis.intervals import equal_digits, format_error
from jetstudy.analysis.maps import score_column
from jetstudy.analysis.render import format_cell
from jetstudy.analysis.trial_order import listed_ids
from jetstudy.analysis.pareto import (SCORED_STATUSES, _ranked, few_validation_jets, score_se,
                                      unsized_trials, with_sizes)
from jetstudy.analysis.pareto_notes import unsized_words
from jetstudy.analysis.pick_words import band_edge, full_run_words

__all__ = ["SizeAnswer", "how_big", "how_big_paragraph", "no_answer_reason", "scores_with_errors", "answer_ties",
           "cheaper_within_noise",
           "no_accuracy_words"]


@dataclass(frozen=True)
class SizeAnswer:
    """The smallest fully trained model within ``tolerance`` (relative) of the best model's search
    metric and within ``acc_points`` of its accuracy; ``pick``/``best`` are trials-table rows."""

    metric: str
    cost: str
    pick: pd.Series
    best: pd.Series
    tolerance: float
    acc_points: float
    #: the completed trials the answer chose from (for the noise check of the paragraph)
    candidates: pd.DataFrame | None = None
    #: the search metric's direction (True: higher is better)
    maximize: bool = True
    #: stopped or running trials (with a score and a size) smaller than the pick (None: unknown)
    smaller_tried: int | None = None
    #: fully trained trials with a score but no usable size, left out (pareto.unsized_trials)
    unsized: tuple[str, ...] = ()
    #: fully trained trials with a size and a score but no validation accuracy (NaN: a
    #: damaged or hand-edited row), which the accuracy rule needs: left out, named
    no_accuracy: tuple[str, ...] = ()


def how_big(trials: pd.DataFrame, metric: str, maximize: bool, cost: str,
            tolerance: float = 0.01, acc_points: float = 0.005) -> SizeAnswer | None:
    """The answer to "how big should my tagger be" (None: no completed trial).

    Two rules, both needed: the search metric within ``tolerance`` of the best (relative, in
    its own direction: "1%" of a loss of 0.60 is 0.006), and the validation accuracy at most
    ``acc_points`` (0.005 = 0.5 percentage points) below the best model's. Ties in size go to
    the better metric, then to the first proposed (``trial_number``, then ``trial_id``); of trials tied for the best metric the
    cheapest is "the best".
    """
    trials = with_sizes(trials)
    score, acc = score_column(trials, metric), score_column(trials, "val_acc")
    if score is None or acc is None or cost not in trials.columns:
        return None
    last = trials.drop_duplicates("trial_id", keep="last")
    full = ran_to_the_end(last).to_numpy(dtype=bool)  # completed, or every epoch trained
    done = last[full]
    done = done[np.isfinite(done[[cost, score]].astype(float)).all(axis=1)]
    done = done[done[cost].astype(float) > 0]  # a size of 0 is a damaged row (as on the front)
    sound = np.isfinite(done[acc].astype(float)).to_numpy()
    no_accuracy = tuple(str(t) for t in done.loc[~sound, "trial_id"])
    done = done[sound]
    if done.empty:
        return None
    best = done.loc[_ranked(done, cost, score, maximize)["_s"].idxmax()]  # ties: the cheaper
    value = float(best[score])
    limit = band_edge(value, tolerance, maximize)  # exactly 1% away is within 1%
    ok = (done[score] >= limit) if maximize else (done[score] <= limit)
    ok &= done[acc] >= float(best[acc]) - acc_points - 1e-12
    pick = done.loc[_ranked(done[ok], cost, score, maximize).index[0]]
    partial = last[~full & last["status"].isin(SCORED_STATUSES).to_numpy()]
    size = pd.to_numeric(partial[cost], errors="coerce").astype(float)
    score_ok = np.isfinite(pd.to_numeric(partial[score], errors="coerce").astype(float))
    smaller = int((score_ok & (size > 0) & (size < float(pick[cost]))).sum())
    return SizeAnswer(metric=score, cost=cost, pick=pick, best=best,
                      tolerance=tolerance, acc_points=acc_points, candidates=done,
                      maximize=maximize, smaller_tried=smaller,
                      unsized=unsized_trials(trials, cost, score), no_accuracy=no_accuracy)


#: ``values`` to the same decimals, 4 significant figures of the largest (0.6010 against
#: 0.6000): the one rule of :func:`jetstudy.analysis.intervals.equal_digits` (also the Pareto
#: notes'), under the name the report's Pareto part imports
_digits = equal_digits


def _sizes_words(row: pd.Series, cost: str = "n_params") -> str:
    named = {"n_params": "parameters", "multiplications": "multiplications per jet"}
    if cost not in named:  # the size the answer compares (flops) is named too
        named[cost] = "FLOPs per jet" if cost == "flops" else cost
    # counts as every table prints them (format_cell: 9096, never 9,096 or 9096.0)
    parts = [f"{format_cell(row[c])} {w}" for c, w in named.items()
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
    errors = _errors(rows, column, n_val, class_counts)
    if all(np.isfinite(e) and e > 0 for e in errors):
        return [format_error(v, e) for v, e in zip(values, errors)]
    return _digits(*values)


def _errors(rows: Sequence[pd.Series], column: str, n_val: int | None,
            class_counts: Sequence[int] | None) -> list[float]:
    """The standard error of ``column`` of each row (NaN where unknown; see
    :func:`scores_with_errors`)."""
    values = [float(r[column]) for r in rows]
    if column.removeprefix("best_") == "val_loss":
        def loss_se(r: pd.Series) -> float:
            for name in (("best_val_loss_se", "val_loss_se") if column.startswith("best_")
                         else ("val_loss_se",)):
                v = float(pd.to_numeric(r.get(name), errors="coerce"))
                if np.isfinite(v) and v > 0:
                    return v
            return np.nan
        return [loss_se(r) for r in rows]
    return [float(e) for e in score_se(column, pd.Series(values), n_val, class_counts)]


def no_answer_reason(trials: pd.DataFrame, cost: str) -> str:
    """Why :func:`how_big` found no answer, in words: no trial ran to the end, or those that
    did have no size above 0 or no finite score (damaged or hand-edited rows, named)."""
    if trials.empty or "status" not in trials.columns:
        return "no trial ran to completion"
    last = trials.drop_duplicates("trial_id", keep="last")
    full = last[ran_to_the_end(last).to_numpy(dtype=bool)]
    if full.empty:
        return "no trial ran to completion"
    which = f"fully trained trial{'s' * (len(full) != 1)} ({listed_ids(full['trial_id'])})"
    if score_column(full, "val_acc") is None:  # the accuracy rule has nothing to read
        return (f"the {which} {'have' if len(full) != 1 else 'has'} no validation accuracy "
                "(best_val_acc missing or empty: the trials table is damaged or hand-edited), "
                "which the answer's rule 'within 0.5 points of the best model's accuracy' "
                "needs")
    return (f"the fully trained trial{'s' * (len(full) != 1)} ({listed_ids(full['trial_id'])}) "
            f"{'have' if len(full) != 1 else 'has'} no `{cost}` above 0 or no finite score "
            "(a damaged or hand-edited row)")


def how_big_paragraph(answer: SizeAnswer | None, limits: dict[str, int] | None = None,
                      n_val: int | None = None,
                      class_counts: Sequence[int] | None = None,
                      why_none: str = "no trial ran to completion",
                      unstable: Mapping[str, str] | None = None) -> str:
    """One paragraph for the report; ``limits`` are the search's ``max_*`` constraints;
    ``n_val`` (and the validation class counts) give the scores their errors, printed to the
    digits those allow (else to equal digits); ``why_none``: why there is no answer
    (:func:`no_answer_reason`); ``unstable``: regimes.csv's unstable trials (id: reason). A
    best model that is unstable (collapsed to the class priors, AUC near 0.5, diverged) leaves
    the question undetermined: the smallest of models that did not learn is none to deploy."""
    head = "How big should my tagger be? "
    bound = ""
    if limits:
        names = {"n_params": "max_params"}
        bound = (" The search was limited to " + ", ".join(
            f"search.{names.get(q, 'max_' + q)} {v}" for q, v in limits.items())
            + ": no larger model was trained, so 'the best' is the best under that limit.")
    if answer is None:
        return head + (f"Undetermined: {why_none}, so no finished model can be compared."
                       + bound)
    unstable = {str(k): str(v) for k, v in (unstable or {}).items()}
    collapsed = _unstable_best_words(answer, unstable)
    if collapsed:
        return head + collapsed + bound
    # the table below the paragraph applies one rule at a time and can name a smaller model
    table = (" The table below asks for one score at a time (within 1% of it alone), so it can "
             "name a smaller model that this answer's accuracy rule leaves out.")
    pick, best, cost = answer.pick, answer.best, answer.cost
    label = answer.metric.removeprefix("best_")
    rules = (f"within {answer.tolerance:.0%} of the best {label} and within "
             f"{answer.acc_points * 100:.1f} points of its accuracy")
    score = scores_with_errors([pick, best], answer.metric, n_val, class_counts)
    # a lone table may lack best_val_acc (or any accuracy): the last epoch's, else none
    acc_column = next((c for c in ("best_val_acc", "val_acc") if c in pick.index), None)
    acc = (scores_with_errors([pick, best], acc_column, n_val, class_counts)
           if acc_column else ["not recorded"] * 2)
    noise = (_noise_words(answer, n_val, class_counts)
             + _unknown_noise_words(answer, n_val, class_counts) + _tie_words(answer)
             + _alone_words(answer) + _repeat_words(answer, n_val, class_counts)
             + _best_repeat_words(answer, n_val, class_counts)
             + full_run_words([answer.pick] if answer.pick["trial_id"] == answer.best["trial_id"]
                              else [answer.pick, answer.best])
             + unsized_words(answer.unsized, cost) + no_accuracy_words(answer.no_accuracy)
             + _unstable_pick_words(answer, unstable)
             + _few_jets_words(answer, class_counts))
    if len(answer.candidates if answer.candidates is not None else ()) <= 1:
        table = ""  # one completed trial: no smaller model for the table to name
    if pick["trial_id"] == best["trial_id"]:
        return (head + f"Here the best fully trained model is also the smallest {rules}: trial "
                f"{pick['trial_id']} ({_sizes_words(pick, cost)}), {label} {score[0]}, "
                f"accuracy {acc[0]}." + noise + bound + table)
    ratio = float(best[cost]) / float(pick[cost])
    return (head + f"The smallest fully trained model {rules} is trial {pick['trial_id']} "
            f"({_sizes_words(pick, cost)}): {label} {score[0]} against {score[1]}, accuracy "
            f"{acc[0]} against {acc[1]} for the best, trial {best['trial_id']} "
            f"({_sizes_words(best, cost)}), at 1/{ratio:.3g} of its {cost}. Deploy it with "
            f"`jetstudy export RESULTS --trial {pick['trial_id']}`." + noise + bound + table)


def _unstable_best_words(answer: SizeAnswer, unstable: Mapping[str, str]) -> str:
    """The paragraph when the best fully trained model is unstable (empty when it is not)."""
    best = str(answer.best["trial_id"])
    if best not in unstable:
        return ""
    done = ([str(t) for t in answer.candidates["trial_id"]] if answer.candidates is not None
            else [best])
    n_bad = sum(t in unstable for t in done)
    every = ("" if len(done) == 1 else f"; all {len(done)} fully trained trials are"
             if n_bad == len(done) else f"; {n_bad} of the {len(done)} fully trained trials "
             f"{'is' if n_bad == 1 else 'are'}")
    return (f"Undetermined: the best fully trained model, trial {best} "
            f"({_sizes_words(answer.best, answer.cost)}), is unstable in regimes.csv "
            f"({unstable[best]}){every}: it did not learn the task, so neither it nor a "
            "smaller model within 1% of it is one to deploy; the front below ranks models "
            "that did not learn.")


def no_accuracy_words(ids: Sequence[str]) -> str:
    """The sentence naming fully trained trials left out for want of a validation accuracy
    (empty when none): 'the best' is then the best of the others."""
    if not ids:
        return ""
    one = len(ids) == 1
    return (f" Left out: {'trial' if one else 'trials'} {listed_ids(ids)}, fully trained, "
            f"{'has' if one else 'have'} a size and a score but no validation accuracy "
            "(best_val_acc is NaN: the trials table is damaged or hand-edited), which the "
            "accuracy rule needs; 'the best' here is the best of the others.")


def _few_jets_words(answer: SizeAnswer, class_counts: Sequence[int] | None) -> str:
    """:func:`few_auc_jets_words` of the answer's search metric."""
    return few_auc_jets_words(answer.metric, class_counts, "this answer",
                              "; the accuracy rule does not")


def few_auc_jets_words(metric: str, class_counts: Sequence[int] | None, what: str,
                       beside: str = "") -> str:
    """A score val_auc that averages a class's one-vs-rest AUC from too few validation jets
    (:func:`~jetstudy.analysis.heldout_tables.few_validation_jets`): ``what`` (the answer,
    the lead) rests partly on the rank of those jets, which the errors shown do not see; a
    sentence with a leading space, empty for another metric or enough jets of every class."""
    if metric.removeprefix("best_") != "val_auc":
        return ""
    few = few_validation_jets(class_counts)
    if not few:
        return ""
    return (f" Its val_auc averages a one-vs-rest AUC from {' and '.join(few.values())} of the "
            f"validation split (undetermined on its own: too few jets), so {what} rests "
            f"partly on the rank of those few jets{beside}.")


def _unstable_pick_words(answer: SizeAnswer, unstable: Mapping[str, str]) -> str:
    """A warning when the pick (not the best) is unstable in regimes.csv."""
    pick = str(answer.pick["trial_id"])
    if pick not in unstable or pick == str(answer.best["trial_id"]):
        return ""
    return (f" Trial {pick} is unstable in regimes.csv ({unstable[pick]}): look at its "
            "learning curve before deploying it.")


# the words on the pick given the noise, its repeats and its ties live in their own module;
# re-exported here, where the report and the export import them
from jetstudy.analysis.size_answer_words import (_alone_words, _best_repeat_words,  # noqa: E402
                                                 _noise_words, _repeat_words, _tie_words,
                                                 _unknown_noise_words, answer_ties,
                                                 cheaper_within_noise)
