"""Scan studies: the design (grid levels, Sobol points), the config rules of a scan, the design
served trial by trial through HonestOptunaSearch, patience wired into the trials, and how the
trials table says why each trial ended (``status``, ``stop_reason``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jetstudy.study.collect import build_tables, stop_reason
from jetstudy.study.config import from_dict
from jetstudy.study.design import axis_levels, grid_design, grid_size, scan_axes, sobol_design
from jetstudy.study.settings import train_settings
from jetstudy.study.searcher import make_searcher
from jetstudy.trainables.errors import ConfigError

SCAN = {"space": {"depth": [1, 3], "width": [4, 256], "l1": [0, 0], "l2": [0, 1e-2],
                  "dropout": [0, 0], "lr": [3e-3, 3e-3]},
        "search": {"sampler": "grid", "grid_levels": 4},
        "scheduler": {"type": "fifo", "max_epochs": 20}}


def scan(**sections: dict) -> dict:
    return {name: {**SCAN.get(name, {}), **sections.get(name, {})}
            for name in {*SCAN, *sections}}


def test_kind() -> None:
    assert from_dict(scan()).kind == "scan"
    assert from_dict(scan(search={"sampler": "sobol", "num_trials": 10})).kind == "scan"
    assert from_dict({}).kind == "search"
    assert from_dict({"search": {"sampler": "random"}}).kind == "search"


def test_grid_levels_per_axis() -> None:
    space = from_dict(scan(space={"depth": [1, 6], "dropout": [0, 0.6]})).space
    assert scan_axes(space) == ["depth", "width", "dropout", "l2"]
    assert axis_levels(space, "depth", 4) == [1, 3, 4, 6]       # evenly spaced integers
    assert axis_levels(space, "depth", 6) == [1, 2, 3, 4, 5, 6]  # every depth when few
    assert axis_levels(space, "width", 4) == [4, 16, 64, 256]    # log-spaced
    assert axis_levels(space, "l2", 4) == [0.0, 1e-5, 3.16e-4, 1e-2]  # off + log [x/1000, x]
    assert axis_levels(space, "l2", 2) == [0.0, 1e-2]
    assert axis_levels(space, "dropout", 4) == [0.0, 0.2, 0.4, 0.6]  # evenly spaced from off
    positive = from_dict(scan(space={"l2": [1e-6, 1e-4]})).space
    assert axis_levels(positive, "l2", 3) == [1e-6, 1e-5, 1e-4]


def test_grid_is_every_combination_and_sets_num_trials() -> None:
    cfg = from_dict(scan())
    design = grid_design(cfg.space, 4)
    assert cfg.search.num_trials == len(design) == grid_size(cfg.space, 4) == 3 * 4 * 4
    assert len({tuple(sorted(p.items())) for p in design}) == len(design)
    assert design[0] == {"depth": 1, "width": 4, "l2": 0.0}


def test_grid_num_trials_that_differs_is_an_error() -> None:
    with pytest.raises(ConfigError) as err:
        from_dict(scan(search={"num_trials": 64}))
    msg = str(err.value)
    assert "search.num_trials is 64" in msg and "48 configurations" in msg
    assert "set search.num_trials to 48 or leave it out" in msg
    assert from_dict(scan(search={"num_trials": 48})).search.num_trials == 48


def test_sobol_design_covers_the_ranges() -> None:
    cfg = from_dict(scan(search={"sampler": "sobol", "num_trials": 40, "seed": 3}))
    design = sobol_design(cfg.space, 40, 3)
    assert design == sobol_design(cfg.space, 40, 3)  # seeded
    assert design != sobol_design(cfg.space, 40, 4)
    assert len(design) == 40
    assert {p["depth"] for p in design} == {1, 2, 3}
    widths = [p["width"] for p in design]
    assert min(widths) >= 4 and max(widths) <= 256
    assert sum(w < 32 for w in widths) >= 10  # log-uniform: 4-32 is half the decades
    off = [p for p in design if p["l2"] == 0.0]
    assert 12 <= len(off) <= 28  # about half switched off
    assert all(1e-5 <= p["l2"] <= 1e-2 for p in design if p["l2"] != 0.0)


@pytest.mark.parametrize("raw, words", [
    (scan(scheduler={"type": "asha"}), ["scheduler.type is 'asha'", "fifo", "patience"]),
    (scan(space={"lr": [1e-3, 1e-2]}), ["space.lr", "one value", "[0.001, 0.001]"]),
    (scan(space={"activations": ["relu", "elu"]}), ["space.activations", "one value"]),
    (scan(space={"dropout": [0, 0.5], "l1": [0, 1e-3]}), ["at most two", "space.l1: [0, 0]"]),
    (scan(search={"initial_points": [{"depth": 2}]}), ["search.initial_points",
                                                      "remove search.initial_points"]),
    (scan(scheduler={"type": "patience", "patience": 20}), ["scheduler.patience is 20",
                                                            "max_epochs 20"]),
], ids=["asha", "lr", "activations", "three-regularisers", "initial-points", "patience"])
def test_scan_config_errors_name_the_fix(raw: dict, words: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        from_dict(raw)
    for word in words:
        assert word in str(err.value)


def test_design_is_served_trial_by_trial(tmp_path: Path) -> None:
    cfg = from_dict(scan(search={"max_concurrent": 5}))
    (tmp_path / "trials").mkdir()
    searcher = make_searcher(cfg, tmp_path).searcher
    configs = []
    for k in range(cfg.search.num_trials):
        config = searcher.suggest(f"t{k}")
        configs.append(config)
        searcher.on_trial_complete(f"t{k}", {"epoch": 20, "val_loss": 1.0})
    assert searcher.suggest("one-more") == "FINISHED"
    served = [(c["depth"], c["width"], c["l2"]) for c in configs]
    assert served == [(p["depth"], p["width"], p["l2"]) for p in grid_design(cfg.space, 4)]
    for c in configs:  # a scan's models are uniform, everything else the space's constants
        assert [c[f"width_{i}"] for i in range(c["depth"])] == [c["width"]] * c["depth"]
        assert (c["lr"], c["l1"], c["dropout"], c["activation"]) == (3e-3, 0.0, 0.0, "relu")


def test_patience_reaches_the_trials(tmp_path: Path) -> None:
    assert train_settings(from_dict(scan(scheduler={"type": "patience", "patience": 4})),
                          tmp_path).patience == 4
    assert train_settings(from_dict(scan()), tmp_path).patience is None
    assert train_settings(from_dict({}), tmp_path).patience is None


def _write_trial(state_dir: Path, trial_id: str, epochs: int, converged: bool = False) -> dict:
    config = {"depth": 1, "width_0": 8, "lr": 1e-3, "l2": 0.0}
    folder = state_dir / trial_id
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config))
    with open(folder / "epochs.jsonl", "w") as log:
        for e in range(1, epochs + 1):
            record = {"epoch": e, "train_loss": 1.0, "val_loss": 1.0 + 0.01 * e, "val_acc": 0.5,
                      "val_auc": 0.7, "n_params": 100, "time_s": float(e), "flops": 200}
            if converged and e == epochs:
                record["converged"] = True
            log.write(json.dumps(record) + "\n")
    return config


def test_status_and_stop_reason(tmp_path: Path) -> None:
    state = tmp_path / "trials"
    cfg = from_dict(scan(scheduler={"type": "patience", "patience": 3}))
    known = {
        "full": (_write_trial(state, "full", 20), "", ""),
        "converged": (_write_trial(state, "converged", 7, converged=True), "", ""),
        "failed": (_write_trial(state, "failed", 2), "failed", "loss became nan"),
    }
    _write_trial(state, "orphan", 4)  # trained, unknown to Tune, not ended: a driver crash
    trials, _ = build_tables(known, cfg, str(state))
    got = {r.trial_id: (r.status, r.stop_reason) for r in trials.itertuples()}
    assert got == {"full": ("completed", "max_epochs"), "converged": ("completed", "patience"),
                   "failed": ("failed", "failed"), "orphan": ("stopped", "interrupted")}


@pytest.mark.parametrize("epochs, budget, reason", [
    (1, None, "scheduler"), (3, None, "scheduler"), (3, 60.0, "scheduler"),
    (5, 60.0, "time_budget"), (27, None, "max_epochs")])
def test_stop_reason_of_an_asha_search(epochs: int, budget: float | None, reason: str) -> None:
    cfg = from_dict({"scheduler": {"max_epochs": 27, "grace_period": 1, "reduction_factor": 3},
                     "search": {"time_budget_s": budget}})
    status = "completed" if epochs == 27 else "stopped"
    assert stop_reason(status, "", epochs, False, cfg) == reason
    assert stop_reason("running", "", epochs, False, cfg) == ""


def test_cli_says_which_kind_runs(capsys: pytest.CaptureFixture) -> None:
    from jetstudy.study.cli import describe_kind, main

    # the folder cannot be made, so the study stops right after the kind line
    code = main(["run", "--set", "storage.results_dir=/proc/no/such",
                 "--set", "search.sampler=grid", "--set", "scheduler.type=fifo",
                 "--set", "space.lr=[0.003, 0.003]", "--set", "space.l1=[0, 0]"])
    out = capsys.readouterr().out
    assert code == 2
    assert out.startswith("kind: scan (a grid of 256 configurations, each to max_epochs 30)")
    search = describe_kind(from_dict({}))
    assert search.startswith("kind: search (tpe, 64 trials, 4 at a time, ASHA")
    assert "run a scan" in search
    patience = describe_kind(from_dict(scan(search={"sampler": "sobol", "num_trials": 9},
                                            scheduler={"type": "patience"})))
    assert "a Sobol design of 9 configurations" in patience and "patience of 5" in patience


@pytest.mark.slow
def test_lecture_scan_shows_the_bias_variance_picture(ray_cluster, tmp_path: Path) -> None:
    """configs/lecture.yaml's grid at depth 2 only (27 configurations): the 2-wide nets
    underfit (or collapse), the 128-wide unregularised net overfits, L2 shrinks its gap, some
    trials are good, and no trial is undetermined."""
    import pandas as pd

    from jetstudy.analysis.report import write_report
    from jetstudy.study.config import load_config
    from jetstudy.study.launch import run_study

    repo = Path(__file__).resolve().parents[2]
    cfg = load_config(repo / "configs" / "lecture.yaml",
                      ["space.depth=[2, 2]", f"storage.results_dir={tmp_path}",
                       "storage.name=lecture"])
    assert cfg.kind == "scan" and cfg.search.num_trials == 27
    outcome = run_study(cfg)
    trials = outcome.trials
    assert len(trials) == 27
    assert set(trials["status"]) == {"completed"}
    assert set(trials["stop_reason"]) <= {"max_epochs", "patience"}
    report = write_report(outcome.folder, figures=False)  # reads regimes.csv and summary.md
    regimes = pd.read_csv(report.out_dir / "regimes.csv").merge(trials, on="trial_id")
    seen = set(regimes["regime"])
    assert {"underfit", "good", "overfit"} <= seen, regimes[["widths", "l2", "dropout",
                                                             "regime", "reason"]]
    assert "undetermined" not in seen
    wide = regimes[(regimes["width_0"] == 128) & (regimes["dropout"] == 0)]
    unregularised = wide[wide["l2"] == 0]
    assert set(unregularised["regime"]) == {"overfit"}
    # the strongest L2 shrinks the wide net's train/validation gap (in standard errors)
    strongest = wide[wide["l2"] == wide["l2"].max()]
    assert strongest["gap_sigma"].max() < unregularised["gap_sigma"].min()
    assert set(regimes[regimes["width_0"] == 2]["regime"]) <= {"underfit", "unstable"}
    parts = [line for line in report.summary_md.read_text().splitlines()
             if line.startswith("## ") and line not in ("## Overview", "## Skipped parts")]
    # a scan's report leads with the regime picture (the depth x width map is skipped here:
    # depth does not vary), the study config and the best model after it
    assert parts[:2] == ["## Complexity curve", "## Regime map: size x regularisation"]
    assert parts.index("## Study config") > parts.index("## Learning curves")
