"""``provenance.json``: what produced a results folder (versions, code, machine, data, when).

Written by the driver when a study starts (``started``) and again when it ends (``ended``), so
a folder whose driver died still says what began it. On resume the first ``started`` is kept
and this run is appended to ``runs``. ``data`` lists each data file the study read (from
``data_summary.json``) with its size and SHA-256 (files past :data:`HASH_BUDGET` bytes in all
are listed unhashed, with why); ``cwd`` is the folder relative paths started from, and
``rerun`` the command that trains the same study again into a new folder (``rerun_checked``:
the same through ``jetstudy rerun``, :mod:`jetstudy.study.rerun`, which also finds a moved
folder's data and checks it by content).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shlex
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from jetstudy.study.fetch import file_sha256
from jetstudy.study.tables import write_json
from jetstudy.trainables.plain_read import read_plain

__all__ = ["PROVENANCE", "HASH_BUDGET", "collect", "code_sha256", "data_checksums",
           "rerun_command",
           "write_provenance", "mark_ended"]

logger = logging.getLogger(__name__)

PROVENANCE = "provenance.json"
_PACKAGES = ("jetstudy", "torch", "ray", "optuna", "numpy", "pandas", "h5py", "scipy",
             "pyarrow")
#: Data files are hashed until this many bytes in all (a few seconds at study start); the
#: rest are listed with their size only (the full HDF5 set is tens of GB).
HASH_BUDGET = 2 << 30


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def git_commit(where: Path | None = None) -> dict[str, Any] | None:
    """The commit of the jetstudy source in use and whether it had local changes; ``None``
    outside a git checkout of jetstudy (an installed wheel) or without git.

    ``where`` (the folder holding ``study/``) must be the top of a repository that tracks this
    very file: an installed wheel in a virtual environment inside some other repository (the
    user's project) is not that repository's commit."""
    where = (where or Path(__file__).resolve().parent.parent).resolve()
    try:
        run = lambda *a: subprocess.run(["git", *a], cwd=where, capture_output=True,  # noqa: E731
                                        text=True, timeout=10, check=True).stdout.strip()
        if Path(run("rev-parse", "--show-toplevel")).resolve() != where:
            return None  # inside another repository, not the top of jetstudy's
        run("ls-files", "--error-unmatch", "--", "study/provenance.py")  # fails: untracked
        return {"commit": run("rev-parse", "HEAD"),
                "dirty": bool(run("status", "--porcelain", "--untracked-files=no"))}
    except (OSError, subprocess.SubprocessError):
        return None


def code_sha256(root: Path | None = None) -> str:
    """One SHA-256 over jetstudy's own source (the ``.py`` files of ``study``,
    ``trainables``, ``analysis`` and the example configs, by relative path and content): tells
    two installs of the same version apart where there is no git commit (a wheel)."""
    root = root or Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    files = [p for part, pattern in (("study", "*.py"), ("trainables", "*.py"),
                                     ("analysis", "*.py"), ("configs", "*.yaml"))
             for p in (root / part).glob(pattern)]
    for path in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _device(requested: str) -> dict[str, Any]:
    import torch

    out: dict[str, Any] = {"requested": requested, "cuda_available": torch.cuda.is_available(),
                           "torch_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        out["cuda"] = torch.version.cuda
        out["cudnn"] = torch.backends.cudnn.version()
        out["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return out


def data_checksums(folder: Path, budget: int = HASH_BUDGET) -> list[dict[str, Any]] | None:
    """Each data file ``data_summary.json`` names (the files the study read, in order) with
    ``bytes`` and ``sha256``; ``None`` when the summary is missing or unreadable."""
    try:
        sources = json.loads(read_plain(folder / "data_summary.json")).get("sources")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(sources, list):
        return None
    out: list[dict[str, Any]] = []
    for source in map(str, sources):
        entry: dict[str, Any] = {"path": source}
        try:
            size = Path(source).stat().st_size
            entry["bytes"] = size
            if size <= budget:
                entry["sha256"] = file_sha256(Path(source))
                budget -= size
            else:
                entry["sha256"] = None
                entry["why"] = (f"not hashed: past {HASH_BUDGET >> 30} GiB of data hashed at "
                                f"start; `sha256sum` it to compare")
        except OSError as exc:  # gone since it was read
            entry["sha256"] = None
            entry["why"] = f"not readable now ({type(exc).__name__})"
        out.append(entry)
    return out


def rerun_command(folder: Path) -> str:
    """The command that trains the study in ``folder`` again, from the folder it ran in (its
    relative paths start there), into a new folder beside it (``<name>-rerun``): the saved
    ``config.yaml`` holds every setting, the seeds included."""
    folder = Path(folder).absolute()
    return (f"cd {shlex.quote(os.getcwd())} && jetstudy run "
            f"{shlex.quote(str(folder / 'config.yaml'))} "
            f"--set storage.name={shlex.quote(folder.name + '-rerun')}")


def collect(device: str = "auto") -> dict[str, Any]:
    """Versions of jetstudy and its main libraries, the git commit (when the source is a
    checkout), host, Python and the driver's device view. ``device`` is ``training.device``."""
    return {"versions": {name: _version(name) for name in _PACKAGES},
            "git": git_commit(), "code_sha256": code_sha256(),
            "host": socket.gethostname(), "cwd": os.getcwd(),
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
            old = json.loads(read_plain(path))
        except (OSError, ValueError):
            logger.warning("provenance: %s unreadable; starting it afresh", path)
    record = {**collect(device), "started": _now(), "ended": None,
              "data": data_checksums(folder), "rerun": rerun_command(folder),
              # the same, checked (data by content, versions), from wherever the folder is
              "rerun_checked": f"jetstudy rerun {shlex.quote(str(Path(folder).absolute()))}"}
    if packing is not None:
        record["packing"] = packing
    if sampler is not None:
        record["sampler"] = sampler
    out = {**record, "started": old.get("started", record["started"]),
           "runs": [*old.get("runs", []), {"started": record["started"], "ended": None,
                                           "host": record["host"], "git": record["git"],
                                           "data": record["data"],
                                           **({"sampler": sampler} if sampler else {})}]}
    write_json(out, path)
    return out


def mark_ended(folder: Path) -> None:
    """Set ``ended`` (the study's and this run's) in ``folder/provenance.json``. Called as the
    driver ends, however it ends: a write that fails (a full disk) is a warning and leaves the
    record as it was (``ended`` null), never an error raised in place of the study's own
    outcome (a Ctrl-C's exit 130 and --resume command, or the table write that failed first)."""
    path = folder / PROVENANCE
    try:
        record = json.loads(read_plain(path))
    except (OSError, ValueError):
        return
    record["ended"] = _now()
    if record.get("runs"):
        record["runs"][-1]["ended"] = record["ended"]
    try:
        write_json(record, path)
    except OSError as exc:
        logger.warning("could not record the end of this run in %s (%s); its 'ended' stays "
                       "null", path, exc.strerror or exc)
