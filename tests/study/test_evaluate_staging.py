"""best/ is built in a marked staging folder; the next evaluation clears the ones a killed
evaluation left (kill -9 between its writes), and nothing else: not a user's folder under a
look-alike name, not the staging folder of a run still going."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

from jetstudy.study.evaluate import evaluate_best
from jetstudy.trainables.checkpoint import save_best
from jetstudy.trainables.model import MLPArch, build_mlp
from jetstudy.trainables.staging import STAGING_MARK, make_staging
from jetstudy.trainables.trialfiles import BEST_FILE, state_path
from tests.study.test_evaluate_best import _splits

WHAT = "jetstudy best-model evaluation"
KILLED = """
import os, sys
from pathlib import Path
from jetstudy.trainables.staging import make_staging
stage = make_staging(Path(sys.argv[1]), ".best.partial-", sys.argv[2])
(stage / "model.pt").write_bytes(b"half")
(stage / ".test_metrics.json.abcd1234.tmp").write_text("{")
print(stage.name)
os._exit(9)  # gone without cleaning up, as after kill -9
"""


def test_a_killed_evaluations_staging_is_cleared_and_nothing_else(tmp_path: Path) -> None:
    state = state_path(str(tmp_path / "trials"), "t")
    state.parent.mkdir(parents=True)
    arch = MLPArch(n_inputs=16, widths=(8,))
    save_best(state.with_name(BEST_FILE), {"epoch": 2, "value": 0.6,
                                           "model": build_mlp(arch).state_dict()}, arch.to_dict())
    killed = subprocess.run([sys.executable, "-c", KILLED, str(tmp_path), WHAT],
                            capture_output=True, text=True).stdout.strip()
    assert (tmp_path / killed / STAGING_MARK).is_file()
    users = tmp_path / ".best.partial-mynotes"  # the pattern's shape, but no mark: a user's
    users.mkdir()
    (users / "notes.txt").write_text("mine")
    running = make_staging(tmp_path, ".best.partial-", WHAT)  # this process: still going
    torch.manual_seed(0)
    evaluate_best(state, "t", _splits(), False, tmp_path / "best", expected_epoch=2, n_boot=5)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert killed not in left
    assert (users / "notes.txt").read_text() == "mine" and running.name in left
    assert sorted(p.name for p in (tmp_path / "best").iterdir()) == [
        "model.pt", "test_metrics.json", "test_predictions.parquet"]  # no mark in best/
