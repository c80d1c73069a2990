"""The sampler's settings, the TPE start-up rule and its warning, and how HonestOptunaSearch
records trials (pruned, complete, converged), on a real Optuna study in a journal file."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import optuna
import pytest

from jetstudy.study.config import from_dict, load_config
from jetstudy.study.search_rules import tpe_guided_trials, tpe_startup_trials
from jetstudy.study.searcher import make_sampler, make_searcher
from jetstudy.study.space import SpaceFunction

REPO = Path(__file__).resolve().parents[2]


def searcher_of(raw: dict, folder: Path):
    (folder / "trials").mkdir(parents=True, exist_ok=True)
    limiter = make_searcher(from_dict(raw), folder)
    return limiter.searcher


@pytest.mark.parametrize(("num_trials", "concurrent", "startup"), [
    (64, 4, 10), (16, 2, 8), (512, 64, 128), (64, 64, 32), (3, 1, 1)])
def test_tpe_settings_are_explicit(num_trials: int, concurrent: int, startup: int) -> None:
    cfg = from_dict({"search": {"num_trials": num_trials, "max_concurrent": concurrent,
                                "seed": 7}})
    sampler = make_sampler(cfg)
    assert isinstance(sampler, optuna.samplers.TPESampler)
    # set explicitly: Optuna 4.x defaults to False for all three, 5.x to True for two
    assert sampler._multivariate is True
    assert sampler._group is True
    assert sampler._constant_liar is True
    assert sampler._n_startup_trials == startup == tpe_startup_trials(num_trials, concurrent)
    assert startup < num_trials or num_trials < 4


def test_random_and_scan_samplers() -> None:
    assert isinstance(make_sampler(from_dict({"search": {"sampler": "random"}})),
                      optuna.samplers.RandomSampler)


def test_guided_trials_follow_concurrency() -> None:
    # 64 trials, 4 at a time: 10 random, then the trial asked when the 10th finishes (#14)
    assert tpe_guided_trials(64, 4) == 64 - 10 - 4 + 1
    assert tpe_guided_trials(64, 64) == 0


def test_warning_when_tpe_degenerates_to_random(caplog: pytest.LogCaptureFixture,
                                                tmp_path: Path) -> None:
    cfg = from_dict({"search": {"num_trials": 64, "max_concurrent": 64}})
    (warning,) = cfg.warnings
    assert "search.max_concurrent is 64" in warning and "random search" in warning
    assert "search.num_trials to at least" in warning
    path = tmp_path / "c.yaml"
    path.write_text("search: {num_trials: 64, max_concurrent: 64}\n")
    with caplog.at_level(logging.WARNING, logger="jetstudy.study.config"):
        load_config(path)
    assert warning in caplog.text
    # the suggested fix silences it
    n = int(warning.split("at least ")[1].split()[0])
    assert not from_dict({"search": {"num_trials": n, "max_concurrent": 64}}).warnings
    assert from_dict({"search": {"num_trials": n - 1, "max_concurrent": 64}}).warnings
    assert not from_dict({}).warnings
    assert not from_dict({"search": {"num_trials": 64, "max_concurrent": 64,
                                     "sampler": "random"}}).warnings


def test_readme_gpu_example_is_a_real_search() -> None:
    text = (REPO / "README.md").read_text()
    block = text.split("# one H100:")[1].split("```")[0]
    search = next(line for line in block.splitlines() if line.startswith("search:"))
    import yaml

    raw = yaml.safe_load(search)["search"]
    assert raw["max_concurrent"] == 64
    assert not from_dict({"search": raw}).warnings


def test_grouped_tpe_conditions_widths_on_depth() -> None:
    # After the start-up, widths are sampled by the multivariate TPE per group (one group per
    # depth), never by the independent fallback Optuna warns about.
    cfg = from_dict({"search": {"num_trials": 40, "max_concurrent": 2, "seed": 1},
                     "space": {"depth": [1, 3], "width": [4, 64], "l2": [0, 1e-3]}})
    study = optuna.create_study(sampler=make_sampler(cfg))
    space = SpaceFunction(cfg.space)
    messages: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore
    logging.getLogger("optuna").addHandler(handler)
    try:
        for _ in range(30):
            trial = study.ask()
            config = {**space(trial), **trial.params}
            # a made-up objective: best at depth 2, widths 32
            study.tell(trial, abs(config["depth"] - 2) + sum(
                abs(config[f"width_{i}"] - 32) / 32 for i in range(config["depth"])))
    finally:
        logging.getLogger("optuna").removeHandler(handler)
    assert not [m for m in messages if "independent" in m.lower()]
    groups = make_sampler(cfg)._group_decomposed_search_space.calculate(study)
    width_groups = [set(g) for g in groups.search_spaces if any("width" in k for k in g)]
    assert {"d2_width_0", "d2_width_1"} in width_groups
    assert {"d3_width_0", "d3_width_1", "d3_width_2"} in width_groups


def test_initial_points_are_enqueued_in_optuna_names(tmp_path: Path) -> None:
    searcher = searcher_of({"space": {"depth": [1, 4], "l2": [0, 1e-3]},
                            "search": {"initial_points": [
                                {"depth": 3, "width_0": 64, "width_1": 32, "width_2": 32,
                                 "l2": 0}]}}, tmp_path)
    config = searcher.suggest("t0")
    assert [config[f"width_{i}"] for i in range(3)] == [64, 32, 32]
    assert config["depth"] == 3 and config["l2"] == 0.0 and config["l2_on"] is False


def _study(folder: Path) -> optuna.Study:
    from jetstudy.study.searcher import OPTUNA_STUDY_NAME, optuna_storage

    return optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(folder))


def test_stopped_trial_is_pruned_finished_and_converged_ones_complete(tmp_path: Path) -> None:
    searcher = searcher_of({"scheduler": {"type": "patience", "max_epochs": 10,
                                          "patience": 2}}, tmp_path)
    for trial_id in ("stopped", "finished", "converged", "converged_file"):
        searcher.suggest(trial_id)
        for epoch in (1, 2, 3):
            searcher.on_trial_result(trial_id, {"epoch": epoch, "val_loss": 1.0 / epoch})
    searcher.on_trial_complete("stopped", {"epoch": 3, "val_loss": 0.33})
    searcher.on_trial_complete("finished", {"epoch": 10, "val_loss": 0.3})
    searcher.on_trial_complete("converged", {"epoch": 3, "val_loss": 0.33, "converged": True})
    # the epoch log says so even when Tune's result does not carry the flag
    folder = tmp_path / "trials" / "converged_file"
    folder.mkdir()
    (folder / "epochs.jsonl").write_text(
        json.dumps({"epoch": 3, "val_loss": 0.33, "converged": True}) + "\n")
    searcher.on_trial_complete("converged_file", {"epoch": 3, "val_loss": 0.33})
    states = [t.state for t in _study(tmp_path).trials]
    S = optuna.trial.TrialState
    assert states == [S.PRUNED, S.COMPLETE, S.COMPLETE, S.COMPLETE]
    assert _study(tmp_path).trials[2].value == pytest.approx(0.33)
