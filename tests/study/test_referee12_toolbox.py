"""Round 12, toolbox: what a physicist meets driving jetstudy from Python.

- The README's Python API block (``run_study``) let Optuna's INFO line "A new study created in
  Journal with name: jetstudy" through on stderr, which the command line keeps out; now the
  searcher keeps it out wherever the study is created, and leaves the user's own Optuna
  verbosity as it found it.
- ``jetstudy.study.export_meta`` imported ``jetstudy.analysis.size_answer``'s private
  ``_no_accuracy_words``: a seam between the packages that a rename inside analysis breaks
  silently. No module of one package imports another package's private name now.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import optuna
import pytest

from jetstudy.study.config import load_config
from jetstudy.study.searcher import make_searcher

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("study", "trainables", "analysis")


def test_creating_the_search_prints_no_optuna_info_line(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)  # Optuna's default, as a script has it
    try:
        make_searcher(load_config(None, []), tmp_path)
        out, err = capfd.readouterr()
        assert "A new study created" not in out + err
        assert optuna.logging.get_verbosity() == optuna.logging.INFO  # the user's, kept
    finally:
        optuna.logging.set_verbosity(before)
    assert (tmp_path / "optuna.journal").is_file()  # the study was created all the same


def _private_imports_across_packages() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.ImportFrom) or not node.module:
                    continue
                parts = node.module.split(".")
                if len(parts) < 2 or parts[0] != "jetstudy" or parts[1] == package:
                    continue
                found += [f"{path.relative_to(REPO)}: {node.module}.{alias.name}"
                          for alias in node.names if alias.name.startswith("_")
                          and not alias.name.startswith("__")]
    return found


def test_no_package_imports_another_packages_private_name() -> None:
    assert _private_imports_across_packages() == []


# ---- the fix a damaged table names: a command that reaches the study ------------------------

def _damaged_study(tmp_path: Path, column: str) -> Path:
    """A study folder (config.yaml beside its tables) whose trials table holds a value no
    jetstudy writes, in the Parquet and the CSV alike."""
    import pandas as pd

    folder = tmp_path / "shared" / "my study"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text("storage: {results_dir: results, name: my study}\n")
    trials = pd.DataFrame({"trial_id": ["a", "b"], "status": ["completed"] * 2,
                           "n_params": [10, 20], "train_loss": [1.0, 1.1],
                           "val_loss": [1.2, 1.3], "best_val_acc": [0.5, 0.6]})
    trials.loc[0, column] = 2.0 if column == "best_val_acc" else -3
    trials.to_parquet(folder / "trials.parquet")
    trials.to_csv(folder / "trials.csv", index=False)
    return folder


@pytest.mark.parametrize("column", ["best_val_acc", "n_params"])
def test_a_damaged_table_names_the_resume_that_reaches_its_study(
        tmp_path: Path, column: str, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The round-11 resume hints name storage.results_dir (2606f2a); the damaged-cell error
    still said `--set storage.name=NAME --resume`, which from any other folder than the one
    the study ran in (a relative results_dir) finds no study. It now names both, quoted, and
    the error is said once, not first as a warning about the Parquet and then again."""
    import shlex

    from jetstudy.analysis.errors import AnalysisError
    from jetstudy.analysis.tables import load_tables

    folder = _damaged_study(tmp_path, column)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AnalysisError) as caught:
        load_tables(folder)
    words = str(caught.value)
    place = shlex.join(["--set", f"storage.results_dir={folder.parent}",
                        "--set", "storage.name=my study"])
    assert f"`jetstudy run CONFIG {place} --resume`" in words, words
    assert not [r for r in caplog.records if column in r.getMessage()]  # said once


def test_a_lone_table_keeps_the_placeholder(tmp_path: Path) -> None:
    from jetstudy.analysis.errors import AnalysisError
    from jetstudy.analysis.tables import load_tables

    folder = _damaged_study(tmp_path, "best_val_acc")
    (folder / "config.yaml").unlink()
    with pytest.raises(AnalysisError, match="--set storage.name=NAME --resume"):
        load_tables(folder / "trials.csv")


# ---- jetstudy rerun's last line: expected or a finding -----------------------------------------

def _run_folder(root: Path, name: str, *, at_once: int = 1, gpus: float = 0, cuda: bool = False,
                packed: int = 0, threads: int = 1, budget: float | None = None,
                restarts: int = 0) -> Path:
    import json

    import pandas as pd
    import yaml

    folder = root / name
    folder.mkdir(parents=True)
    pd.DataFrame({"trial_id": ["a", "b"], "restarts": [0, restarts]}).to_parquet(
        folder / "trials.parquet")
    config = {"search": {"max_concurrent": at_once, "num_trials": 4, "time_budget_s": budget},
              "resources": {"gpus_per_trial": gpus, "pack_size": "auto"},
              "training": {"torch_threads": threads},
              "storage": {"results_dir": str(root), "name": name},
              "data": {"path": f"/data/{name}.h5"}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    (folder / "provenance.json").write_text(json.dumps({
        "device": {"requested": "auto", "cuda_available": cuda},
        "packing": {"pack_size": "auto", "resolved": packed},
        "sampler": {"trials_at_once": at_once}}))
    return folder


DIFFER = ["epochs.parquet: val_loss differ (trial_number 2, 3)"]


def test_a_rerun_that_should_repeat_and_did_not_is_called_a_finding(tmp_path: Path) -> None:
    """A CPU study of one trial at a time, rerun as it ran (only storage and data.path are
    the rerun's own), differs: the README says it repeats exactly, so this is no expected
    difference. The old line blamed 'search.max_concurrent > 1, on a GPU, or ... other
    versions' whatever the study was."""
    from jetstudy.study.rerun import expected_causes, verdict

    causes = expected_causes(_run_folder(tmp_path, "s"), _run_folder(tmp_path, "s-rerun"),
                             ["/x/config.yaml predates data.duplicates: the rerun uses keep"])
    assert causes == []
    line = verdict(DIFFER, causes)
    assert line.startswith("not reproduced: epochs.parquet: val_loss differ (trial_number 2, 3)")
    assert "Not expected" in line and "expected here" not in line


@pytest.mark.parametrize(("first", "rerun", "warned", "cause"), [
    ({"at_once": 2}, {"at_once": 2}, [], "2 trials ran at once"),
    ({"gpus": 1, "cuda": True}, {"gpus": 1, "cuda": True}, [], "trials trained on a GPU"),
    ({"packed": 4}, {"packed": 4}, [], "packed training"),
    ({}, {}, ["torch: the study ran 2.12.0, this is 2.13.0"], "what the warnings above name"),
    ({}, {"threads": 2}, [], "config fields --set changed (training.torch_threads)"),
    ({"budget": 600}, {"budget": 600}, [], "search.time_budget_s cut trials by the clock"),
    ({}, {"restarts": 1}, [], "trials went on from a checkpoint (restarts in"),
])
def test_an_expected_difference_names_its_cause(tmp_path: Path, first: dict, rerun: dict,
                                                warned: list[str], cause: str) -> None:
    from jetstudy.study.rerun import expected_causes, verdict

    causes = expected_causes(_run_folder(tmp_path, "s", **first),
                             _run_folder(tmp_path, "s-rerun", **rerun), warned)
    assert [c for c in causes if c.startswith(cause)] == causes != [], causes
    assert f"(expected here: {cause}" in verdict(DIFFER, causes)
    assert verdict([], causes).startswith("reproduced: ")  # equal tables: reproduced all the same


# ---- the report's resume command: the folder read, renamed or not ----------------------------

@pytest.mark.parametrize("new_name", ["renamed", "renamed study"])
def test_the_reports_resume_command_names_a_renamed_study_folder(tmp_path: Path,
                                                                 new_name: str) -> None:
    """A study copied to shared storage under another name: config.yaml still says
    storage.name 'study-20261129', the folder is 'renamed'. The Outcomes line gave the
    folder's parent with the config's name, a folder that is not there (`jetstudy run --resume`
    with the folder's own name continues it: checked by hand on a real study); a name with a
    space was not quoted for the shell. Now both come from the folder read, quoted."""
    import shlex

    import pandas as pd

    from jetstudy.analysis.study_state import study_state

    folder = tmp_path / "shared" / new_name
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text("storage: {name: study-20261129}\n")
    trials = pd.DataFrame({"trial_id": ["a", "b"], "status": ["completed", "interrupted"],
                           "stop_reason": ["max_epochs", "interrupted"]})
    config = {"storage": {"name": "study-20261129"}}
    (line,) = [x for x in study_state(trials, config, folder=folder).lines if "--resume" in x]
    command = line[line.index("`jetstudy run") + 1:]
    words = shlex.split(command[:command.index("`")].replace("<config>", "CONFIG"))
    sets = dict(w.split("=", 1) for w in words if w.startswith("storage."))
    assert Path(sets["storage.results_dir"]) / sets["storage.name"] == folder, line


# ---- docs/results_layout.md's ways into optuna.journal work as written ---------------------

def test_the_layouts_optuna_calls_open_a_jetstudy_journal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Python call and the `optuna` command the layout gives, run as written in a folder
    holding a journal named and written as jetstudy writes it (jetstudy.study.optuna_files)."""
    import re
    import subprocess
    import sys

    from jetstudy.study.optuna_files import OPTUNA_JOURNAL, OPTUNA_STUDY_NAME, optuna_storage

    row = next(line for line in (REPO / "docs" / "results_layout.md").read_text().splitlines()
               if line.startswith("| `optuna.journal` |"))
    (call,) = re.findall(r"`(optuna\.load_study\(.*?\)\))`", row)
    (command,) = re.findall(r"`(optuna trials [^`]*)`", row)
    study = optuna.create_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(tmp_path))
    study.set_metric_names(["val_loss"])
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert (tmp_path / OPTUNA_JOURNAL).is_file() and OPTUNA_JOURNAL in call + command
    monkeypatch.chdir(tmp_path)
    loaded = eval(call, {"optuna": optuna})  # noqa: S307 - the layout's own line
    assert len(loaded.trials) == 2 and loaded.metric_names == ["val_loss"]
    cli = Path(sys.executable).with_name("optuna")
    done = subprocess.run([str(cli), *command.split()[1:], "-f", "json"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and '"number": 1' in done.stdout, done.stderr


def test_run_study_refuses_a_bad_tune_period_before_any_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`jetstudy run` checks the user's TUNE_GLOBAL_CHECKPOINT_S before any work; the Python
    API's run_study (README's block) checked it only as Ray started, after the study folder,
    its synthetic data and scaler.json were written: the same error, a half-made folder."""
    from jetstudy.study.launch import run_study
    from jetstudy.trainables.errors import ConfigError

    monkeypatch.setenv("TUNE_GLOBAL_CHECKPOINT_S", "abc")
    cfg = load_config(None, [f"storage.results_dir={tmp_path / 'results'}", "storage.name=s",
                             "data.synthetic_jets=2000"])
    with pytest.raises(ConfigError, match="TUNE_GLOBAL_CHECKPOINT_S is 'abc'"):
        run_study(cfg)
    assert not (tmp_path / "results" / "s").exists()


# ---- a URL given to the Python API's readers, as the command line refuses it ----------------

@pytest.mark.parametrize("url", ["s3://bucket/study", "https://example.org/study?v=1",
                                 "file:///tmp/study"])
def test_the_api_refuses_a_url_as_the_command_line_does(
        tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`jetstudy report|export s3://...` is refused naming the URL (d0a8367); from Python,
    load_tables/write_report said "s3:/bucket/study does not exist" (Path folds the //) and
    export_model "is not a jetstudy results folder"; export_model(..., out="s3://b/x") would
    write into a local folder 's3:', as write_report(..., out_dir='s3://b/x') did; plan_rerun
    (`jetstudy rerun` from Python) said 's3:/bucket/study is not a results folder' and a URL
    --data "not found". Now each names the URL and the fix."""

    from jetstudy.analysis import load_tables, write_report
    from jetstudy.analysis.errors import AnalysisError
    from jetstudy.study.export import export_model
    from jetstudy.study.rerun import plan_rerun
    from jetstudy.trainables.errors import JetstudyError

    said = "a URL (file://); jetstudy takes plain paths: write '/tmp/study'" \
        if url.startswith("file") else "is a URL ("
    for call in (load_tables, write_report):
        with pytest.raises(AnalysisError, match=re.escape(f"{url!r} ") + ".*" + re.escape(said)):
            call(url)
    with pytest.raises(JetstudyError, match=re.escape(f"RESULTS {url!r}")):
        export_model(url)
    study = tmp_path / "study"  # a folder export would accept as far as -o is looked at
    study.mkdir()
    with pytest.raises(JetstudyError, match=re.escape(f"-o {url!r}")):
        export_model(str(study), out=url)
    with pytest.raises(JetstudyError, match=re.escape(f"RESULTS {url!r}")):
        plan_rerun(url)
    with pytest.raises(JetstudyError, match=re.escape(f"--data {url!r}")):
        plan_rerun(str(study), data=url)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AnalysisError, match=re.escape(f"-o {url!r}")):
        write_report(str(study), out_dir=url)
    assert not (tmp_path / "s3:").exists() and not (tmp_path / "https:").exists()
