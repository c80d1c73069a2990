"""Which weights ``jetstudy export`` deploys (:mod:`jetstudy.study.export`): the study folder
checked to be one, then the study's best (``best/model.pt``, the model the test split
evaluated) or, with ``--trial ID``, that trial's best epoch (``trials/<id>/best.pt``), each
loaded without running code from the file (``weights_only``) and rebuilt as the eval-mode
network of its recorded architecture. An unknown id is answered with the valid ones and the
trial it probably meant; a study without a best names the trials fully trained.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jetstudy.study.export_inputs import ExportError, check_record
from jetstudy.study.export_training import fully_trained_ids
from jetstudy.study.export_meta import read_json as _read_json
from jetstudy.trainables.errors import listed

__all__ = ["Weights", "study_folder", "trial_ids", "weights"]


def study_folder(results: Path) -> Path:
    if not results.is_dir() or not (results / "config.yaml").is_file():
        raise ExportError(
            f"{results} is not a jetstudy results folder (no config.yaml); give the folder "
            f"`jetstudy run` printed as 'results: ...'")
    if not (results / "scaler.json").is_file():
        raise ExportError(f"{results} has no scaler.json, so the model's input scaling is "
                          f"unknown; export a study whose data preparation finished")
    return results


def trial_ids(results: Path) -> list[str]:
    trials = results / "trials"
    return sorted(p.name for p in trials.iterdir() if p.is_dir()) if trials.is_dir() else []


def _load(path: Path) -> dict[str, Any]:
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # damaged, or holds more than tensors and plain values
        raise ExportError(f"{path} cannot be loaded safely ({type(exc).__name__}); jetstudy "
                          f"never runs code from a checkpoint: rerun the trial") from None


@dataclass(frozen=True)
class Weights:
    model: Any          # the eval-mode build_mlp network
    arch: Any           # its MLPArch
    trial_id: str
    epoch: int
    source: str         # the file the weights came from, relative to the study folder
    is_study_best: bool


def _study_best(results: Path) -> Weights | None:
    path = results / "best" / "model.pt"
    if not path.is_file():
        return None
    from jetstudy.trainables.model import MLPArch, build_mlp

    record = check_record(path, _load(path))
    try:
        arch = MLPArch.from_dict(record["arch"])
        model = build_mlp(arch)
        model.load_state_dict(record["state_dict"])
    except Exception as exc:  # an arch or weights that do not fit each other
        raise ExportError(f"{path} holds a model that cannot be rebuilt ({type(exc).__name__});"
                          f" pass --trial ID to export one trial's own weights, or rerun the "
                          f"study") from None
    epoch = record.get("epoch")
    if epoch is None:  # a study from before best/model.pt named the epoch
        epoch = (_read_json(results / "best" / "test_metrics.json") or {}).get("epoch")
    return Weights(model.eval(), arch, str(record["trial_id"]),
                    int(epoch) if epoch is not None else -1, "best/model.pt", True)


def _shown(ids: list[str]) -> str:
    return listed(ids, total=True)


def _trial_hint(results: Path, given: str, ids: list[str]) -> str:
    """The trial ``given`` probably meant: its id in another case or cut short (065FB39F,
    065f), or, for a number, the trial the tables number so (the report's trial numbers)."""
    word = given.strip().lower()
    near = [i for i in ids if i.lower() == word] or (
        [i for i in ids if i.lower().startswith(word)] if len(word) >= 3 else [])
    if len(near) == 1:
        return f" (did you mean {near[0]!r}?)"
    if not word.isdigit():
        return ""
    try:
        import pandas as pd

        table = pd.read_parquet(results / "trials.parquet", columns=["trial_id", "trial_number"])
        match = table.loc[table["trial_number"] == int(word), "trial_id"].tolist()
    except Exception:  # an older or damaged table: no number to look up
        return ""
    return (f" (--trial takes a trial id; trial number {word} is {match[0]!r})"
            if len(match) == 1 and str(match[0]) in ids else "")


def _trial_weights(results: Path, trial_id: str) -> Weights:
    from jetstudy.study.evaluate import BestEpochMismatch, load_best_model
    from jetstudy.trainables.trialfiles import BEST_FILE, STATE_FILE

    ids = trial_ids(results)
    if trial_id not in ids:
        known = f"trials in {results / 'trials'}: {_shown(ids)}" if ids else "it has no trials"
        raise ExportError(f"--trial {trial_id!r}: no such trial in {results} ({known})"
                          f"{_trial_hint(results, trial_id, ids)}; give one of these ids")
    folder = results / "trials" / trial_id
    if not (folder / BEST_FILE).is_file() and not (folder / STATE_FILE).is_file():
        raise ExportError(f"--trial {trial_id!r}: {folder} holds no weights ({BEST_FILE}): "
                          f"the trial has not finished an epoch; export another trial")
    try:
        model, arch, epoch = load_best_model(folder / STATE_FILE)
    except BestEpochMismatch as exc:
        raise ExportError(f"--trial {trial_id!r}: {exc}; export another trial") from None
    except Exception as exc:
        raise ExportError(f"--trial {trial_id!r}: the weights in {folder} cannot be loaded "
                          f"safely ({type(exc).__name__}); rerun the trial") from None
    return Weights(model, arch, trial_id, epoch, f"trials/{trial_id}/{BEST_FILE}", False)


def weights(results: Path, trial_id: str | None) -> Weights:
    best = _study_best(results)
    if trial_id is None:
        if best is None:
            ids = trial_ids(results)
            if not ids:
                raise ExportError(f"{results} has no best model (best/model.pt) and no "
                                  f"trials; run the study to the end, then export")
            done = fully_trained_ids(results)
            which = (f"a fully trained one: {_shown(done)}" if done else
                     f"none is fully trained yet (of {_shown(ids)}), so with --allow-unfinished")
            raise ExportError(f"{results} has no best model yet (no best/model.pt: the study "
                              f"has not finished); pass --trial ID to export one trial's best "
                              f"epoch, {which}")
        return best
    if best is not None and best.trial_id == trial_id:
        return best
    return _trial_weights(results, trial_id)
