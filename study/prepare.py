"""Everything before the first trial: the results folder, the data, the splits.

Bad data fails here, before Ray starts (:func:`load_data`), with one message naming the file,
the problem and the fix (raised by :mod:`jetstudy.trainables.data`). The scaler and a data
summary are written next to the results so the analysis and anyone reusing the model
standardise the same way, and the reference losses (:mod:`jetstudy.study.reference`) so the
analysis can judge the trials' losses. A study splits the jets (:func:`split_data`) while Ray
starts, and computes the reference losses while its trials run.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from jetstudy.study.config import StudyConfig
from jetstudy.study.paths import (STUDY_MARK, FileRecord, claim_study_folder, holds_study,
                                  inside, study_folder)
from jetstudy.study.reference import write_reference
from jetstudy.study.tables import write_json, write_text
from jetstudy.trainables.data import JetSplits, JetTable, load_jets, split_jets
from jetstudy.trainables.formats import HDF5_SUFFIXES, TABLE_SUFFIXES
from jetstudy.trainables.errors import ConfigError, JetstudyError, listed
from jetstudy.trainables.staging import plain_file
from jetstudy.trainables.synth import GENERATOR_VERSION, synthetic_mark, write_synthetic
from jetstudy.trainables.plain_read import open_plain, read_plain

__all__ = ["results_folder", "check_folder", "write_config", "prepare_data", "load_data",
           "split_data", "LoadedJets", "PreparedData",
           "check_checkpoints", "training_ranges", "synthetic_names", "discard_unstarted"]

logger = logging.getLogger(__name__)


def results_folder(cfg: StudyConfig) -> Path:
    """``<results_dir>/<name>``; a study without a name gets one from the clock
    (``study-YYYYMMDD-HHMMSS``, then ``-2``, ``-3``... when a study started in the same second
    already took it: a second driver started alongside gets its own study, not a refusal
    about a storage.name the user never set)."""
    from jetstudy.study.arg_paths import raw_bytes

    if cfg.data.path and raw_bytes(str(cfg.data.path)):  # Ray's start failed on it, later
        raise ConfigError(f"data.path {str(cfg.data.path)!r} is not UTF-8 text (a name of raw "
                          f"bytes, shown as \\udcXX); jetstudy writes the data's path into "
                          f"UTF-8 files: rename it to a UTF-8 name (mv), then set data.path")
    if cfg.storage.name:
        return study_folder(cfg.storage.results_dir, cfg.storage.name)
    stamp = time.strftime("study-%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        folder = study_folder(cfg.storage.results_dir, stamp if n == 1 else f"{stamp}-{n}")
        if not os.path.lexists(folder):
            return folder
    return folder  # a thousand in one second: the last is refused as busy, naming why


def check_folder(folder: Path, resume: bool) -> list[Path]:
    """Refuse to mix two studies in one folder, to resume one that is not there, or to write
    into a folder of the user's; then claim the folder (:func:`jetstudy.study.paths.claim_study_folder`).
    Returns the folders this call created (empty: none; see ``claim_study_folder``)."""
    existing = folder / "config.yaml"
    if resume and existing.exists() and not holds_study(folder):  # the user's own file
        raise ConfigError(f"--resume: {folder} holds a config.yaml, but no study of "
                          f"jetstudy's (no {STUDY_MARK} mark, no scaler.json); jetstudy never "
                          f"rewrites your files: check storage.results_dir and storage.name")
    if resume and not existing.is_file():
        raise ConfigError(f"--resume: {folder} holds no study (no config.yaml); check "
                          f"storage.results_dir and storage.name, or run without --resume")
    if not resume and holds_study(folder):
        raise ConfigError(f"storage.name {folder.name!r}: {folder} already holds a study; "
                          f"pass --resume to continue it, or set another storage.name")
    return claim_study_folder(folder)


def write_config(cfg: StudyConfig, folder: Path) -> None:
    """Write the resolved config: from now on the folder holds a study. Done only once the
    data has loaded, so bad data leaves no half-made study behind."""
    folder.mkdir(parents=True, exist_ok=True)
    write_text(cfg.to_yaml(), inside(folder, "config.yaml"))


@dataclass(frozen=True)
class PreparedData:
    splits: JetSplits
    data_path: str
    synthetic: bool
    #: the Bayes-optimal posterior is known (synthetic jets of this generator version)
    bayes: bool = False


def training_ranges(splits: JetSplits) -> dict[str, list[float]]:
    """``{"min": [...], "max": [...]}``: each raw feature's smallest and largest value in the
    training split (``scaler.json``; what a deployed model saw, e.g. to choose fixed-point
    widths), as read from the data (an integer feature's 20 stays 20). Splits made without
    them are taken back from the standardised float32 training jets, so to float32 precision
    (20.0000002; the map is increasing, so the extremes are the same jets')."""
    if len(splits.x_train) == 0:
        return {}
    if splits.train_range is not None:
        lo, hi = splits.train_range
        return {"min": [float(v) for v in lo], "max": [float(v) for v in hi]}
    lo = splits.scaler.inverse_transform(splits.x_train.min(axis=0, keepdims=True))[0]
    hi = splits.scaler.inverse_transform(splits.x_train.max(axis=0, keepdims=True))[0]
    return {"min": [float(v) for v in lo], "max": [float(v) for v in hi]}


@dataclass(frozen=True)
class LoadedJets:
    """The jets as read and validated (:func:`load_data`), before the split."""
    table: JetTable
    data_path: str


def load_data(cfg: StudyConfig, folder: Path) -> LoadedJets:
    """Generate synthetic jets if the config asks for them, then load and validate them: bad
    files (missing, malformed, NaN, a class missing) stop the study here, before Ray starts."""
    d = cfg.data
    path = d.path
    if path is None:
        data_dir = inside(folder, "data")
        path = str(data_dir)
        _synthetic_jets(data_dir, d.synthetic_jets, d.synthetic_seed)
    return LoadedJets(load_jets(path, d.format, d.max_jets, d.duplicates), path)


def split_data(cfg: StudyConfig, folder: Path, loaded: LoadedJets, *,
               reference: bool = True) -> PreparedData:
    """Split and standardise the loaded jets; write ``scaler.json``, ``data_summary.json`` and,
    with ``reference``, ``reference.json`` (a study computes that one beside its trials:
    :class:`jetstudy.study.reference.DeferredReference`). Pure numpy and files: it may run in
    a thread while the main one starts Ray (:mod:`jetstudy.study.launch`)."""
    d, table, path = cfg.data, loaded.table, loaded.data_path
    splits = split_jets(table, d.val_fraction, d.test_fraction, d.split_seed)
    if (folder / "config.yaml").is_file():  # a resumed study: its trials saw these jets
        _same_jets(folder, path, splits)
    _warn_small_splits(splits.summary["n_jets"])
    folder.mkdir(parents=True, exist_ok=True)
    write_json(splits.scaler.to_dict() | training_ranges(splits), inside(folder, "scaler.json"))
    write_json(splits.summary, inside(folder, "data_summary.json"))
    synthetic = table.synthetic is not None
    version = (table.synthetic or {}).get("version")
    if synthetic and version != GENERATOR_VERSION:
        # the Bayes posterior is exact only for the generator that wrote the jets
        logger.warning("the synthetic jets in %s were written by generator version %s, this "
                       "jetstudy's is %s: no Bayes-optimal yardstick (regenerate them with "
                       "`jetstudy synth` for one)", path, version, GENERATOR_VERSION)
    bayes = synthetic and version == GENERATOR_VERSION
    if reference:
        write_reference(splits, bayes, folder)
    return PreparedData(splits=splits, data_path=path, synthetic=synthetic, bayes=bayes)


def prepare_data(cfg: StudyConfig, folder: Path) -> PreparedData:
    """Generate synthetic jets if the config asks for them, then load, validate and split;
    all three JSON files written (:func:`load_data`, then :func:`split_data`)."""
    return split_data(cfg, folder, load_data(cfg, folder))


def _same_jets(folder: Path, path: str, splits: JetSplits) -> None:
    """A resumed study must see the jets it was run on: other files under the same data.path
    would continue its trials on other jets and move its test split. Compared by the split's
    jets per class and the training split's means and widths (``data_summary.json``,
    ``scaler.json``); a study folder without them (an older jetstudy) is not compared."""
    import json

    import numpy as np

    def read(name: str) -> dict:
        try:
            loaded = json.loads(read_plain(folder / name))
        except (OSError, ValueError):
            return {}
        return loaded if isinstance(loaded, dict) else {}

    old, old_scaler = read("data_summary.json"), read("scaler.json")
    now = splits.summary
    changed = [(key, old[key], now[key]) for key in ("n_jets", "class_counts")
               if key in old and old[key] != now[key]]
    for key in ("mean", "std") if not changed else ():
        was = old_scaler.get(key)
        new = getattr(splits.scaler, key)
        if isinstance(was, list) and (len(was) != len(new) or not np.allclose(
                np.asarray(was, dtype=float), new, rtol=1e-9, atol=0.0)):
            changed.append((f"training features' {key}", "as in scaler.json", "different"))
    if changed:
        what, was, new = changed[0]
        raise ConfigError(
            f"--resume: data.path {path!r} no longer holds the jets this study was run on "
            f"({what}: was {was}, now {new}); its trials would continue on other jets and its "
            f"test split would change: restore the original files, or start a new study "
            f"(another storage.name)")


#: Fewer validation or test jets than this and a split's accuracy carries an error of more
#: than ~2 points (binomial, p ~ 0.7): said once, as a warning, at the start.
SMALL_SPLIT = 500


def _warn_small_splits(n_jets: dict) -> None:
    for split in ("val", "test"):
        n = int(n_jets.get(split, 0) or 0)
        if 0 < n < SMALL_SPLIT:
            logger.warning("the %s split holds only %d jets: its accuracy carries an error of "
                           "about +-%.2f and its AUCs more; use more jets (data.max_jets, "
                           "data.synthetic_jets) or a larger data.%s_fraction for numbers that "
                           "tell models apart", split, n, (0.7 * 0.3 / n) ** 0.5,
                           split)


#: The synthetic jets' record in ``<study>/data``: the files jetstudy wrote there, and for
#: which seed and size; only these are ever deleted (when the config asks for other jets).
SYNTHETIC_RECORD = ".jetstudy-synthetic.json"
_JETS_PER_FILE = 10_000  # write_synthetic's default: the original files' size
#: The only names the record can make jetstudy's (a planted record naming others is ignored).
_SYNTHETIC_NAME = re.compile(r"jetImage_synth_\d+_\d+_\d+\.h5(\.tmp)?\Z")


def synthetic_names(n_jets: int, seed: int, jets_per_file: int = _JETS_PER_FILE) -> list[str]:
    """The files ``write_synthetic`` writes (and their temporaries), named before writing so a
    kill mid-write leaves them recorded."""
    names = []
    for start in range(0, n_jets, jets_per_file):
        name = f"jetImage_synth_{seed}_{start}_{min(start + jets_per_file, n_jets)}.h5"
        names += [name, f"{name}.tmp"]
    return names


def _still_synthetic(path: Path, cut: bool = True) -> bool:
    """A recorded file is still jetstudy's: a temporary of a ``cut`` write (the record does
    not say the write completed; after a complete one, every temporary was renamed, so one
    there now is someone else's), or carrying the generator's mark (not a file of the user's
    put there under the same name)."""
    if path.name.endswith(".tmp"):  # and what a cut HDF5 write leaves: empty, or HDF5 bytes
        try:
            with open_plain(path, "rb") as f:
                head = f.read(8)
        except OSError:
            return False
        return cut and head in (b"", b"\x89HDF\r\n\x1a\n")
    try:
        return synthetic_mark(path) is not None
    except JetstudyError:  # not HDF5 at all
        return False


def _synthetic_jets(data_dir: Path, n_jets: int, seed: int) -> None:
    """Make ``data_dir`` hold exactly the synthetic jets the config asks for, deleting only
    files jetstudy recorded there, and refusing a folder with files of anyone else."""
    record = FileRecord(data_dir, SYNTHETIC_RECORD, _SYNTHETIC_NAME.match)
    names = set(synthetic_names(n_jets, seed))
    foreign = [n for n in record.foreign()  # what load_jets would read, or what we would write
               if n in names or os.path.splitext(n)[1].lower() in (*HDF5_SUFFIXES, *TABLE_SUFFIXES)]
    if foreign and not record.read():  # a study written before the record existed
        files = [data_dir / n for n in foreign]
        if all(f.suffix == ".h5" and f.is_file() and not f.is_symlink() and synthetic_mark(f)
               for f in files):
            marks = {(m.get("seed"), m.get("n_jets_total"))
                     for m in map(synthetic_mark, files)}
            if marks == {(seed, n_jets)}:
                return
    if foreign:
        shown = listed(foreign)
        raise ConfigError(
            f"data.path is null (synthetic jets), but {data_dir} holds data files jetstudy did "
            f"not write there ({shown}), which would be read as jets; move them out of the "
            f"study folder, or set data.path to your data")
    info = record.read()
    if (info.get("seed"), info.get("n_jets")) == (seed, n_jets) and all(
            (data_dir / n).is_file() for n in record.names if not n.endswith(".tmp")):
        return
    cut = not info.get("complete")  # from an earlier, different (or cut) attempt:
    record.remove_recorded(lambda path: _still_synthetic(path, cut))
    record.record(synthetic_names(n_jets, seed), seed=seed, n_jets=n_jets, complete=False)
    logger.info("writing %d synthetic jets to %s", n_jets, data_dir)
    written = write_synthetic(data_dir, n_jets, seed, _JETS_PER_FILE, recorded_tmp=True)
    record.record([p.name for p in written], seed=seed, n_jets=n_jets, complete=True)


#: The plain files a study writes before its ``config.yaml`` (besides its data/).
_EARLY_FILES = ("scaler.json", "data_summary.json", "reference.json")


def discard_unstarted(folder: Path, created: list[Path]) -> None:
    """Remove what a run wrote into a study folder it made itself (``created``, from
    :func:`check_folder`) under a name from the clock (no ``storage.name``), when it was stopped
    before the study started (no ``config.yaml``): no later command can reuse that folder, so
    its synthetic jets (only the recorded, still-synthetic files, as :func:`_synthetic_jets`
    would replace them) and early JSON files go, and
    :func:`jetstudy.study.paths.abandon_study_folder` can then remove the folder. With a
    ``storage.name`` they stay: the same command reuses them."""
    if not created or created[0] != folder or (folder / "config.yaml").exists():
        return
    data = folder / "data"
    if data.is_dir() and not data.is_symlink():
        record = FileRecord(data, SYNTHETIC_RECORD, _SYNTHETIC_NAME.match)
        cut = not record.read().get("complete")
        try:
            record.remove_recorded(lambda path: _still_synthetic(path, cut))
            data.rmdir()  # only once empty: anything else there stays, and so does the folder
        except (OSError, JetstudyError) as exc:
            logger.info("kept %s: %s", data, exc)
            return
    for name in _EARLY_FILES:
        if plain_file(folder / name):
            (folder / name).unlink()


def _load_problem(exc: BaseException) -> str:
    """The useful part of torch's refusal ("Unsupported global: GLOBAL builtins.open"), not
    its advice to load with ``weights_only=False``."""
    import re

    text = str(exc)
    found = re.search(r"(Unsupported [^\n]+)", text)
    if found:
        return f" ({found.group(1).strip()[:200]})"
    if "Weights only load failed" in text or not text.strip():
        return f" ({type(exc).__name__})"
    return f" ({type(exc).__name__}: {text.strip().splitlines()[0][:200]})"


def check_checkpoints(folder: Path) -> None:
    """Before a resumed study trusts its trials' checkpoints (``trials/*/*.pt``), load each
    the safe way (``weights_only``: tensors and plain values, never code). A file that holds
    anything else (a planted pickle, a foreign file) stops the study here, naming it, before
    any trial could unpickle it."""
    import pickle
    import warnings

    import torch

    for path in sorted(inside(folder, "trials").glob("*/*.pt")):
        try:
            with warnings.catch_warnings():  # torch warns about a foreign pickle protocol
                warnings.simplefilter("ignore")
                torch.load(path, map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError,
                AttributeError, ImportError, KeyError, IndexError, OSError) as exc:
            why = _load_problem(exc)
            raise ConfigError(
                f"{path}: not a checkpoint jetstudy can load safely: it holds objects other "
                f"than tensors and plain values, or is damaged{why}; jetstudy never runs code "
                f"from a checkpoint. If you did not put it there, the study folder may have "
                f"been tampered with: delete the trial folder {path.parent} to train that "
                f"trial afresh") from None
