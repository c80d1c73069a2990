"""Round 11 (second wave) bad-input follow-ups: an initial point's value named as written in
YAML (true, not True; a quoted '64' told to drop its quotes), a folder the file system cannot
make (/proc/sys/newdir) not called missing, a ``--set`` value YAML could not read said so and
why, an HDF5 ``jetFeatureNames`` table (59, 2) named by its shape, and ARFF weighted rows."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from jetstudy.study.config import from_dict, load_config
from jetstudy.study.os_errors import os_problem
from jetstudy.trainables.errors import ConfigError, DataError
from jetstudy.trainables.formats import load_jets
from jetstudy.trainables.schema import JET_FEATURE_NAMES, LABEL_COLUMNS, OPENML_FEATURES
from tests.faults.conftest import jetstudy_here, one_line_error

# --- search.initial_points: the value as written ----------------------------------------------

SPACE = {"depth": [1, 3], "width": [8, 128], "lr": [1e-4, 1e-2]}


def _point_error(point: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        from_dict({"space": SPACE, "search": {"initial_points": [point]}})
    return str(caught.value)


@pytest.mark.parametrize("point, said, unsaid", [
    ({"depth": True}, ["depth is true:", "must be an integer", "YAML reads true/false"],
     ["True"]),
    ({"depth": 2, "width_0": "64"}, ["width_0 is '64'", "quoted text, not a number",
                                     "drop the quotes: write 64"], ["write e.g. 8"]),
    ({"depth": 1, "lr": "1e-3"}, ["lr is '1e-3'", "drop the quotes: write 1e-3"],
     ["write e.g."]),
    ({"depth": 1, "lr": False}, ["lr is false:", "must be a number"], ["False"]),
], ids=["bool-depth", "quoted-width", "quoted-lr", "bool-lr"])
def test_an_initial_point_names_its_value_as_written(point: dict, said: list[str],
                                                     unsaid: list[str]) -> None:
    """``depth: yes`` said 'depth is True' (Python's word) and ``width_0: '64'`` said 'must be
    an integer; write e.g. 8', as if 64 were wrong, not its quotes."""
    error = _point_error(point)
    for words in said:
        assert words in error, error
    for words in unsaid:
        assert words not in error, error


def test_a_batch_norm_choice_lists_the_space_in_yaml_words() -> None:
    with pytest.raises(ConfigError) as caught:
        from_dict({"space": {**SPACE, "batch_norm": [False]},
                   "search": {"initial_points": [{"depth": 1, "batch_norm": True}]}})
    assert "batch_norm is true: not in space.batch_norm [false]" in str(caught.value)


# --- a folder the file system cannot make ---------------------------------------------------


@pytest.mark.skipif(not os.path.isdir("/proc/sys"), reason="needs Linux's /proc")
@pytest.mark.parametrize("out", ["/proc/sys/newdir", "/proc/sys/newdir/deeper"])
def test_synth_into_a_folder_proc_cannot_make_says_so(out: str, tmp_path: Path) -> None:
    """``jetstudy synth /proc/sys/newdir`` said 'No such file or directory; check that the path
    exists', the words of reading a missing file, for a folder the kernel refuses to make."""
    err = one_line_error(jetstudy_here("synth", out, "--jets", "100", cwd=tmp_path))
    assert err.startswith("error: /proc/sys/newdir: cannot make this folder: /proc/sys is "
                          "there, but its file system (proc) makes no new folders"), err
    assert "check that the path exists" not in err, err


def test_a_missing_file_to_read_is_still_missing(tmp_path: Path) -> None:
    """Only a folder being made gets the words above: a file read in a folder that exists is
    missing, as before."""
    exc = FileNotFoundError(errno.ENOENT, "No such file or directory", str(tmp_path / "a.h5"))
    assert "check that the path exists" in os_problem(exc)


# --- a --set value YAML could not read ----------------------------------------------------


@pytest.mark.parametrize("text, said", [
    ("!!python/int 3", ["could not determine a constructor for the tag", "remove the tag"]),
    ("*a", ["found undefined alias 'a'", "a leading '*' is a YAML alias"]),
    ("[1,", ["fix the brackets or quotes"]),
], ids=["tag", "alias", "open-bracket"])
def test_a_set_value_yaml_cannot_read_says_why(text: str, said: list[str]) -> None:
    """``--set search.num_trials='!!python/int 3'`` was kept as text and refused as only
    "got '!!python/int 3'", with no word that YAML could not read it, nor why."""
    with pytest.raises(ConfigError) as caught:
        load_config(None, [f"search.num_trials={text}"])
    error = str(caught.value)
    assert f"got {text!r}" in error, error
    assert f"YAML could not read {text!r}" in error, error
    for words in said:
        assert words in error, error


def test_a_glob_kept_as_text_is_still_a_path() -> None:
    """The text fallback stays: ``data.path=*.h5`` (a glob YAML reads as an alias) is a path."""
    cfg = load_config(None, ["data.path=*.h5"])
    assert cfg.data.path == "*.h5"


def test_an_anchor_alone_is_not_called_a_comment() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, ["search.num_trials=&x"])
    assert "an anchor (&name)" in str(caught.value) and "comment" not in str(caught.value)


# --- an HDF5 jetFeatureNames table ----------------------------------------------------------


def _format_a(path: Path, names: np.ndarray) -> Path:
    rows = 50
    data = np.random.default_rng(1).uniform(0.1, 1.0, (rows, len(JET_FEATURE_NAMES)))
    labels = [list(JET_FEATURE_NAMES).index(c) for c in LABEL_COLUMNS]
    data[:, labels] = np.eye(5)[np.arange(rows) % 5]
    with h5py.File(path, "w") as handle:
        handle["jets"] = data
        handle["jetFeatureNames"] = names
    return path


@pytest.mark.parametrize("layout", ["names-beside", "names-above"])
def test_a_table_of_names_is_named_by_its_shape(layout: str, tmp_path: Path) -> None:
    """A ``jetFeatureNames`` of shape (59, 2) (names beside descriptions) was 'lacks j_zlogz,
    ... j_t' (every name), each row read as one name."""
    names = np.array([[n.encode(), b"a description"] for n in JET_FEATURE_NAMES])
    if layout == "names-above":
        names = names.T
    path = _format_a(tmp_path / "jets.h5", names)
    with pytest.raises(DataError) as caught:
        load_jets(str(path))
    error = str(caught.value)
    assert f"jetFeatureNames has shape {names.shape}" in error, error
    assert "a list of shape (59,)" in error and "lacks" not in error, error


# --- ARFF weighted instances ----------------------------------------------------------------


def _arff(path: Path, weights: list[str]) -> Path:
    """An OpenML-style ARFF (16 features, class); ``weights[i]`` is written after row i
    (Weka's ``,{0.5}``), "" for none."""
    head = ["@relation hls4ml_lhc_jets_hlf"]
    head += [f"@attribute {name} numeric" for name in OPENML_FEATURES]
    head += ["@attribute class {g,q,t,w,z}", "@data"]
    rng = np.random.default_rng(2)
    rows = [",".join(f"{v:.4f}" for v in rng.uniform(0.1, 1.0, 16)) + f",{'gqtwz'[i % 5]}"
            + (f",{w}" if w else "") for i, w in enumerate(weights)]
    path.write_text("\n".join(head + rows) + "\n")
    return path


@pytest.mark.parametrize("weights", [
    ["{0.5}"] * 20,  # every row weighted
    [""] * 5 + ["{2}"] + [""] * 14,  # Weka: only rows whose weight is not 1
    ["{0.5}"] + [""] * 19,  # the first row weighted, the rest not
], ids=["all", "one-later", "first-only"])
def test_arff_instance_weights_are_ignored_and_said(weights: list[str], tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """A weighted row (``..., g,{0.5}``) was refused as '18 values but 17 attributes' or
    'line 7 has 18 values ... a decimal comma?'; the weight is now dropped, said once."""
    plain = load_jets(str(_arff(tmp_path / "plain.arff", [""] * len(weights))))
    with caplog.at_level("WARNING"):
        table = load_jets(str(_arff(tmp_path / "weighted.arff", weights)))
    assert np.array_equal(table.x, plain.x) and np.array_equal(table.y, plain.y)
    said = [r.getMessage() for r in caplog.records if "instance weight" in r.getMessage()]
    assert len(said) == 1 and "every jet counts once" in said[0], said
    assert f"{sum(bool(w) for w in weights)} @data rows" in said[0], said


def test_an_arff_row_with_an_extra_value_that_is_no_weight_is_still_refused(
        tmp_path: Path) -> None:
    """A decimal comma (one more value, not in braces) stays refused."""
    path = _arff(tmp_path / "comma.arff", [""] * 5 + ["5"] + [""] * 14)
    with pytest.raises(DataError) as caught:
        load_jets(str(path))
    assert "decimal comma" in str(caught.value), caught.value
