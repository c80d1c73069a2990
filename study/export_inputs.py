"""What ``jetstudy export`` reads from a study folder, checked before anything is written.

A study folder can be damaged by hand, by a full disk or by a copy that stopped halfway; each
file the export needs (``config.yaml``, ``scaler.json``, ``best/model.pt``'s record) is read
and checked here, so a damaged one answers with one :class:`ExportError` naming the file and
the fix, and no export folder appears.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from jetstudy.trainables.errors import JetstudyError
from jetstudy.trainables.schema import HLF_FEATURES
from jetstudy.trainables.plain_read import read_plain

__all__ = ["ExportError", "read_study_config", "read_scaler", "check_record"]


class ExportError(JetstudyError):
    """The export cannot be made: the message names the folder or trial and the fix."""


def read_study_config(results: Path) -> dict[str, Any]:
    """``config.yaml`` as the plain mapping ``model.json`` records (damaged: one error)."""
    import yaml

    path = results / "config.yaml"
    try:
        raw = yaml.safe_load(read_plain(path))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problem = getattr(exc, "strerror", None) or type(exc).__name__
        raise ExportError(f"{path} cannot be read as YAML ({problem}); it is damaged: "
                          f"restore it from a copy of the study, or rerun the study") from None
    if not isinstance(raw, dict):
        raise ExportError(f"{path} is not a jetstudy config (a mapping of sections); it is "
                          f"damaged: restore it from a copy of the study, or rerun the study")
    return raw


def read_scaler(results: Path) -> dict[str, Any]:
    """``scaler.json``: the 16 features in the README's order, a finite mean and a finite
    std > 0 for each (the export folds them into its first layer), and where recorded the
    training ranges ``min`` <= ``max``, finite (its check jets and ``input_ranges``)."""
    path = results / "scaler.json"
    try:
        scaler = json.loads(read_plain(path))
    except (OSError, UnicodeDecodeError, ValueError):
        scaler = None
    n = len(HLF_FEATURES)
    problem = None

    def numbers(values: Any) -> bool:
        return isinstance(values, list) and len(values) == n and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in values)

    if not isinstance(scaler, dict):
        problem = "not a JSON object"
    elif scaler.get("features") != list(HLF_FEATURES):
        problem = "its `features` are not the 16 inputs in the README's order"
    else:
        # min/max (the training ranges) may be absent, from a study prepared before
        # scaler.json recorded them; present, they set the export's check jets and the
        # README's fixed-point advice, so they must be numbers too
        keys = ["mean", "std"] + [k for k in ("min", "max") if k in scaler]
        for key in keys:
            if not numbers(scaler.get(key)):
                problem = f"its `{key}` is not a list of {n} finite numbers"
                break
        else:
            if min(scaler["std"]) <= 0:
                problem = "its `std` holds a value <= 0"
            elif "min" in scaler and "max" in scaler and any(
                    a > b for a, b in zip(scaler["min"], scaler["max"])):
                problem = "its `min` is above its `max` for a feature"
    if problem is not None:
        raise ExportError(f"{path} is damaged ({problem}), so the model's input scaling is "
                          f"unknown; restore it from a copy of the study, or rerun the study")
    return scaler


def check_record(path: Path, record: Any) -> dict[str, Any]:
    """``best/model.pt`` must hold the mapping the study wrote: ``arch``, ``state_dict`` and
    ``trial_id``."""
    missing = [k for k in ("arch", "state_dict", "trial_id")
               if not isinstance(record, dict) or k not in record]
    if missing:
        raise ExportError(f"{path} is not a jetstudy best model (it lacks {', '.join(missing)});"
                          f" pass --trial ID to export one trial's own weights, or rerun the "
                          f"study")
    return record
