"""Refereeing a real report against its own tables: one tiny real study (synthetic jets, ASHA,
``val_acc`` as the search metric, so "best" is the highest), its report read as a referee reads a
paper. Every number the page prints is the tables' number: trials per status and per regime,
the best trial, its epoch and scores, the test metrics with their errors (digits from the
error), the Pareto fronts' sizes; every figure's data is the tables' data: the learning curves
of the trials named, the history's running best, the ROC legends' AUCs; the page loads nothing
from the net.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from jetstudy.analysis import maps, pareto, report
from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.intervals import binomial_se, format_error
from jetstudy.analysis.regimes import REGIMES
from jetstudy.analysis.render import format_cell
from jetstudy.analysis.summary import best_trial
from jetstudy.trainables.schema import CLASSES

from tests.analysis.conftest import FigureCapture, draw_every_part

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def study(ray_cluster, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from jetstudy.study.launch import run_study
    from tests.conftest import make_small_config

    cfg = make_small_config(tmp_path_factory.mktemp("referee2"), "acc",
                            data={"synthetic_jets": 3000},
                            search={"num_trials": 6, "max_concurrent": 2, "seed": 3,
                                    "metric": "val_acc"},
                            scheduler={"max_epochs": 4, "grace_period": 1,
                                       "reduction_factor": 2})
    outcome = run_study(cfg)
    report.write_report(outcome.folder)
    return outcome.folder


@pytest.fixture(scope="module")
def drawn(study: Path) -> FigureCapture:
    return draw_every_part(study, pixels=False)  # the module's report rendered them


def _md_tables(md: str) -> dict[str, pd.DataFrame]:
    """Every captioned table of summary.md (``*caption*`` above it), cells as text, Markdown
    backslash escapes removed."""
    out: dict[str, pd.DataFrame] = {}
    lines = md.splitlines()
    for i, line in enumerate(lines):
        if not (line.startswith("| ") and i >= 2 and lines[i - 1] == ""
                and lines[i - 2].startswith("*")):
            continue
        rows = []
        for row in lines[i:]:
            if not row.startswith("|"):
                break
            cells = [re.sub(r"\\(.)", r"\1", c.strip()) for c in row.strip("|").split(" | ")]
            rows.append([c.strip() for c in cells])
        caption = re.sub(r"\\(.)", r"\1", lines[i - 2].strip("*"))
        out[caption] = pd.DataFrame(rows[2:], columns=rows[0])
    return out


def _md_section(md: str, title: str) -> str:
    part = md.split(f"\n## {title}\n", 1)[1]
    return part.split("\n## ", 1)[0]


def test_counts_per_status_and_regime_are_the_tables(study: Path) -> None:
    trials = pd.read_parquet(study / "trials.parquet")
    regimes = pd.read_csv(study / "report" / "regimes.csv")
    md = (study / "report" / "summary.md").read_text()
    tables = _md_tables(md)
    assert {"trials by status", "trials by regime (see 'Regime rules')"} <= set(tables), md
    status = tables["trials by status"].set_index("status")["trials"].astype(int)
    assert status["total"] == len(trials) == len(regimes)
    for name, n in trials["status"].value_counts().items():
        assert status[name] == n, name
    assert status.drop("total").sum() == len(trials)
    regime = tables["trials by regime (see 'Regime rules')"].set_index("regime")
    assert regime["trials"].astype(int).to_dict() == regimes["regime"].value_counts().to_dict()
    partial = regimes.groupby("regime")["judged_on_partial"].sum().astype(int)
    assert regime["judged on partial curves"].astype(int).to_dict() == partial.to_dict()


def test_the_best_trial_is_the_tables_and_the_tests(study: Path) -> None:
    trials = pd.read_parquet(study / "trials.parquet")
    tm = json.loads((study / "best" / "test_metrics.json").read_text())
    best = best_trial(trials, "val_acc", True)
    ok = trials[trials["status"].isin(["completed", "stopped"])]
    assert best["best_val_acc"] == ok["best_val_acc"].max()
    assert tm["trial_id"] == best["trial_id"] and tm["epoch"] == best["best_epoch"]
    md = (study / "report" / "summary.md").read_text()
    section = _md_section(md, "Best trial")
    fields = dict(re.findall(r"^\| ([a-z_]+) \| (.*) \|$", section, flags=re.M))
    for field in ("trial_id", "status", "best_epoch", "epochs", "n_params"):
        assert fields[field] == format_cell(best[field]), field
    # the loss with its error since round 3: the value to the digits that error allows
    assert float(fields["best_val_loss"].split(" ± ")[0]) == pytest.approx(
        best["best_val_loss"], abs=float(fields["best_val_loss"].split(" ± ")[1]))
    # the scores with their errors, as the Pareto part gives them
    n_val = json.loads((study / "data_summary.json").read_text())["n_jets"]["val"]
    acc = float(best["best_val_acc"])
    assert fields["best_val_acc"] == format_error(acc, binomial_se(acc, n_val))
    auc, auc_se = map(float, fields["best_val_auc"].split(" ± "))
    assert abs(auc - best["best_val_auc"]) <= auc_se / 2
    assert "highest best_val_acc" in section
    regimes = pd.read_csv(study / "report" / "regimes.csv").set_index("trial_id")
    assert fields["regime"].startswith(regimes.loc[best["trial_id"], "regime"] + ":")
    test = _md_section(md, "Test metrics")
    assert f"(trial {best['trial_id']}, epoch {best['best_epoch']})" in test
    assert f"on {tm['n_test']} held-out" in test


def test_test_metrics_are_the_json_with_digits_from_the_error(study: Path) -> None:
    tm = json.loads((study / "best" / "test_metrics.json").read_text())
    md = (study / "report" / "summary.md").read_text()
    table = _md_tables(md)["test metrics (± 1 standard error)"].set_index("metric")
    model, bayes = tm["model"], tm["bayes"]
    for key in ("accuracy", "log_loss", "auc_macro"):
        assert table.loc[key, "model"] == format_error(model[key], model[f"{key}_se"]), key
        assert table.loc[key, "Bayes optimal"] == format_error(bayes[key], bayes[f"{key}_se"])
        value, error = table.loc[key, "model"].split(" ± ")
        assert len(value.split(".")[-1]) == len(error.split(".")[-1]), key  # matching digits
    for c in CLASSES:
        assert table.loc[f"auc {c}", "model"] == format_error(model["auc"][c],
                                                               model["auc_se"][c])


def test_pareto_front_sizes_and_points_are_completed_trials(study: Path, drawn) -> None:
    trials = pareto.with_sizes(pd.read_parquet(study / "trials.parquet"))
    md = (study / "report" / "summary.md").read_text()
    section = _md_section(md, "Pareto front")
    rows = [r for r in re.findall(r"^\| (best_val_\w+) \| (\w+) \|.*\| (\d+) \|$", section,
                                  flags=re.M)]
    assert rows, section
    completed = set(trials.loc[trials["status"] == "completed", "trial_id"])
    for score, cost, size in rows:
        res = pareto.compute_pareto(trials, cost, score.removeprefix("best_"))
        assert int(size) == len(res.front), (score, cost)
        assert set(res.front["trial_id"]) <= completed
        ids = ", ".join(res.front.sort_values("cost", kind="mergesort")["trial_id"])
        n = len(res.front)
        assert (f"Front of {score} vs {cost} ({n} trial{'s' * (n != 1)}, smallest first): "
                f"{ids}.") in section.replace("\\_", "_")
    n_done = len(completed)
    assert f"are candidates: {n_done} here" in section
    faded = len(trials) - n_done  # '1 stopped or running trial is' since round 4
    if faded:
        assert f"{faded} stopped or running trial{'s are' if faded != 1 else ' is'} drawn " \
            "faded" in section
    else:  # none to name (round 4: no '0 ... are drawn faded')
        assert "drawn faded" not in section.split("are candidates:")[1].split("\n")[0]


def test_learning_curves_and_history_are_the_tables(study: Path, drawn) -> None:
    trials = pd.read_parquet(study / "trials.parquet")
    epochs = pd.read_parquet(study / "epochs.parquet")
    best = best_trial(trials, "val_acc", True)
    fig = drawn.drawn["learning_curves.png"]
    ax = fig.axes[0]
    assert ax.get_title() == "best"
    first = ax.lines[0]
    assert first.get_label() == best["trial_id"]
    mine = epochs[epochs["trial_id"] == best["trial_id"]].sort_values("epoch")
    assert list(first.get_xdata()) == list(mine["epoch"])
    assert list(first.get_ydata()) == pytest.approx(list(mine["val_loss"]))
    assert list(ax.lines[1].get_ydata()) == pytest.approx(list(mine["train_loss"]))
    history = drawn.drawn["history.png"].axes[0]
    steps = [line for line in history.lines if len(line.get_xdata()) > 1]
    assert steps, "no running best drawn"
    assert steps[-1].get_ydata()[-1] == pytest.approx(best["best_val_acc"])


def test_roc_legends_are_the_json_aucs(study: Path, drawn) -> None:
    tm = json.loads((study / "best" / "test_metrics.json").read_text())
    fig = drawn.drawn["roc.png"]
    for cls, ax in zip(CLASSES, fig.axes):
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        want = format_error(tm["model"]["auc"][cls], tm["model"]["auc_se"][cls])
        assert labels[0] == f"model (AUC {want})", cls
        bayes = format_error(tm["bayes"]["auc"][cls], tm["bayes"]["auc_se"][cls])
        assert labels[1] == f"Bayes optimal (AUC {bayes})", cls
    overview = [t.get_text() for t in fig.axes[len(CLASSES)].get_legend().get_texts()]
    for cls, label in zip(CLASSES, overview):
        want = format_error(tm["model"]["auc"][cls], tm["model"]["auc_se"][cls])
        assert label == f"{cls} ({want})", cls


def test_the_page_is_offline_and_says_how_the_study_ended(study: Path) -> None:
    page = (study / "report" / "index.html").read_text()
    loads = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", page)
    assert loads and all(u.startswith(("#", "data:image/png;base64,")) for u in loads), \
        sorted({u[:40] for u in loads})
    assert not re.search(r"url\(|@import|<script|<link", page, flags=re.I)
    trials = pd.read_parquet(study / "trials.parquet")
    failed = int((trials["status"] == "failed").sum())
    ended = "The study finished: 6 of the 6 trials asked for (search.num_trials) ran"
    assert ended + (f"; {failed} of them failed" if failed else ".") in page, trials["status"]


def test_map_cells_count_every_trial_once(study: Path, drawn) -> None:
    trials = pd.read_parquet(study / "trials.parquet")
    regimes = pd.read_csv(study / "report" / "regimes.csv")
    try:
        found = maps.regime_map(trials, regimes, "n_params", "depth", "val_acc", True)
    except AnalysisError as exc:
        assert dict(drawn.skipped)["regime map (depth x width)"].endswith(str(exc))
        return
    cells = found.cells
    per_regime = {r: int(cells[f"n_{r}"].sum()) for r in REGIMES}
    want = regimes["regime"].value_counts().reindex(list(REGIMES), fill_value=0).to_dict()
    assert found.n_unplaced == 0 and per_regime == want
    assert int(cells["n_trials"].sum() + cells["n_undetermined"].sum()) == len(trials)
    scored = trials[trials["status"].isin(["completed", "stopped", "running"])]
    assert cells["best"].max() == pytest.approx(scored["best_val_acc"].max())
    texts = {t.get_text() for t in drawn.drawn["regimes_depth_width.png"].axes[0].texts}
    for _, c in cells.iterrows():
        assert any(f"n={int(c['n_trials'])}" in t for t in texts)
