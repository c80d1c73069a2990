"""``provenance.json``: what produced a results folder (versions, code, machine, when).

Written by the driver when a study starts (``started``) and again when it ends (``ended``), so
a folder whose driver died still says what began it. On resume the first ``started`` is kept
and this run is appended to ``runs``.
"""

from __future__ import annotations

import json
import logging
import platform
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from jetstudy.study.tables import write_json

__all__ = ["PROVENANCE", "collect", "write_provenance", "mark_ended"]

logger = logging.getLogger(__name__)

PROVENANCE = "provenance.json"
_PACKAGES = ("jetstudy", "torch", "ray", "optuna", "numpy", "pandas", "h5py")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def git_commit(where: Path | None = None) -> dict[str, Any] | None:
    """The commit of the jetstudy source in use and whether it had local changes; ``None``
    outside a git checkout (an installed wheel) or without git."""
    where = where or Path(__file__).resolve().parent.parent
    try:
        run = lambda *a: subprocess.run(["git", *a], cwd=where, capture_output=True,  # noqa: E731
                                        text=True, timeout=10, check=True).stdout.strip()
        return {"commit": run("rev-parse", "HEAD"),
                "dirty": bool(run("status", "--porcelain", "--untracked-files=no"))}
    except (OSError, subprocess.SubprocessError):
        return None


def _device(requested: str) -> dict[str, Any]:
    import torch

    out: dict[str, Any] = {"requested": requested, "cuda_available": torch.cuda.is_available(),
                           "torch_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        out["cuda"] = torch.version.cuda
        out["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return out


def collect(device: str = "auto") -> dict[str, Any]:
    """Versions of jetstudy and its main libraries, the git commit (when the source is a
    checkout), host, Python and the driver's device view. ``device`` is ``training.device``."""
    return {"versions": {name: _version(name) for name in _PACKAGES},
            "git": git_commit(), "host": socket.gethostname(),
            "platform": platform.platform(), "python": sys.version.split()[0],
            "device": _device(device), "argv": sys.argv}


def write_provenance(folder: Path, device: str = "auto",
                     packing: dict[str, Any] | None = None,
                     sampler: dict[str, Any] | None = None) -> dict[str, Any]:
    """Record this run's start in ``folder/provenance.json`` (keeping an earlier run's
    ``started`` and ``runs``, on resume); ``packing``: what ``resources.pack_size`` became
    for this run (``jetstudy.study.packing.PackPlan.record``); ``sampler``: the Optuna
    sampler's settings this run (``jetstudy.study.searcher.sampler_record``)."""
    path = folder / PROVENANCE
    old: dict[str, Any] = {}
    if path.is_file():
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError):
            logger.warning("provenance: %s unreadable; starting it afresh", path)
    record = {**collect(device), "started": _now(), "ended": None}
    if packing is not None:
        record["packing"] = packing
    if sampler is not None:
        record["sampler"] = sampler
    out = {**record, "started": old.get("started", record["started"]),
           "runs": [*old.get("runs", []), {"started": record["started"], "ended": None,
                                           "host": record["host"], "git": record["git"],
                                           **({"sampler": sampler} if sampler else {})}]}
    write_json(out, path)
    return out


def mark_ended(folder: Path) -> None:
    """Set ``ended`` (the study's and this run's) in ``folder/provenance.json``."""
    path = folder / PROVENANCE
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    record["ended"] = _now()
    if record.get("runs"):
        record["runs"][-1]["ended"] = record["ended"]
    write_json(record, path)
