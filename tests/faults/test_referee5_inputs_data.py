"""Referee round 5, real formats at their edges: a `jets` dataset with a trailing dimension of
one ((N, 59, 1), as some writers store column vectors) was refused as 'shape mismatch'; it is
the same table and is read. The dtype variants of the schema (float16, big-endian, integer
features, chunked gzip/lzf) are read to the same numbers; odd one-hot labels are named."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from jetstudy.trainables.errors import DataError
from jetstudy.trainables.formats import load_jets
from tests.faults.test_referee_data import NAMES, _jets


def _h5(path: Path, data: np.ndarray, **options) -> Path:
    with h5py.File(path, "w") as handle:
        handle.create_dataset("jets", data=data, **options)
        handle.create_dataset("jetFeatureNames", data=np.array([n.encode() for n in NAMES]))
    return path


_BASE = _jets(120)


def test_a_trailing_dimension_of_one_is_read(tmp_path: Path) -> None:
    table = load_jets(_h5(tmp_path / "col.h5", _BASE[:, :, None]))
    plain = load_jets(_h5(tmp_path / "plain.h5", _BASE))
    assert np.array_equal(table.x, plain.x) and np.array_equal(table.y, plain.y)


@pytest.mark.parametrize("shape", [(120,), (120, 21, 2)])
def test_other_shapes_are_named(tmp_path: Path, shape: tuple) -> None:
    data = _BASE[:, 0] if len(shape) == 1 else np.repeat(_BASE[:, :, None], 2, axis=2)
    with pytest.raises(DataError, match=r"`jets` has shape \(120.*\(N, 21\)"):
        load_jets(_h5(tmp_path / "odd.h5", data))


@pytest.mark.parametrize("dtype, options", [
    (">f8", {}), ("<f4", {"chunks": (16, 21), "compression": "gzip"}),
    (">f4", {"chunks": (16, 21), "compression": "lzf", "shuffle": True}), ("f2", {})])
def test_dtype_and_storage_variants_read_the_same_numbers(tmp_path: Path, dtype: str,
                                                          options: dict) -> None:
    table = load_jets(_h5(tmp_path / "v.h5", _BASE.astype(dtype), **options))
    expected = _BASE[:, :16].astype(dtype).astype(np.float32)
    assert table.x.dtype == np.float32 and np.array_equal(table.x, expected)
    assert table.class_counts() == {"g": 24, "q": 24, "W": 24, "Z": 24, "t": 24}


def test_labels_near_one_name_the_rounding(tmp_path: Path) -> None:
    data = _BASE.copy()
    data[:, 16:21] *= np.float32(0.9999)
    with pytest.raises(DataError, match=r"j_g=0\.9999.*round"):
        load_jets(_h5(tmp_path / "soft.h5", data))


def test_a_decimal_comma_in_a_csv_is_named(tmp_path: Path) -> None:
    lines = [",".join(NAMES)] + [
        ",".join(f'"{v:.3f}"'.replace(".", ",") if i == 2 else f"{v:g}"
                 for i, v in enumerate(row)) for row in _BASE]
    (tmp_path / "comma.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"j_c1_b1_mmdt .*'0,\d+'.*decimal comma.*'\.'"):
        load_jets(tmp_path / "comma.csv")


def test_a_feature_varying_by_subnormal_amounts_standardises_to_finite_values() -> None:
    from jetstudy.trainables.data import Standardiser

    x = np.random.default_rng(0).normal(size=(100, 16)).astype(np.float32)
    x[:, 0] = 0.0
    x[3, 0], x[7, 0] = np.float32(1e-40), np.float32(-1e-41)  # float32 subnormals
    scaler = Standardiser.fit(x)
    later = x.copy()
    later[:, 0] = 0.5  # validation jets with an ordinary value
    out = scaler.transform(later)
    assert np.isfinite(out).all() and np.allclose(out[:, 0], 0.5 - scaler.mean[0])
    assert scaler.std[0] == 1.0 and 0.5 < scaler.std[1] < 2  # other columns as before
