"""Round 10, toolbox: ``jetstudy export --trial`` of a trial that is not fully trained (stopped
early by ASHA, failed, still running, or started after the tables' last snapshot) is refused,
exit 2, one line naming its status and epochs and ``--allow-unfinished``, nothing written;
with the flag it is exported and the printed line says NOT FULLY TRAINED (a script reading
stdout sees it, not only a warning on stderr) and so does the export's README.md, which
travels without that line. The study's best stays exportable as before.

The study folder is built without Ray, as tests/study/test_export.py builds one (prepare_data,
trials' best.pt by save_best, the best evaluated on the test split), plus the trials table a
study writes (status, epochs, max_epochs as ASHA leaves them).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch

from jetstudy.study.cli import main
from jetstudy.study.evaluate import evaluate_best
from jetstudy.study.export import export_model
from jetstudy.trainables.model import MLPArch, build_mlp
from jetstudy.trainables.trialfiles import state_path
from tests.study.hand_study import add_trial, hand_study

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")

#: trial id -> (status, epochs trained, best epoch); max_epochs 4 (make_small_config)
TRIALS = {"done": ("completed", 4, 3), "early": ("stopped", 1, 1), "live": ("running", 2, 2),
          "broke": ("failed", 1, 1), "late": ("running", 1, 1)}


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _, folder, prepared, trials = hand_study(tmp_path_factory.mktemp("unfinished"), 2000)
    arch = MLPArch(16, (8,))
    for i, (tid, (_, epochs, best)) in enumerate(TRIALS.items()):
        torch.manual_seed(i)
        add_trial(trials, tid, {"depth": 1, "width": 8}, arch, build_mlp(arch).state_dict(),
                  best, 1.0, 0.5, 0.7, last_epoch=epochs)
    rows = [{"trial_id": t, "trial_number": n, "status": s, "epochs": e, "best_epoch": b,
             "max_epochs": 4, "best_val_loss": 1.0 + n / 10, "n_params": 181}
            for n, (t, (s, e, b)) in enumerate(TRIALS.items()) if t != "late"]  # no row yet
    pd.DataFrame(rows).to_parquet(folder / "trials.parquet")
    # the study's best is the stopped-early trial: it stays exportable without the flag
    evaluate_best(state_path(trials, "early"), "early", prepared.splits, prepared.synthetic,
                  folder / "best", expected_epoch=1, n_boot=10)
    return folder


@pytest.mark.parametrize("tid,words", [
    ("live", "trial live is not fully trained (status running, 2 of 4 epochs)"),
    ("broke", "trial broke is not fully trained (status failed, 1 of 4 epochs)"),
    ("late", "how far trial late trained is unknown (trial late has no row in trials.parquet"),
])
def test_an_unfinished_trial_is_refused_naming_its_status_and_the_flag(
        study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], tid: str,
        words: str) -> None:
    out = tmp_path / "o"
    assert main(["export", str(study), "--trial", tid, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: --trial "), err
    assert words in err and "pass --allow-unfinished" in err, err
    if tid != "late":
        assert "or a completed trial (done)" in err, err
    assert not out.exists() and not (study / "export").exists()


def test_with_the_flag_it_goes_and_stdout_says_not_fully_trained(
        study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o"
    assert main(["export", str(study), "--trial", "live", "-o", str(out),
                 "--allow-unfinished"]) == 0
    line = capsys.readouterr().out
    assert "exported trial live (epoch 2) NOT FULLY TRAINED (status running, 2 of 4 epochs)" \
        in line, line
    training = json.loads((out / "model.json").read_text())["training"]
    assert training["fully_trained"] is False and training["status"] == "running"
    # the folder travels without the printed line: its README says it before anything else
    readme = (out / "README.md").read_text()
    assert ("**Not fully trained**: trial live is not fully trained (status running, 2 of 4 "
            "epochs)") in readme.split("## ")[0], readme[:800]


def test_a_completed_trial_and_the_study_best_go_without_the_flag(
        study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(study), "--trial", "done", "-o", str(tmp_path / "d")]) == 0
    line = capsys.readouterr().out
    assert "exported trial done (epoch 3) to" in line and "NOT FULLY" not in line, line
    assert "Not fully trained" not in (tmp_path / "d" / "README.md").read_text()
    # the study's best, stopped early here: exported (it is the study's answer), and said so
    assert main(["export", str(study), "-o", str(tmp_path / "b")]) == 0
    assert "exported trial early (epoch 1) NOT FULLY TRAINED (status stopped, 1 of 4 epochs)" \
        in capsys.readouterr().out
    # its warning points to the fully trained trials, not back to the study's best itself
    warning = json.loads((tmp_path / "b" / "model.json").read_text())["training"]["warning"]
    assert warning.endswith("for a finished model export a fully trained trial with --trial "
                            "(done)"), warning
    outcome = export_model(study, "early", tmp_path / "b2")  # --trial naming the best: the same
    assert outcome.training is not None and outcome.training["fully_trained"] is False


def test_help_names_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    assert "--allow-unfinished" in capsys.readouterr().out


def test_a_study_without_best_yet_names_the_fully_trained_trials(
        study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """While a study runs there is no best/: the hint named every trial (the running and
    stopped ones too, which --trial now refuses); it names the fully trained ones."""
    running = tmp_path / "running"
    shutil.copytree(study, running, ignore=shutil.ignore_patterns("best"))
    assert main(["export", str(running)]) == 2
    err = capsys.readouterr().err
    assert "pass --trial ID to export one trial's best epoch, a fully trained one: done" in err
    table = pd.read_parquet(running / "trials.parquet")
    table["status"] = table["status"].replace("completed", "running")
    table.loc[table["trial_id"] == "done", "epochs"] = 2
    table.to_parquet(running / "trials.parquet")
    assert main(["export", str(running)]) == 2
    err = capsys.readouterr().err
    assert ("none is fully trained yet (of broke, done, early, late, live), so with "
            "--allow-unfinished") in err, err


def test_a_running_study_before_its_first_table_is_refused_naming_the_driver(
        study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No trials.parquet yet (before the first snapshot) while the study's driver holds its
    lock: any trial may be training, so --trial needs the flag; after the driver, a folder
    without tables exports a trial its epoch log calls fully trained (round 11: 'done' logged
    all 4 epochs; tests/study/test_referee11_toolbox_export.py has the cut-short cases)."""
    from jetstudy.study.lock import StudyLock

    early = tmp_path / "early"
    shutil.copytree(study, early, ignore=shutil.ignore_patterns("best", "trials.parquet"))
    with StudyLock(early):  # 'live' logged 2 of 4 epochs: it may be training its third
        assert main(["export", str(early), "--trial", "live", "-o", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert "--trial live: the study is still running (" in err and \
            "has no trials.parquet yet" in err and "pass --allow-unfinished" in err, err
    assert main(["export", str(early), "--trial", "done", "-o", str(tmp_path / "o")]) == 0
    printed = capsys.readouterr().out
    assert "exported trial done (epoch 3) to " in printed, printed
    meta = json.loads((tmp_path / "o" / "model.json").read_text())
    assert meta["training"]["fully_trained"] is True
    assert "read from trials/done/epochs.jsonl" in meta["training"]["note"]


def test_a_damaged_trials_table_is_not_called_a_late_snapshot(
        study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(study, damaged)
    (damaged / "trials.parquet").write_bytes(b"not parquet")
    assert main(["export", str(damaged), "--trial", "done", "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "how far trial done trained is unknown (trials.parquet unreadable: " in err, err
    assert "last snapshot" not in err and "put back the study's own trials.parquet" in err, err
