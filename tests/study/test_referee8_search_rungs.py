"""Round 8: ASHA's rung decisions on ``--resume``.

A trial ASHA had promoted at a rung and that was killed while training its next epoch has an
epoch log ending at that rung and no ``ended`` marker, exactly like a trial the driver never
judged there. ``rungs.replay_rungs`` judged it again, against every value recorded at that
rung, those of trials that reached the rung after it included: a trial first at its rung
(nothing to compare with, so promoted) was stopped on resume by the better trials that came
later. The ledger now records each go-on decision when Tune makes it (``passed``: the epoch,
written by ``TrialLedger.on_trial_result``, which Tune calls after the scheduler decided), and
the replay judges only a trial without that record. The one small ASHA study checks what the
ledger writes in a real run: every trial's last go-on epoch is the one before Tune ended it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from jetstudy.study.rungs import replay_rungs
from tests.conftest import make_small_config
from tests.study.rung_folders import asha as _asha
from tests.study.rung_folders import trial_log as _trial


def test_a_trial_promoted_at_its_rung_is_not_judged_again(tmp_path: Path) -> None:
    """``a`` reached rung 1 first (nothing recorded: promoted) and was killed while training
    epoch 2; ``b`` and ``c`` reached rung 1 after it, better. Judged again it is below their
    cut (1.55 > 1.35) and was stopped: a verdict ASHA never gave."""
    cfg = make_small_config(tmp_path, "s", scheduler={"max_epochs": 4, "grace_period": 1,
                                                      "reduction_factor": 2})
    trials = tmp_path / "trials"
    _trial(trials, "a", [1.55], False, 100, passed=1)  # promoted at 1, killed during epoch 2
    _trial(trials, "b", [1.30, 1.25], False, 101, passed=2)
    _trial(trials, "c", [1.40, 1.35], False, 102, passed=2)
    _trial(trials, "d", [1.60], False, 103)  # never judged: still judged by the replay
    scheduler = _asha(cfg)
    replay_rungs(scheduler, cfg, trials)
    assert not (trials / "a" / "ended").exists()
    assert (trials / "d" / "ended").read_text() == "1\n"  # 1.60 below the cut of a, b, c
    rungs = dict(scheduler._brackets[0]._rungs)
    assert rungs[1] == {"a": -1.55, "b": -1.30, "c": -1.40, "d": -1.60}


def test_a_passed_record_of_an_earlier_rung_does_not_excuse_the_next(tmp_path: Path) -> None:
    """Promoted at rung 1 (``passed`` 1), its log ends at rung 2 with no decision there: the
    replay judges it at 2 as before."""
    cfg = make_small_config(tmp_path, "s", scheduler={"max_epochs": 4, "grace_period": 1,
                                                      "reduction_factor": 2})
    trials = tmp_path / "trials"
    _trial(trials, "a", [1.50, 1.40, 1.30, 1.20], True, 100, passed=3)
    _trial(trials, "b", [1.45, 1.35, 1.34], False, 101, passed=3)
    _trial(trials, "e", [1.51, 1.58], False, 102, passed=1)  # at rung 2, cut of a, b: 1.375
    replay_rungs(_asha(cfg), cfg, trials)
    assert (trials / "e" / "ended").read_text() == "2\n"


@pytest.fixture(scope="module")
def asha_study(ray_cluster, tmp_path_factory) -> tuple:
    from jetstudy.study.launch import run_study

    cfg = make_small_config(tmp_path_factory.mktemp("r8rungs"), "r8rungs",
                            data={"synthetic_jets": 1500},
                            search={"num_trials": 6, "max_concurrent": 2, "seed": 3},
                            scheduler={"max_epochs": 4, "grace_period": 1,
                                       "reduction_factor": 2})
    return cfg, run_study(cfg)


@pytest.mark.slow
def test_the_ledger_records_each_go_on_decision_of_a_real_run(asha_study) -> None:
    cfg, outcome = asha_study
    trials = pd.read_parquet(outcome.folder / "trials.parquet")
    assert len(trials) == cfg.search.num_trials
    assert (trials["stop_reason"] == "scheduler").any()  # ASHA stopped some at a rung
    for row in trials.itertuples():
        folder = outcome.folder / "trials" / row.trial_id
        ended = int((folder / "ended").read_text())
        assert ended == row.epochs
        # Tune let it go on from every epoch before the one it ended at, never from that one
        passed = int((folder / "passed").read_text()) if ended > 1 else 0
        assert passed == ended - 1, (row.trial_id, row.stop_reason)


def test_the_ledger_records_go_on_decisions_in_asha_studies_only(tmp_path: Path) -> None:
    """``passed`` is ASHA's decision, read only by the rung replay: a study without ASHA has
    none to record, and its driver no file to write per result (the driver's loop is the
    bottleneck of a study of many trials, issue 10)."""
    from types import SimpleNamespace

    from jetstudy.study.ledger import TrialLedger

    trial = SimpleNamespace(trial_id="t1")
    for asha, written in ((False, False), (True, True)):
        state = tmp_path / f"asha-{asha}"
        TrialLedger(str(state), asha).on_trial_result(0, [], trial, {"epoch": 1, "done": False})
        assert (state / "t1" / "passed").is_file() == written
