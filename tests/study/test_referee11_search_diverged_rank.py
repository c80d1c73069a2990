"""Round 11: TPE took a diverged trial for one of its best. A trial whose loss became NaN/inf
is told *pruned* (round 10) with the epochs it trained; Optuna ranks pruned trials by the last
step they reached first, their value second, so in an ASHA search one that passed the first
rung and then diverged ranked above every trial stopped at that rung: early in a search, with
few trials complete, TPE's "good" set was the diverged ones and it drew the diverging region
(here 20 of 30 model proposals had an lr where training diverges; 3 now). A diverged trial is
now also *infeasible* (constraint ``diverged`` 1.0), which TPE ranks after every feasible
trial, so it stays a bad example wherever it diverged; it still counts toward TPE's random
start-up (``jetstudy.study.tpe_sampler``: an observation of the space, unlike a size-limit
rejection). The searcher driven as Tune would (real Optuna)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import pytest

from jetstudy.study.config import from_dict
from jetstudy.study.searcher import DIVERGED_ATTR, make_searcher
from jetstudy.trainables.trialfiles import append_epoch, mark_diverged
from tests.study.search_driver import guided

SPACE = {"depth": [1, 2], "width": [4, 64], "dropout": [0, 0], "l1": [0, 0], "l2": [0, 0],
         "lr": [1e-4, 1.0]}
TOO_HIGH = 0.05  # lr above it learns fast, passes the first rung, then diverges


def _constraints(trial: Any) -> dict[str, float]:
    """The trial's violated constraints: Optuna 5 keeps them by name on the trial, 4.x as the
    list of the sampler's ``constraints_func`` (size excess, diverged)."""
    if hasattr(trial, "constraints"):
        return trial.constraints
    values = trial.system_attrs.get("constraints") or []
    return {name: v for name, v in zip(("size_excess", "diverged"), values) if v}


def _stopped_at_first_rung(config: dict) -> dict | None:
    """ASHA stops every trial that does not diverge after epoch 1 (< max_epochs: pruned)."""
    if config["lr"] > TOO_HIGH:
        return None
    return {"epoch": 1,
            "val_loss": 0.6 + 0.1 * abs(math.log10(config["lr"]) + 2.5) + 1 / config["width_0"]}


def _search(folder: Path, objectives: list[str] | None = None, n: int = 40) -> list:
    state = folder / "trials"
    state.mkdir(parents=True)

    def on_error(trial_id: str, config: dict) -> None:  # two good epochs, then NaN
        (state / trial_id).mkdir()
        append_epoch(str(state), trial_id, {"epoch": 1, "val_loss": 0.55})
        append_epoch(str(state), trial_id, {"epoch": 2, "val_loss": 0.5})
        mark_diverged(str(state), trial_id, "training loss became nan at epoch 3")

    search = {"num_trials": n, "max_concurrent": 1, "seed": 0, "sampler": "tpe"}
    if objectives:
        search["objectives"] = objectives
    cfg = from_dict({"space": SPACE, "search": search,
                     "scheduler": {"max_epochs": 9, "grace_period": 1,
                                   "reduction_factor": 3}})
    return _drive(make_searcher(cfg, folder).searcher, on_error)


def _drive(searcher: Any, on_error: Callable[[str, dict], None]) -> list:
    """One trial at a time, as Tune would (``search_driver.drive`` ends every trial at epoch
    2): a trial stopped at the first rung reports its epoch, then ends."""
    k = 0
    while True:
        config = searcher.suggest(f"t{k}")
        if not isinstance(config, dict):
            return searcher._ot_study.trials
        trial_id, k = f"t{k}", k + 1
        outcome = _stopped_at_first_rung(config)
        if outcome is None:
            on_error(trial_id, config)
            searcher.on_trial_complete(trial_id, None, error=True)
        else:
            searcher.on_trial_result(trial_id, {**outcome, "config": config})
            searcher.on_trial_complete(trial_id, {**outcome, "config": config})


def test_tpe_does_not_take_a_late_divergence_for_a_good_trial(tmp_path: Path) -> None:
    trials = _search(tmp_path)
    model = [t for t in trials if guided(t)]
    diverging = [t for t in model if t.params["lr"] > TOO_HIGH]
    assert len(model) == 30  # 10 random start-up trials, diverged ones counted, then the model
    assert len(diverging) < len(model) / 3, [round(t.params["lr"], 3) for t in model]
    lost = [t for t in trials if t.params["lr"] > TOO_HIGH]
    assert lost and all(t.state.name == "PRUNED" and t.user_attrs[DIVERGED_ATTR]
                        and t.intermediate_values == {1: 0.55, 2: 0.5}
                        and _constraints(t) == {"diverged": 1.0} for t in lost)
    fine = [t for t in trials if t.params["lr"] <= TOO_HIGH]
    assert fine and all(not _constraints(t) for t in fine)  # feasible: no constraint at all


def test_diverged_is_infeasible_in_a_size_aware_search_too(tmp_path: Path) -> None:
    from jetstudy.study.search_rules import optuna_major

    if optuna_major() < 5:
        pytest.skip("a size-aware TPE search needs Optuna 5 (test_referee11_search_optuna4)")
    trials = _search(tmp_path, ["val_loss", "n_params"], n=12)
    lost = [t for t in trials if t.params["lr"] > TOO_HIGH]
    assert lost and all(t.state.name == "PRUNED" and _constraints(t) == {"diverged": 1.0}
                        for t in lost)



def test_a_diverged_trial_closed_from_its_log_is_infeasible(tmp_path: Path) -> None:
    """A driver killed after a trial diverged, before Tune told the searcher: the study's end
    closes the trial from its log (``close_orphaned_trials``) as the searcher tells a diverged
    one; it was closed pruned but feasible, ranked by its epochs, and one that diverged in its
    first epoch failed as 'never trained' (a resume would give its place to a new trial)."""
    import json

    import optuna
    import yaml

    from jetstudy.study.orphans import close_orphaned_trials
    from jetstudy.study.optuna_files import OPTUNA_STUDY_NAME, optuna_storage

    cfg = from_dict({"space": SPACE, "search": {"num_trials": 4, "seed": 0},
                     "scheduler": {"max_epochs": 9, "grace_period": 1}})
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict()))
    study = optuna.create_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(tmp_path))
    trial = study.ask()
    config = {"depth": 1, "width_0": 8, "lr": trial.suggest_float("lr", 1e-4, 1.0, log=True)}
    trial.set_user_attr("trial_id", "t0")
    state = tmp_path / "trials"
    (state / "t0").mkdir(parents=True)
    (state / "t0" / "config.json").write_text(json.dumps(config))
    append_epoch(str(state), "t0", {"epoch": 1, "val_loss": 0.55})
    append_epoch(str(state), "t0", {"epoch": 2, "val_loss": 0.5})
    mark_diverged(str(state), "t0", "training loss became nan at epoch 3")
    first = study.ask()  # diverged in its first epoch: no epoch logged, yet it trained
    first.suggest_float("lr", 1e-4, 1.0, log=True)
    first.set_user_attr("trial_id", "t1")
    (state / "t1").mkdir()
    (state / "t1" / "config.json").write_text(json.dumps(config))
    mark_diverged(str(state), "t1", "training loss became inf at epoch 1")
    assert close_orphaned_trials(tmp_path) == 2
    closed, early = optuna.load_study(study_name=OPTUNA_STUDY_NAME,
                                      storage=optuna_storage(tmp_path)).trials
    assert closed.state.name == "PRUNED" and closed.intermediate_values == {1: 0.55, 2: 0.5}
    assert closed.user_attrs[DIVERGED_ATTR] == "training loss became nan at epoch 3"
    assert _constraints(closed) == {"diverged": 1.0}
    assert early.state.name == "PRUNED" and "never_trained" not in early.user_attrs
    assert _constraints(early) == {"diverged": 1.0}
