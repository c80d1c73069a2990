"""Preparing a study's data: synthetic jets made once, remade when the config changed them."""

from __future__ import annotations

from pathlib import Path

from jetstudy.study.config import from_dict
from jetstudy.study.prepare import prepare_data


def _cfg(n_jets: int, seed: int = 1):
    return from_dict({"data": {"synthetic_jets": n_jets, "synthetic_seed": seed}})


def test_synthetic_jets_are_written_once_and_reused(tmp_path: Path) -> None:
    first = prepare_data(_cfg(3000), tmp_path)
    files = sorted((tmp_path / "data").glob("*.h5"))
    stamps = [f.stat().st_mtime_ns for f in files]
    again = prepare_data(_cfg(3000), tmp_path)
    assert [f.stat().st_mtime_ns for f in files] == stamps
    assert first.synthetic and again.splits.summary == first.splits.summary
    assert (tmp_path / "scaler.json").is_file() and (tmp_path / "data_summary.json").is_file()


def test_synthetic_jets_are_remade_when_the_config_changed_them(tmp_path: Path) -> None:
    prepare_data(_cfg(12_000), tmp_path)  # two files of 10,000 and 2,000 jets
    assert len(list((tmp_path / "data").glob("*.h5"))) == 2
    prepared = prepare_data(_cfg(3000, seed=2), tmp_path)
    assert len(list((tmp_path / "data").glob("*.h5"))) == 1
    assert prepared.splits.summary["n_jets"]["total"] == 3000


def test_jets_of_another_generator_version_get_no_bayes_yardstick(tmp_path: Path) -> None:
    """The Bayes posterior is exact only for the generator that wrote the jets: files of an
    older version stay usable data, but reference.json and the test split get no Bayes numbers."""
    import json

    import h5py

    from jetstudy.trainables.formats import SYNTHETIC_ATTR
    from jetstudy.trainables.synth import GENERATOR_VERSION, write_synthetic

    data = tmp_path / "jets"
    for path in write_synthetic(data, 3000, 1):
        with h5py.File(path, "r+") as f:
            mark = json.loads(f.attrs[SYNTHETIC_ATTR])
            f.attrs[SYNTHETIC_ATTR] = json.dumps({**mark, "version": GENERATOR_VERSION - 1})
    old = prepare_data(from_dict({"data": {"path": str(data)}}), tmp_path / "old")
    assert old.synthetic and not old.bayes
    assert json.loads((tmp_path / "old" / "reference.json").read_text())["bayes_val_loss"] is None
    current = prepare_data(_cfg(3000), tmp_path / "current")
    assert current.bayes
    assert json.loads((tmp_path / "current" / "reference.json").read_text())["bayes_val_loss"] > 0


def test_a_small_validation_or_test_split_is_warned_about(caplog) -> None:
    import logging

    from jetstudy.study.prepare import _warn_small_splits

    with caplog.at_level(logging.WARNING, logger="jetstudy.study.prepare"):
        _warn_small_splits({"total": 10_000, "train": 9_600, "val": 200, "test": 200})
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 2 and "the val split holds only 200 jets" in warned[0]
    assert "+-0.03" in warned[1] and "data.test_fraction" in warned[1]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="jetstudy.study.prepare"):
        _warn_small_splits({"total": 10_000, "train": 6_000, "val": 2_000, "test": 2_000})
    assert not caplog.records
