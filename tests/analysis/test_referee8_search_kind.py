"""Round 8: the report's "Kind" sentence of a size-aware search. A search with
``search.objectives: [val_acc, n_params]`` read 'Kind: search, Optuna TPE, 40 trials, ...: the
best model.', as a one-objective search, though Optuna ran two directions and its answer is a
front; a search under ``search.max_params`` did not say that every configuration over the
limit was drawn again untrained, nor that TPE's start-up counts trained trials only (round 8's
``StartupTPESampler``). Hand-made config and provenance; no Ray."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from jetstudy.analysis.sections_search import kind_lines
from jetstudy.study.config import from_dict
from jetstudy.study.searcher import sampler_record

SPACE = {"depth": [1, 3], "width": [4, 64], "dropout": [0, 0.4], "l1": [0, 0],
         "l2": [1e-6, 1e-3], "lr": [1e-3, 1e-2]}


def _kind(tmp_path: Path, **search) -> str:
    cfg = from_dict({"space": SPACE, "scheduler": {"max_epochs": 2, "grace_period": 1},
                     "search": {"num_trials": 40, "max_concurrent": 4, **search}})
    (tmp_path / "provenance.json").write_text(json.dumps({"sampler": sampler_record(cfg)}))
    (line,) = kind_lines(SimpleNamespace(config=cfg.to_dict(), folder=tmp_path))
    return line


def test_a_two_objective_search_says_so_and_answers_with_a_front(tmp_path: Path) -> None:
    line = _kind(tmp_path, metric="val_acc", objectives=["val_acc", "n_params"])
    assert line.startswith("Kind: search, Optuna TPE over two objectives, val_acc and n_params "
                           "(n_params minimised; ASHA ranks by val_acc alone), 40 trials, ")
    assert ": the models that trade val_acc against n_params best (a Pareto front)." in line
    assert "the best model" not in line


def test_a_limited_search_says_its_limit_and_what_the_start_up_counts(tmp_path: Path) -> None:
    line = _kind(tmp_path, max_params=2000, max_flops=5000)
    assert ("4 at a time, within at most 2000 parameters and 5000 FLOPs (search.max_params, "
            "search.max_flops: a configuration over a limit is drawn again, never trained), "
            "ASHA stopping") in line
    assert ("10 random start-up trials (trained trials: the draws a size limit turned away do "
            "not count) before it models anything.") in line
    plain = _kind(tmp_path)
    assert "within" not in plain and "turned away" not in plain
    assert plain.endswith("10 random start-up trials before it models anything.")


def test_the_guided_count_is_the_journals_when_trials_failed(tmp_path: Path) -> None:
    """A failed trial is no start-up trial for TPE (it counts complete and pruned ones): with
    trials failing early, fewer were proposed from TPE's model than the config's estimate
    (8 of 20, 2 at a time, where 9 were said). The sampler marks each proposal in the journal
    and the Kind line counts those marks."""
    from jetstudy.study.search_rules import tpe_guided_trials
    from jetstudy.study.searcher import make_searcher
    from tests.study.search_driver import drive, guided

    n, c = 20, 2
    cfg = from_dict({"space": {**SPACE, "lr": [1e-3, 1e-1]},
                     "scheduler": {"max_epochs": 2, "grace_period": 1},
                     "search": {"num_trials": n, "max_concurrent": c, "seed": 0}})
    (tmp_path / "trials").mkdir()
    searcher = make_searcher(cfg, tmp_path).searcher
    # lr > 0.02: diverged, Tune reports an error
    trials = drive(searcher, c, lambda config: None if config["lr"] > 0.02
                   else {"val_loss": config["lr"]})
    assert any(t.state.name == "FAIL" for t in trials)
    optunas = sum(guided(t) for t in trials)
    assert optunas < tpe_guided_trials(n, c)  # the estimate overstates it
    (tmp_path / "provenance.json").write_text(json.dumps({"sampler": sampler_record(cfg)}))
    (line,) = kind_lines(SimpleNamespace(config=cfg.to_dict(), folder=tmp_path))
    assert (f" {optunas} of the {n} trials were proposed from TPE's model (counted in "
            "optuna.journal)") in line  # then '.', or the under-a-quarter words


def test_the_run_line_of_a_two_objective_search_says_so() -> None:
    """``jetstudy run``'s kind line said 'kind: search (tpe, ...): the best model' too."""
    from jetstudy.study.cli import describe_kind

    line = describe_kind(from_dict({"space": SPACE, "search": {
        "metric": "val_acc", "objectives": ["val_acc", "n_params"]}}))
    assert line.startswith("kind: search (tpe over val_acc and n_params, 64 trials, ")
    assert "): the val_acc / n_params trade-off (a Pareto front); " in line
    assert "best model" not in line
