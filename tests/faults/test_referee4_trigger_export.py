"""Referee 4 (trigger): an export says why it holds that trial, and whether the hls4ml types
its README sets hold this model's numbers.

After a size-aware search (``search.objectives: [val_loss, multiplications]``, or a
``search.max_params`` limit) ``jetstudy export RESULTS`` exported the most accurate model,
however large, and neither ``model.json`` nor the export's README said so, nor which smaller
model the report's "how big should my tagger be" answer names, nor that every trial was drawn
under the limit: the trigger group deployed the big model believing it was the size-aware
pick. Now ``model.json`` -> ``selection`` (and one README line) says why these weights, what
the size objective or limit did, and the size answer with its ``--trial`` command.

The export README set ``fixed<32,16>`` for every layer of every model ("wide enough for raw
inputs and a first layer that holds the standardisation"): a feature with a tiny spread in
training (std 5e-6) folds into first-layer weights past 2^15, which wrap in that type, and
nothing said so. Now ``model.json`` -> ``fixed_point`` bounds each layer's weights, biases and
outputs for inputs in the training ranges, and the README names the layer to widen.

A feature that hardly varied far from 0 (std 1e-5 around 0.5) cannot be folded into a float32
bias; the export stopped asking the user to report a bug; now it subtracts the means first.

Hand-made study folders (config.yaml, scaler.json, best/model.pt, trials.parquet): no study
runs.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

pytest.importorskip("onnxruntime")

from jetstudy.study.config import from_dict  # noqa: E402
from jetstudy.study.export import export_model  # noqa: E402
from jetstudy.study.prepare import write_config  # noqa: E402
from jetstudy.trainables.model import MLPArch, build_mlp, count_flops, count_params  # noqa: E402
from jetstudy.trainables.schema import HLF_FEATURES  # noqa: E402

#: trial -> (hidden widths, best_val_loss, val_acc): "big" is the most accurate, "small" within
#: 1% of its loss and 0.5 points of its accuracy, "tiny" far off.
TRIALS = {"big": ((64, 32), 0.600, 0.760), "small": ((8,), 0.604, 0.757),
          "tiny": ((2,), 0.900, 0.600)}


def _study(folder: Path, search: dict, best: str = "big", scaler: dict | None = None) -> Path:
    folder.mkdir(parents=True)
    write_config(from_dict({"search": {"num_trials": 3, "max_concurrent": 1, **search}}),
                 folder)
    (folder / "scaler.json").write_text(json.dumps(
        {"features": list(HLF_FEATURES), "mean": [0.5] * 16, "std": [2.0] * 16, **(scaler or {})}))
    rows = []
    for tid, (widths, loss, acc) in TRIALS.items():
        arch = MLPArch(16, widths)
        flops = count_flops(arch)
        rows.append({"trial_id": tid, "status": "completed", "best_val_loss": loss,
                     "val_loss": loss, "train_loss": loss, "val_acc": acc, "best_epoch": 1,
                     "n_params": count_params(arch), "flops": flops,
                     "multiplications": flops // 2})
    pd.DataFrame(rows).to_parquet(folder / "trials.parquet")
    arch = MLPArch(16, TRIALS[best][0])
    torch.manual_seed(0)
    (folder / "best").mkdir()
    torch.save({"arch": arch.to_dict(), "state_dict": build_mlp(arch).state_dict(),
                "trial_id": best, "epoch": 1}, folder / "best" / "model.pt")
    return folder


def _selection(out: Path) -> tuple[dict, str]:
    return json.loads((out / "model.json").read_text())["selection"], (out / "README.md").read_text()


def test_a_size_objective_study_says_its_best_is_not_the_size_pick(tmp_path: Path) -> None:
    folder = _study(tmp_path / "s", {"objectives": ["val_loss", "multiplications"]})
    selection, readme = _selection(export_model(folder, out=tmp_path / "e").out)
    assert selection["size_objective"] == "multiplications"
    assert "study's best" in selection["why"] and "does not choose the best" in selection["why"]
    answer = selection["size_answer"]
    assert answer["pick"]["trial_id"] == "small" and answer["best"]["trial_id"] == "big"
    assert answer["pick"]["multiplications"] == 16 * 8 + 8 * 5 and not answer["exported"]
    assert answer["export_command"].endswith("--trial small")
    assert "Why this trial: the study's best" in readme and "--trial small`" in readme


def test_the_size_pick_and_a_size_limit_are_named(tmp_path: Path) -> None:
    folder = _study(tmp_path / "s", {"max_params": 3000}, best="small")
    selection, readme = _selection(export_model(folder, out=tmp_path / "e").out)
    assert selection["size_limits"] == {"max_params": 3000}
    assert "every trial was drawn within search.max_params 3000" in selection["why"]
    assert selection["size_answer"]["exported"] and "by n_params" in selection["why"]
    assert "it is also the smallest fully trained model" in readme


def test_without_a_trials_table_the_selection_says_why_no_answer(tmp_path: Path) -> None:
    folder = _study(tmp_path / "s", {})
    (folder / "trials.parquet").unlink()
    selection, _ = _selection(export_model(folder, out=tmp_path / "e").out)
    assert selection["why"].startswith("the study's best") and selection["size_objective"] is None
    assert "cannot be read" in selection["size_answer"]["none"]
    assert np.isfinite(json.loads((tmp_path / "e" / "model.json").read_text())
                       ["check"]["max_abs_difference"]["onnxruntime"])


def _corners(lo: np.ndarray, hi: np.ndarray, n: int = 4000) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.where(rng.random((n, 16)) < 0.5, lo, hi)  # corners of the training ranges


def test_fixed_point_bounds_hold_and_a_too_narrow_type_is_named(tmp_path: Path) -> None:
    mean, std = np.full(16, 0.5), np.full(16, 2.0)
    std[2], std[5] = 5e-6, 1.0  # a feature with a tiny spread; one constant (std 1, min = max)
    mean[2] = 0.0  # (around 0: a tiny spread around 0.5 cannot be folded into float32 at all)
    lo, hi = mean - 3 * std, mean + 3 * std
    lo[5] = hi[5] = mean[5]
    scaler = {"mean": mean.tolist(), "std": std.tolist(), "min": lo.tolist(), "max": hi.tolist()}
    folder = _study(tmp_path / "s", {}, scaler=scaler)
    out = export_model(folder, out=tmp_path / "e").out
    fixed = json.loads((out / "model.json").read_text())["fixed_point"]
    first = fixed["layers"][0]
    assert first["layer"] == "Add_0" and first["max_abs_weight"] > 2 ** 15
    assert first["integer_bits"] > 16 and not fixed["readme_types_hold"]
    readme = (out / "README.md").read_text()
    assert "`fixed<32,16>` is too narrow for this model" in readme
    assert f"`Add_0` needs {first['integer_bits']}" in readme
    # the bounds are bounds: no input inside the training ranges goes past them
    with warnings.catch_warnings():  # torch >= 2.10: torch.jit is deprecated; it loads
        warnings.simplefilter("ignore", DeprecationWarning)
        model = torch.jit.load(str(out / "model.pt"))
    h, k = torch.as_tensor(_corners(lo, hi), dtype=torch.float32), 0
    with torch.no_grad():
        for layer in model.children():
            h = layer(h)
            if layer.original_name == "Linear":
                assert float(h.abs().max()) <= fixed["layers"][k]["max_abs_output"] * (1 + 1e-6)
                k += 1
    assert k == len(fixed["layers"]) == 3


def test_an_ordinary_model_fits_the_readme_types(tmp_path: Path) -> None:
    scaler = {"min": [-1.0] * 16, "max": [2.0] * 16}
    out = export_model(_study(tmp_path / "s", {}, scaler=scaler), out=tmp_path / "e").out
    fixed = json.loads((out / "model.json").read_text())["fixed_point"]
    assert fixed["readme_types_hold"] and fixed["input_integer_bits"] == 3
    assert "every layer's weights, biases and outputs fit `fixed<32,16>`" in (
        out / "README.md").read_text()


def test_a_near_constant_feature_far_from_zero_is_exported_with_the_means_subtracted(
        tmp_path: Path) -> None:
    """std 1e-5 around 0.5: folded into the first layer's bias, the means cancel in float32;
    the export stopped with 'please report this' (a jetstudy bug?). Now it subtracts the
    means first (an ONNX Sub), says why, and still holds the study's model to 1e-5."""
    import onnxruntime as ort

    from jetstudy.study.deployable import fold_for_deployment
    from jetstudy.study.export import TOLERANCE

    mean, std = np.full(16, 0.5), np.full(16, 2.0)
    std[2] = 1e-5
    lo, hi = mean - 3 * std, mean + 3 * std
    folder = _study(tmp_path / "s", {}, scaler={"std": std.tolist(), "min": lo.tolist(),
                                                "max": hi.tolist()})
    # the plain fold is what failed: the means cancel in the bias
    record = torch.load(folder / "best" / "model.pt", weights_only=True)
    model = build_mlp(MLPArch.from_dict(record["arch"]))
    model.load_state_dict(record["state_dict"])
    x = (mean + std * np.random.default_rng(1).standard_normal((500, 16))).astype(np.float32)
    with torch.no_grad():
        want = torch.softmax(model.eval()(torch.as_tensor(
            ((x - mean) / std).astype(np.float32))), 1).numpy()
        plain = fold_for_deployment(model, mean, std)(torch.as_tensor(x)).numpy()
    assert np.abs(plain - want).max() > TOLERANCE

    out = export_model(folder, out=tmp_path / "e").out
    meta = json.loads((out / "model.json").read_text())
    assert HLF_FEATURES[2] in meta["check"]["input_shift"]
    assert meta["architecture"]["deployed_layers"][0]["type"] == "InputShift"
    assert meta["input"]["standardisation"]["folded_into"].startswith("a Sub of the training")
    assert "first subtracts the training means" in (out / "README.md").read_text()
    got = ort.InferenceSession(str(out / "model.onnx")).run(None, {"features": x})[0]
    assert np.abs(got - want).max() <= TOLERANCE
    assert len(meta["fixed_point"]["layers"]) == 3  # bounds through the subtraction too


def test_logits_past_the_softmax_input_type_are_said_to_saturate(tmp_path: Path) -> None:
    scaler = {"min": [-3000.0] * 16, "max": [3000.0] * 16}  # ranges far past the spread
    out = export_model(_study(tmp_path / "s", {}, scaler=scaler), out=tmp_path / "e").out
    last = json.loads((out / "model.json").read_text())["fixed_point"]["layers"][-1]
    assert last["max_abs_output"] >= 128
    assert "saturate" in (out / "README.md").read_text()
