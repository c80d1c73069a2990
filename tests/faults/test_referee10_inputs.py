"""Round 10 referee of bad input (issue 9's class): each module of jetstudy.study imports on
its own, and what the config and the data readers still accepted, mangled or met with a raw
traceback gets one clear error naming the value and the fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import jetstudy.study
from tests.faults.conftest import jetstudy_here, one_line_error, study_yaml

STUDY = Path(jetstudy.study.__file__).parent

# For each module: drop every jetstudy module already imported, then import that one first, as a
# fresh process would (torch, ray and yaml stay loaded: only jetstudy's import order matters).
_IMPORT_EACH = """
import importlib, sys
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "jetstudy" or m.startswith("jetstudy.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as error:
        failed.append(f"{name}: {type(error).__name__}: {error}")
print("\\n".join(failed))
"""


def test_each_study_module_imports_alone() -> None:
    """`import jetstudy.study.config_file` alone hit a circular import (config imported
    config_file at its end, which imported config's names before they existed)."""
    names = sorted(f"jetstudy.study.{p.stem}" for p in STUDY.glob("*.py") if p.stem != "__init__")
    assert "jetstudy.study.config_file" in names and "jetstudy.study.config_rules" in names
    done = subprocess.run([sys.executable, "-c", _IMPORT_EACH, *names], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "", done.stdout


def test_config_reexports_what_it_moved() -> None:
    """Callers still import the moved names from jetstudy.study.config."""
    from jetstudy.study import config, config_file, config_rules

    assert config.load_config is config_file.load_config
    assert config.pack_problem is config_rules.pack_problem
    assert config.data_beside_config is config_rules.data_beside_config


# --- environment variables jetstudy reads ---------------------------------------------------

@pytest.mark.parametrize("value, words", [
    ("abc", "Ray Tune takes auto or a number of seconds >= 0"),
    ("AUTO", "Ray reads only 'auto', in lower case"),
    ("inf", "infinite: Tune would save its experiment state in ray/ as the study starts"),
    ("nan", "Ray Tune takes auto or a number"),
    ("-5", "(negative)"),
])
def test_a_garbage_tune_snapshot_period_is_one_error_before_any_work(
        value: str, words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TUNE_GLOBAL_CHECKPOINT_S (jetstudy sets it unless the user did, then keeps the user's)
    set to 'abc' stopped `jetstudy run` inside Tune with a raw ValueError (exit 1), after the
    results folder held config.yaml, data, scaler.json, ...; now one error, exit 2, no folder."""
    from jetstudy.study.snapshots import TUNE_PERIOD_ENV

    monkeypatch.setenv(TUNE_PERIOD_ENV, value)
    study_yaml(tmp_path / "c.yaml", tmp_path / "res")
    err = one_line_error(jetstudy_here("run", "c.yaml", "--no-figures", cwd=tmp_path))
    assert f"TUNE_GLOBAL_CHECKPOINT_S is {value!r}" in err and words in err, err
    assert "TUNE_GLOBAL_CHECKPOINT_S=10" in err, err  # the fix
    assert not (tmp_path / "res").exists()


@pytest.mark.parametrize("value", ["auto", "0", "2.5", " 10 ", "1e3"])
def test_a_tune_snapshot_period_ray_reads_is_kept(value: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The library path (run_study sets the period as Ray starts): a value Tune reads is the
    user's and stays; a garbage one is a ConfigError there too (launch then removes the
    not-started study's config.yaml)."""
    from jetstudy.study.snapshots import TUNE_PERIOD_ENV, set_tune_snapshot_period
    from jetstudy.trainables.errors import ConfigError

    monkeypatch.setenv(TUNE_PERIOD_ENV, value)
    set_tune_snapshot_period(4)
    assert os.environ[TUNE_PERIOD_ENV] == value
    monkeypatch.setenv(TUNE_PERIOD_ENV, value + "s")
    with pytest.raises(ConfigError, match="TUNE_GLOBAL_CHECKPOINT_S"):
        set_tune_snapshot_period(4)


# --- config values ----------------------------------------------------------------------------

@pytest.mark.parametrize("override, ascii_form", [
    ("search.num_trials=５", "5"), ("search.num_trials=٣", "3"), ("space.lr=[１e-4, 1e-2]", "1e-4"),
])
def test_digits_of_another_script_are_named_not_called_quoted(override: str,
                                                              ascii_form: str) -> None:
    """A full-width '５' (a Japanese keyboard) or Arabic-Indic '٣' is text to YAML; the message
    said "'５' is quoted text, not a number: write the number without quotes" (it was not
    quoted: the fix did nothing)."""
    from jetstudy.study.config import apply_overrides, from_dict
    from jetstudy.trainables.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        from_dict(apply_overrides({}, [override]))
    message = str(caught.value)
    assert "quoted text" not in message, message
    assert "written with digits of another script" in message, message
    assert f"write {ascii_form} in ASCII digits" in message, message


# --- command-line options -----------------------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["init", "my.yaml"], "init DIR 'my.yaml' names a YAML file, but init writes jetstudy.yaml "
                          "into a folder; give the folder (jetstudy init .), then rename"),
    (["init", "sub/My.YML"], "give the folder (jetstudy init sub)"),
    (["synth", "data.h5", "--jets", "1000"], "synth DIR 'data.h5' names a data file (.h5), but "
                                             "synth writes its .h5 files into a folder; give "
                                             "the folder, e.g. jetstudy synth data"),
])
def test_a_file_name_where_a_folder_goes_is_refused_not_made_a_folder(
        args: list[str], words: str, tmp_path: Path) -> None:
    """`jetstudy init my.yaml` made a folder my.yaml/ holding jetstudy.yaml, `jetstudy synth
    data.h5` a folder data.h5/ holding the .h5 files: exit 0, and not what was asked."""
    err = one_line_error(jetstudy_here(*args, cwd=tmp_path))
    assert words in err, err
    assert list(tmp_path.iterdir()) == []
