"""Round 8: TPE's start-up under a size limit. A configuration over ``search.max_params`` is
told *pruned* untrained (so TPE learns to avoid its region), and Optuna's TPE counts every
complete or pruned trial toward ``n_startup_trials``: with a limit that one random draw in
three fits, a search of 24 trials, 2 at a time, proposed its 6th trained trial from TPE's
model, not its 12th, and 19 trained trials were guided where ``provenance.json``
(``n_startup_trials`` 10), the config check and the report's Kind line said 13. The sampler
(``study.tpe_sampler.StartupTPESampler``) now counts trained trials only. Real Optuna through
jetstudy's searcher, the oldest trial finishing first; no training."""

from __future__ import annotations

from pathlib import Path

import pytest
from jetstudy.study.config import from_dict
from jetstudy.study.search_rules import tpe_guided_trials, tpe_startup_trials
from jetstudy.study.searcher import make_searcher, sampler_record
from jetstudy.study.space import limit_share
from tests.study.search_driver import drive, guided

SPACE = {"depth": [1, 3], "width": [4, 64], "dropout": [0, 0.4], "l1": [0, 0],
         "l2": [1e-6, 1e-3], "lr": [1e-3, 1e-2]}


def _run(tmp_path: Path, n: int, c: int, limit: int) -> list:
    cfg = from_dict({"space": SPACE, "scheduler": {"max_epochs": 2, "grace_period": 1},
                     "search": {"num_trials": n, "max_concurrent": c, "seed": 0,
                                "max_params": limit}})
    (tmp_path / "trials").mkdir(parents=True)
    searcher = make_searcher(cfg, tmp_path).searcher
    return drive(searcher, c, lambda config: {"val_loss": 1 / config["width_0"]})


@pytest.mark.parametrize(("n", "c", "limit"), [(14, 2, 300), (12, 1, 600), (16, 4, 300)])
def test_start_up_counts_trained_trials_only(tmp_path: Path, n: int, c: int,
                                             limit: int) -> None:
    cfg = from_dict({"space": SPACE, "search": {"max_params": limit}})
    assert limit_share(cfg.space, cfg.size_limits) < 0.5  # many draws turned away
    trials = _run(tmp_path, n, c, limit)
    trained = [t for t in trials if "rejected" not in t.user_attrs]
    assert len(trained) == n and len(trials) > n  # some draws were turned away
    startup = sampler_record(from_dict({"space": SPACE, "search": {
        "num_trials": n, "max_concurrent": c, "max_params": limit}}))["n_startup_trials"]
    first = next(i for i, t in enumerate(trained) if guided(t))
    assert first == startup + c - 1  # the trial asked when the startup-th trained one ended
    assert sum(map(guided, trained)) == tpe_guided_trials(n, c)


def test_provenance_says_what_the_start_up_counts() -> None:
    record = sampler_record(from_dict({"space": SPACE, "search": {"num_trials": 16}}))
    assert (record["class"], record["startup_counts"]) == ("TPESampler", "trained trials")


def test_a_resumed_older_study_counts_trained_trials_too(tmp_path: Path) -> None:
    """A study started before this round pickled Optuna's own TPESampler: the resume's
    provenance (this run's sampler record) says trained trials, so the restored sampler
    counts them from then on."""
    import optuna

    from jetstudy.study.resume import _restart_count
    from jetstudy.study.tpe_sampler import StartupTPESampler

    cfg = from_dict({"space": SPACE, "search": {"num_trials": 16, "max_params": 300}})
    (tmp_path / "trials").mkdir()
    searcher = make_searcher(cfg, tmp_path).searcher
    older = optuna.samplers.TPESampler(seed=0, n_startup_trials=10, multivariate=True,
                                       group=True, constant_liar=True)
    searcher._ot_study.sampler = older
    _restart_count(searcher, 16, 1)
    assert type(searcher._ot_study.sampler) is StartupTPESampler
    assert searcher._ot_study.sampler._n_startup_trials == tpe_startup_trials(16, 1)
    assert searcher.suggest("t0")["depth"] in (1, 2, 3)  # it still draws
