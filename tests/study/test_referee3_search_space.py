"""Referee round 3 (task B): a search space too small for its trials is said so, and
``provenance.json`` records the space Optuna really sees. Real Optuna through jetstudy's
searcher; no training.

Found and fixed here:
- a TPE or random search over a space with one configuration (every range a single value), or
  fewer configurations than ``search.num_trials`` (depth [1, 2], width [8, 9], the float knobs
  fixed; or a ``search.max_params`` that leaves a few), trained the same models again without
  a word; now one warning names the fields, the count and the fix (a scan with no axis says it
  trains 1 configuration). The "nearly random search" warning no longer advises more trials
  of a space that has no more configurations;
- ``provenance.json`` recorded the sampler's settings but not the space: its ``sampler`` now
  holds ``distributions``, every Optuna parameter the space can ask for (each depth's widths,
  the ``<name>_on`` switches) with its range, log flag and step, equal to what Optuna stored.
"""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from optuna.distributions import json_to_distribution

from jetstudy.study.config import from_dict
from jetstudy.study.searcher import OPTUNA_STUDY_NAME, make_searcher, optuna_storage, sampler_record
from jetstudy.study.space import count_configurations
from jetstudy.study.space_rules import repeat_safe_trials

FIXED = {"dropout": [0.1, 0.1], "l1": [0, 0], "l2": [0, 0], "lr": [1e-3, 1e-3]}
ASHA = {"max_epochs": 2, "grace_period": 1}


def _cfg(space: dict, scheduler: dict = ASHA, **search):
    return from_dict({"space": {**FIXED, **space}, "search": search, "scheduler": scheduler})


@pytest.mark.parametrize("space, search, count", [
    ({"depth": [1, 1], "width": [8, 8]}, {"num_trials": 5}, 1),
    ({"depth": [1, 2], "width": [8, 9]}, {"num_trials": 8, "sampler": "random"}, 6),
    ({"depth": [2, 2], "width": [8, 9], "activations": ["relu", "tanh"]},
     {"num_trials": 9, "max_concurrent": 1}, 8),
    ({"depth": [1, 3], "width": [8, 64]}, {"num_trials": 20, "max_params": 300}, 12),
])
def test_too_few_configurations_is_one_warning_naming_fields_and_fix(space, search,
                                                                     count) -> None:
    cfg = _cfg(space, **search)
    warnings = [w for w in cfg.warnings if "configuration" in w]
    assert len(cfg.warnings) == 1 and len(warnings) == 1, cfg.warnings
    text = warnings[0]
    assert f"space.depth {space['depth']}" in text and f"space.width {space['width']}" in text
    assert "dropout/l1/l2/lr single values" in text
    # as many trials as configurations, or fewer where that many draws would repeat by
    # chance (round 11: repeat_safe_trials)
    safe = repeat_safe_trials(cfg, count)[0]
    assert safe <= count and f"set search.num_trials to {safe}" in text
    if count == 1:
        assert f"the same configuration {search['num_trials']} times" in text
    else:
        assert f"only {count} distinct configurations" in text
    if "max_params" in search:
        assert "within the search.max_* limits" in text and "raise search.max_params" in text
    # the fix silences it
    assert not [w for w in _cfg(space, **{**search, "num_trials": safe}).warnings
                if "distinct" in w or "single configuration" in w]


@pytest.mark.parametrize("space, search", [
    ({"depth": [1, 2], "width": [8, 9]}, {"num_trials": 6, "max_concurrent": 1}),  # = count
    ({"depth": [1, 1], "width": [8, 8]}, {"num_trials": 1}),  # one trial, one configuration
    ({"depth": [1, 1], "width": [8, 8], "lr": [1e-4, 1e-2]}, {"num_trials": 64}),  # floats
    ({"depth": [1, 1], "width": [8, 8], "l2": [0, 1e-3]}, {"num_trials": 64}),  # an off-switch
])
def test_enough_configurations_is_quiet(space, search) -> None:
    assert _cfg(space, **search).warnings == ()


def test_nearly_random_warning_never_advises_more_trials_than_the_space_holds() -> None:
    space = {"depth": [1, 2], "width": [8, 9]}  # 6 configurations
    (text,) = _cfg(space, num_trials=6, max_concurrent=4).warnings
    assert "nearly random" in text and "num_trials" not in text.split("; set")[-1]
    assert "search.max_concurrent to 2 or less" in text
    assert _cfg(space, num_trials=6, max_concurrent=2).warnings == ()


def test_a_scan_without_axes_says_it_trains_one_configuration() -> None:
    fifo = {"type": "fifo", "max_epochs": 2}
    for sampler in ("grid", "sobol"):
        cfg = _cfg({"depth": [2, 2], "width": [16, 16]}, fifo, sampler=sampler,
                   **({"num_trials": 1} if sampler == "sobol" else {}))
        assert cfg.search.num_trials == 1
        (text,) = cfg.warnings
        assert "no axis of the space varies" in text and "trains 1 configuration" in text
    assert _cfg({"depth": [1, 2], "width": [16, 16]}, fifo, sampler="grid").warnings == ()


def test_count_is_what_optuna_can_draw(tmp_path: Path) -> None:
    """The counted space is the drawn one: 40 draws of a 3-configuration TPE search give
    exactly those 3 (so the warning's "trains a configuration again" is what happens)."""
    space = {"depth": [1, 2], "width": [8, 9]}
    limits = {"n_params": 200}  # depth 1: 8 -> 181, 9 -> 203 (over); depth 2: over
    cfg = _cfg(space, num_trials=40, max_concurrent=1, max_params=200)
    assert count_configurations(cfg.space, limits) == 1
    cfg = _cfg(space, num_trials=40, max_concurrent=1)
    assert count_configurations(cfg.space) == 6
    (tmp_path / "trials").mkdir()
    searcher = make_searcher(cfg, tmp_path).searcher
    drawn = set()
    for k in range(40):
        config = searcher.suggest(f"t{k}")
        drawn.add(tuple(config[f"width_{i}"] for i in range(config["depth"])))
        searcher.on_trial_complete(f"t{k}", {"epoch": 2, "val_loss": 1.0 / (k + 1),
                                             "config": config})
    assert drawn <= {(8,), (9,), (8, 8), (8, 9), (9, 8), (9, 9)}
    assert len(drawn) <= 6 < 40


def _recorded(cfg) -> dict:
    return {name: json_to_distribution(json.dumps(d))
            for name, d in sampler_record(cfg, space=True)["distributions"].items()}


def test_provenance_space_is_the_space_optuna_saw(tmp_path: Path) -> None:
    space = {"depth": [1, 3], "width": [4, 64], "dropout": [0, 0.4], "l1": [0, 0],
             "l2": [1e-6, 1e-3], "lr": [1e-4, 3e-2], "activations": ["relu", "tanh"],
             "batch_norm": [False, True]}
    cfg = from_dict({"space": space, "scheduler": ASHA,
                     "search": {"num_trials": 30, "max_concurrent": 1, "seed": 3}})
    recorded = _recorded(cfg)
    (tmp_path / "trials").mkdir()
    searcher = make_searcher(cfg, tmp_path).searcher
    for k in range(30):
        config = searcher.suggest(f"t{k}")
        searcher.on_trial_complete(f"t{k}", {"epoch": 2, "val_loss": config["lr"] * 10,
                                             "config": config})
    study = optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(tmp_path))
    seen: dict = {}
    for trial in study.trials:
        for name, dist in trial.distributions.items():
            assert recorded[name] == dist, name  # range, log flag and step as Optuna has them
            seen[name] = dist
    assert set(seen) == set(recorded)  # every recorded parameter was asked for
    assert recorded["d3_width_2"].log and recorded["lr"].log and not recorded["dropout"].log
    assert (recorded["dropout"].low, recorded["dropout"].high) == (0.04, 0.4)
    assert recorded["depth"].step == 1 and "l1" not in recorded and "l1_on" not in recorded


def test_provenance_space_of_a_scan_holds_its_design(tmp_path: Path) -> None:
    space = {"depth": [1, 3], "width": [4, 64], "l2": [0, 1e-3], "dropout": [0, 0],
             "l1": [0, 0], "lr": [1e-3, 1e-3]}
    cfg = from_dict({"space": space, "scheduler": {"type": "fifo", "max_epochs": 2},
                     "search": {"sampler": "sobol", "num_trials": 12, "max_concurrent": 1}})
    recorded = _recorded(cfg)
    assert set(recorded) == {"depth", "width", "l2"}
    (tmp_path / "trials").mkdir()
    searcher = make_searcher(cfg, tmp_path).searcher
    for k in range(12):
        config = searcher.suggest(f"t{k}")
        searcher.on_trial_complete(f"t{k}", {"epoch": 2, "val_loss": 1.0, "config": config})
    study = optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(tmp_path))
    for trial in study.trials:
        assert trial.distributions == {k: recorded[k] for k in trial.distributions}
        for name, value in trial.params.items():
            assert recorded[name]._contains(recorded[name].to_internal_repr(value))
