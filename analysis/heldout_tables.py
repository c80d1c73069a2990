"""The report's test-split tables: the best model's test metrics against its yardstick (the
Bayes optimum on synthetic jets, the published taggers of :mod:`jetstudy.analysis.references`
on real data), each number as ``value ± se`` from the bootstrap stored in ``test_metrics.json``
with the test jets it rests on, and the one-vs-rest operating points with their Clopper-Pearson
intervals. Pure functions from ``test_metrics.json`` / ``test_predictions.parquet`` to small
text frames; :mod:`jetstudy.analysis.summary` re-exports them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.intervals import (FEW_BACKGROUND, format_interval, format_measured,
                                         format_rejection)
from jetstudy.analysis.references import MORENO_DNN, NOT_QUOTED, REFERENCES
from jetstudy.analysis.roc import rejection_table
from jetstudy.trainables.schema import CLASSES

__all__ = ["TEST_ROWS", "heldout_metric_values", "compare_test_metrics", "operating_table",
           "heldout_class_counts", "few_jet_classes", "few_validation_jets", "MIN_CLASS_JETS",
           "macro_auc_words", "validation_auc_classes"]


#: Rows of the test-metrics table, as keys of ``test_metrics.json``'s ``model`` object.
TEST_ROWS: tuple[str, ...] = ("accuracy", "log_loss", "auc_macro", *(f"auc {c}" for c in CLASSES))


def _flat(m: dict[str, Any], suffix: str = "") -> dict[str, float]:
    """A test_metrics.json classifier object as ``{row: value}`` (``suffix="_se"``: errors)."""
    auc = m.get(f"auc{suffix}") if isinstance(m.get(f"auc{suffix}"), dict) else {}
    values = {k: m.get(f"{k}{suffix}") for k in TEST_ROWS[:3]}
    values |= {f"auc {c}": auc.get(c) for c in CLASSES}
    return {k: float(v) if isinstance(v, (int, float)) else np.nan for k, v in values.items()}


def heldout_metric_values(test_metrics: dict[str, Any]) -> pd.DataFrame:
    """Numbers of the test table, index :data:`TEST_ROWS`: ``model``, ``model_se``, and when
    the Bayes optimum was evaluated ``bayes``, ``bayes_se``, ``diff`` (model - Bayes) and
    ``diff_se`` (paired bootstrap error when stored, else the two errors in quadrature)."""
    model = test_metrics.get("model")
    if not isinstance(model, dict):
        raise AnalysisError("test_metrics.json has no `model` object")
    table = pd.DataFrame({"model": _flat(model), "model_se": _flat(model, "_se")},
                         index=list(TEST_ROWS))
    bayes = test_metrics.get("bayes")
    if isinstance(bayes, dict):
        table["bayes"] = pd.Series(_flat(bayes))
        table["bayes_se"] = pd.Series(_flat(bayes, "_se"))
        table["diff"] = table["model"] - table["bayes"]
        paired = test_metrics.get("model_minus_bayes")
        paired = pd.Series(_flat(paired, "_se")) if isinstance(paired, dict) else None
        table["diff_se"] = paired if paired is not None else np.hypot(table["model_se"],
                                                                     table["bayes_se"])
    return table


def _reference_column(ref: Any, classes: list[str] | None = None) -> list[str]:
    """A reference's column; ``classes``: those the model's macro AUC averaged (a test split
    without t jets has no t AUC), so the reference's mean is of the same classes (its five
    include t, the easiest: 0.941 against 0.935 for g, q, W, Z)."""
    same = [c for c in (classes or CLASSES) if c in ref.auc]
    if classes is None or set(same) == set(ref.auc):
        macro = f"{ref.auc_macro:.3f} (class mean)"
    elif same:
        mean = sum(ref.auc[c] for c in same) / len(same)
        macro = f"{mean:.3f} (mean of {', '.join(same)}, as the model's)"
    else:
        macro = NOT_QUOTED
    values = {"accuracy": ref.accuracy_text(), "log_loss": NOT_QUOTED, "auc_macro": macro}
    values |= {f"auc {c}": f"{ref.auc[c]:.3f}" if c in ref.auc else NOT_QUOTED for c in CLASSES}
    return [values[row] for row in TEST_ROWS]


def _difference(value: float, error: float, model: str, bayes: str) -> str:
    """model - Bayes with its error; without one (an older test_metrics.json), to the decimals
    of the two values shown beside it (-0.0940 beside 0.8430 and 0.9370, never -0.09400)."""
    if error is not None and np.isfinite(error) and error > 0:
        return format_measured(value, error)
    if value is None or not np.isfinite(value):
        return format_measured(value, None)
    decimals = [len(t.split(".")[1]) if "." in t else 0 for t in (model, bayes)
                if t.replace(".", "", 1).lstrip("-").isdigit()]
    if not decimals:
        return format_measured(value, None)
    text = f"{value:.{min(decimals)}f}"
    return text.lstrip("-") if float(text) == 0 else text


def _macro_resamplings(test_metrics: dict[str, Any]) -> str:
    """Resamplings that lost a class of the test jets have no macro AUC (evaluate.py counts
    them as ``uncertainty.auc_macro_undefined``): the error is of the others, said beside it."""
    how = test_metrics.get("uncertainty")
    how = how if isinstance(how, dict) else {}
    lost, n = how.get("auc_macro_undefined"), how.get("n_boot")
    if not isinstance(lost, int) or isinstance(lost, bool) or lost <= 0:
        return ""
    if isinstance(n, int) and not isinstance(n, bool) and n > lost:
        return (f" (error from the {n - lost} of {n} resamplings that kept every class; "
                f"{lost} lost a rare class)")
    return f" ({lost} resamplings lost a rare class and have no macro AUC)"


#: A class's one-vs-rest AUC (model and Bayes) from this many jets of the class, or of the
#: rest, or fewer is undetermined: it is the rank of a handful of jets, and neither the
#: bootstrap nor Hanley-McNeil sees how far it may be from the class's AUC (one t jet ranked
#: above all others: "0.999 ± 0.020"). The operating table's one-figure rule uses the same count.
MIN_CLASS_JETS = FEW_BACKGROUND


def heldout_class_counts(test_metrics: dict[str, Any]) -> dict[str, int] | None:
    """The test jets of each class as test_metrics.json records them (``class_counts``), None
    when it does not (a file from before them) or they are not whole numbers for every class."""
    counts = test_metrics.get("class_counts")
    if not isinstance(counts, dict):
        return None
    out = {c: counts.get(c) for c in CLASSES}
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in out.values()):
        return None
    return out  # type: ignore[return-value]


def few_jet_classes(counts: dict[str, int] | None) -> dict[str, str]:
    """Per class whose AUC is undetermined (:data:`MIN_CLASS_JETS`), the words why ("1 t jet",
    "3 jets besides g"); a class absent (or alone) has no AUC at all and is not listed."""
    if not counts:
        return {}
    total = sum(counts.values())
    out = {}
    for c, n in counts.items():
        rest = total - n
        if 0 < n <= MIN_CLASS_JETS:
            out[c] = f"{n} {c} jet{'' if n == 1 else 's'}"
        elif 0 < rest <= MIN_CLASS_JETS and n > 0:
            out[c] = f"{rest} jet{'' if rest == 1 else 's'} besides {c}"
    return out


def few_validation_jets(class_counts: Sequence[int] | dict[str, int] | None) -> dict[str, str]:
    """Per class whose one-vs-rest validation AUC rests on too few jets of it or of the rest
    (:data:`MIN_CLASS_JETS` or fewer, the held-out test table's rule: :func:`few_jet_classes`),
    the words why ("1 t jet"); ``class_counts``: the validation split's per class, a mapping or
    five numbers in the order of the classes (none known: none)."""
    return validation_auc_classes(class_counts)[1]


def validation_auc_classes(class_counts: Sequence[int] | dict[str, int] | None
                           ) -> tuple[int | None, dict[str, str]]:
    """How many classes the validation macro AUC averages (those with jets of the class and of
    the rest: the trial loop's mean leaves a class without either out; None when the counts are
    unknown) and :func:`few_validation_jets`' classes among them. A verdict read from the macro
    AUC needs both: the few classes' AUCs may lie anywhere in [0, 1], which moves the mean of
    ``k`` classes by up to 1/k each."""
    counts = _validation_counts(class_counts)
    if counts is None:
        return None, {}
    total = sum(counts.values())
    k = sum(1 for n in counts.values() if 0 < n < total)
    return k, few_jet_classes(counts)


def _validation_counts(class_counts: Sequence[int] | dict[str, int] | None
                       ) -> dict[str, int] | None:
    """The validation counts per class as whole numbers, None when unknown or not counts."""
    if isinstance(class_counts, dict):
        counts = {str(c): n for c, n in class_counts.items()}
    elif class_counts is not None and len(class_counts) == len(CLASSES):
        counts = dict(zip(CLASSES, class_counts))
    else:
        return None
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0
               for n in counts.values()):
        return None
    return {c: int(n) for c, n in counts.items()}


def macro_auc_words(few: dict[str, str], why: str = "") -> str:
    """What a macro AUC says of the classes whose one-vs-rest AUC it averages although it is
    undetermined (``few``: class -> why, :func:`few_jet_classes` or
    :func:`few_validation_jets`): " (includes t's AUC, undetermined: too few jets)", with
    ``why`` (e.g. "1 t jet of the validation split") in place of "too few jets" when given;
    empty when ``few`` is. One rule for the test table and every validation macro AUC shown."""
    if not few:
        return ""
    names = ", ".join(few)
    why = why or "too few jets"
    return (f" (includes {names}'s AUC, undetermined: {why})" if len(few) == 1 else
            f" (includes the AUCs of {names}, undetermined: {why})")


def _jets_column(test_metrics: dict[str, Any], counts: dict[str, int]) -> list[str]:
    """How many test jets each row's number rests on: all of them for the accuracy, log loss
    and macro AUC, the class against the rest for a class's AUC."""
    total = sum(counts.values())
    n_test = test_metrics.get("n_test")
    n_test = n_test if isinstance(n_test, int) and not isinstance(n_test, bool) else total
    return [f"{n_test}"] * 3 + [f"{counts[c]} {c} / {total - counts[c]} other" for c in CLASSES]


def compare_test_metrics(test_metrics: dict[str, Any], synthetic: bool | None,
                         counts: dict[str, int] | None = None) -> pd.DataFrame:
    """The test table as text: rows accuracy, log_loss, auc_macro, auc g..t; the test jets
    each rests on (``test jets``: test_metrics.json's ``class_counts``, else ``counts``, e.g.
    from the test predictions; absent when neither is known); the model as ``value ± se``,
    then the Bayes optimum and model - Bayes (synthetic data) or one column per published
    reference (real data; "not quoted" where the source gives no number). A class's AUC from
    :data:`MIN_CLASS_JETS` jets of the class (or of the rest) or fewer reads "undetermined:
    1 t jet (0.999 ± 0.020)", and the macro AUC says it includes it."""
    v = heldout_metric_values(test_metrics)
    counts = heldout_class_counts(test_metrics) or counts
    out = pd.DataFrame({"metric": list(TEST_ROWS)})
    if counts:
        out["test jets"] = _jets_column(test_metrics, counts)
    out["model"] = [format_measured(a, e) for a, e in zip(v["model"], v["model_se"])]
    if "bayes" in v.columns:
        out["Bayes optimal"] = [format_measured(a, e) for a, e in zip(v["bayes"], v["bayes_se"])]
        out["model - Bayes"] = [_difference(a, e, out["model"][i], out["Bayes optimal"][i])
                                for i, (a, e) in enumerate(zip(v["diff"], v["diff_se"]))]
    few = {c: why for c, why in few_jet_classes(counts).items()
           if np.isfinite(v.loc[f"auc {c}", "model"])}
    for c, why in few.items():
        row = out["metric"] == f"auc {c}"
        for column in ("model", "Bayes optimal", "model - Bayes"):
            if column in out.columns:
                out.loc[row, column] = f"undetermined: {why} ({out.loc[row, column].iloc[0]})"
    macro = out["metric"] == "auc_macro"
    out.loc[macro, "model"] += _macro_resamplings(test_metrics)
    out.loc[macro, "model"] += macro_auc_words(few, "")
    if "bayes" not in v.columns and synthetic is False:
        present = [c for c in CLASSES if np.isfinite(v.loc[f"auc {c}", "model"])]
        for ref in REFERENCES:
            out[ref.label] = _reference_column(ref, present if present else None)
    return out


def _efficiency(row: pd.Series, b: float) -> str:
    # a class absent from the test jets (or alone in them) has no working point: its
    # "efficiency" was printed as 0 (or 1.0) with an interval of nothing
    for count, what in (("n_signal", "signal"), ("n_background", "background")):
        if not row[count] > 0:
            return f"- (no {what} jets)"
    text = format_interval(row[f"sig_eff@{b:g}"], row[f"sig_eff_lo@{b:g}"],
                           row[f"sig_eff_hi@{b:g}"])
    n_bkg = int(row["n_background"])
    allowed = int(np.floor(b * n_bkg + 1e-9))
    if allowed == 0:  # under one jet: no cut lets b of them through; the number shown is the
        # efficiency with no background passing, a stricter point -- at b it is undetermined
        return (f"undetermined: {b:.0%} of {n_bkg} bkg jets is under 1 jet (with none "
                f"passing: {text}, a lower bound)")
    elif allowed <= FEW_BACKGROUND:
        text += f" ({b:.0%} bkg = {allowed} jet{'' if allowed == 1 else 's'})"
    # tied scores (a collapsed or coarse net) leave no cut between them: the cut keeping at
    # most b of the background may keep far less (none), and the efficiency is that point's
    reached = row.get(f"bkg_reached@{b:g}", np.nan)
    passing = int(round(reached * n_bkg)) if np.isfinite(reached) else allowed
    if passing < allowed and reached < 0.9 * b:
        text += (f" (at {reached * 100:.2g}% bkg: {passing} of {n_bkg} background jet"
                 f"{'' if passing == 1 else 's'} pass; tied scores leave no cut nearer "
                 f"{b:.0%})")
    return text


def _rejection(row: pd.Series, s: float) -> str:
    for count, what in (("n_signal", "signal"), ("n_background", "background")):
        if not row[count] > 0:  # no cut keeps s of nothing (as the efficiencies say)
            return f"- (no {what} jets)"
    k = row[f"bkg_pass@{s:g}"]
    if not np.isfinite(k):
        return "-"
    text = format_rejection(int(k), int(row["n_background"]))
    # with few signal jets the cut keeping s of them keeps more (one jet: 100% at every s):
    # the rejection is at that efficiency, said where it would print as another percentage
    reached = row.get(f"sig_reached@{s:g}", np.nan)
    if np.isfinite(reached) and round(reached * 100) != round(s * 100):
        n = int(row["n_signal"])
        text += (f" (at {reached:.0%} sig: {int(round(reached * n))} of {n} signal "
                 f"jet{'' if n == 1 else 's'})")
    return text


def operating_table(predictions: pd.DataFrame, synthetic: bool | None) -> pd.DataFrame:
    """Per class, as text with one-sigma intervals: signal and background jets, background
    rejection at 50% and 90% signal efficiency, signal efficiency at 10% and 1% background;
    then the Bayes optimum's rejections (synthetic) or the 16-HLF DNN's signal efficiencies
    (real data, no uncertainty quoted)."""
    model = rejection_table(predictions, "p_")
    out = pd.DataFrame({
        "class": list(CLASSES),
        "signal jets": model["n_signal"].astype(int).to_numpy(),
        "background jets": model["n_background"].astype(int).to_numpy(),
        "rejection @ 50% sig": [_rejection(r, 0.5) for _, r in model.iterrows()],
        "rejection @ 90% sig": [_rejection(r, 0.9) for _, r in model.iterrows()],
        "sig eff @ 10% bkg": [_efficiency(r, 0.1) for _, r in model.iterrows()],
        "sig eff @ 1% bkg": [_efficiency(r, 0.01) for _, r in model.iterrows()],
    })
    if all(f"bayes_{c}" in predictions.columns for c in CLASSES):
        bayes = rejection_table(predictions, "bayes_")
        out["Bayes rejection @ 50% sig"] = [_rejection(r, 0.5) for _, r in bayes.iterrows()]
        out["Bayes rejection @ 90% sig"] = [_rejection(r, 0.9) for _, r in bayes.iterrows()]
    elif synthetic is False and MORENO_DNN.tpr_at_fpr:
        for i, fpr in enumerate(MORENO_DNN.fprs):
            out[f"{MORENO_DNN.label} sig eff @ {fpr:.0%} bkg"] = [
                f"{MORENO_DNN.tpr_at_fpr[c][i]:.2f}" if c in MORENO_DNN.tpr_at_fpr else NOT_QUOTED
                for c in CLASSES]
    return out
