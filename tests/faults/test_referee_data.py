"""Bad data files, run as a user would (``jetstudy run --set data.path=...``): exit status 2,
one ``error:`` line naming the file, the problem and the fix, no traceback, no results folder,
no user file changed. Each case is a kind of file that once got through, hung, or was named
wrongly; the kinds already covered elsewhere (test_messages.py, tests/trainables/test_data.py)
are not repeated."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import h5py
import numpy as np
import pandas as pd
import pytest

from tests.faults.conftest import (checksums, jetstudy_here, one_line_error,
                                  refused_untouched, study_yaml)
from jetstudy.trainables.schema import HLF_FEATURES, LABEL_COLUMNS, OPENML_FEATURES

#: Format A column names: the 16 features, then the 5 labels (enough for the reader).
NAMES = [*HLF_FEATURES, *LABEL_COLUMNS]


def _jets(n: int = 50) -> np.ndarray:
    """``n`` jets of random features with one-hot labels cycling through the five classes."""
    rng = np.random.default_rng(0)
    data = np.zeros((n, len(NAMES)))
    data[:, :16] = rng.random((n, 16))
    data[np.arange(n), 16 + np.arange(n) % 5] = 1.0
    return data


def _h5(path: Path, data: np.ndarray | None = None) -> Path:
    with h5py.File(path, "w") as handle:
        handle.create_dataset("jets", data=_jets() if data is None else data)
        handle.create_dataset("jetFeatureNames", data=np.array([n.encode() for n in NAMES]))
    return path


def _table() -> pd.DataFrame:
    frame = pd.DataFrame(np.random.default_rng(1).random((50, 16)), columns=OPENML_FEATURES)
    frame["class"] = np.array(list("gqwzt"))[np.arange(50) % 5]
    return frame


def fifo(work: Path) -> str:
    pipe = work.parent / "pipe" / "jets.h5"  # beside work/: checksums() would wait on it too
    pipe.parent.mkdir()
    os.mkfifo(pipe)  # opening it for reading would wait for a writer for ever
    return str(pipe)


def broken_link_in_folder(work: Path) -> str:
    (work / "data").mkdir()
    _h5(work / "data" / "a.h5")
    os.symlink(work / "moved_away.h5", work / "data" / "b.h5")
    return "data"


def broken_link_in_glob(work: Path) -> str:
    (work / "data").mkdir()
    _h5(work / "data" / "a.h5")
    os.symlink(work / "data" / "c.h5", work / "data" / "c.h5")  # a link to itself
    return "data/*.h5"


def all_features_constant(work: Path) -> str:
    data = _jets()
    data[:, :16] = 0.0  # zero-filled placeholder columns
    _h5(work / "jets.h5", data)
    return "jets.h5"


def jets_is_a_group(work: Path) -> str:
    with h5py.File(work / "jets.h5", "w") as handle:
        handle.create_group("jets")
        handle.create_dataset("jetFeatureNames", data=np.array([n.encode() for n in NAMES]))
    return "jets.h5"


def jets_links_to_a_missing_file(work: Path) -> str:
    with h5py.File(work / "jets.h5", "w") as handle:
        handle["jets"] = h5py.ExternalLink(str(work / "gone.h5"), "/jets")
        handle.create_dataset("jetFeatureNames", data=np.array([n.encode() for n in NAMES]))
    return "jets.h5"


def damaged_block(work: Path) -> str:
    """A file whose header is intact but whose compressed data is not (a bad copy): h5py's
    OSError on reading named no file and blamed the path."""
    with h5py.File(work / "jets.h5", "w") as handle:
        handle.create_dataset("jets", data=_jets(5000), compression="gzip", chunks=(500, 21))
        handle.create_dataset("jetFeatureNames", data=np.array([n.encode() for n in NAMES]))
    raw = bytearray((work / "jets.h5").read_bytes())
    for i in range(len(raw) // 3, len(raw) // 3 + 2000):
        raw[i] ^= 0x5A
    (work / "jets.h5").write_bytes(bytes(raw))
    return "jets.h5"


def strings_in_jets(work: Path) -> str:
    with h5py.File(work / "jets.h5", "w") as handle:
        handle.create_dataset("jets", data=np.full((10, len(NAMES)), b"0.5"))
        handle.create_dataset("jetFeatureNames", data=np.array([n.encode() for n in NAMES]))
    return "jets.h5"


def upper_case_header(work: Path) -> str:
    frame = _table()
    frame.columns = [c.upper() for c in frame.columns]
    frame.to_csv(work / "jets.csv", index=False)
    return "jets.csv"


def latin1_csv(work: Path) -> str:
    text = _table().to_csv(index=False).replace("zlogz", "zlögz", 1)
    (work / "jets.csv").write_bytes(text.encode("latin-1"))
    return "jets.csv"


def dates_in_parquet(work: Path) -> str:
    frame = _table()
    frame["mass_mmdt"] = pd.Timestamp("2020-01-01")
    frame.to_parquet(work / "jets.parquet")
    return "jets.parquet"


#: case -> what the one error line must say
CASES: dict[Callable[[Path], str], list[str]] = {
    fifo: ["jets.h5", "not a regular file", "give the data file"],
    broken_link_in_folder: ["b.h5", "broken symbolic link", "moved_away.h5", "fix or remove"],
    broken_link_in_glob: ["c.h5", "symbolic link loop", "fix or remove"],
    all_features_constant: ["jets.h5", "all 16 features are constant", "placeholders"],
    jets_is_a_group: ["jets.h5", "`jets` is not a dataset", "re-create"],
    jets_links_to_a_missing_file: ["jets.h5", "`jets` is not a dataset", "missing file"],
    damaged_block: ["jets.h5", "its datasets cannot be read", "re-download", "h5repack"],
    strings_in_jets: ["jets.h5", "`jets` holds strings (|S3), not numbers"],
    upper_case_header: ["jets.csv", "case-sensitive", "'ZLOGZ'", "lower case"],
    latin1_csv: ["jets.csv", "not UTF-8", "save the table as UTF-8"],
    dates_in_parquet: ["jets.parquet", "mass_mmdt", "dates", "must be numbers"],
}

#: cases run as a real subprocess, with a time limit (a regression would hang)
SUBPROCESS = {fifo}


@pytest.mark.parametrize("case", list(CASES), ids=[c.__name__ for c in CASES])
def test_bad_data_file_gets_one_clear_error(case, workdir: Path) -> None:
    study_yaml(workdir / "s.yaml", "results", "refereed")
    path = case(workdir)
    refused_untouched(workdir, "run", "s.yaml", "--set", f"data.path={path}", must=CASES[case],
                      fresh=case in SUBPROCESS, timeout=90)


def test_one_constant_feature_is_only_a_warning(tmp_path: Path) -> None:
    """A single constant feature can be real (a detector that never fired); only all 16
    constant stops the study, so loading goes on."""
    from jetstudy.trainables.formats import load_jets

    data = _jets()
    data[:, 3] = 1.5
    table = load_jets(_h5(tmp_path / "jets.h5", data))
    assert table.n_jets == 50 and np.all(table.x[:, 3] == 1.5)


@pytest.mark.parametrize("change", ["more_jets", "other_values"])
def test_resume_on_other_jets_is_refused(change: str, tmp_path: Path) -> None:
    """``--resume`` after the files under data.path were replaced: the trials would go on
    training on other jets and the best model be tested on another split. The study folder
    (as its data preparation left it) must stay as it was."""
    from jetstudy.study.config import load_config
    from jetstudy.study.prepare import check_folder, prepare_data, write_config

    work = tmp_path / "work"
    work.mkdir()
    study_yaml(work / "s.yaml", str(work / "results"), "refereed")
    _h5(work / "jets.h5", _jets(100))
    cfg = load_config(work / "s.yaml", [f"data.path={work / 'jets.h5'}"])
    folder = work / "results" / "refereed"
    check_folder(folder, resume=False)
    prepare_data(cfg, folder)
    write_config(cfg, folder)
    data = _jets(150) if change == "more_jets" else _jets(100) * np.array([2.0] * 16 + [1.0] * 5)
    _h5(work / "jets.h5", data)
    before = checksums(folder)
    err = one_line_error(jetstudy_here("run", "s.yaml", "--set", f"data.path={work / 'jets.h5'}",
                                       "--resume", cwd=work))
    assert "--resume" in err and "no longer holds the jets this study was run on" in err
    assert ("n_jets" if change == "more_jets" else "training features' mean") in err
    assert "restore the original files" in err
    assert checksums(folder) == before


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_names_with_spaces_around_them_are_still_the_names(suffix: str, tmp_path: Path) -> None:
    """A hand-edited header (`zlogz ,  class`) read as 'the table lacks zlogz (names are
    case-sensitive: found 'zlogz ')'."""
    from jetstudy.trainables.formats import load_jets

    frame = _table()
    frame.columns = [f" {c} " if i % 2 else f"{c} " for i, c in enumerate(frame.columns)]
    path = tmp_path / f"jets{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    table = load_jets(path)
    assert table.n_jets == 50
    assert table.class_counts() == {"g": 10, "q": 10, "W": 10, "Z": 10, "t": 10}
