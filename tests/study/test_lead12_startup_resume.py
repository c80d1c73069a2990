"""TPE's start-up across a ``--resume`` that raises it (more num_trials or max_concurrent).

The restored sampler was given this config's start-up however far the study had gone: 10
trials one at a time (start-up 5) resumed to 40 (start-up 10) drew trials at random again
after guided ones, while provenance.json and the report said "10 random start-up trials
before it models anything". Once TPE models, the earlier start-up is kept, and
provenance.json says so. Real Optuna studies and samplers; only the searcher holding the
study is a bare namespace (what ``_restart_count`` reads of Tune's wrapper).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import optuna

from jetstudy.study.resume import _record_startup, _restart_count
from jetstudy.study.tpe_sampler import GUIDED_ATTR, StartupTPESampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study(startup: int, finished: int) -> optuna.Study:
    study = optuna.create_study(sampler=StartupTPESampler(seed=1, n_startup_trials=startup,
                                                          multivariate=True))
    for _ in range(finished):
        trial = study.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)})
        study.tell(trial, (trial.params["lr"] - 0.01) ** 2)
    return study


def _next_is_guided(study: optuna.Study) -> bool:
    trial = study.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)})
    return bool(study._storage.get_trial_system_attrs(trial._trial_id).get(GUIDED_ATTR))


def test_a_resume_raising_the_start_up_after_tpe_modelled_keeps_it() -> None:
    study = _study(startup=2, finished=4)  # TPE models from the 3rd trial on
    assert _next_is_guided(_study(startup=2, finished=4))
    kept = _restart_count(SimpleNamespace(_ot_study=study), num_trials=12, max_concurrent=1)
    assert kept == 2 and study.sampler._n_startup_trials == 2
    assert _next_is_guided(study)  # not random again (start-up 6 > 4 finished)


def test_a_resume_still_in_the_start_up_takes_the_new_one() -> None:
    study = _study(startup=5, finished=2)
    kept = _restart_count(SimpleNamespace(_ot_study=study), num_trials=40, max_concurrent=1)
    assert kept is None and study.sampler._n_startup_trials == 10
    assert not _next_is_guided(study)


def test_provenance_says_the_start_up_kept(tmp_path: Path) -> None:
    sampler = {"class": "TPESampler", "n_startup_trials": 6}
    (tmp_path / "provenance.json").write_text(json.dumps(
        {"sampler": dict(sampler), "runs": [{"sampler": {**sampler, "n_startup_trials": 2}},
                                            {"sampler": dict(sampler)}]}))
    _record_startup(tmp_path, 2)
    record = json.loads((tmp_path / "provenance.json").read_text())
    assert record["sampler"]["n_startup_trials"] == 2
    assert [r["sampler"]["n_startup_trials"] for r in record["runs"]] == [2, 2]
    assert "already modelled" in record["runs"][-1]["sampler"]["n_startup_trials_kept"]
