"""The report's text tables: outcomes, the best trial, test metrics against the yardsticks.

Pure functions from tables to small frames; the report only lays them out. The yardstick for
test metrics is the Bayes-optimal classifier on synthetic data (the best any model can do) and,
on real data, the published taggers of :mod:`jetstudy.analysis.references` (what a good tagger does),
each column named after its paper.

Every measured number is shown with its error, to the digits the error allows
(:mod:`jetstudy.analysis.intervals`): test accuracy, log loss and AUC as ``value ± se`` from the bootstrap
stored in ``test_metrics.json`` (the value alone when an older file has no ``*_se``);
efficiencies and rejections with their one-sigma Clopper-Pearson interval, a rejection from
five background jets or fewer with one significant figure and a flag. The test-split tables
(:func:`compare_test_metrics`, :func:`operating_table`) are
:mod:`jetstudy.analysis.heldout_tables`'s, re-exported here.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.maps import score_column
from jetstudy.analysis.intervals import format_measured, rounded_apart_words
from jetstudy.analysis.pareto import SCORED_STATUSES
from jetstudy.analysis.regimes import REGIMES, epochs_words, ran_full
from jetstudy.analysis.significance import below, sigma_decimals
from jetstudy.analysis.tables import STATUSES
from jetstudy.analysis.trial_order import (CONFIG_COLUMNS, listed_ids, ranked_best, repeat_spread,
                                           repeats_of)

__all__ = ["status_counts", "regime_counts", "common_errors", "best_trial", "heldout_metric_values",
           "compare_test_metrics", "operating_table", "heldout_class_counts", "few_jet_classes",
           "MIN_CLASS_JETS", "heldout_training_words", "TEST_ROWS", "best_epoch_loss_se",
           "runner_up_line"]


def status_counts(trials: pd.DataFrame) -> pd.DataFrame:
    """``status, trials`` for each known status (zeros too), any unknown one, then the total."""
    counts = trials["status"].value_counts()
    order = list(STATUSES) + sorted(set(counts.index) - set(STATUSES))
    rows = [(s, int(counts.get(s, 0))) for s in order] + [("total", len(trials))]
    return pd.DataFrame(rows, columns=["status", "trials"])


def regime_counts(regimes: pd.DataFrame) -> pd.DataFrame:
    """``regime, trials, judged on partial curves`` per regime that occurs, in REGIMES order."""
    rows = []
    for r in REGIMES:
        part = regimes[regimes["regime"] == r]
        if len(part):
            rows.append((r, len(part), int(part["judged_on_partial"].sum())))
    return pd.DataFrame(rows, columns=["regime", "trials", "judged on partial curves"])


def common_errors(trials: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The ``n`` most frequent error messages of failed trials, with counts."""
    if "error" not in trials.columns:
        return pd.DataFrame(columns=["error", "trials"])
    errors = trials.loc[(trials["status"] == "failed") & (trials["error"] != ""), "error"]
    counts = errors.value_counts().head(n)
    return pd.DataFrame({"error": counts.index.astype(str), "trials": counts.to_numpy()})


def _scored(trials: pd.DataFrame, metric: str
            ) -> tuple[pd.DataFrame, str | None, pd.Series | None, np.ndarray | None]:
    """What :func:`best_trial` and :func:`runner_up_line` rank: ``trials`` with a trial listed
    twice as its last row, the column holding ``metric``'s score (None: no trial reported
    it), its values as floats and which rows may be ranked (a scored status, a finite value)."""
    trials = trials.drop_duplicates("trial_id", keep="last")
    score = score_column(trials, metric)
    if score is None:
        return trials, None, None, None
    values = pd.to_numeric(trials[score], errors="coerce").astype(float)
    ok = (trials["status"].isin(SCORED_STATUSES) & np.isfinite(values)).to_numpy()
    return trials, score, values, ok


def best_trial(trials: pd.DataFrame, metric: str, maximize: bool) -> pd.Series:
    """The trial with the best ``best_<metric>`` (else ``<metric>``) among non-failed trials.

    Running trials count: in a snapshot the leader may still be training. NaN and infinite
    values never win. Ties (equal values) go, in this order, to a trial that ran to the end
    (completed, or every epoch of max_epochs trained) over a stopped or running one, to the
    smaller model (``n_params``), then to the trial the search
    proposed first (``trial_number``, then ``trial_id``:
    :func:`jetstudy.analysis.trial_order.ranked_best`): the answer depends neither on the order
    of the table's rows nor on Ray's random trial ids, so the study (which evaluates this trial
    on the test split), every later report and a rerun of the study name the same one.
    Of a trial listed twice the last row counts (as in the regimes and the loaded tables).
    """
    trials, score, values, ok = _scored(trials, metric)
    if score is None:
        raise AnalysisError(f"no trial has reported a `{metric}` yet, so none is best")
    if not ok.any():
        held = sorted(set(trials["status"]) - {"failed", *SCORED_STATUSES})
        unless = f" (the {' and '.join(held)} ones are not ranked)" if held else ""
        raise AnalysisError("no trial has finished an epoch without failing, so none is "
                            f"best{unless}")
    rows = trials[ok]
    first = ranked_best(rows, values[ok], maximize)[0]
    return rows.iloc[int(first)]


def runner_up_line(trials: pd.DataFrame, metric: str, maximize: bool,
                   epochs: pd.DataFrame | None = None, n_val: int | None = None,
                   class_counts: list[int] | None = None) -> str | None:
    """One sentence: how far the best trial (:func:`best_trial`) leads the runner-up (the next
    by the same ranking), with the lead's error and whether it is within the validation noise
    (< :data:`~jetstudy.analysis.pareto.NOISE_SIGMAS` standard errors); an exact tie, a lead
    without known errors and a study with a single ranked trial are said as such. None when no
    trial is ranked. The two scores' errors are added in quadrature: both are measured on the
    same validation jets, so their errors are correlated and the lead's true error is likely
    smaller (the sentence says so). A runner-up of the best's configuration is named a repeat.
    """
    trials, score, values, ok = _scored(trials, metric)
    if score is None or not ok.any():
        return None
    label = score.removeprefix("best_")
    rows = trials[ok]
    order = ranked_best(rows, values[ok], maximize)
    lost = _unranked_better(trials[~ok], values[~ok], float(values[ok].iloc[int(order[0])]),
                            maximize, score, n_val, class_counts)
    if ok.sum() == 1:
        return (f"Runner-up: none (one ranked trial), so nothing shows how far the best "
                f"{label} stands out.{lost}")
    pair = rows.iloc[[int(order[0]), int(order[1])]].copy()
    if label == "val_loss":  # the best epoch's error, as 'Best trial' shows it
        pair["best_val_loss_se"] = best_epoch_loss_se(pair, epochs).to_numpy()
    best, second = pair.iloc[0], pair.iloc[1]
    # a tie of more than two: the runner-up is one of several at the best's score
    rest = [int(i) for i in order[2:]]
    tied = [str(t) for t, v in zip(rows.iloc[rest]["trial_id"], values[ok].iloc[rest])
            if float(v) == float(best[score])]
    more = (f" Trial{'s' if len(tied) > 1 else ''} {listed_ids(tied)} "
            f"tie{'' if len(tied) > 1 else 's'}"
            f" at that score too: an exact tie of {len(tied) + 2} trials." if tied else "")
    from jetstudy.analysis.size_answer import few_auc_jets_words

    return (_runner_up_text(best, second, score, maximize, n_val, class_counts) + more
            + _repeat_words(best, second, score, bool(tied))
            + _best_runs_words(rows, best, second, score, n_val, class_counts)
            + _partial_words(best, second) + lost
            + few_auc_jets_words(score, class_counts, "the lead"))


def _best_runs_words(rows: pd.DataFrame, best: pd.Series, second: pd.Series, score: str,
                     n_val: int | None, class_counts: list[int] | None) -> str:
    """A sentence when the best's configuration was trained more than once and its runs
    differ: the best is the luckiest of them (the lead over the runner-up is that run's, the
    configuration's median may be far behind). Left to :func:`_repeat_words` when the only
    other run is the runner-up itself."""
    from jetstudy.analysis.pick_words import spread_words
    from jetstudy.analysis.size_answer import _errors

    again = repeat_spread(rows, best, score)
    if again is None or again.low == again.high:
        return ""
    if again.ids == [str(second["trial_id"])]:
        return ""
    (se,) = _errors([best], score, n_val, class_counts)
    runs = spread_words(score.removeprefix("best_"), again.low, again.high, again.median,
                        se if np.isfinite(se) and se > 0 else None,
                        "the best is the luckiest of them, so expect about the median from "
                        "this configuration")
    return (f" Trial {best['trial_id']}'s configuration was trained {again.n} times (also "
            f"trial{'s' * (len(again.ids) > 1)} {listed_ids(again.ids)}): {runs}.")


def _unfinished(row: pd.Series) -> str | None:
    """"trial a was stopped after 2 of 6 epochs" (or "is still running after ...") for a trial
    that did not run to the end; None for one that did (completed, or all of max_epochs
    trained: as regimes.csv's complete)."""
    status = str(row.get("status", ""))
    n, budget = (pd.to_numeric(pd.Series([row.get(c)]), errors="coerce").iloc[0]
                 for c in ("epochs", "max_epochs"))
    if status == "completed" or ran_full(n, budget):
        return None
    when = f" after {epochs_words(n, budget)}" if np.isfinite(n) else ""
    verb = "is still running" if status == "running" else f"was {status or 'cut short'}"
    return f"trial {row['trial_id']} {verb}{when}"


def heldout_training_words(row: pd.Series | None) -> str:
    """A sentence for the test part when the evaluated trial (its trials-table row) did not
    run to the end: its test numbers are of a model still learning (ASHA stopped it, the time
    budget cut it, it is still running), so its distance from the Bayes optimum or the
    published taggers is not that of its configuration trained to the end. Empty otherwise."""
    what = _unfinished(row) if row is not None else None
    if not what:
        return ""
    return (f"{what[0].upper()}{what[1:]}: these test numbers are of a model still learning, "
            "not of its configuration trained to the end: part of its distance from the "
            "yardstick may be the stop's.")


def _partial_words(best: pd.Series, second: pd.Series) -> str:
    """A sentence when the best or the runner-up did not run to the end (stopped by ASHA or
    the time budget, or still running): its score is that of a model still learning, so the
    lead (or the tie) compares stages of training as much as configurations."""
    parts = [p for p in (_unfinished(best), _unfinished(second)) if p]
    if not parts:
        return ""
    one = len(parts) == 1
    return (f" {' and '.join(parts)[0].upper()}{' and '.join(parts)[1:]}: "
            f"{'its score is of a model' if one else 'their scores are of models'} still "
            "learning, so "
            "the comparison is between stages of training as much as between configurations.")


def _unranked_better(rows: pd.DataFrame, values: pd.Series, best: float, maximize: bool,
                     score: str, n_val: int | None, class_counts: list[int] | None) -> str:
    """A sentence naming the failed or interrupted trials that reached a better value than the
    best before they ended (never ranked: their run did not finish sound), each value with its
    error as the runner-up's (``0.900 ± 0.009``, not a bare ``0.9`` beside ``0.800 ± 0.013``),
    else to 4 significant figures."""
    from jetstudy.analysis.size_answer import _errors

    better = np.isfinite(values) & ((values > best) if maximize else (values < best))
    if not better.any():
        return ""
    kept = rows[better.to_numpy()]
    errors = _errors([r for _, r in kept.iterrows()], score, n_val, class_counts)
    label = score.removeprefix("best_")
    named = [f"{tid} ({status}, {label} {format_measured(value, se)})" for tid, status, value, se
             in zip(kept["trial_id"], kept["status"], values[better], errors)]
    return (f" Not ranked, though better: {', '.join(named)}; a failed or interrupted trial is "
            "never best.")


def _repeat_words(best: pd.Series, second: pd.Series, score: str, more_tied: bool = False) -> str:
    """A sentence when the runner-up repeats the best's configuration (same values in every
    :data:`CONFIG_COLUMNS` the table has). On an exact tie of ``score`` there is no difference
    to put down to training noise: the sentence says the repeat reached the same score."""
    if repeats_of(second.to_frame().T, best).empty:
        return ""
    shared = [c for c in CONFIG_COLUMNS if c in best.index and c in second.index]
    head = (f" Trial {second['trial_id']} repeats trial {best['trial_id']}'s configuration "
            f"({', '.join(shared)} alike)")
    if float(best[score]) == float(second[score]):
        if more_tied:  # others tie too: the tie is not (only) of these two runs
            return f"{head} and reached exactly the same score."
        return (f"{head} and reached exactly the same score: the tie is between two runs of one "
                "configuration, not between configurations.")
    return (f"{head}: their difference is training noise (initialisation, batch order), not a "
            "better configuration.")


def _runner_up_text(best: pd.Series, second: pd.Series, score: str, maximize: bool,
                    n_val: int | None, class_counts: list[int] | None) -> str:
    from jetstudy.analysis.intervals import format_error
    from jetstudy.analysis.pareto import NOISE_SIGMAS
    from jetstudy.analysis.size_answer import _digits, _errors, scores_with_errors

    label = score.removeprefix("best_")
    lead = (float(best[score]) - float(second[score])) * (1.0 if maximize else -1.0)
    shown = scores_with_errors([best, second], score, n_val, class_counts)
    head = f"Runner-up: trial {second['trial_id']}, {label} {shown[1]} against {shown[0]}"
    if lead == 0:
        return (f"{head}: an exact tie; trial {best['trial_id']} is best by the tie-break "
                "(a trial that ran to the end, then the smaller model, then the first the search "
                "proposed).")
    errors = [float(e) for e in _errors([best, second], score, n_val, class_counts)]
    if not all(np.isfinite(e) and e > 0 for e in errors):
        digits = _digits(float(best[score]), float(second[score]), lead)[2]
        return (f"{head}: the best leads by {digits}"
                f"{_rounded_apart(shown, digits, best, second, score)}; the scores' errors "
                "are unknown, so whether that lead is real cannot be said.")
    se = math.hypot(*errors)
    z = lead / se
    shown_z = f"{z:.{sigma_decimals(z, NOISE_SIGMAS)}f}"  # 1.97 beside 2, never '2.0, < 2'
    verdict = (f"within the validation noise ({shown_z} sigma, < {NOISE_SIGMAS:g}): the "
               "validation set cannot tell the two apart" if below(z, NOISE_SIGMAS)
               else f"a significant lead ({shown_z} sigma)")
    shown_lead = format_error(lead, se)
    return (f"{head}: the best leads by {shown_lead}"
            f"{_rounded_apart(shown, shown_lead, best, second, score)}, {verdict}. The errors are "
            "added in quadrature; both scores are of the same validation jets, so the lead's "
            "true error is likely smaller.")


def _rounded_apart(shown: list[str], lead: str, best: pd.Series, second: pd.Series,
                   score: str) -> str:
    """:func:`~jetstudy.analysis.intervals.rounded_apart_words` of the two trials' scores."""
    return rounded_apart_words(shown, lead, float(best[score]), float(second[score]))


def best_epoch_loss_se(trials: pd.DataFrame, epochs: pd.DataFrame | None) -> pd.Series:
    """Per row of ``trials``, the standard error of ``best_val_loss``: the per-jet loss spread
    / sqrt(n) over the validation split (``val_loss_se``) of the epoch the table names as best
    (``best_epoch``, that epoch's last logged row), else the last epoch's ``val_loss_se`` from
    the trials table (the split is the same, so the spread differs little); NaN where neither
    is known or it is not > 0 (every jet with the same loss gives no error to show)."""
    def numbers(frame: pd.DataFrame, name: str) -> pd.Series:
        if name not in frame:
            return pd.Series(np.nan, index=frame.index)
        return pd.to_numeric(frame[name], errors="coerce").astype(float)

    se = numbers(trials, "val_loss_se")
    if (epochs is not None and not epochs.empty and "val_loss_se" in epochs
            and "best_epoch" in trials):
        e = epochs.drop_duplicates(["trial_id", "epoch"], keep="last")
        at = pd.Series(numbers(e, "val_loss_se").to_numpy(),
                       index=pd.MultiIndex.from_arrays([e["trial_id"].astype(str),
                                                        numbers(e, "epoch").to_numpy()]))
        keys = list(zip(trials["trial_id"].astype(str), numbers(trials, "best_epoch")))
        found = pd.Series([at.get(k, np.nan) for k in keys], index=trials.index, dtype=float)
        se = found.where(np.isfinite(found), se)
    return se.where(se > 0)


# the test-split tables live in their own module; re-exported here, where they always were
from jetstudy.analysis.heldout_tables import (MIN_CLASS_JETS, TEST_ROWS,  # noqa: E402
                                              compare_test_metrics, few_jet_classes,
                                              heldout_class_counts, heldout_metric_values,
                                              operating_table)
