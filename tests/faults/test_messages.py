"""Messages that used to mislead, each run as a user would (the ``jetstudy`` command line):
exit status 2, one ``error:`` line that says what is really wrong, and no user file changed
(nothing written at all: no results folder appears). Two cases run as a real subprocess; the
others run the same command line in this process (the same code, without a fresh
interpreter's imports)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest

from tests.faults.conftest import refused_untouched, study_yaml
from jetstudy.trainables.schema import HLF_FEATURES, OPENML_FEATURES

REAL = Path(__file__).resolve().parents[1] / "data" / "real_jets_16hlf.csv"


def _table() -> pd.DataFrame:
    """The 8 real jets as the OpenML table: 16 features by OpenML name and `class`."""
    real = pd.read_csv(REAL, comment="#")
    frame = real[list(HLF_FEATURES)].copy()
    frame.columns = list(OPENML_FEATURES)
    frame["class"] = real["label_str"]
    return frame


def huge_value(work: Path) -> list[str]:
    frame = _table()
    frame.loc[3, "mass_mmdt"] = 1e300
    frame.to_csv(work / "jets.csv", index=False)
    return ["run", "s.yaml", "--set", "data.path=jets.csv"]


def config_is_a_folder(work: Path) -> list[str]:
    (work / "configs").mkdir()
    return ["run", "configs"]


def hdf5_hint(work: Path) -> list[str]:
    _table().to_csv(work / "jets.h5", index=False)  # a table with the HDF5 extension
    return ["run", "s.yaml", "--set", "data.path=jets.h5"]


def synth_zero_jets(work: Path) -> list[str]:
    return ["synth", "out", "--jets", "0"]


def arff_without_name(work: Path) -> list[str]:
    (work / "jets.arff").write_text("@relation jets\n@attribute\n@data\n1,2\n")
    return ["run", "s.yaml", "--set", "data.path=jets.arff"]


def semicolon_csv(work: Path) -> list[str]:
    _table().to_csv(work / "jets.csv", index=False, sep=";")
    return ["run", "s.yaml", "--set", "data.path=jets.csv"]


def symlink_loop(work: Path) -> list[str]:
    os.symlink(work / "b.h5", work / "a.h5")
    os.symlink(work / "a.h5", work / "b.h5")
    return ["run", "s.yaml", "--set", "data.path=a.h5"]


def empty_data_path(work: Path) -> list[str]:
    return ["run", "s.yaml", "--set", "data.path="]


def duplicated_csv_column(work: Path) -> list[str]:
    frame = _table()
    frame.insert(3, "zlogz_copy", frame["zlogz"] * 2)
    frame.columns = [c if c != "zlogz_copy" else "zlogz" for c in frame.columns]
    frame.to_csv(work / "jets.csv", index=False)
    return ["run", "s.yaml", "--set", "data.path=jets.csv"]


def duplicated_parquet_column(work: Path) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = _table()
    names = [*frame.columns, "j_mass_mmdt"]  # mass_mmdt twice, under both names
    arrays = [pa.array(frame[c]) for c in frame.columns] + [pa.array(frame["mass_mmdt"] * 2)]
    pq.write_table(pa.Table.from_arrays(arrays, names=names), work / "jets.parquet")
    return ["run", "s.yaml", "--set", "data.path=jets.parquet"]


#: case -> (what the message must say, what it must not say)
CASES: dict[Callable[[Path], list[str]], tuple[list[str], list[str]]] = {
    huge_value: (["jets.csv", "too large for float32", "mass_mmdt", "1e+300"], ["NaN or inf"]),
    config_is_a_folder: (["configs", "is a folder"], ["does not exist"]),
    hdf5_hint: (["jets.h5", "data.format: table"], ["fmt="]),
    synth_zero_jets: (["--jets", "got 0"], ["n_jets"]),
    arff_without_name: (["jets.arff", "@attribute"], ["list index", "IndexError"]),
    semicolon_csv: (["jets.csv", "semicolons", "comma-separated"], ["lacks"]),
    symlink_loop: (["a.h5", "symbolic link loop"], ["no such file"]),
    empty_data_path: (["data.path", "no value", "data.path=null"], []),
    duplicated_csv_column: (["jets.csv", "zlogz (2 columns", "ambiguous"], []),
    duplicated_parquet_column: (["jets.parquet", "mass_mmdt (2 columns", "j_mass_mmdt",
                                 "ambiguous"], []),
}


#: cases run as a real subprocess (the others in this process)
SUBPROCESS = {huge_value, empty_data_path}


@pytest.mark.parametrize("case", list(CASES), ids=[c.__name__ for c in CASES])
def test_message_says_what_is_really_wrong(case, workdir: Path) -> None:
    study_yaml(workdir / "s.yaml", "results", "msg")
    args = case(workdir)
    must, must_not = CASES[case]
    refused_untouched(workdir, *args, must=must, must_not=must_not, fresh=case in SUBPROCESS)
