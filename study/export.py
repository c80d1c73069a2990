"""``jetstudy export``: a study's model as files a trigger group can deploy.

From a results folder, one trial's best epoch (by default the study's best, ``best/model.pt``;
any other with ``trial_id``: its ``trials/<id>/best.pt``; read by :mod:`export_weights`) is
folded into one network on the raw 16 features that ends in a softmax
(:mod:`jetstudy.study.deployable`), and written as:

* ``model.onnx``: input ``features`` (jets, 16) float32, raw values in the README's order;
  output ``probabilities`` (jets, 5) in the order g, q, W, Z, t;
* ``model.pt``: the same network as TorchScript (``torch.jit.load``);
* ``model.json``: architecture, feature and class order, the study's and the trial's
  configuration, trial id and best epoch, the test metrics (the study's best only), the input
  ranges seen in training, the export's own check and its provenance (:mod:`export_meta`);
* ``README.md``: how to load it with onnxruntime and torch, and how to hand it to hls4ml.

Checked, not assumed: before anything is written, the ONNX graph (run by onnxruntime) and the
TorchScript model are compared with the study's own model (standardise, then the eval-mode
network, then softmax) on jets drawn around the training means; a difference above
:data:`TOLERANCE` stops the export.

The output folder is jetstudy's only where it says so (:data:`MANIFEST`, with each file's
SHA-256): a folder holding anything else is refused, and an earlier export is replaced only
with ``force``. Needs the ``export`` extra (``pip install 'jetstudy[export]'``).
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ContextManager, Iterator

import numpy as np

from jetstudy.study.export_inputs import ExportError, read_scaler, read_study_config
from jetstudy.study.export_meta import metadata as _metadata
from jetstudy.study.export_meta import read_json as _read_json
from jetstudy.study.export_training import trial_training, unfinished_refusal
from jetstudy.study.export_weights import Weights, study_folder, weights
from jetstudy.study.export_readme import export_readme
from jetstudy.study.fetch import sha256_or_none
from jetstudy.trainables.atomic import held_signals, no_room, write_bytes_atomic
from jetstudy.trainables.errors import JetstudyError, listed
from jetstudy.trainables.schema import CLASSES
from jetstudy.trainables.staging import (clear_old_manifest_temporaries, clear_stale_staging,
                                         folder_lock, looks_like_staging, new_folders,
                                         staging_folder)

__all__ = ["export_model", "ExportError", "ExportOutcome", "EXPORT_FILES", "MANIFEST",
           "TOLERANCE"]

logger = logging.getLogger(__name__)

EXPORT_FILES: tuple[str, ...] = ("model.onnx", "model.pt", "model.json", "README.md")
#: jetstudy's list of the files it wrote into an export folder, with their SHA-256.
MANIFEST = ".jetstudy-export.json"
_TMP = ".export-tmp-"
#: Largest difference in any class probability allowed between the exported files and the
#: study's own model (float32 folding typically agrees to ~1e-6).
TOLERANCE = 1e-5
#: Jets the export's own check runs through all three models.
CHECK_JETS = 512


@dataclass(frozen=True)
class ExportOutcome:
    """Where the export went and what it holds."""

    out: Path
    trial_id: str
    epoch: int
    files: tuple[str, ...]
    max_difference: float   # largest |p_exported - p_study| of the export's own check
    #: how far the trial trained (model.json ``training``); a ``warning`` when not fully
    training: dict[str, Any] | None = None


def _extra() -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime
    except ImportError as exc:
        raise ExportError(
            f"jetstudy export needs the export extra ({exc.name} is not installed): "
            f"pip install 'jetstudy[export]' (onnx and onnxruntime)") from None
    return onnx, onnxruntime


# ---- build, check, write ---------------------------------------------------------------------

def _check_jets(scaler: dict[str, Any], n: int) -> np.ndarray:
    """Raw jets around the training means (fixed seed), clipped to the training ranges."""
    rng = np.random.default_rng(0)
    mean, std = np.asarray(scaler["mean"]), np.asarray(scaler["std"])
    x = mean + std * rng.standard_normal((n, len(mean)))
    if isinstance(scaler.get("min"), list) and isinstance(scaler.get("max"), list):
        x = np.clip(x, scaler["min"], scaler["max"])
    return x.astype(np.float32)


def _study_probabilities(model: Any, scaler: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """What the study itself computes: standardise (float64, then float32), model, softmax."""
    import torch

    z = ((x.astype(np.float64) - scaler["mean"]) / np.where(np.asarray(scaler["std"]) > 0,
                                                            scaler["std"], 1.0))
    with torch.no_grad():
        return torch.softmax(model.eval()(torch.as_tensor(z.astype(np.float32))), 1).numpy()


def _write_checked(folded: Any, w: Weights, scaler: dict[str, Any], tmp: Path
                   ) -> dict[str, float]:
    """Write ``folded`` as ``model.onnx`` and ``model.pt`` into ``tmp``; the largest
    difference of each from the study's own model on the check jets."""
    import torch

    from jetstudy.study.deployable import INPUT_NAME, InputShift, onnx_model

    onnx, ort = _extra()
    doc = (f"jetstudy tagger, trial {w.trial_id} epoch {w.epoch}: raw 16 HLF in, "
           f"probabilities of {', '.join(CLASSES)} out")
    from importlib.metadata import version

    shifted = any(isinstance(m, InputShift) for m in folded)
    # the order of the inputs and outputs travels inside the file too (onnxruntime:
    # session.get_modelmeta().custom_metadata_map), for users who only get model.onnx
    proto = onnx_model(folded, doc, {
        "features": ",".join(scaler["features"]), "classes": ",".join(CLASSES),
        "raw_inputs": ("true: the training means are subtracted (Sub), the rest of the "
                       "standardisation is folded into the first layer" if shifted else
                       "true: the standardisation is folded into the first layer"),
        "trial_id": w.trial_id, "best_epoch": str(w.epoch)})
    proto.producer_version = version("jetstudy")
    # each file made in memory, then written by Python: torch.jit's own writer aborts the
    # process on a full disk or a file-size limit (EFBIG), with no error to report
    write_bytes_atomic(tmp / "model.onnx", proto.SerializeToString())
    with warnings.catch_warnings():  # torch >= 2.10 calls torch.jit deprecated; still works
        warnings.simplefilter("ignore", DeprecationWarning)
        buffer = io.BytesIO()
        torch.jit.save(torch.jit.script(folded), buffer)
        write_bytes_atomic(tmp / "model.pt", buffer.getvalue())
        scripted = torch.jit.load(str(tmp / "model.pt"))
    x = _check_jets(scaler, CHECK_JETS)
    want = _study_probabilities(w.model, scaler, x)
    session = ort.InferenceSession(str(tmp / "model.onnx"), providers=["CPUExecutionProvider"])
    got_onnx = session.run(None, {INPUT_NAME: x})[0]
    with torch.no_grad():
        got_ts = scripted(torch.as_tensor(x)).numpy()
    return {"onnxruntime": float(np.abs(got_onnx - want).max()),
            "torchscript": float(np.abs(got_ts - want).max())}


def _build(w: Weights, scaler: dict[str, Any], tmp: Path) -> tuple[Any, dict[str, Any]]:
    from jetstudy.study.deployable import fold_for_deployment, fold_precision_problem

    mean, std = np.asarray(scaler["mean"]), np.asarray(scaler["std"])
    folded = fold_for_deployment(w.model, mean, std)
    diffs = _write_checked(folded, w, scaler, tmp)

    def agrees(d: dict[str, float]) -> bool:
        return bool(np.isfinite(max(d.values())) and max(d.values()) <= TOLERANCE)

    shifted = None
    if not agrees(diffs):  # a feature that hardly varied far from 0: subtract the means first
        shifted = fold_precision_problem(scaler["features"], mean, std)
        if shifted is not None:
            folded = fold_for_deployment(w.model, mean, std, shift_inputs=True)
            diffs = _write_checked(folded, w, scaler, tmp)
    worst = max(diffs.values())
    if not agrees(diffs):
        raise ExportError(f"the exported model disagrees with the study's by {worst:.3g} "
                          f"(onnxruntime {diffs['onnxruntime']:.3g}, TorchScript "
                          f"{diffs['torchscript']:.3g}; allowed {TOLERANCE:g}); nothing was "
                          f"exported: " + (f"{shifted}, and subtracting the means first did "
                                           f"not help" if shifted else
                                           "please report this with the trial's config"))
    check = {"jets": CHECK_JETS, "what": "raw jets around the training means, clipped to the "
             "training ranges; largest |p_exported - p_study| over jets and classes",
             "max_abs_difference": diffs, "tolerance": TOLERANCE,
             # why the network subtracts the training means first (an ONNX Sub), or None
             "input_shift": shifted}
    return folded, check


def _check_out(out: Path, force: bool) -> None:
    """Refuse a folder with anything jetstudy did not write there, and an earlier export
    unless ``force``."""
    if out.is_symlink():
        raise ExportError(f"-o {out}: a link (to {os.readlink(out)}), not a folder; jetstudy "
                          f"never writes through a link: give the folder itself, or a new one")
    if out.exists() and not out.is_dir():
        raise ExportError(f"-o {out}: not a folder; give a new or empty folder")
    entries = sorted(os.listdir(out)) if out.is_dir() else []
    manifest = _read_json(out / MANIFEST) if MANIFEST in entries else None
    manifest_ours = (isinstance(manifest, dict) and manifest.get("written_by") == "jetstudy export"
                     and not (out / MANIFEST).is_symlink())  # else the user's: never replaced
    recorded = manifest.get("files", {}) if manifest_ours else {}
    recorded = recorded if isinstance(recorded, dict) else {}
    ours = {n for n, digests in recorded.items() if n in EXPORT_FILES and n in entries
            and isinstance(digests, list) and not (out / n).is_symlink()
            and sha256_or_none(out / n) in digests}
    foreign = [n for n in entries if n not in ours  # staging folders (an older export's
               and not looks_like_staging(out, n, _TMP)  # manifest temporary), else the user's
               and not re.match(re.escape(_TMP) + r"manifest-[a-z0-9_]{8}\.tmp\Z", n)
               and (n != MANIFEST or not manifest_ours)]
    if foreign:
        raise ExportError(
            f"-o {out}: the folder holds files jetstudy export did not write, or changed since "
            f"({listed(foreign, total=True)}); give a new or empty folder with -o (jetstudy never "
            f"overwrites your files)")
    if ours and not force:
        raise ExportError(f"-o {out}: the folder holds an earlier export; pass --force to "
                          f"replace it, or give another folder with -o")


def _write_manifest(out: Path, files: dict[str, list[str]], trial_id: str,
                    stage: Path) -> None:
    """Record the export's files, name -> accepted SHA-256s: written in the staging folder
    ``stage`` and renamed into place (atomic, no loose temporary in ``out``). Before the files
    are moved in with old and new contents (a kill midway leaves every file recorded), after
    with the new ones only."""
    text = json.dumps({"written_by": "jetstudy export", "trial_id": trial_id,
                       "files": files}, indent=1) + "\n"
    (stage / MANIFEST).write_text(text)
    os.replace(stage / MANIFEST, out / MANIFEST)


def _staging(target: Path) -> ContextManager[Path]:
    """A new staging folder in ``target`` (a ``with`` block's), after clearing those killed
    exports left there (provably theirs only: :mod:`jetstudy.trainables.staging`)."""
    allowed = {*EXPORT_FILES, MANIFEST}.__contains__
    clear_stale_staging(target, _TMP, "jetstudy export", allowed)
    clear_old_manifest_temporaries(target, _TMP, "jetstudy export")  # an older jetstudy's
    return staging_folder(target, _TMP, "jetstudy export")


@contextmanager
def _named_final(tmp: Path, target: Path) -> Iterator[None]:
    """No room to write a file in the staging folder ``tmp`` is told of the file it was for,
    ``target``/name (the staging folder is removed; the user looks for the export's file)."""
    try:
        yield
    except OSError as exc:
        if no_room(exc) is None or not exc.filename or Path(exc.filename).parent != tmp:
            raise
        raise OSError(exc.errno, exc.strerror, str(target / Path(exc.filename).name)) from None


def _not_anothers_export(out: Path, results: Path) -> None:
    """``-o`` inside another study's own ``export/`` folder is refused: that study's exports
    would hold this one's model (with ``--force``, in place of its own)."""
    from jetstudy.study.paths import is_study_folder

    real = Path(os.path.realpath(out))
    owner = real.parent.parent
    if (real.parent.name.casefold() == "export" and is_study_folder(owner)  # EXPORT: the same
            # folder on a file system that ignores case (macOS's, Windows'), or once copied there
            and not os.path.samefile(owner, results)):
        raise ExportError(f"-o {out}: inside the study {owner}'s own export/ folder, where its "
                          f"exports are read as that study's models; give a folder outside it, "
                          f"or leave -o out for {results / 'export'}/<trial id>")


def _busy(target: Path) -> ExportError:
    """Another export holds ``target`` (:func:`~jetstudy.trainables.staging.folder_lock`)."""
    return ExportError(f"-o {target}: another jetstudy export is writing into it now; wait "
                       f"for it to finish, or give another folder with -o")


def export_model(results: str | os.PathLike[str], trial_id: str | None = None,
                 out: str | os.PathLike[str] | None = None, force: bool = False,
                 allow_unfinished: bool = False) -> ExportOutcome:
    """Export ``trial_id``'s best epoch (default: the study's best) of the study in
    ``results`` into ``out`` (default ``<results>/export/<trial id>``); see the module doc.

    A ``trial_id`` that is not fully trained (stopped early by ASHA, failed, still running:
    :func:`~jetstudy.study.export_meta.unfinished_refusal`) is refused unless
    ``allow_unfinished``; the study's best is always exported (``model.json`` -> ``training``
    and :attr:`ExportOutcome.training` say how far it trained).

    >>> export_model("results/demo")                     # doctest: +SKIP
    ExportOutcome(out=PosixPath('results/demo/export/3f2a9c1e'), trial_id='3f2a9c1e', ...)
    """
    if out is not None and not str(out).strip():  # Path("") would be the current folder
        raise ExportError(f"-o {str(out)!r} is empty; give a new or empty folder, or leave -o "
                          f"out for RESULTS/export/<trial id>")
    _refuse_urls(results, out)  # Path() would fold 's3://b/x' into a local 's3:/b/x'
    results = study_folder(Path(results))
    if out is not None:
        _not_anothers_export(Path(out), results)
    _extra()
    read_study_config(results)  # damaged study files stop here, before any folder appears
    scaler = read_scaler(results)
    w = weights(results, trial_id)
    training = trial_training(results, w.trial_id, w.is_study_best)
    if not w.is_study_best and not allow_unfinished:
        if (refusal := unfinished_refusal(results, w.trial_id, training)) is not None:
            raise ExportError(refusal)
    if out is None:  # inside the study folder: a link there (export/) never leads out of it
        from jetstudy.study.paths import inside

        for link in (results / "export", results / "export" / w.trial_id):
            if link.is_symlink():
                raise ExportError(f"{link} is a link (to {os.readlink(link)}): the export would "
                                  f"land outside the study folder; remove the link, or give "
                                  f"the folder with -o")
        try:
            target = inside(results, "export", w.trial_id)
        except JetstudyError as exc:
            raise ExportError(f"{exc}, or give another folder with -o") from None
        if (results / "export").exists() and not (results / "export").is_dir():
            raise ExportError(f"{results / 'export'} is a file, where jetstudy keeps the "
                              f"study's exports (export/<trial id>/); move it out of {results}, "
                              f"or give a folder with -o")
    else:
        target = Path(out)
    _check_out(target, force)
    if out is not None:
        from jetstudy.study.paths import inside_study_part

        if (held := inside_study_part(target)) is not None:
            raise ExportError(
                f"-o {out}: inside the study folder {held[0]}'s own {held[1]}/, which jetstudy "
                f"rewrites or clears (best/ is replaced whole on the next evaluation); give a "
                f"folder outside it, or leave -o out for RESULTS/export/<trial id>")
    # a failed or stopped export leaves no empty folder it made; a new staging name, marked:
    with new_folders(target), folder_lock(target, lambda: _busy(target)), \
            _staging(target) as tmp, _named_final(tmp, target):
        folded, check = _build(w, scaler, tmp)
        meta = _metadata(results, w, scaler, folded, check)
        (tmp / "model.json").write_text(json.dumps(meta, indent=1, default=str) + "\n")
        (tmp / "README.md").write_text(export_readme(meta))
        new = {n: sha256_or_none(tmp / n) or "" for n in EXPORT_FILES}
        old = {n: sha256_or_none(target / n) for n in EXPORT_FILES}
        _check_out(target, force)  # again: a file of the user's may have come meanwhile
        with held_signals():  # a stop never leaves half the files of this export, half old
            _write_manifest(target, {n: [d for d in (old[n], new[n]) if d] for n in new},
                            w.trial_id, tmp)
            for name in EXPORT_FILES:
                os.replace(tmp / name, target / name)
            _write_manifest(target, {n: [d] for n, d in new.items()}, w.trial_id, tmp)
    logger.info("exported trial %s epoch %d to %s", w.trial_id, w.epoch, target)
    warning = meta.get("training", {}).get("warning")
    if warning:
        logger.warning("%s (model.json: training)", warning)
    return ExportOutcome(target, w.trial_id, w.epoch, EXPORT_FILES,
                         max(check["max_abs_difference"].values()), meta.get("training"))


def _refuse_urls(results: Any, out: Any) -> None:
    """A URL given as RESULTS or ``out`` from Python (the command line refuses it in its
    arguments): one error naming it and the fix, never 'not a results folder' about a mangled
    path, nor an export written into a local folder called ``s3:``."""
    import os

    from jetstudy.trainables.datacheck import url_problem

    for value, what, fix in ((results, "RESULTS", ": download or copy the study here first, "
                              "and give its local path"),
                             (out, "-o", ": give a folder path instead")):
        url = url_problem(value) if isinstance(value, str) and not os.path.lexists(
            value) else None
        if url is not None:
            raise ExportError(f"{what} {value!r} is {url}"
                              f"{'' if url.startswith('a URL (file://)') else fix}")
