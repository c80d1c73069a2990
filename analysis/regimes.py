"""Classify each trial as underfit, good, overfit, unstable or undetermined from its learning curve.

Losses are cross-entropies in nats. A difference is *significant* when it exceeds ``z`` standard
errors (the per-jet loss spread / sqrt(n) that every epoch record carries as ``train_loss_se``
and ``val_loss_se``) **and** a small relative floor: statistics alone would call a 0.1% gap on
a million validation jets "overfit", and a relative threshold alone calls noise on a small
validation split a verdict. Tables without the standard errors (written before they existed,
or with the columns empty in every row) are judged on relative thresholds only, and every
reason then says so ("no uncertainty available" for empty columns); a table that has them
but a NaN for a trial (a split of one jet has no spread) leaves that trial undetermined.

The reference loss L* is, in this order: the user's ``regimes.reference_loss``; the
Bayes-optimal validation loss of synthetic jets (``reference.json``); else the study's own best
validation loss, a *proxy* that the report names as one (against it the best trial can never be
underfit; that best trial itself is judged against the best of the *other* stable trials,
never its own loss). The rules, in the order applied:

1. **unstable**: a NaN/inf loss, a failure whose error mentions divergence, a final training
   loss no better than predicting the class priors (>= the prior entropy H of ``reference.json``,
   else ln 5, less ``prior_margin``), the validation loss there too without a significant gap,
   or a macro validation AUC <= ``auc_floor`` (the net does not separate the classes). The
   prior and AUC rules need a complete curve or ``min_epochs`` epochs: one or two epochs at the
   priors, cut there by ASHA, may be a slow start rather than a collapse (undetermined). A
   macro AUC that averages a class of 5 validation jets or fewer is read through the range of
   the other classes' mean; where those few jets' rank decides the side of ``auc_floor``, the
   trial is **undetermined** (after the loss rules' unstable), never labelled on them.
2. **overfit** (high variance): the validation loss is significantly above the training loss
   (floor ``gap_floor``; ``gap_without_se`` without standard errors; on synthetic jets less the
   two splits' own Bayes-loss difference), or the validation loss
   rose significantly (>= ``overfit_rise``) from its minimum while the training loss kept falling
   (>= ``train_still_falling``), read on a 3-epoch running median so that one low fluctuation
   is no minimum; needs ``min_epochs`` epochs. A curve that zig-zags (below) is overfit only
   when its gap exceeds both swings, and never by the rise rule (a zig-zag fakes rises).
3. **undetermined**: not complete (stopped by ASHA or the time budget, still running, failed
   midway): its curve cannot show a regime yet. A trial is complete when its status is
   ``completed`` (ran ``max_epochs`` or converged by patience) or it ran ``max_epochs``. A
   complete curve shorter than ``min_epochs`` (a study run with max_epochs 1 or 2) is judged
   by the rules below on its final losses, the model as trained: underfit needs only the train
   loss against L*, good only the final losses; only the rise rule needs a trend, and the
   reason says the run was that short.
4. **underfit** (high bias): the training loss is significantly above L* (beyond the noise and
   ``underfit_tolerance`` x L*; on synthetic jets the Bayes loss of the training jets) with no
   significant gap. When the training loss lies significantly *above* the validation loss
   (a training-jet measurement that disagrees), the bias is read from the validation loss
   against L* instead, and the reason says so.
5. **good**: close to L* without a significant gap. Two cases are **undetermined** instead:
   a final loss that zig-zags from epoch to epoch by more than ``gap_floor`` of itself (read
   over the last 7 epochs, :func:`~jetstudy.analysis.curve_stats.swing`; one spike does not
   count), since its final value is not settled; and an L* that is no lower bound: some
   trial's validation loss lies significantly below it (``z`` standard errors and
   ``underfit_tolerance``; a user value set too high, a reference of other data). Then
   "good" cannot be told from "underfit"; underfit verdicts stand (a true, lower bound only
   strengthens them) and :meth:`Reference.describe` says so. A proxy L* made from the only
   stable trial judges that trial against itself: its bias is **undetermined** (unless its
   loss is 0, the floor of any cross-entropy).

The final losses judged are the median of the last three epochs (one spike is no verdict);
``final_train_loss``/``final_val_loss`` in the output are the last epoch's, as in the tables.
The unstable rules are :mod:`~jetstudy.analysis.regime_unstable`'s, the zig-zag and the rise
rule :mod:`~jetstudy.analysis.regime_trend`'s; this module applies every rule in order.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from jetstudy.analysis.curve_stats import curve_summary, epochs_words, ran_full, stop_words
from jetstudy.analysis.heldout_tables import validation_auc_classes
from jetstudy.analysis.intervals import format_error, round_to_error, three_figures
from jetstudy.analysis.regime_digits import relative, table_digits
from jetstudy.analysis.reference_loss import (Reference, contradiction, known_reference,
                                              own_yardstick, proxy_reference,
                                              only_against_unreachable)
from jetstudy.analysis.regime_thresholds import RegimeThresholds
from jetstudy.analysis.regime_trend import rise as rise_rule
from jetstudy.analysis.regime_trend import swung as swing_words
from jetstudy.analysis.regime_unstable import at_priors, auc_rule, shows_collapse, unstable
from jetstudy.analysis.significance import judge_diff as _judge_diff
from jetstudy.analysis.significance import in_sigmas as _sigma
from jetstudy.analysis.significance import beyond as _beyond
from jetstudy.analysis.significance import below as _below
from jetstudy.trainables.table_schema import TRIAL_ORDER

__all__ = ["REGIMES", "epochs_words", "ran_full", "RegimeThresholds", "Reference", "RegimeVerdicts", "known_reference",
           "curve_summary", "assess_regimes", "study_regimes", "classify_regimes"]

#: The ``regime`` column's values, in display order.
REGIMES: tuple[str, ...] = ("underfit", "good", "overfit", "unstable", "undetermined")

logger = logging.getLogger(__name__)

_NO_SE = "no standard errors in the table: relative thresholds only"
_EMPTY_SE = ("no uncertainty available (the table's train_loss_se and val_loss_se are empty in "
             "every row: written before they were measured, or by hand): relative thresholds "
             "only; `jetstudy rerun RESULTS` trains the study again and measures them")


def _se_columns(*frames: pd.DataFrame | None) -> tuple[bool, bool]:
    """Whether the standard-error columns are there, and whether any row holds a value."""
    has = filled = False
    for f in frames:
        if f is not None and {"train_loss_se", "val_loss_se"} <= set(f.columns):
            has = True
            values = f[["train_loss_se", "val_loss_se"]].apply(pd.to_numeric, errors="coerce")
            filled = filled or bool(np.isfinite(values.to_numpy(float)).any())
    return has, filled


def _short_budget_note(row: pd.Series, regime: str) -> str:
    """A complete curve shorter than ``min_epochs`` (a study whose max_epochs is 1 or 2, or a
    trial converged by patience that early) is judged on its final losses, the model as
    trained: underfit needs only its train loss against L*, good and the gap rule only the final
    losses; only the rise rule needs a trend. Say so, and what more epochs may change."""
    n, least = row["n_epochs"], int(row["min_epochs"])
    if not (np.isfinite(n) and n < least) or regime in ("unstable", "undetermined"):
        return ""
    more = {"underfit": "more epochs, not only more capacity, may lower its loss",
            "good": "a longer run could still overfit",
            "overfit": "the gap alone decided"}[regime]
    return (f" (its whole run is {int(n)} epoch{'' if n == 1 else 's'}, fewer than "
            f"regimes.min_epochs {least}: judged on its final losses, the model as trained, "
            f"with no trend read; {more})")


def _unmeasured(row: pd.Series) -> str:
    """The reason of a trial whose table carries standard errors but not this trial's: the
    per-jet spread needs two jets, so a split of one jet (or none) gives NaN, and then no
    difference can be told from noise: relative thresholds would turn one jet into a verdict."""
    which = [name for name in ("train", "val") if not np.isfinite(row[f"{name}_se"])]
    losses = f"{which[0]} loss has" if len(which) == 1 else "train and val losses have"
    return (f"the {losses} no standard error (NaN: its split has fewer than 2 jets, so "
            "its noise cannot be measured): no gap or excess can be told from noise; use a "
            "larger data.val_fraction or more jets")


def _judge(row: pd.Series, ref: Reference, t: RegimeThresholds,
           used: dict[str, object] | None = None) -> tuple[str, str]:
    """The verdict and its reason; ``used`` (when given) receives the L* the bias rule
    compared with, its split and the excess over it (regimes.csv's ``judged_reference_*``,
    ``excess*`` columns)."""
    used = {} if used is None else used
    why = unstable(row, ref, t)
    if why:
        return "unstable", why
    if row["min_loss"] < 0:  # a cross-entropy is >= 0: a damaged or hand-edited table
        return "undetermined", (f"a loss of {row['min_loss']:.4g} is no cross-entropy (those "
                                "are >= 0): the table is damaged or was edited by hand")
    train, val = row["train"], row["val"]
    if not (np.isfinite(train) and np.isfinite(val)):
        failed = row["status"] == "failed" and row["error"]
        return "undetermined", f"failed: {row['error']}" if failed else "no finite loss reported yet"
    measured = np.isfinite(row["train_se"]) and np.isfinite(row["val_se"])
    if not measured and row["se_columns"]:  # the table has errors, this trial's are unknown
        return "undetermined", _unmeasured(row)
    se_note = "" if measured else f"; {row['no_se_words']}"
    offset = ref.split_offset
    swung, swing_train, swing_val = swing_words(row, t)
    se2 = row["train_se"] ** 2 + row["val_se"] ** 2
    # a zig-zagging curve's gap counts only beyond both swings
    gap = _judge_diff(val - train - offset - swing_train - swing_val, train, se2, t,
                      t.gap_floor, t.gap_without_se)
    if offset:
        # to the digits of its error, as the report's reference sentence and regimes.csv's
        # split_offset give it (+0.001 ± 0.010 there, +0.000534 here)
        shown = ref._offset_text().split(" ± ")[0]
        se_note += f"; the splits' own difference {shown} taken out of the gap"
    if (np.isfinite(row["last_val"])  # at (1 - prior_margin) H up to the last bit: at it
            and not _below(row["last_val"], (1 - t.prior_margin) * ref.prior_entropy)
            and not gap.significant
            and shows_collapse(row, t)):
        return "unstable", f"val loss {row['last_val']:.4f} {at_priors(row['last_val'], ref, t)}"
    auc = auc_rule(row, t)  # unstable returned above: here its few jets decide the rule
    if auc is not None:
        return auc
    if gap.significant:
        beyond = " beyond its epoch-to-epoch zig-zag" if swung else ""
        return "overfit", (f"val loss {three_figures(val)} is {gap.text} above train loss {three_figures(train)}"
                           f"{beyond}{se_note}")
    rise = None if swung else rise_rule(row, t)  # a zig-zag fakes rises
    if rise:
        return "overfit", rise + se_note
    short = stop_words(row)
    if short:
        return "undetermined", f"{short}: too short a curve to show a regime (gap {gap.text})"
    if ref.loss is None:
        if swung:
            return "undetermined", swung + se_note
        return "good", f"train loss {three_figures(train)}, val loss {three_figures(val)}, gap {gap.text}{se_note}"
    ref, source = own_yardstick(row, ref)
    # the bias is read from the train loss; from the val loss when the train loss lies
    # significantly above it (a training-jet measurement that disagrees cannot show the bias)
    above = _judge_diff(train - val + offset, train, se2, t, t.gap_floor, t.gap_without_se)
    if above.significant:
        judged, judged_se, swing, what = val, row["val_se"], swing_val, "val loss"
        target, se_ref, jets = ref.loss, ref.se or 0.0, ""
        se_note += (f"; train loss {three_figures(train)} is {above.text} above the val loss, so the "
                    "bias is read from the val loss")
    else:
        judged, judged_se, swing, what = train, row["train_se"], swing_train, "train loss"
        (target, se_ref), jets = ref.train_reference, (
            ", training jets" if ref.train_loss is not None else "")
    se2_ref = judged_se ** 2 + se_ref ** 2
    shown = _judge_diff(judged - target, target, se2_ref, t, t.underfit_tolerance,
                        t.underfit_tolerance)
    split = "train" if what == "train loss" and ref.train_loss is not None else "val"
    used.update(reference=target, split=split if ref.source != "user" else "user",
                excess=judged - target,
        excess_sigma=shown.sigma, excess_se=math.sqrt(se2_ref), reference_se=se_ref)
    excess = _judge_diff(judged - target - swing, target, se2_ref, t, t.underfit_tolerance,
                         t.underfit_tolerance)  # a zig-zagging loss: underfit even at its low
    # L* to the digits its error allows, as the report's "L* = 0.583 ± 0.002" and regimes.csv
    # show it (was .4g: 0.5831 beside the report's 0.583)
    where = (f"{what} {three_figures(judged)} is {shown.text} from L* "
             f"{_reference_text(target, se_ref)} ({source}{jets})")
    if swing and excess.significant:
        where += f", beyond its epoch-to-epoch zig-zag {swing:.3g}"
    if ref.proxy_alone and str(row["trial_id"]) == ref.proxy_trial and target > 0:
        # L* made from this trial alone: "good" would only say it equals itself (a loss of
        # 0 is the floor of any cross-entropy: no circle there)
        return "undetermined", (f"{where}, but L* is this trial's own best val loss (the "
                                "only stable trial: a proxy): its bias cannot be judged; "
                                "set regimes.reference_loss, or run more trials; gap "
                                f"{gap.text}{se_note}")
    if excess.significant:
        unreachable = only_against_unreachable(row, ref, t, what)
        if unreachable:
            return "undetermined", f"{where}, {unreachable}{se_note}"
        return "underfit", f"{where}, gap {gap.text} not significant{se_note}"
    if swung:
        return "undetermined", f"{swung}; {where}{se_note}"
    if ref.contradicted_by is not None:
        tid, loss, _ = ref.contradicted_by
        return "undetermined", (f"{where}, but L* is no lower bound (trial {tid} reached val "
                                f"loss {loss:.4g}): good cannot be told from underfit; set "
                                f"regimes.reference_loss lower, or null{se_note}")
    # at the tolerance up to the last bit is within it, as the rule reads it (significance.
    # beyond): 0.805 against 0.7 read 'more than 15% above it, but not significantly' at 26 sigma
    # the rule is one-sided (a bias is a loss above L*): a loss far below it is no 'within'
    # (the proxy's best trial, judged against the others' best, sits 35% below it)
    rel = relative(judged - target, target)
    within = not _beyond(abs(rel), t.underfit_tolerance)
    near = (f"within {t.underfit_tolerance:.0%}" if within else
            f"more than {t.underfit_tolerance:.0%} below it: no bias" if rel < 0 else
            f"more than {t.underfit_tolerance:.0%} above it, but not significantly (z = {t.z:g})")
    return "good", f"{where}, {near}; gap {gap.text}{se_note}"


def _reference_text(loss: float, se: float | None) -> str:
    """L* as a reason prints it: to the decimal its error allows (``round_to_error``), 4
    significant figures without an error; the same number regimes.csv's
    ``judged_reference_loss`` holds."""
    if se and np.isfinite(se) and se > 0:  # the zeros rounding made stay: 0.600 ± 0.006
        return format_error(loss, se).split(" ± ")[0]  # (:g made it 0.6 beside the report's)
    return f"{round_to_error(loss, None):g}"  # a user's L* as written


@dataclass(frozen=True)
class RegimeVerdicts:
    """The regime table and the reference it was judged against."""

    table: pd.DataFrame
    reference: Reference


def assess_regimes(
    trials: pd.DataFrame,
    epochs: pd.DataFrame | None = None,
    thresholds: RegimeThresholds | None = None,
    reference: Reference | None = None,
    val_class_counts: Mapping[str, int] | Sequence[int] | None = None,
) -> RegimeVerdicts:
    """Judge every trial. The table has one row per trial: ``trial_id, status, regime, reason,
    complete, judged_on_partial`` (a verdict from a curve that is not complete: only unstable,
    overfit or undetermined), ``epochs_judged`` (epochs trained), ``epochs_logged`` (finite
    epochs of the curve), ``final_train_loss, final_val_loss`` (last epoch),
    ``min_val_loss, gap`` (judged val - train, relative), ``gap_sigma`` (NaN without standard
    errors) and ``reference_loss`` (L* of the validation jets); then the numbers the rules
    used: ``judged_train_loss, judged_val_loss, gap_abs, split_offset, judged_reference_loss,
    judged_reference_split, excess_abs, excess, excess_sigma`` and the rise rule's
    ``min_val_epoch, train_loss_at_min_val, smoothed_final_train_loss,
    smoothed_final_val_loss`` (docs/results_layout.md).

    ``reference`` defaults to ln 5 and the study's best as a proxy L* (:func:`known_reference`
    builds one from ``reference.json``). ``val_class_counts`` (the validation jets per class,
    data_summary.json's): a macro AUC that averages a class of a handful of them
    (:func:`~jetstudy.analysis.heldout_tables.few_validation_jets`) decides the AUC rule only
    where those jets' rank cannot move the other classes' mean across ``auc_floor``; else the
    trial is undetermined, and the reason says so.
    """
    t = thresholds or RegimeThresholds()
    ref = reference or Reference()
    s = curve_summary(trials, epochs)
    meta = trials.drop_duplicates("trial_id", keep="last").set_index("trial_id")
    for name, default in (("status", ""), ("error", ""), ("max_epochs", np.nan),
                          ("stop_reason", ""), (TRIAL_ORDER, np.nan)):
        s[name] = s["trial_id"].map(meta[name]) if name in meta else default
        if default == "":  # text; a missing value (NaN, None) is no text
            s[name] = [("" if pd.isna(v) else str(v)) for v in s[name]]
    s["min_epochs"] = t.min_epochs
    k, few = validation_auc_classes(val_class_counts)
    s["few_jets"] = " and ".join(few.values())
    s["auc_classes"], s["auc_few"] = k, len(few)
    # tables written since the standard errors exist carry the columns: a NaN there is a split
    # too small to measure noise, not an old table to judge on relative thresholds
    has, filled = _se_columns(trials, epochs)
    s["se_columns"] = filled
    # columns there but empty in every row (an older or hand-made table, or one a loader
    # padded): no uncertainty anywhere, judged as a table without them (was: all undetermined)
    s["no_se_words"] = _EMPTY_SE if has and not filled else _NO_SE
    if ref.loss is None:
        ref = proxy_reference(s, ref, t)
    contradicted = contradiction(s, ref, t)
    if contradicted is not None:
        ref = replace(ref, contradicted_by=contradicted)
        logger.warning("regimes: %s", ref.describe())
    used: list[dict[str, object]] = [{} for _ in range(len(s))]
    judged = [_judge(row, ref, t, u) for (_, row), u in zip(s.iterrows(), used)]
    short = [stop_words(row) for _, row in s.iterrows()]
    regime = [j[0] for j in judged]
    partial = [w is not None and r != "undetermined" for w, r in zip(short, regime)]
    se2 = s["train_se"] ** 2 + s["val_se"] ** 2
    diff = s["val"] - s["train"] - ref.split_offset
    table = pd.DataFrame({
        "trial_id": s["trial_id"],
        "status": s["status"],
        "regime": regime,
        "reason": [j[1] + (f" (curve not complete: {w})" if p else "")
                   + ("" if w is not None else _short_budget_note(row, j[0]))
                   for (_, row), j, w, p in zip(s.iterrows(), judged, short, partial)],
        "complete": [w is None for w in short],
        "judged_on_partial": partial,
        "epochs_judged": s["n_epochs"],
        "epochs_logged": s["n_logged"],
        "final_train_loss": s["last_train"],
        "final_val_loss": s["last_val"],
        "min_val_loss": s["min_val"],
        "gap": [d / b if b > 0 else (np.nan if not np.isfinite(d) else 0.0 if d == 0
                                     else math.copysign(np.inf, d))
                for d, b in zip(diff, s["train"])],
        "gap_sigma": [_sigma(d, v) if np.isfinite(d) and np.isfinite(v) and v >= 0 else np.nan
                      for d, v in zip(diff, se2)],
        "reference_loss": np.nan if ref.loss is None else round_to_error(ref.loss, ref.se or np.nan),
        # exactly the numbers the rules used, under names that cannot be misread
        "judged_train_loss": s["train"],
        "judged_val_loss": s["val"],
        "gap_abs": diff,
        "split_offset": ref.split_offset,
        "judged_reference_loss": [u.get("reference", np.nan) for u in used],
        "judged_reference_split": [str(u.get("split", "")) for u in used],
        "excess_abs": [u.get("excess", np.nan) for u in used],
        "excess": [relative(u.get("excess", np.nan), u.get("reference", np.nan)) for u in used],
        "excess_sigma": [u.get("excess_sigma", np.nan) for u in used],
        # the rise rule's two ends (3-epoch running medians): min_val_loss at min_val_epoch,
        # the train loss there, and both at the last epoch
        "min_val_epoch": s["min_val_epoch"],
        "train_loss_at_min_val": s["train_at_min_val"],
        "smoothed_final_train_loss": s["smooth_final_train"],
        "smoothed_final_val_loss": s["smooth_final_val"],
    })
    return RegimeVerdicts(table=table_digits(table, s, used, t.z), reference=ref)


def study_regimes(tables: Any, thresholds: RegimeThresholds | None = None
                  ) -> tuple[RegimeVerdicts, RegimeThresholds]:
    """A study's regimes as its report judges them (``tables``: a
    :class:`~jetstudy.analysis.tables.StudyTables`): ``thresholds`` default to its config's
    ``regimes:`` section (else the defaults), L* to ``regimes.reference_loss``, else
    ``reference.json``'s Bayes loss, else a proxy. Returns the verdicts and the thresholds."""
    section = (tables.config or {}).get("regimes")
    section = section if isinstance(section, dict) else {}
    t = thresholds or RegimeThresholds.from_mapping(section)
    reference = known_reference(tables.reference, section.get("reference_loss"))
    summary = tables.data_summary if isinstance(tables.data_summary, dict) else {}
    counts = summary.get("class_counts")
    counts = counts.get("val") if isinstance(counts, dict) else None
    return assess_regimes(tables.trials, tables.epochs, t, reference,
                          counts if isinstance(counts, dict) else None), t


def classify_regimes(
    trials: pd.DataFrame,
    epochs: pd.DataFrame | None = None,
    thresholds: RegimeThresholds | None = None,
    reference: Reference | None = None,
) -> pd.DataFrame:
    """The regime table of :func:`assess_regimes` alone."""
    return assess_regimes(trials, epochs, thresholds, reference).table
