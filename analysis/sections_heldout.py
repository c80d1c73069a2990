"""The report's test-split parts: the best model's test metrics against its yardstick (the
Bayes optimum on synthetic jets, the published taggers on real data) and its ROC curves. Parts
of :data:`jetstudy.analysis.sections.PARTS`, kept here so that module stays a readable size;
like every part, each returns a Section or raises :class:`AnalysisError` with the sentence the
report shows under "Skipped parts" (for a study without a test evaluation: why it has none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from jetstudy.analysis import roc, summary
from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.render import Section
from jetstudy.analysis.study_state import missing_test_reason, study_folder
from jetstudy.trainables.metrics import roc_curve
from jetstudy.trainables.schema import CLASSES

if TYPE_CHECKING:
    from jetstudy.analysis.sections import ReportState

__all__ = ["heldout_part", "roc_part", "tested_model"]


def _needs_test(r: ReportState, what: str) -> None:
    """Raise when the test evaluation's ``what`` is absent, saying why the study has none (all
    failed, interrupted, still running) when its tables tell."""
    if any(missing == what for missing, _ in r.t.missing):
        why = missing_test_reason(r.t.trials, r.t.config, r.live, study_folder(r.t))
        if why:
            raise AnalysisError(why)
    r.needs(what)


def _epoch_differs(evaluated: Any, best_epoch: Any) -> bool:
    """Both epochs known (whole numbers) and different."""
    try:
        return int(evaluated) != int(best_epoch)
    except (TypeError, ValueError):
        return False


def heldout_part(r: ReportState) -> Section:
    """The best model on the test split against its yardstick, every number with its error."""
    from jetstudy.analysis.references import REFERENCES

    _needs_test(r, "test metrics")
    tm = r.t.test_metrics or {}
    if isinstance(tm.get("bayes"), dict):
        yardstick = "the Bayes-optimal classifier (synthetic data)"
    elif r.t.synthetic is False:
        yardstick = "published taggers on the real data"
    else:
        yardstick = "nothing (data origin unknown)"
    epoch = f", epoch {tm['epoch']}" if tm.get("epoch") is not None else ""
    which = (f"Best model (trial {tm.get('trial_id', '?')}{epoch})"
             if tested_model(r)[0] == "the best model" else  # no longer the table's best
             f"The model of trial {tm.get('trial_id', '?')}{epoch}, the best when it was "
             "evaluated,")
    lines = [f"{which} on {tm.get('n_test', '?')} held-out test jets, compared with "
             f"{yardstick}."]
    how = tm.get("uncertainty") if isinstance(tm.get("uncertainty"), dict) else None
    if how:
        lines.append(f"Errors are one standard error from a {how.get('method', '?')} over the "
                     f"test jets ({how.get('n_boot', '?')} resamplings, seed "
                     f"{how.get('seed', '?')}); digits follow the error (a value whose error is 0, "
                     "as when every resampling gave it, keeps 4 significant figures).")
    else:
        lines.append("test_metrics.json has no uncertainties (written by an older jetstudy): "
                     "values are shown alone.")
    if not isinstance(tm.get("bayes"), dict) and r.t.synthetic is False:
        for ref in REFERENCES:
            lines.append(f"{ref.label}: {ref.citation}; {ref.provenance}; {ref.uncertainty}.")
    try:
        best_row = r.best_row()
    except AnalysisError:
        best_row = None
    best = None if best_row is None else str(best_row["trial_id"])
    if best is not None and "trial_id" in tm and str(tm["trial_id"]) != best:
        lines.append(f"The test split was evaluated for trial {tm['trial_id']}, but the best trial "
                     f"in this table is {best}: the tables are newer than the test evaluation.")
    elif best is not None and _epoch_differs(tm.get("epoch"), best_row.get("best_epoch")):
        lines.append(f"The test split was evaluated at epoch {tm['epoch']} of trial {best}, but "
                     f"the table's best epoch of that trial is {best_row['best_epoch']}: the "
                     "tables are newer than the test evaluation (a resumed study?).")
    if best is not None and str(tm.get("trial_id", best)) == best:
        unfinished = summary.heldout_training_words(best_row)
        if unfinished:
            lines.append(unfinished)
    # the title promises errors only where the table has them (an older test_metrics.json)
    tables = [("test metrics (± 1 standard error)" if how else "test metrics (no uncertainties "
               "recorded)", summary.compare_test_metrics(tm, r.t.synthetic, _counts(r)))]
    if r.t.test_predictions is not None:
        tables.append(("one-vs-rest operating points: rejection = 1 / background efficiency; "
                       "[68% Clopper-Pearson interval]; a rejection from 5 background jets or "
                       "fewer has one significant figure",
                       summary.operating_table(r.t.test_predictions, r.t.synthetic)))
    return Section("Test metrics", lines=lines, tables=tables)


def _counts(r: ReportState) -> dict[str, int] | None:
    """The test jets of each class from the test predictions, for a test_metrics.json from
    before ``class_counts`` (the table then still says what each AUC rests on)."""
    pred = r.t.test_predictions
    if pred is None or "label" not in pred.columns:
        return None
    labels = pd.to_numeric(pred["label"], errors="coerce")
    return {c: int((labels == i).sum()) for i, c in enumerate(CLASSES)}


def _auc_errors(r: ReportState, key: str, table: pd.DataFrame) -> dict[str, float]:
    """Per-class AUC errors: the bootstrap ones of test_metrics.json when stored, else the
    Hanley-McNeil ones of ``table``."""
    tm = r.t.test_metrics or {}
    part = tm.get(key) if isinstance(tm.get(key), dict) else {}
    stored = part.get("auc_se") if isinstance(part.get("auc_se"), dict) else {}
    fallback = table["auc_se"].to_dict()
    return {c: float(stored[c]) if isinstance(stored.get(c), (int, float)) else fallback[c]
            for c in CLASSES}


def _table_aucs(r: ReportState) -> dict[str, dict[str, str]]:
    """The per-class AUCs as the test table prints them (``{"model"|"bayes": {cls: text}}``),
    for the ROC legends to show the same numbers with the same errors: none where
    test_metrics.json records none (an older one), never Hanley-McNeil errors beside a table
    without any. Empty without a test table; a class the table leaves blank ('-') is left out
    (its legend keeps the curve's own AUC)."""
    tm = r.t.test_metrics or {}
    try:
        table = summary.compare_test_metrics(tm, r.t.synthetic, _counts(r)).set_index("metric")
    except AnalysisError:
        return {}
    out: dict[str, dict[str, str]] = {}
    # a class AUC from a handful of jets: the table's verdict without its value, which would
    # widen the legend past its panel ("undetermined: 1 t jet (0.999 ± 0.020)")
    few = summary.few_jet_classes(summary.heldout_class_counts(tm) or _counts(r))
    for key, column in (("model", "model"), ("bayes", "Bayes optimal")):
        if column in table.columns:
            texts = {c: str(table.loc[f"auc {c}", column]) for c in CLASSES}
            texts = {c: f"undetermined: {few[c]}" if c in few and t.startswith("undetermined")
                     else t for c, t in texts.items()}
            out[key] = {c: t for c, t in texts.items() if t.strip() not in ("", "-")}
    return out


def _errors_words(texts: dict[str, dict[str, str]], method: str | None) -> str:
    """What the legends' AUC errors are, for the caption."""
    shown = [t for part in texts.values() for t in part.values()]
    if not shown:
        return "AUC ± 1 standard error (Hanley-McNeil) in the legends"
    if not any("±" in t for t in shown):
        return ("AUCs in the legends as in the test table, without errors (test_metrics.json "
                "records none)")
    how = f"{method} over the test jets" if method else "as test_metrics.json records them"
    return f"AUC ± 1 standard error ({how}) in the legends, as in the test table"


def tested_model(r: ReportState) -> tuple[str, str, str]:
    """Which model the test split's numbers are of, for the figures: (ROC caption's words,
    Pareto legend entry, Pareto caption's words) -- "the best model" -- or, where
    test_metrics.json names another trial than the table's best (tables newer than the test
    evaluation: a study still running), that trial (the figures called it 'the best model'
    beside the Test metrics part's own sentence that it is not)."""
    tm = r.t.test_metrics or {}
    try:
        best = str(r.best_row()["trial_id"])
    except (AnalysisError, KeyError, TypeError):
        best = None
    if best is None or "trial_id" not in tm or str(tm["trial_id"]) == best:
        return "the best model", "best model, test split", "best model on test"
    tested = tm["trial_id"]
    return (f"trial {tested}, the model evaluated on test (the table's best is now {best})",
            f"trial {tested} (tested; best now {best}), test split",
            f"trial {tested} on test (evaluated before {best} became the table's best)")


def zero_background_reach(pred: pd.DataFrame, prefix: str) -> dict[str, float]:
    """Per class with a curve: the signal efficiency a cut keeps while no background jet passes
    (background efficiency 0), which a log axis cannot show: the drawn curve starts above it,
    at the first background jet (efficiency 1/N)."""
    scores, labels = roc._scores(pred, prefix), pred["label"].to_numpy()
    reach = {}
    for c, name in enumerate(CLASSES):
        signal = labels == c
        if not signal.any() or signal.all():  # no curve drawn (its panel says so)
            continue
        sig, bkg, _ = roc_curve(signal, scores[:, c])
        reach[name] = float(sig[bkg == 0].max())
    return reach


def _reach_range(reach: dict[str, float]) -> str:
    """'0.21–0.33' (or one value where all classes agree to 2 decimals)."""
    lo, hi = f"{min(reach.values()):.2f}", f"{max(reach.values()):.2f}"
    return lo if lo == hi else f"{lo}–{hi}"


def below_axis_words(pred: pd.DataFrame, bayes: bool) -> str:
    """The ROC caption's words for what the log axis leaves out: the signal efficiency each
    curve keeps before the first background jet passes (a curve seemed to start at 0.2-0.3
    signal efficiency, as if no cut reached less)."""
    model = zero_background_reach(pred, "p_")
    if not model or max(model.values()) <= 0:
        return ""
    words = (f"a curve starts where the first background jet passes (efficiency 1/N); the "
             f"signal efficiency kept while none passes (model: {_reach_range(model)} by "
             "class")
    if bayes:
        words += f"; Bayes optimum: {_reach_range(zero_background_reach(pred, 'bayes_'))}"
    return words + ") is below the log axis"


def roc_part(r: ReportState) -> Section:
    """One-vs-rest ROC curves of the best model, AUCs with their errors."""
    from jetstudy.analysis import plots_roc
    from jetstudy.analysis.references import MORENO_DNN

    _needs_test(r, "test predictions")
    pred = r.t.test_predictions
    if pred is None:
        raise AnalysisError("no test predictions")
    model_table = roc.rejection_table(pred, "p_")
    aucs = model_table["auc"].to_dict()
    bayes = bayes_aucs = bayes_errors = None
    if all(f"bayes_{c}" in pred.columns for c in CLASSES):
        bayes = roc.roc_points(pred, "bayes_")
        bayes_table = roc.rejection_table(pred, "bayes_")
        bayes_aucs = bayes_table["auc"].to_dict()
        bayes_errors = _auc_errors(r, "bayes", bayes_table)
    reference = bayes is None and r.t.synthetic is False
    texts = _table_aucs(r)
    fig = plots_roc.roc_figure(roc.roc_points(pred, "p_"), aucs, bayes, bayes_aucs, reference,
                               _auc_errors(r, "model", model_table), bayes_errors,
                               texts.get("model"), texts.get("bayes") if bayes is not None else None)
    name = r.figure("roc.png", fig)
    if bayes is not None:
        beside = "dashed: the Bayes-optimal classifier"
    elif reference:
        beside = (f"crosses: {MORENO_DNN.label}, signal efficiency at 10% and 1% background "
                  f"({MORENO_DNN.citation}; {MORENO_DNN.uncertainty})")
    else:
        beside = "no Bayes optimum or reference: data origin unknown"
    how = (r.t.test_metrics or {}).get("uncertainty")
    method = how.get("method") if isinstance(how, dict) else None
    few = [c for c in CLASSES if texts.get("model", {}).get(c, "").startswith("undetermined")]
    few_words = (f"; {', '.join(few)}: AUC undetermined, from {summary.MIN_CLASS_JETS} jets of "
                 "the class or of the rest or fewer (its value in the test table)" if few else "")
    below = below_axis_words(pred, bayes is not None)
    caption = (f"One-vs-rest ROC of {tested_model(r)[0]}, background efficiency (log axis) vs "
               f"signal efficiency; {_errors_words(texts, method)}{few_words}; {beside}"
               f"{'; ' + below if below else ''}.")
    return Section("ROC on the test split", figure=name, caption=caption)
