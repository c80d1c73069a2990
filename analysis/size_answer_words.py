"""The words of the size answer (:func:`~jetstudy.analysis.size_answer.how_big_paragraph`) on
what its pick means: a cheaper model within the validation noise of the best (or better than
it in one score), errors that are unknown, repeats of the pick's or the best's configuration,
exact ties, and a pick with nothing smaller compared. The numbers (the answer itself, the
scores' errors) stay in :mod:`jetstudy.analysis.size_answer`, which re-exports these.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from jetstudy.analysis.pareto import NOISE_SIGMAS, exact_ties
from jetstudy.analysis.pick_words import (best_repeats_words, median_outside_band,
                                          smallest_within_words, spread_words, ties_words)
from jetstudy.analysis.significance import below
from jetstudy.analysis.size_answer import SizeAnswer, _errors, _sizes_words, scores_with_errors
from jetstudy.analysis.trial_order import TIE_KEYS, repeat_spread, with_tie_keys

__all__ = ["cheaper_within_noise", "answer_ties"]


def cheaper_within_noise(answer: SizeAnswer, n_val: int | None,
                         class_counts: Sequence[int] | None) -> pd.Series | None:
    """The cheapest completed trial, cheaper than the answer's pick, whose search metric and
    accuracy both lie within :data:`~jetstudy.analysis.pareto.NOISE_SIGMAS` standard errors of
    the best model's (difference errors in quadrature): the validation set then cannot show
    that the pick needs its size. None when there is none or the errors are unknown."""
    done = answer.candidates
    if done is None or done.empty:
        return None
    cost = answer.cost
    cheaper = done[done[cost].astype(float) < float(answer.pick[cost])]
    if cheaper.empty:
        return None
    rows = [r for _, r in cheaper.iterrows()]
    ok = np.ones(len(rows), dtype=bool)
    for column, maximize in ((answer.metric, answer.maximize), ("best_val_acc", True)):
        if column not in done.columns:
            return None
        (best_se,) = _errors([answer.best], column, n_val, class_counts)
        errors = np.asarray(_errors(rows, column, n_val, class_counts), dtype=float)
        gap = (float(answer.best[column]) - cheaper[column].astype(float).to_numpy()) * (
            1.0 if maximize else -1.0)
        ok &= np.isfinite(errors) & below(gap, NOISE_SIGMAS * np.hypot(best_se, errors))
    if not np.isfinite(best_se) or not ok.any():
        return None
    chosen = with_tie_keys(cheaper[ok])  # equal cost: the first proposed
    return chosen.sort_values([cost, *TIE_KEYS], kind="mergesort").iloc[0].drop(list(TIE_KEYS))


def answer_ties(answer: SizeAnswer, which: str) -> list[str]:
    """The other completed trials with exactly the size and search metric of the answer's
    ``which`` (``"pick"`` or ``"best"``): the tie-break named one of equals."""
    row = getattr(answer, which)
    if answer.candidates is None:
        return []
    return exact_ties(answer.candidates, row, answer.cost, answer.metric)


def _repeat_words(answer: SizeAnswer, n_val: int | None = None,
                  class_counts: Sequence[int] | None = None) -> str:
    """A sentence when the pick's configuration was trained more than once: the answer names
    the best of its repeats, so its score is the luckiest run; the repeats' range says how
    much of it is training noise."""
    done = answer.candidates
    if done is None or done.empty:
        return ""
    again = repeat_spread(done, answer.pick, answer.metric)
    if again is None:
        return ""
    label = answer.metric.removeprefix("best_")
    # to the digits the pick's score is printed with (scores_with_errors): its error's when
    # the pick's and the best's are both known, else equal digits
    errors = _errors([answer.pick, answer.best], answer.metric, n_val, class_counts)
    known = all(np.isfinite(e) and e > 0 for e in errors)
    runs = spread_words(label, again.low, again.high, again.median,
                        errors[0] if known else None,
                        "naming the best of repeats favours a lucky run, so expect about the "
                        "median")
    return (f" Trial {answer.pick['trial_id']}'s configuration was trained {again.n} times (also trial"
            f"{'s' if len(again.ids) > 1 else ''} {', '.join(again.ids)}): {runs}."
            + _outside_words(again.median, answer, errors[0] if known else None))


def _best_repeat_words(answer: SizeAnswer, n_val: int | None,
                       class_counts: Sequence[int] | None) -> str:
    """A sentence when the best's configuration was trained more than once (and it is not the
    pick): the band is measured from its luckiest run."""
    done = answer.candidates
    if done is None or done.empty:
        return ""
    errors = _errors([answer.pick, answer.best], answer.metric, n_val, class_counts)
    known = all(np.isfinite(e) and e > 0 for e in errors)
    again = repeat_spread(done, answer.best, answer.metric)
    n_other = 0 if again is None else len(again.ids)
    words = best_repeats_words(done, answer.best, answer.pick, answer.metric,
                               answer.metric.removeprefix("best_"), answer.tolerance,
                               errors[1] if known else None,
                               who=f"The best (trial {answer.best['trial_id']})",
                               also="trials " if n_other > 1 else "trial ")
    return f" {words}" if words else ""


def _outside_words(median: float, answer: SizeAnswer, error: float | None) -> str:
    """A sentence when the pick's configuration's median run is outside the metric's band."""
    outside = median_outside_band(median, float(answer.best[answer.metric]), answer.tolerance,
                                  answer.maximize, error)
    return f" Its {outside}" if outside else ""


def _alone_words(answer: SizeAnswer) -> str:
    """A sentence when nothing smaller than the pick was compared: the answer is then an upper
    bound on the size needed, not the smallest that does as well."""
    done = answer.candidates
    if done is None or done.empty:
        return ""
    return smallest_within_words(len(done), int((done[answer.cost].astype(float)
                                         < float(answer.pick[answer.cost])).sum()),
                         str(answer.pick["trial_id"]), answer.smaller_tried,
                         len(answer.unsized) + len(answer.no_accuracy))


def _tie_words(answer: SizeAnswer) -> str:
    label = answer.metric.removeprefix("best_")
    rows = ["pick"] if answer.pick["trial_id"] == answer.best["trial_id"] else ["pick", "best"]
    return "".join(ties_words(answer_ties(answer, w), str(getattr(answer, w)["trial_id"]),
                              f"{answer.cost} and {label}") for w in rows)


def _unknown_noise_words(answer: SizeAnswer, n_val: int | None,
                         class_counts: Sequence[int] | None) -> str:
    """A sentence when the scores' errors are unknown and another completed model could be
    compared: then neither "the pick is as good as the best" nor "a smaller one is within the
    noise" can be checked against the noise, and the paragraph must not read as if it were."""
    done = answer.candidates
    if done is None or len(done) < 2:
        return ""
    alone = answer.pick["trial_id"] == answer.best["trial_id"]
    if alone and not (done[answer.cost].astype(float) < float(answer.pick[answer.cost])).any():
        return ""  # nothing smaller to hold against the noise (said by _alone_words)
    rows = [answer.pick] if alone else [answer.pick, answer.best]
    columns = [answer.metric] + (["best_val_acc"] if "best_val_acc" in answer.pick.index else [])
    unknown = list(dict.fromkeys(
        c.removeprefix("best_") for c in columns
        if not all(np.isfinite(e) and e > 0 for e in _errors(rows, c, n_val, class_counts))))
    if not unknown:
        return ""
    which = " and ".join(unknown)
    return (f" The {which} error{'s are' if len(unknown) > 1 else ' is'} unknown (no "
            "validation-set size, or no standard error of this score in the table): whether "
            "the models compared differ by more than the validation noise cannot be said.")


def _noise_words(answer: SizeAnswer, n_val: int | None,
                 class_counts: Sequence[int] | None) -> str:
    """A sentence when a model cheaper than the pick is within the validation noise of the
    best (:func:`cheaper_within_noise`): the pick's size is then not shown to be needed."""
    other = cheaper_within_noise(answer, n_val, class_counts)
    if other is None:
        return ""
    label = answer.metric.removeprefix("best_")
    score = scores_with_errors([other], answer.metric, n_val, class_counts)[0]
    acc = scores_with_errors([other], "best_val_acc", n_val, class_counts)[0]
    ratio = float(answer.pick[answer.cost]) / float(other[answer.cost])
    head = (f" But trial {other['trial_id']} ({_sizes_words(other, answer.cost)}), at "
            f"1/{ratio:.3g} of trial {answer.pick['trial_id']}'s {answer.cost}, has ")
    end = f"so the validation set cannot show that trial {answer.pick['trial_id']} needs its size."
    better = [_significantly_better(answer, other, c, up, n_val, class_counts)
              for c, up in ((answer.metric, answer.maximize), ("best_val_acc", True))]
    if not any(better):
        return (head + f"{label} {score} and accuracy {acc}: both within the validation noise "
                f"of the best (< {NOISE_SIGMAS:g} standard errors of the difference), " + end)
    # a cheaper model may beat the best in accuracy (the best is the best by the search
    # metric): 0.800 against 0.760 at 7 sigma is no 'within the noise'
    parts = []
    for (column, up), words in zip(((answer.metric, answer.maximize), ("best_val_acc", True)),
                                   better):
        name = label if column == answer.metric else "accuracy"
        shown = scores_with_errors([other, answer.best], column, n_val, class_counts)
        parts.append(f"{name} {shown[0]}, " + (words or (
            f"within the validation noise of the best's {shown[1]} (< {NOISE_SIGMAS:g} "
            "standard errors of the difference)")))
    return head + ", and ".join(parts) + ", " + end


def _significantly_better(answer: SizeAnswer, other: pd.Series, column: str, maximize: bool,
                          n_val: int | None, class_counts: Sequence[int] | None) -> str:
    """Words when ``other`` beats the best in ``column`` by :data:`NOISE_SIGMAS` standard
    errors of the difference or more ("significantly above the best's 0.760 ± 0.004 (6.8
    sigma)"), empty otherwise."""
    errors = _errors([other, answer.best], column, n_val, class_counts)
    se = float(np.hypot(*errors))
    lead = (float(other[column]) - float(answer.best[column])) * (1.0 if maximize else -1.0)
    if not (np.isfinite(se) and se > 0 and lead > 0) or below(lead, NOISE_SIGMAS * se):
        return ""
    best = scores_with_errors([other, answer.best], column, n_val, class_counts)[1]
    way = "above" if maximize else "below"
    return f"significantly {way} the best's {best} ({lead / se:.1f} sigma)"
