"""What ``model.json`` says about an export (:mod:`jetstudy.study.export`): the input and
its folded standardisation, the class order, the trained and deployed architecture and their
sizes (counted from the folded network), the training config, the validation and test
metrics of the exported weights, the input ranges seen in training, the export's own check,
and the provenance of the study and of the export. Content only: the export writes it. How
far the trial trained (``training``) is :mod:`jetstudy.study.export_training`'s, re-exported.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from jetstudy.study.export_inputs import read_study_config
from jetstudy.study.export_training import fully_trained_ids, trial_training, unfinished_refusal
from jetstudy.trainables.schema import CLASSES
from jetstudy.trainables.plain_read import read_plain

if TYPE_CHECKING:
    from jetstudy.study.export_weights import Weights

__all__ = ["fully_trained_ids", "metadata", "read_json", "trial_training", "unfinished_refusal"]


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or None when it is missing or not JSON."""
    try:
        return json.loads(read_plain(path))
    except (OSError, ValueError):
        return None


# ---- what model.json says --------------------------------------------------------------------

def _input_ranges(scaler: dict[str, Any]) -> dict[str, Any] | str:
    lo, hi = scaler.get("min"), scaler.get("max")
    if not (isinstance(lo, list) and isinstance(hi, list)
            and len(lo) == len(hi) == len(scaler["features"])):
        return "unknown"  # a study prepared before scaler.json recorded them
    return {f: {"min": a, "max": b} for f, a, b in zip(scaler["features"], lo, hi)}


def _test_metrics(results: Path, w: Weights) -> tuple[dict[str, Any] | None, str | None]:
    """``best/test_metrics.json`` when it is of the exported weights (same trial and epoch),
    else None and why."""
    if not w.is_study_best:
        return None, "only the study's best trial is evaluated on the test split"
    path = results / "best" / "test_metrics.json"
    metrics = read_json(path)
    if not path.is_file():
        return None, "best/test_metrics.json is missing"
    model = metrics.get("model") if isinstance(metrics, dict) else None
    if not (isinstance(model, dict) and all(
            isinstance(model.get(k), (int, float)) and not isinstance(model.get(k), bool)
            for k in ("accuracy", "auc_macro"))):
        return None, "best/test_metrics.json is damaged (no model accuracy and macro AUC)"
    if str(metrics.get("trial_id")) != w.trial_id:
        return None, (f"best/test_metrics.json is of trial {metrics.get('trial_id')}, not of "
                      f"the exported {w.trial_id}")
    epoch = metrics.get("epoch")
    if epoch is not None and w.epoch >= 0 and epoch != w.epoch:
        return None, (f"best/test_metrics.json is of epoch {epoch}, not of the exported "
                      f"epoch {w.epoch}")
    return metrics, None


def _validation(results: Path, w: Weights) -> dict[str, Any] | None:
    from jetstudy.trainables.trialfiles import read_epochs

    for row in read_epochs(str(results / "trials"), w.trial_id):
        if int(row.get("epoch", -1)) == w.epoch:
            return {k: row[k] for k in ("val_loss", "val_acc", "val_auc") if k in row}
    return None


def _fixed_point(scaler: dict[str, Any], folded: Any) -> dict[str, Any]:
    """Integer bits the inputs and each deployed layer need for raw inputs within the training
    ranges (:mod:`jetstudy.study.export_fixed`), against the export README's hls4ml types."""
    from jetstudy.study.export_fixed import (HLS_INTEGER_BITS, integer_bits, layer_bounds,
                                             shift_bounds)

    lo, hi = scaler.get("min"), scaler.get("max")
    if not (isinstance(lo, list) and isinstance(hi, list)):
        return {"unknown": "the study's scaler.json has no training ranges (min, max): the "
                           "layers' output bounds cannot be computed"}
    layers = layer_bounds(folded, lo, hi)
    return {"what": "for raw inputs within input_ranges: each Linear layer's largest |weight|, "
                    "|bias| and |output| (interval bound, guaranteed) and the integer bits "
                    "(sign included) the largest needs",
            "input_integer_bits": integer_bits(max(max(map(abs, lo)), max(map(abs, hi)))),
            "layers": layers,
            "input_shift": shift_bounds(folded, lo, hi, scaler.get("std")),
            "readme_types_integer_bits": HLS_INTEGER_BITS,
            "readme_types_hold": all(layer["integer_bits"] <= HLS_INTEGER_BITS
                                     for layer in layers)}


_LIMIT_SIZES = {"max_params": "n_params", "max_flops": "flops",
                "max_multiplications": "multiplications"}


def _number(row: Any, key: str) -> int | float | None:
    """A trials-table cell as JSON: None when missing (None, NaN or the nullable integer
    columns' ``pd.NA``), counts as int, scores as float."""
    value = row.get(key)
    if value is None or bool(pd.isna(value)):
        return None
    return int(value) if key in ("n_params", "flops", "multiplications") else float(value)


def _size_answer(results: Path, metric: str, cost: str) -> tuple[dict[str, Any] | None, str]:
    """The report's answer to "how big should my tagger be" (the smallest fully trained model
    within 1% of the best's ``metric`` and 0.5 points of its accuracy), or None and why."""
    from jetstudy.analysis.errors import AnalysisError
    from jetstudy.analysis.pareto import how_big, with_sizes
    from jetstudy.analysis.tables import load_tables
    from jetstudy.trainables.objective import METRIC_MODES

    try:
        tables = load_tables(results)
        trials = with_sizes(tables.trials)
        answer = how_big(trials, metric, METRIC_MODES.get(metric) == "max", cost)
    except AnalysisError as exc:
        return None, f"the trials table cannot be read ({exc})"
    except Exception as exc:  # the export never fails over this side note
        return None, f"the trials table cannot be read ({type(exc).__name__})"
    if answer is None:  # in the report's words (the paragraph's "Undetermined: ...")
        from jetstudy.analysis.size_answer import no_answer_reason

        return None, no_answer_reason(trials, cost)
    unstable = _unstable_trials(tables)
    best_id = str(answer.best["trial_id"])
    if best_id in unstable:  # as the report's paragraph: models that did not learn
        return None, (f"undetermined: the best fully trained model, trial {best_id}, is "
                      f"unstable in the report's regimes ({unstable[best_id]}): it did not "
                      "learn the task, so no model within 1% of it is one to deploy")

    from jetstudy.analysis.maps import score_column
    from jetstudy.analysis.pareto_notes import unsized_words
    from jetstudy.analysis.size_answer import no_accuracy_words, answer_ties

    rows = {"pick": answer.pick, "best": answer.best}
    # the accuracy the rule compares (best_val_acc: the best epoch's, as the report prints),
    # beside val_acc (the last epoch's, the key's meaning in earlier exports)
    acc = [c for c in dict.fromkeys((score_column(trials, "val_acc"), "val_acc")) if c]
    # tied_with: trials of exactly the same size and metric (the report names them too);
    # unstable: the report's regime reason where the trial did not learn (else absent)
    named: dict[str, Any] = {
        name: {"trial_id": str(row["trial_id"]),
               **{k: _number(row, k) for k in (answer.metric, *acc, "n_params",
                                              "multiplications", "flops")},
               "tied_with": answer_ties(answer, name),
               **({"unstable": unstable[str(row["trial_id"])]}
                  if str(row["trial_id"]) in unstable else {})}
        for name, row in rows.items()}
    # fully trained trials the answer could not weigh (a damaged or hand-edited row), which
    # the report's paragraph names: without them "best" is not the best of the table
    left = (unsized_words(answer.unsized, cost) + no_accuracy_words(answer.no_accuracy)).strip()
    return {**named, "unsized": list(answer.unsized), "no_accuracy": list(answer.no_accuracy),
            "left_out": left or None}, ""


def _unstable_trials(tables: Any) -> dict[str, str]:
    """The trials the report's regimes call unstable (id: reason), judged as the report judges
    them (the study's ``regimes:`` thresholds and L*); empty when they cannot be judged."""
    from jetstudy.analysis.regimes import study_regimes

    try:
        table = study_regimes(tables)[0].table
    except Exception:  # the export never fails over this side note
        return {}
    bad = table[table["regime"] == "unstable"]
    return {str(k): str(v) for k, v in zip(bad["trial_id"], bad["reason"])}


def _selection(results: Path, w: Weights, study: dict[str, Any]) -> dict[str, Any]:
    """Why these weights: the study's best by ``search.metric`` (what a size objective or a
    size limit changed), or ``--trial``; and the report's size answer beside it."""
    search = study.get("search") if isinstance(study.get("search"), dict) else {}
    metric = str(search.get("metric") or "val_loss")
    objectives = search.get("objectives")
    size = (str(objectives[1]) if isinstance(objectives, list) and len(objectives) > 1
            else None)
    limits = {k: search[k] for k in _LIMIT_SIZES if search.get(k) is not None}
    cost = size or next((_LIMIT_SIZES[k] for k in limits), "n_params")
    answer, why_none = _size_answer(results, metric, cost)
    pick = answer["pick"]["trial_id"] if answer else None
    rule = (f"the smallest fully trained model (by {cost}) within 1% of the best model's "
            f"best_{metric} and within 0.5 points of its val_acc: the report's answer to 'how "
            f"big should my tagger be'")
    if w.is_study_best:
        why = (f"the study's best: the best best_{metric} of every trial (best/model.pt, the "
               f"model evaluated on the test split)")
        if size:
            why += (f"; the search's second objective, {size}, shaped which models were tried "
                    f"but does not choose the best: for the smallest good model export "
                    f"the size answer with --trial")
    else:
        why = "chosen with --trial"
    if limits:
        why += (f"; every trial was drawn within {', '.join(f'search.{k} {v}' for k, v in limits.items())}")
    if pick == w.trial_id:
        why += f"; it is also {rule}"
    return {"why": why, "search_metric": metric, "size_objective": size,
            "size_limits": limits or None,
            "size_answer": ({"rule": rule, **answer, "exported": pick == w.trial_id,
                             "export_command": shlex.join(["jetstudy", "export", str(results.absolute()),
                                                           "--trial", str(pick)])}
                            if answer else {"rule": rule, "none": why_none})}


def metadata(results: Path, w: Weights, scaler: dict[str, Any], folded: Any,
              check: dict[str, Any]) -> dict[str, Any]:

    from jetstudy.study.deployable import (INPUT_NAME, ONNX_OPSET, OUTPUT_NAME, deployed_params,
                                           describe_layers, multiplications)
    from jetstudy.trainables.model import count_params

    test, test_note = _test_metrics(results, w)
    study = read_study_config(results)
    return {
        "format": "jetstudy export 1",
        "trial_id": w.trial_id, "best_epoch": w.epoch, "weights_from": w.source,
        "training": trial_training(results, w.trial_id, w.is_study_best),
        "selection": _selection(results, w, study),
        "study": str(results.absolute()),  # the export folder travels: a full path
        "input": {"name": INPUT_NAME, "shape": ["jets", len(scaler["features"])],
                  "dtype": "float32", "features": list(scaler["features"]),
                  "raw": True, "standardisation": {
                      "folded_into": ("a Sub of the training means (float32), then the first "
                                      "Linear layer" if check.get("input_shift") else
                                      "the first Linear layer"), "mean": scaler["mean"],
                      "std": scaler["std"]}},
        "output": {"name": OUTPUT_NAME, "shape": ["jets", len(CLASSES)],
                   "classes": list(CLASSES), "softmax": True},
        "input_ranges": _input_ranges(scaler),
        "fixed_point": _fixed_point(scaler, folded),
        "architecture": {"trained": w.arch.to_dict(), "n_params": count_params(w.arch),
                         "deployed_layers": describe_layers(folded),
                         "multiplications": multiplications(folded),
                         # as trials.parquet counts them: 2 per multiply-add (Linear layers)
                         "flops": 2 * multiplications(folded),
                         "deployed_params": deployed_params(folded),
                         "batch_norm_folded": w.arch.batch_norm,
                         "dropout_removed": w.arch.dropout > 0},
        "training_config": {
            "study": study,
            "trial": read_json(results / "trials" / w.trial_id / "config.json")},
        "validation_at_best_epoch": _validation(results, w),
        "test_metrics": test,
        "test_metrics_note": test_note,
        "onnx": {"opset": ONNX_OPSET, "file": "model.onnx"},
        "torchscript": {"file": "model.pt"},
        "check": check,
        "provenance": _provenance(results),
    }


def _provenance(results: Path) -> dict[str, Any]:
    """What made these files, for a folder that leaves the study: the versions doing the
    export, and the study's own record (its ``provenance.json``: versions, git commit, code
    digest, data checksums) where there is one."""
    from importlib import metadata

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    study = read_json(results / "provenance.json")
    keep = ("versions", "git", "code_sha256", "data", "host", "started", "ended")
    return {"exported_with": {n: version(n) for n in ("jetstudy", "torch", "onnx",
                                                      "onnxruntime", "numpy")},
            "study": ({k: study[k] for k in keep if k in study}
                      if isinstance(study, dict) else None)}
