"""Round 11, second wave: the export and the command line say what the report and ``--help`` say.

- ``model.json`` -> ``selection.size_answer`` named the best and the pick without the fully
  trained trials the answer left out for a missing accuracy (``SizeAnswer.no_accuracy``, or a
  missing size), which the report's paragraph names: the export's "best" was not the table's
  best. Its ``val_acc`` was the last epoch's, not the best epoch's accuracy the rule compares
  and the report prints; with no answer it said "no completed trial has a score and a size"
  where the report names the missing accuracy.
- The ``--allow-unfinished`` warning of a ``--trial`` sent the user to "the study's best (no
  --trial)" in a study with no best model; a row-less trial cut short said "wait for the
  study's tables" though no driver would write one.
- An option given twice (``--trial a --trial b``) silently took the last; ``--help`` of
  ``--allow-unfinished`` left out the undetermined case; README's Command line listed
  ``rerun`` (and ``run``, ``config``, ``init``) without some of their options.

Hand-made study folders (no Ray, no training).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from jetstudy.study.cli import main
from jetstudy.study.cli_parser import build_parser

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


# ---- 1. the size answer in model.json -------------------------------------------------------

def _table(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "trials.parquet")


@pytest.fixture(scope="module")
def no_accuracy_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/faults/test_referee4_trigger_export's size-aware study (big, small, tiny), the
    best ('big') with its accuracy NaN (a damaged row) and a best-epoch accuracy beside the
    last epoch's, exported."""
    pytest.importorskip("onnxruntime")
    from jetstudy.study.export import export_model
    from tests.faults.test_referee4_trigger_export import _study

    root = tmp_path_factory.mktemp("no_acc")
    folder = _study(root / "s", {"objectives": ["val_loss", "multiplications"]})
    table = _table(folder)
    table["best_val_acc"] = table["val_acc"] + 0.01  # the best epoch's, not the last one's
    table.loc[table["trial_id"] == "big", ["val_acc", "best_val_acc"]] = np.nan
    table.to_parquet(folder / "trials.parquet")
    export_model(folder, out=root / "e")
    return root / "e"


def test_model_json_names_the_trial_left_out_for_its_accuracy(no_accuracy_export: Path) -> None:
    answer = json.loads((no_accuracy_export / "model.json").read_text())["selection"][
        "size_answer"]
    # the report: "Left out: trial big, fully trained, has a size and a score but no
    # validation accuracy ... 'the best' here is the best of the others."
    assert answer["best"]["trial_id"] == "small", answer
    assert answer["no_accuracy"] == ["big"] and answer["unsized"] == [], answer
    assert answer["left_out"].startswith("Left out: trial big, fully trained, has a size and "
                                         "a score but no validation accuracy"), answer
    readme = (no_accuracy_export / "README.md").read_text()
    assert "Left out: trial big" in readme, readme


def test_model_json_gives_the_accuracy_the_rule_compares(no_accuracy_export: Path) -> None:
    pick = json.loads((no_accuracy_export / "model.json").read_text())["selection"][
        "size_answer"]["pick"]
    assert pick["best_val_acc"] == pytest.approx(0.757 + 0.01), pick  # the best epoch's
    assert pick["val_acc"] == pytest.approx(0.757), pick  # the last epoch's, as before


def test_no_size_answer_says_why_in_the_reports_words(tmp_path: Path) -> None:
    """Every fully trained trial without an accuracy: the report says the accuracy the rule
    needs is missing; the export said 'no completed trial has a score and a size'."""
    from jetstudy.analysis.size_answer import no_answer_reason
    from jetstudy.study.export_meta import _size_answer
    from tests.analysis.conftest import _make_study, _write_study

    trials, epochs = _make_study(n_trials=3, max_epochs=3, seed=1, asha=False)
    folder = _write_study(tmp_path / "s", trials.assign(val_acc=np.nan, best_val_acc=np.nan),
                          epochs)
    answer, why = _size_answer(folder, "val_loss", "n_params")
    assert answer is None, answer
    assert why == no_answer_reason(_table(folder), "n_params"), why
    assert "no validation accuracy" in why, why


# ---- 2. the --allow-unfinished warning and a row-less trial ---------------------------------

@pytest.fixture(scope="module")
def rowless(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A study whose trials.parquet has a row for 'done' only; 'cut' (2 of 4 epochs in its
    log) started after that snapshot. No best/model.pt, no driver.lock."""
    from jetstudy.trainables.model import MLPArch, build_mlp
    from tests.study.hand_study import add_trial, hand_study

    _, folder, _, trials = hand_study(tmp_path_factory.mktemp("rowless"), 2000)
    arch = MLPArch(16, (8,))
    for tid, last in (("done", 4), ("cut", 2)):
        torch.manual_seed(0)
        add_trial(trials, tid, {"depth": 1, "width": 8}, arch, build_mlp(arch).state_dict(),
                  1, 1.0, 0.5, 0.7, last_epoch=last)
    pd.DataFrame([{"trial_id": "done", "trial_number": 0, "status": "completed", "epochs": 4,
                   "max_epochs": 4, "best_epoch": 1, "best_val_loss": 1.0, "n_params": 181}]
                 ).to_parquet(folder / "trials.parquet")
    return folder


def test_the_unfinished_warning_names_no_best_where_there_is_none(tmp_path: Path) -> None:
    from jetstudy.study.export_meta import trial_training

    pd.DataFrame({"trial_id": ["done", "early"], "status": ["completed", "stopped"],
                  "epochs": [10, 3], "max_epochs": [10, 10]}).to_parquet(
        tmp_path / "trials.parquet")
    for tid in ("done", "early"):
        (tmp_path / "trials" / tid).mkdir(parents=True)
    warning = trial_training(tmp_path, "early")["warning"]
    assert "the study's best" not in warning, warning
    assert warning.endswith("for a finished model export a completed trial (done)"), warning
    (tmp_path / "best").mkdir()
    (tmp_path / "best" / "model.pt").write_bytes(b"")
    assert trial_training(tmp_path, "early")["warning"].endswith(
        "export the study's best (no --trial) or a completed trial (done)")


def _refusal(folder: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> str:
    assert main(["export", str(folder), "--trial", "cut", "-o", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()
    return " ".join(capsys.readouterr().err.split())


def test_a_rowless_trial_of_a_dead_driver_is_sent_to_resume(
        rowless: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _refusal(rowless, capsys, tmp_path)
    assert "how far trial cut trained is unknown (trial cut has no row" in err, err
    assert "wait for the study's tables" not in err, err
    assert ("no driver holds the study's driver.lock" in err
            and f"`jetstudy run CONFIG --set storage.results_dir={rowless.parent} --set "
                "storage.name=s --resume`" in err
            and "pass --allow-unfinished" in err), err


def test_a_rowless_trial_of_a_running_driver_waits_for_the_tables(
        rowless: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from jetstudy.study.lock import StudyLock

    with StudyLock(rowless):
        err = _refusal(rowless, capsys, tmp_path)
    assert "wait for the study's tables" in err and "--resume" not in err, err


def test_a_rowless_trial_of_an_ended_study_asks_for_its_own_table(
        rowless: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    ended = tmp_path / "ended"
    shutil.copytree(rowless, ended)
    (ended / "provenance.json").write_text(json.dumps({"started": "2026-11-29T05:00:00Z",
                                                       "ended": "2026-11-29T05:30:00Z"}))
    err = _refusal(ended, capsys, tmp_path)
    assert ("the study ended at 2026-11-29T05:30:00Z and its final tables have no row" in err
            and "put back the study's own trials.parquet" in err and "--resume" not in err), err


# ---- 3. an option given twice ---------------------------------------------------------------

@pytest.mark.parametrize("argv,words", [
    (["run", "NONE", "--address", "a", "--address", "b"], "--address 'a', then --address 'b'"),
    (["report", "NONE", "-o", "x", "-o", "y"], "-o 'x', then -o 'y'"),
    (["export", "NONE", "-o", "x", "--out", "y"], "-o 'x', then --out 'y'"),
    (["export", "NONE", "--trial", "a", "--trial", "b"], "--trial 'a', then --trial 'b'"),
    (["synth", "NONE", "--jets", "100", "--jets", "200"], "--jets 100, then --jets 200"),
    (["rerun", "NONE", "--name", "a", "--name=b"], "--name 'a', then --name 'b'"),
])
def test_an_option_given_twice_is_refused_naming_both(
        argv: list[str], words: str, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    argv = [str(tmp_path / "none") if a == "NONE" else a for a in argv]  # (before: it ran)
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert list(tmp_path.iterdir()) == []
    err = capsys.readouterr().err
    assert f"is given twice ({words}), and only one can be used: give it once" in err, err
    assert "Traceback" not in err


def test_the_same_value_twice_and_a_repeated_set_still_go() -> None:
    args = build_parser().parse_args(["export", "r", "--trial", "a", "--trial", "a"])
    assert args.trial == "a" and not hasattr(args, "_jetstudy_given")
    args = build_parser().parse_args(["run", "--set", "a=1", "--set", "a=2"])
    assert args.overrides == ["a=1", "a=2"]  # --set keeps its own rule (a warning)


def test_allow_unfinished_help_names_the_undetermined_case(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    words = " ".join(capsys.readouterr().out.split())
    assert "or whose training is undetermined (no row in trials.parquet" in words, words


# ---- 4. README's Command line shows every option of every command ---------------------------

def test_readme_command_lines_show_every_option_of_each_command() -> None:
    """Each command's lines in README's Command line block show each of its options (one of
    an option's spellings: -o or --out); tests/study/test_cli_help.py checks the other way."""
    import argparse

    text = (Path(__file__).parents[2] / "README.md").read_text()
    start = text.index("## Command line\n")
    block = re.search(r"```bash\n(.*?)```", text[start:text.index("\n## ", start + 1)],
                      re.S).group(1)
    sub = next(a for a in build_parser()._actions
               if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, parser in sub.choices.items():
        lines = " ".join(line.split("#")[0] for line in block.splitlines()
                         if line.split()[:2] == ["jetstudy", name])
        shown = set(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", lines))
        missing += [f"{name} {action.option_strings[-1]}" for action in parser._actions
                    if action.option_strings and "--help" not in action.option_strings
                    and not shown & set(action.option_strings)]
    assert not missing, f"README's Command line lacks: {missing}"
