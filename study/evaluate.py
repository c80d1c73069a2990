"""The one look at the test split: the best trial's best epoch, evaluated once.

Every trial keeps the weights of its best epoch in ``trials/<id>/best.pt``, rewritten whenever
that epoch improves (whatever ``training.checkpoint_every`` says), so the best model is
reloaded, not retrained, and it is exactly the epoch the trials table names as ``best_epoch``:
if the file holds another epoch, :class:`BestEpochMismatch` says so instead of evaluating it.
On synthetic data the Bayes-optimal posterior is evaluated on the same test jets, giving the
best accuracy and AUC any tagger could reach.

Every test metric carries its standard error (``accuracy_se``, ``log_loss_se``,
``auc_macro_se``, ``auc_se`` per class): the spread over :data:`BOOTSTRAP_RESAMPLES`
resamplings of the test jets with a fixed seed (:func:`jetstudy.analysis.intervals.bootstrap_replicates`).
A bootstrap rather than formulas because the macro AUC averages classes that share jets, and
because model - Bayes on the same jets needs a paired error (``model_minus_bayes``), which the
same resamplings give for free. For the accuracy it reproduces the binomial
``sqrt(p (1 - p) / n)``; for a class's AUC, Hanley-McNeil.

Where the bootstrap cannot see the noise it is floored by those formulas: an accuracy of 0 or 1
(every resampling agrees: 10 of 10 right is not exact; half the one-sigma Clopper-Pearson
interval, :func:`jetstudy.analysis.intervals.binomial_se`), and a class's AUC of 0 or 1 or from
at most :data:`~jetstudy.analysis.intervals.FEW_BACKGROUND` jets of a class (resampling one
signal jet moves only the background side; Hanley-McNeil, itself bounded at the edges); the
macro AUC's error is then at least that of a mean of the classes' errors. A spread of a few
ulps (every jet with the same loss) is 0.

A single test jet has no spread: its errors are None (the accuracy's binomial floor aside),
never 0. A resampling that loses a class of the test jets (one t jet is lost by ~37% of them) has no
macro AUC (never a mean over fewer classes); ``uncertainty.auc_macro_undefined`` counts them.
The macro's bootstrap error is the spread of the others when they are at least
:data:`MACRO_DEFINED` of all, else the error of a mean of the classes' errors.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from jetstudy.analysis.intervals import (FEW_BACKGROUND, binomial_se, bootstrap_replicates,
                                         hanley_mcneil_se)
from jetstudy.study.tables import write_json, write_parquet
from jetstudy.trainables.atomic import checked_tag, current_umask, held_signals, tag_checks
from jetstudy.trainables.checkpoint import load_checkpoint, save_state
from jetstudy.trainables.data import JetSplits
from jetstudy.trainables.errors import listed
from jetstudy.trainables.loop import predict_proba
from jetstudy.trainables.metrics import accuracy, log_loss, roc_auc_ovr
from jetstudy.trainables.model import MLPArch, build_mlp
from jetstudy.trainables.schema import CLASSES
from jetstudy.trainables.staging import (STAGING_MARK, clear_stale_staging, plain_file,
                                         staging_folder)
from jetstudy.trainables.synth import bayes_posterior
from jetstudy.trainables.trialfiles import BEST_FILE

__all__ = ["classification_metrics", "score_test_split", "load_best_model", "evaluate_best",
           "recover_best", "BestEpochMismatch", "BestFolderNotOurs", "BOOTSTRAP_RESAMPLES",
           "BOOTSTRAP_SEED"]

logger = logging.getLogger(__name__)

#: Resamplings of the test jets for the metrics' errors: the error of an error from 200 is ~5%.
BOOTSTRAP_RESAMPLES = 200
#: Fixed, so the same predictions always get the same errors.
BOOTSTRAP_SEED = 0
#: Least fraction of resamplings with a macro AUC (every class of the test jets in them) for
#: its bootstrap spread to count; below it the macro's error is that of a mean of the classes'
#: errors (a class of one jet is lost by ~37% of resamplings, kept by ~63%).
MACRO_DEFINED = 0.5


def _spread(replicates: np.ndarray, least: int = 2) -> float | None:
    """Standard deviation of the bootstrap replicates (None when undefined, e.g. a class
    absent from the test split, or when fewer than ``least`` replicates have a value)."""
    finite = replicates[np.isfinite(replicates)]
    if finite.size <= 1 or finite.size < least:
        return None
    spread = float(np.std(finite, ddof=1))
    # identical replicates differ by rounding only (1e-17 was printed with 18 decimals)
    return 0.0 if spread <= 1e-12 * max(1.0, float(np.abs(finite).max())) else spread


def _errors(rep: dict[str, np.ndarray]) -> dict[str, Any]:
    return {"accuracy_se": _spread(rep["accuracy"]), "log_loss_se": _spread(rep["log_loss"]),
            # undefined in a resampling that lost a class (bootstrap_replicates): the spread of
            # the rest only when they are at least half (MACRO_DEFINED), else None and floored
            "auc_macro_se": _spread(rep["auc_macro"],
                                    least=int(np.ceil(MACRO_DEFINED * len(rep["auc_macro"])))),
            "auc_se": {c: _spread(rep[f"auc_{i}"]) for i, c in enumerate(CLASSES)}}


def classification_metrics(labels: np.ndarray, probs: np.ndarray,
                           replicates: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Accuracy, log loss, per-class one-vs-rest AUC and their macro mean; with bootstrap
    ``replicates`` (one classifier's part of :func:`bootstrap_replicates`) their ``*_se`` too."""
    auc = roc_auc_ovr(labels, probs)
    # the mean over classes present (an absent class has no AUC); NaN when no class has one
    # (a test split of one class), without numpy's "mean of empty slice"
    finite = auc[np.isfinite(auc)]
    out = {"accuracy": accuracy(labels, probs), "log_loss": log_loss(labels, probs),
           "auc_macro": float(finite.mean()) if finite.size else float("nan"),
           "auc": {c: float(a) for c, a in zip(CLASSES, auc)}}
    if replicates is None:
        return out
    return _floored(out | _errors(replicates), np.asarray(labels, dtype=np.int64))


def _floored(m: dict[str, Any], labels: np.ndarray) -> dict[str, Any]:
    """``m`` with the bootstrap's errors raised where it cannot see the noise (module
    docstring): accuracy 0 or 1; a class's AUC at 0 or 1 or from few jets of a class."""
    n = len(labels)
    if n and m["accuracy"] in (0.0, 1.0):
        m["accuracy_se"] = max(m["accuracy_se"] or 0.0, float(binomial_se(m["accuracy"], n)))
    raised, ses = False, []
    for i, c in enumerate(CLASSES):
        a, n_pos = m["auc"][c], int((labels == i).sum())
        if not np.isfinite(a):
            continue
        se = m["auc_se"][c]
        if a in (0.0, 1.0) or min(n_pos, n - n_pos) <= FEW_BACKGROUND:
            floor = hanley_mcneil_se(a, n_pos, n - n_pos)
            if se is None or floor > se:
                m["auc_se"][c], se, raised = floor, floor, True
        ses.append(se if se is not None else np.nan)
    if (raised or m["auc_macro_se"] is None) and ses and np.isfinite(ses).all():
        mean_se = float(np.sqrt(np.sum(np.square(ses)))) / len(ses)
        m["auc_macro_se"] = max(m["auc_macro_se"] or 0.0, mean_se)
    return m


def score_test_split(labels: np.ndarray, probs: np.ndarray, bayes: np.ndarray | None = None,
                     n_boot: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
                     ) -> dict[str, Any]:
    """The ``model``, ``bayes`` (or None), ``model_minus_bayes`` (paired errors of the
    differences, or None) and ``uncertainty`` (how the errors were made) parts of
    ``test_metrics.json``."""
    labels = np.asarray(labels, dtype=np.int64)
    classifiers = {"model": probs} | ({"bayes": bayes} if bayes is not None else {})
    reps = bootstrap_replicates(labels, classifiers, n_boot=n_boot, seed=seed)
    if len(labels) < 2:  # one jet's resamplings are copies of it: no spread, no error (not 0)
        reps = {name: {k: np.full(n_boot, np.nan) for k in r} for name, r in reps.items()}
    out: dict[str, Any] = {
        "model": classification_metrics(labels, probs, reps["model"]), "bayes": None,
        "model_minus_bayes": None,
        "uncertainty": {"method": "bootstrap", "n_boot": n_boot, "seed": seed,
                        "what": "standard deviation over resamplings of the test jets"}}
    # resamplings that lost a class of the test jets have no macro AUC: say how many
    undefined = int(np.isnan(reps["model"]["auc_macro"]).sum())
    if undefined and np.isfinite(out["model"]["auc_macro"]):  # (none at all: nothing lost)
        out["uncertainty"]["auc_macro_undefined"] = undefined
    if bayes is not None:
        out["bayes"] = classification_metrics(labels, bayes, reps["bayes"])
        out["model_minus_bayes"] = _errors({k: reps["model"][k] - reps["bayes"][k]
                                            for k in reps["model"]})
    return out


class BestEpochMismatch(RuntimeError):
    """The trial's saved best weights are not of the epoch the trials table names."""


class BestFolderNotOurs(BestEpochMismatch):
    """``best/`` holds something jetstudy did not write there (a user's file or folder): the
    evaluation, which replaces that folder whole, is skipped instead of deleting it."""


def _check_best_folder(out: Path) -> None:
    """Raise :class:`BestFolderNotOurs` naming what in ``out`` is not best/'s own files (a
    link at ``out`` is replaced, never followed: its target is not looked into)."""
    if out.is_symlink() or not out.exists():
        return
    if not out.is_dir():  # moved aside under a hidden name, it would vanish from view
        raise BestFolderNotOurs(
            f"{out} is a file jetstudy did not write (best/ is the folder of the study's best "
            f"model), so the test evaluation was skipped: move it out of {out.parent} and "
            f"evaluate again with --resume")
    foreign = sorted(n for n in os.listdir(out) if not _in_best(n) or not plain_file(out / n))
    if foreign:
        shown = listed(foreign)
        raise BestFolderNotOurs(
            f"{out} holds files jetstudy did not write there ({shown}); the test evaluation "
            f"replaces that folder whole, so it was not evaluated: move them out of {out} and "
            f"evaluate again with --resume")


def _best_record(state_file: Path) -> tuple[dict[str, Any], dict[str, Any], int]:
    """(weights, arch, epoch) of the trial's best epoch: ``best.pt`` beside the state file,
    else (a study from before ``best.pt``) the state's own ``best``."""
    best_file = state_file.with_name(BEST_FILE)
    if best_file.is_file():
        record = _read(best_file)
        try:
            return record["model"], record["arch"], int(record["epoch"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BestEpochMismatch(f"{best_file} is not a best-epoch record (no {exc}); the "
                                    "test split was not evaluated") from None
    if not state_file.is_file():
        raise BestEpochMismatch(f"trial folder {state_file.parent} has neither {BEST_FILE} "
                                f"nor {state_file.name}: the trial saved no weights, so the "
                                "test split was not evaluated")
    state = _read(state_file)
    best = state.get("best") if isinstance(state, dict) else None
    if not isinstance(best, dict) or best.get("model") is None:
        raise BestEpochMismatch(f"{state_file} holds no best epoch's weights, and there is no "
                                f"{BEST_FILE}; the test split was not evaluated")
    return best["model"], state["arch"], int(best["epoch"])


def _read(path: Path) -> Any:
    """A checkpoint file, or :class:`BestEpochMismatch` naming it when it cannot be read
    (truncated by a full disk, not a checkpoint): a clear error, not a torch traceback."""
    try:
        return load_checkpoint(path)
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError, ...
        raise BestEpochMismatch(f"{path} cannot be read ({type(exc).__name__}: {exc}); the "
                                "test split was not evaluated") from None


def load_best_model(state_file: str | os.PathLike, expected_epoch: int | None = None
                    ) -> tuple[torch.nn.Module, MLPArch, int]:
    """The best epoch's model of the trial whose state file is ``state_file`` (its folder's
    ``best.pt``): (model, arch, epoch).

    ``expected_epoch``: the ``best_epoch`` the trials table names; weights of any other epoch
    raise :class:`BestEpochMismatch` (never silently evaluate another epoch)."""
    weights, arch_dict, epoch = _best_record(Path(state_file))
    if expected_epoch is not None and epoch != int(expected_epoch):
        raise BestEpochMismatch(
            f"the trials table names epoch {int(expected_epoch)} as the best of trial "
            f"{Path(state_file).parent.name}, but its saved best weights are of epoch {epoch}; "
            f"the test split was not evaluated (rerun the study, or evaluate epoch {epoch} "
            f"knowingly with study.evaluate.load_best_model)")
    arch = MLPArch.from_dict(arch_dict)
    model = build_mlp(arch)
    model.load_state_dict(weights)
    model.eval()
    return model, arch, epoch


def evaluate_best(state_file: str | os.PathLike, trial_id: str, splits: JetSplits,
                  synthetic: bool, out: Path, expected_epoch: int | None = None,
                  n_boot: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                  bayes_known: bool | None = None) -> dict[str, Any]:
    """Evaluate the trial's best epoch (``expected_epoch``: the table's ``best_epoch``, see
    :func:`load_best_model`) on the test split, with bootstrap errors (``n_boot``, ``seed``);
    write ``best/model.pt``, ``test_metrics.json`` and ``test_predictions.parquet``; return
    the metrics. The three files are written to a staging folder and swapped in together:
    a failure leaves the previous ``best/`` (or none), never a mix. When the weights are
    missing, unreadable or of another epoch, :class:`BestEpochMismatch` is raised before
    anything is written."""
    recover_best(out)  # what an evaluation killed between _swap_in's two renames left
    _check_best_folder(out)  # a user's file in best/ is never deleted with it
    model, arch, epoch = load_best_model(state_file, expected_epoch)
    x_test = torch.tensor(splits.x_test, dtype=torch.float32)
    probs = predict_proba(model, x_test).numpy().astype(np.float64)
    labels = np.asarray(splits.y_test, dtype=np.int64)
    columns = {"label": labels, **{f"p_{c}": probs[:, i] for i, c in enumerate(CLASSES)}}
    # bayes_known False: synthetic jets of another generator version (no exact posterior)
    bayes_known = synthetic if bayes_known is None else bayes_known
    bayes = bayes_posterior(splits.x_test_raw) if bayes_known else None
    if bayes is not None:
        columns.update({f"bayes_{c}": bayes[:, i] for i, c in enumerate(CLASSES)})
    metrics: dict[str, Any] = {"trial_id": trial_id, "epoch": epoch, "n_test": int(len(labels)),
                               # what each class's AUC rests on (the report flags a handful)
                               "class_counts": {c: int((labels == i).sum())
                                                for i, c in enumerate(CLASSES)},
                               "synthetic": synthetic,
                               **score_test_split(labels, probs, bayes, n_boot, seed)}
    weights = {"state_dict": model.state_dict(), "arch": arch.to_dict(), "trial_id": trial_id,
               "epoch": epoch}
    # all three files, or none of them; a fresh name, so nothing already there is touched
    out.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{out.name}.partial-"
    clear_stale_staging(out.parent, prefix, _STAGING_WHAT, _staged_name)  # a killed run's
    with staging_folder(out.parent, prefix, _STAGING_WHAT) as stage:
        stage.chmod(0o777 & ~current_umask())  # mkdtemp's 0700 would become best/'s mode
        save_state(weights, stage / "model.pt")  # in memory first: torch aborts on EFBIG
        write_parquet(pd.DataFrame(columns), stage / "test_predictions.parquet")
        write_json(metrics, stage / "test_metrics.json")
        _swap_in(stage, out)  # marked until it is best/: a kill -9 before leaves it clearable
    return metrics


#: What made a staging folder of best/ (its mark says so), and the files one may hold.
_STAGING_WHAT = "jetstudy best-model evaluation"
_BEST_FILES = ("model.pt", "test_predictions.parquet", "test_metrics.json")


def _staged_name(name: str) -> bool:
    """A file an evaluation writes in its staging folder: one of best/'s files, or the
    temporary of one (``.<name>.XXXXXXXX.tmp``, :func:`write_atomic`'s default)."""
    return name in _BEST_FILES or any(name.startswith(f".{f}.") and name.endswith(".tmp")
                                      for f in _BEST_FILES)


def _in_best(name: str) -> bool:
    """A name jetstudy writes in best/: its files, their temporaries (``write_atomic``'s, and
    ``.model.pt.tmp`` of the first versions) and a staging mark a kill kept there."""
    return _staged_name(name) or name in (STAGING_MARK, ".model.pt.tmp")


def _swap_in(stage: Path, out: Path) -> None:
    """Replace the folder ``out`` (an earlier evaluation's, if any) by ``stage``, then drop
    ``stage``'s mark. The earlier one is moved aside first, to ``.<out>.old-<32 hex>``: the
    two renames run with Ctrl-C and SIGTERM held, and a failed second one puts it back, so a
    stop never leaves ``out`` missing; only ``kill -9`` between them can, and then the next
    evaluation restores it (:func:`recover_best`)."""
    # a fresh name carrying jetstudy's check: never a user's, and provably this one's later
    old = out.with_name(f".{out.name}.old-{checked_tag(out.name + '.old', 32)}")
    try:
        with held_signals():
            moved = out.exists() or out.is_symlink()
            if moved:
                os.replace(out, old)
            try:
                os.replace(stage, out)
            except BaseException:
                if moved:
                    os.replace(old, out)
                raise
            (out / STAGING_MARK).unlink(missing_ok=True)  # the mark stays out of best/
    finally:  # also when a stop held meanwhile is raised now
        if out.exists() or out.is_symlink():  # never the only copy of best/
            _remove_old(old)


#: The name :func:`_swap_in` moves an earlier best/ aside to.
_OLD_NAME = r"\.{name}\.old-[0-9a-f]{{32}}\Z"


def _old_best(path: Path) -> bool:
    """``path`` is what :func:`_swap_in` moved aside, provably: a link (a best/ that was a link:
    only the link goes, never its target), or a real folder holding only plain files under
    best/'s names (:func:`_in_best`)."""
    try:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            return True
        entries = os.listdir(path) if stat.S_ISDIR(mode) else None
    except OSError:
        return False
    return bool(entries) and all(_in_best(n) and plain_file(path / n) for n in entries)


def _remove_old(old: Path) -> None:
    """Remove an earlier best/ moved aside: a link is unlinked (its target stays), a folder's
    files one by one (never followed), then the folder once empty."""
    try:
        if old.is_symlink():
            old.unlink()
            return
        if not old.is_dir():
            return
        for name in os.listdir(old):
            (old / name).unlink()
        old.rmdir()
    except OSError as exc:  # changed meanwhile: keep what is left
        logger.warning("could not remove %s, an earlier best/: %s", old, exc)


def recover_best(out: Path) -> list[Path]:
    """Clear what an evaluation killed with ``kill -9`` between :func:`_swap_in`'s two renames
    left beside ``out`` (``best/``): its earlier ``best/``, moved aside as
    ``.best.old-<32 hex>``. When ``out`` is missing the newest one is put back as ``out``; the
    others are removed. Only names of that exact pattern whose 32 hex carry jetstudy's check
    (:func:`~jetstudy.trainables.atomic.checked_tag`), holding only best/'s files (or a
    link), count (:func:`_old_best`): a user's look-alike stays. The driver holds the study's
    lock, so no other evaluation of it runs. Returns what was removed or restored; a stray
    staging mark in ``out`` (a kill after the swap) goes too."""
    pattern = re.compile(_OLD_NAME.format(name=re.escape(out.name)))
    try:
        names = sorted(os.listdir(out.parent))
    except OSError:
        return []
    olds = [out.parent / n for n in names if pattern.match(n)
            and tag_checks(out.name + ".old", n[-32:]) and _old_best(out.parent / n)]
    done = []
    if olds and not (out.exists() or out.is_symlink()):
        newest = max(olds, key=lambda p: p.lstat().st_mtime)
        os.replace(newest, out)
        logger.warning("restored %s from %s, left by an evaluation killed while replacing it",
                       out, newest.name)
        olds.remove(newest)
        done.append(newest)
    for old in olds:
        _remove_old(old)
        logger.info("removed %s, an earlier best/ left by a killed evaluation", old)
        done.append(old)
    if plain_file(out / STAGING_MARK) and not out.is_symlink():
        (out / STAGING_MARK).unlink(missing_ok=True)
    return done
