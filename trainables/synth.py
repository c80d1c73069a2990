"""Synthetic hls4ml-like jets whose Bayes-optimal posterior is known exactly.

Why the posterior is exact: the 16 high-level features (HLF) come from 15 independent quantities
(``j_d2_b1_mmdt`` is a copy of ``j_d2_a1_b1_mmdt``, as in the real files). Each class is a
mixture of Gaussians over 15 latent dims (full covariance). 14 dims map to features through
a monotone transform shared by all classes, ``x = lo + (hi - lo) * sigmoid(z)``; its Jacobian is
the same for every class and cancels in Bayes' rule, so ``P(class | x)`` only needs the latent
densities at ``z = logit((x - lo) / (hi - lo))``. The 15th dim gives the multiplicity through
``m = 5 + floor(166 * sigmoid(w))``: an integer in 5..170 whose probability given the other dims
and the component is a difference of two normal CDFs (the conditional Gaussian of ``w``), also
exact. The posterior is a log-sum-exp over components and classes, exact up to the float32
rounding of the stored features. The multiplicity may depend on the other dims (a conditional
Gaussian) and stays exact; each class has 2-3 components (a spike, a shoulder, a tail).

Calibration (version 2), measured on 400k jets: one-vs-rest Bayes AUCs g 0.946, q 0.915,
W 0.961, Z 0.951, t 0.970 and Bayes accuracy 0.787, i.e. 0.005-0.013 above the published
real-data 16-feature DNN (Moreno et al., EPJC 80 (2020) 58: g 0.938, q 0.903, W 0.954, Z 0.946,
t 0.962; accuracy about 0.75), with q the hardest class and t the easiest, as on real jets. The
knobs: the global width ``_SPREAD`` and the one-prong fractions of W, Z and top. The best single
feature gives about 0.67. At low background efficiency the Bayes tagger is weaker than the real
DNN for g and q (signal efficiency at 1% mistag: g 0.29 vs 0.40, q 0.09 vs 0.16), because the
one-prong jets are exact copies of the quark core.

The other Format A columns (pt, eta, ungroomed and tau variables, other groomed masses) are
plausible functions of the HLF plus noise that never look at the label, so they carry no class
information beyond the HLF and the Bayes optimum stays that of the 16 HLF. ``jetConstituentList``
and the jet images are not written. Rows are generated in fixed blocks of ``_BLOCK`` jets with
their own seeds, so ``sample_jets(n, seed)`` is a prefix of ``sample_jets(n + k, seed)`` and the
files of ``write_synthetic`` concatenate to ``make_jet_table(n_jets, seed)``. The model's numbers
and the posterior live in :mod:`jetstudy.trainables.synth_model` (re-exported here).

>>> x, y = sample_jets(1000, seed=0)
>>> bayes_posterior(x).shape
(1000, 5)
"""

from __future__ import annotations

import json
import logging
import os
import re
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

import h5py
import numpy as np
from scipy.special import expit, logit

from jetstudy.trainables.atomic import (current_umask, held_signals, room_checked,
                                        write_atomic)
from jetstudy.trainables.errors import DataError
from jetstudy.trainables.schema import HLF_FEATURES, JET_FEATURE_NAMES, LABEL_COLUMNS, PARTICLE_FEATURE_NAMES
from jetstudy.trainables.staging import clear_stale_staging, new_folders, staging_folder
# the model and its posterior (bayes_posterior, class_priors, GENERATOR_VERSION re-exported)
from jetstudy.trainables.synth_model import (_CONT_COLS, _D2_COPY, _D2_SOURCE, _HI, _LO,
                                             _M_LO, _M_N, _MULT_COL, _P, _PRIORS,
                                             GENERATOR_VERSION, bayes_posterior,
                                             class_priors)

__all__ = [
    "GENERATOR_VERSION", "sample_jets", "make_jet_table", "write_synthetic", "bayes_posterior",
    "class_priors", "is_synthetic_file", "synthetic_mark",
]

logger = logging.getLogger(__name__)

_ATTR = "jetstudy_synthetic"
_BLOCK = 10_000  # jets per independently seeded block (= the default file size)


def _check_int(name: str, value: object, minimum: int, example: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise DataError(f"{name} must be an integer >= {minimum}, got {value!r}; "
                        f"set e.g. {example}")
    return int(value)


def _block_rng(seed: int, block: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block, stream)))


def _sample_block(seed: int, block: int) -> tuple[np.ndarray, np.ndarray]:
    """One block of ``_BLOCK`` jets: (HLF float32 (B, 16), labels int64 (B,))."""
    rng = _block_rng(seed, block, 0)
    labels = rng.choice(5, size=_BLOCK, p=_PRIORS).astype(np.int64)
    pick = rng.random(_BLOCK)
    eps = rng.standard_normal((_BLOCK, 15))
    latent = np.empty((_BLOCK, 15))
    for c in range(5):
        ks = np.flatnonzero(_P["cls"] == c)
        cum = np.cumsum(np.exp(_P["logw"][ks]))
        comp = ks[np.minimum(np.searchsorted(cum, pick), len(ks) - 1)]
        for k in ks:
            rows = (labels == c) & (comp == k)
            latent[rows] = _P["mu"][k] + eps[rows] @ _P["chol"][k].T
    x = np.empty((_BLOCK, 16))
    x[:, _CONT_COLS] = _LO + (_HI - _LO) * expit(latent[:, :14])
    x[:, _MULT_COL] = np.minimum(_M_LO + np.floor(_M_N * expit(latent[:, 14])), _M_LO + _M_N - 1)
    x[:, _D2_COPY] = x[:, _D2_SOURCE]
    return x.astype(np.float32), labels


def _rows(n_jets: int, seed: int, start: int = 0, extras: bool = False,
          cache: dict | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """HLF, labels and (optionally) the other columns of jets ``start .. start + n_jets``.

    ``cache`` (block -> HLF, labels, other columns) lets consecutive calls share a block that a
    file boundary cuts; blocks before ``start`` are dropped from it.
    """
    blocks = range(start // _BLOCK, (start + n_jets - 1) // _BLOCK + 1)
    cache = {} if cache is None else cache
    for b in [b for b in cache if b < blocks[0]]:
        del cache[b]
    for b in blocks:
        if b not in cache:
            cache[b] = (*_sample_block(seed, b), None)
        if extras and cache[b][2] is None:  # own stream, so slicing never shifts the draws
            hlf = cache[b][0].astype(np.float64)
            cache[b] = (*cache[b][:2], _extras(hlf, _block_rng(seed, b, 1)))
    parts = [cache[b] for b in blocks]
    cut = slice(start - blocks[0] * _BLOCK, start - blocks[0] * _BLOCK + n_jets)
    x = np.concatenate([p[0] for p in parts])[cut]
    y = np.concatenate([p[1] for p in parts])[cut]
    cols = {k: np.concatenate([p[2][k] for p in parts])[cut] for k in parts[0][2]} if extras else {}
    return x, y, cols


def sample_jets(n_jets: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n_jets`` jets: (X16 float32 (n, 16) raw HLF in ``HLF_FEATURES`` order, labels int64).

    Labels are class indices 0..4 in ``schema.CLASSES`` order (g, q, W, Z, t).
    """
    n_jets = _check_int("n_jets", n_jets, 1, 100_000)
    seed = _check_int("seed", seed, 0, 0)
    x, y, _ = _rows(n_jets, seed)
    return x, y


def _extras(x: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Plausible non-HLF columns from the HLF ``x`` (float64) plus noise, never from the label."""
    n = len(x)
    out: dict[str, np.ndarray] = {"j_ptfrac": np.ones(n), "j_undef": np.zeros(n)}
    out["j_pt"] = 1000.0 * np.exp(rng.normal(0.0, 0.15, n))
    out["j_eta"] = 2.0 * np.tanh(rng.normal(0.0, 0.6, n))
    mmdt = x[:, HLF_FEATURES.index("j_mass_mmdt")]
    out["j_mass"] = np.sqrt(mmdt**2 + (35.0 * np.exp(rng.normal(0.0, 0.5, n)))**2)
    for name, shift in [("j_mass_trim", 0.0), ("j_mass_prun", -0.02), ("j_mass_sdb2", 0.05),
                        ("j_mass_sdm1", -0.05)]:
        out[name] = np.minimum(mmdt * np.exp(rng.normal(shift, 0.04, n)), out["j_mass"])
    for i, name in enumerate(HLF_FEATURES[1:14], start=1):  # ungroomed: the groomed one, noisier
        d = int(np.flatnonzero(_CONT_COLS == (_D2_SOURCE if i == _D2_COPY else i))[0])
        u = np.clip((x[:, i] - _LO[d]) / (_HI[d] - _LO[d]), 1e-12, 1 - 1e-12)
        shifted = expit(logit(u) + rng.normal(0.2, 0.3, n))
        out[name.removesuffix("_mmdt")] = _LO[d] + (_HI[d] - _LO[d]) * shifted
    for suffix, mass in [("", out["j_mass"]), ("_mmdt", mmdt)]:
        tau1 = np.clip(mass / out["j_pt"], 1e-4, None) * np.exp(rng.normal(-0.7, 0.3, n))
        n2 = np.clip(x[:, HLF_FEATURES.index("j_n2_b1_mmdt")] / 0.45, 1e-6, 1 - 1e-6)
        for beta, t1 in [("b1", tau1), ("b2", tau1 * np.clip(mass / out["j_pt"], 1e-4, None) * 3)]:
            tau21 = expit(logit(n2) * 0.8 + rng.normal(0.0, 0.5, n))  # 2-prong jets: low tau21
            tau32 = expit(rng.normal(0.8, 0.7, n))
            out[f"j_tau1_{beta}{suffix}"] = t1
            out[f"j_tau2_{beta}{suffix}"] = t1 * tau21
            out[f"j_tau3_{beta}{suffix}"] = t1 * tau21 * tau32
            out[f"j_tau32_{beta}{suffix}"] = tau32
    return out


def make_jet_table(n_jets: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Format A ``jets`` rows: (float32 (n, 59) in ``JET_FEATURE_NAMES`` order, labels int64 (n,)).

    The HLF columns equal ``sample_jets(n_jets, seed)[0]``; labels are one-hot floats 0./1.
    """
    n_jets = _check_int("n_jets", n_jets, 1, 100_000)
    seed = _check_int("seed", seed, 0, 0)
    return _table(n_jets, seed, 0)


def _table(n_jets: int, seed: int, start: int, cache: dict | None = None,
           ) -> tuple[np.ndarray, np.ndarray]:
    x, y, cols = _rows(n_jets, seed, start, extras=True, cache=cache)
    cols.update({name: x[:, i] for i, name in enumerate(HLF_FEATURES)})
    cols.update({name: (y == c).astype(np.float32) for c, name in enumerate(LABEL_COLUMNS)})
    return np.stack([cols[name] for name in JET_FEATURE_NAMES], axis=1).astype(np.float32), y


def write_synthetic(out_dir: str | Path, n_jets: int, seed: int,
                    jets_per_file: int = 10_000, recorded_tmp: bool = False) -> list[Path]:
    """Write Format A files ``jetImage_synth_<seed>_<start>_<end>.h5`` into ``out_dir``.

    Deterministic for given arguments; the files, in order, hold ``make_jet_table(n_jets, seed)``.
    The files are written in a hidden staging folder and renamed into place together once all
    are written, so a reader never sees half a file, and a stopped run adds none of them (nor
    leaves an ``out_dir`` it made). The staging folder has a new name (a file or link of the
    user's is never opened) and a mark (:mod:`jetstudy.trainables.staging`): one a killed run
    left is cleared by the next run into ``out_dir``. With ``recorded_tmp`` the temporary is ``<name>.tmp`` instead,
    for a caller that recorded that name beforehand in a folder of its own
    (``jetstudy.study.prepare``).
    Returns the paths in row order. Raises :class:`DataError` for bad arguments.
    """
    n_jets = _check_int("n_jets", n_jets, 1, 100_000)
    seed = _check_int("seed", seed, 0, 0)
    jets_per_file = _check_int("jets_per_file", jets_per_file, 1, 10_000)
    if not str(out_dir).strip():  # Path("") is the current folder: never a silent default
        raise DataError(f"out_dir {str(out_dir)!r} is empty; give a folder for the .h5 files, "
                        f"e.g. data/synth (use '.' for the current folder)")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DataError(f"out_dir {str(out)!r} is a file, not a directory; pass a directory path "
                        "(it is created if missing)")
    if not recorded_tmp:  # the synth command: never mixed into a folder of real data
        _refuse_beside_users_data(out)
    meta = json.dumps({"generator": "jetstudy.synth", "version": GENERATOR_VERSION, "seed": seed,
                       "n_jets_total": n_jets})
    paths: list[Path] = []
    cache: dict = {}
    # the staging folder goes however this ends (Ctrl-C, SIGTERM), and so does a new out_dir
    with ExitStack() as hold:
        hold.enter_context(new_folders(out))
        stage = None if recorded_tmp else hold.enter_context(_synth_staging(out))
        for start in range(0, n_jets, jets_per_file):
            end = min(start + jets_per_file, n_jets)
            path = out / f"jetImage_synth_{seed}_{start}_{end}.h5"
            jets, _ = _table(end - start, seed, start, cache)
            if stage is None:  # <name>.tmp is recorded by study.prepare beforehand
                write_atomic(path, lambda tmp: _write_h5(tmp, jets, meta),
                             tmp_name=f"{path.name}.tmp")
            else:  # moved out together at the end: a stopped run adds no part of a set
                with room_checked(path):  # a full disk: an OSError naming the file
                    _write_h5(str(stage / path.name), jets, meta)
                os.chmod(stage / path.name, 0o666 & ~current_umask())
            paths.append(path)
        if stage is not None:
            for path in paths:  # checked again now: a file may have appeared while generating
                _never_over_a_users(path)
            with held_signals():  # all the files, or none of them
                for path in paths:
                    os.replace(stage / path.name, path)
    logger.info("wrote %d synthetic jets (seed %d) in %d file%s to %s",
                n_jets, seed, len(paths), "s" * (len(paths) != 1), out)
    return paths


def _refuse_beside_users_data(out: Path) -> None:
    """Raise :class:`DataError` when ``out`` holds data files that are not this generator's
    (the user's HDF5 files or tables): synthetic files beside them would be read with them by
    a ``data.path`` naming the folder (or a glob over it), a study's real jets quietly mixed
    with made-up ones."""
    from jetstudy.trainables.datafiles import HDF5_SUFFIXES, TABLE_SUFFIXES

    try:
        entries = sorted(os.listdir(out)) if out.is_dir() else []
    except OSError:
        return  # unreadable: the write below says so in its own words
    theirs = []
    for name in entries:
        path, suffix = out / name, os.path.splitext(name)[1].lower()
        if suffix not in HDF5_SUFFIXES + TABLE_SUFFIXES or not path.is_file():
            continue
        try:
            ours = suffix in HDF5_SUFFIXES and not path.is_symlink() and is_synthetic_file(path)
        except DataError:  # not HDF5 at all
            ours = False
        if not ours:
            theirs.append(name)
    if theirs:
        shown = ", ".join(theirs[:3]) + (f", ... ({len(theirs)} in all)" if len(theirs) > 3 else "")
        raise DataError(f"synth DIR {str(out)!r} holds data files jetstudy did not make "
                        f"({shown}); synthetic jets beside them would be read with them by a "
                        f"data.path naming this folder: give a new or empty folder, e.g. "
                        f"{str(out / 'synth')!r}")


def _never_over_a_users(path: Path) -> None:
    """Raise :class:`DataError` when ``path`` holds something other than a synthetic file of
    this generator (a file of the user's, a link, a folder): it is never replaced."""
    if not os.path.lexists(path):
        return
    try:
        ours = path.is_file() and not path.is_symlink() and synthetic_mark(path) is not None
    except DataError:  # not HDF5 at all
        ours = False
    if not ours:
        raise DataError(f"synth: {path} exists and is not a jetstudy synthetic file; jetstudy "
                        f"never overwrites your files: move it away or give another DIR")


def _write_h5(path: str, jets: np.ndarray, meta: str) -> None:
    """One Format A file: the jets, the column names, the generator's mark."""
    with h5py.File(path, "w") as f:
        f.create_dataset("jets", data=jets)
        f.create_dataset("jetFeatureNames", data=np.array([n.encode() for n in JET_FEATURE_NAMES]))
        f.create_dataset("particleFeatureNames",
                         data=np.array([n.encode() for n in PARTICLE_FEATURE_NAMES]))
        f.attrs[_ATTR] = meta


#: The hidden staging folder ``write_synthetic`` writes its files in, inside ``out_dir``.
SYNTH_STAGING = ".jetstudy-synth-"
_FILE_NAME = re.compile(r"jetImage_synth_\d+_\d+_\d+\.h5\Z")


@contextmanager
def _synth_staging(out: Path) -> Iterator[Path]:
    """A new staging folder in ``out`` (a ``with`` block's), after clearing those killed runs
    left there. A folder that refuses it is named as the user gave it (``synth /proc/sys``
    named the hidden ``.jetstudy-synth-<random>`` it could not make)."""
    clear_stale_staging(out, SYNTH_STAGING, "jetstudy synth", lambda n: bool(_FILE_NAME.match(n)))
    with ExitStack() as hold:
        try:
            stage = hold.enter_context(staging_folder(out, SYNTH_STAGING, "jetstudy synth"))
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(out)) from None
        yield stage


def is_synthetic_file(path: str | Path) -> bool:
    """True when the HDF5 file at ``path`` carries this generator's ``jetstudy_synthetic`` tag."""
    return synthetic_mark(path) is not None


def synthetic_mark(path: str | Path) -> dict | None:
    """The generator's tag of a file it wrote (``seed``, ``n_jets_total``, ...), else None."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{str(path)!r} is not a file; pass the path of a Format A .h5 file")
    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get(_ATTR)
    except OSError as err:
        raise DataError(f"{str(path)!r} cannot be read as HDF5 ({err}); "
                        "pass a Format A .h5 file") from err
    if raw is None:
        return None
    try:
        meta = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
    except ValueError:
        return None
    return meta if isinstance(meta, dict) and meta.get("generator") == "jetstudy.synth" else None
