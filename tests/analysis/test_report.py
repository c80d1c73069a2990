"""The report end to end: full folders, lone tables, broken and partial inputs, escaping."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis import report as report_module
from jetstudy.analysis import sections
from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.report import FIGURE_FILES, ReportOutcome, write_report
from jetstudy.trainables.errors import JetstudyError

from tests.analysis.conftest import FullReport

PNG = b"\x89PNG\r\n\x1a\n"
EVIL = "<script>alert('pwned')</script>"


def _parts(outcome: ReportOutcome) -> dict[str, str]:
    return dict(outcome.skipped)


def _no_bug(outcome: ReportOutcome) -> None:
    bugs = [f"{p}: {w}" for p, w in outcome.skipped if "bug in jetstudy" in w]
    assert not bugs, bugs


@pytest.fixture(scope="module")
def full(full_report: FullReport) -> ReportOutcome:
    """The full report of study_dir (shared, read-only), written without torch and Ray."""
    return full_report.outcome


def test_full_folder_has_every_part(full):
    assert full.skipped == []
    assert sorted(p.name for p in full.figures) == sorted(FIGURE_FILES)
    for fig in full.figures:
        assert fig.read_bytes().startswith(PNG)
    page = full.index_html.read_text()
    assert page.count('<img src="data:image/png;base64,') == len(FIGURE_FILES)
    for title in ("Study config", "Outcomes", "Best trial", "Test metrics", "Bayes optimal",
                  "Regime map: depth x width", "Pareto front", "ROC on the test split",
                  "PedAnovaImportanceEvaluator", "Regime rules"):
        assert title in page, title
    md = full.summary_md.read_text()
    for name in FIGURE_FILES:
        assert f"]({name})" in md
    assert (full.out_dir / "regimes.csv").read_text().startswith("trial_id,")
    assert not list(full.out_dir.glob(".report-tmp-*"))


def test_default_out_dir_is_beside_the_table(tmp_path, make_study):
    trials, _ = make_study(n_trials=12)
    trials.to_parquet(tmp_path / "trials.parquet")
    outcome = write_report(tmp_path / "trials.parquet", figures=False)  # where, not what
    assert outcome.out_dir == tmp_path / "report" and outcome.index_html.is_file()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_lone_table_gives_what_it_can_and_says_what_not(tmp_path, make_study, fmt):
    trials, _ = make_study(n_trials=24, seed=3)
    path = tmp_path / f"trials.{fmt}"
    trials.to_parquet(path) if fmt == "parquet" else trials.to_csv(path, index=False)
    outcome = write_report(path, tmp_path / "out")
    skipped = _parts(outcome)
    assert set(skipped) == {"study config", "test metrics", "learning curves", "ROC"}
    assert "no epochs.parquet or epochs.csv beside the trials table" in skipped["learning curves"]
    assert "best/test_predictions.parquet" in skipped["ROC"]
    assert {p.name for p in outcome.figures} == {
        "regimes_depth_width.png", "regimes_regularisation.png", "complexity.png", "pareto.png",
        "importance.png", "history.png", "parallel_coordinates.png"}
    page = outcome.index_html.read_text()
    assert "Skipped parts" in page and "learning curves: needs the epochs" in page
    assert "table&#x27;s ranges (no config.yaml)" in page


@pytest.mark.parametrize("broken, message", [
    (lambda t: t.iloc[:0], "no rows"),
    (lambda t: t.drop(columns=["val_loss", "status"]), "lacks the columns status, val_loss"),
])
def test_unusable_table_is_one_clear_error(tmp_path, make_study, broken, message):
    trials, _ = make_study(n_trials=3)
    broken(trials).to_parquet(tmp_path / "trials.parquet")
    with pytest.raises(JetstudyError, match=message):
        write_report(tmp_path)
    assert not (tmp_path / "report").exists()


def test_one_trial(tmp_path, make_study, write_study):
    trials, epochs = make_study(n_trials=1)
    trials["status"] = "completed"
    outcome = write_report(write_study(tmp_path / "one", trials, epochs), tmp_path / "out")
    _no_bug(outcome)
    skipped = _parts(outcome)
    assert "at least 5 finished trials" in skipped["hyperparameter importance"]
    assert "does not vary" in skipped["regime map (depth x width)"]
    assert {"learning_curves.png", "pareto.png", "roc.png"} <= {p.name for p in outcome.figures}
    # one size: no curve against size (test_referee11_report_figures)
    assert "needs two sizes" in skipped["complexity curve"]


def test_all_trials_failed(tmp_path, make_study, write_study):
    trials, epochs = make_study(n_trials=6)
    trials["status"], trials["error"] = "failed", "CUDA error: out of memory"
    trials[["train_loss", "val_loss", "best_val_loss", "best_val_acc", "best_val_auc"]] = np.nan
    outcome = write_report(write_study(tmp_path / "failed", trials, epochs.iloc[:0]), tmp_path / "out")
    _no_bug(outcome)
    skipped = _parts(outcome)
    assert "none is best" in skipped["best trial"]
    assert "no finished trial" in skipped["Pareto front"]
    assert "epochs table has no rows" in skipped["learning curves"]
    assert outcome.figures == []
    page = outcome.index_html.read_text()
    assert "CUDA error: out of memory" in page and "most frequent errors" in page


def test_running_snapshot(tmp_path, make_study, write_study):
    """A live study: running trials, one that has not reported an epoch (NaN everywhere, as the
    study writes it), and epochs already written for a trial the trials snapshot lacks."""
    trials, epochs = make_study(n_trials=20, running=4)
    fresh = trials.iloc[[0]].assign(trial_id="fresh", status="running", epochs=0, n_params=np.nan,
                                     flops=np.nan, train_loss=np.nan, val_loss=np.nan, best_val_loss=np.nan,
                                     best_val_acc=np.nan, best_val_auc=np.nan, best_epoch=np.nan)
    ghost = epochs.iloc[:3].assign(trial_id="ghost")
    folder = write_study(tmp_path / "live", pd.concat([trials, fresh]), pd.concat([epochs, ghost]))
    outcome = write_report(folder, tmp_path / "out")
    _no_bug(outcome)
    assert len(outcome.figures) == len(FIGURE_FILES)
    page = outcome.index_html.read_text()
    assert "5 trials are still running" in page
    regimes = pd.read_csv(outcome.out_dir / "regimes.csv").set_index("trial_id")
    assert regimes.loc["fresh", "regime"] == "undetermined" and "ghost" not in regimes.index
    assert regimes["reason"].str.contains("still running").sum() == 4


@pytest.fixture(scope="module")
def evil_real(tmp_path_factory: pytest.TempPathFactory, make_study, write_study) -> ReportOutcome:
    """Real (not synthetic) data, with markup in the study name, an error and a trial id."""
    trials, epochs = make_study(n_trials=16)
    trials.loc[0, ["status", "error"]] = ["failed", f"boom {EVIL}"]
    trials.loc[1, "trial_id"] = f"id{EVIL}"
    epochs = epochs[epochs["trial_id"] != "t0001"]
    folder = write_study(tmp_path_factory.mktemp("evil") / "study", trials, epochs, synthetic=False,
                         name=EVIL)
    return write_report(folder, folder / "report")


def test_real_data_shows_reference_points(evil_real):
    assert "roc.png" in {p.name for p in evil_real.figures}
    page = evil_real.index_html.read_text()
    assert "16-HLF DNN (Moreno et al. 2020)" in page and "hls4ml 64-32-32 MLP (Duarte et al. 2018)" in page
    assert "Eur. Phys. J. C 80 (2020) 58" in page and "JINST 13 (2018) P07027" in page
    assert "(Moreno et al. 2020) sig eff @ 10% bkg" in page and "not quoted" in page
    assert "Bayes optimal" not in page


def _outside_code(md: str) -> tuple[str, list[str]]:
    """Markdown without its fenced code blocks, and the blocks' bodies (CommonMark shows a
    block's body as literal text: markup inside it is inert, if no line can close the fence)."""
    prose, blocks = [], []
    parts = re.split(r"^(`{3,})[A-Za-z0-9_+-]*\n(.*?)^\1$", md, flags=re.M | re.S)
    for i, part in enumerate(parts):
        (blocks if i % 3 == 2 else prose if i % 3 == 0 else []).append(part)
    return "".join(prose), blocks


def test_user_strings_are_escaped(evil_real):
    page, md = evil_real.index_html.read_text(), evil_real.summary_md.read_text()
    prose, blocks = _outside_code(md)
    assert "<script" not in page and "<script" not in prose
    assert len(blocks) == 1 and f"name: {EVIL}" in blocks[0]  # the config, literally
    assert not re.search(r"^ {0,3}```", blocks[0], flags=re.M)  # nothing closes the fence early
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in page
    assert "boom &lt;script&gt;" in page and "id&lt;script&gt;" in page
    assert "boom &lt;script&gt;" in md


def test_stale_figures_are_removed_and_nothing_half_written(tmp_path, full, make_study):
    out = tmp_path / "out"
    shutil.copytree(full.out_dir, out)
    assert (out / "roc.png").exists()
    trials, _ = make_study(n_trials=8)
    (tmp_path / "lone").mkdir()
    trials.to_parquet(tmp_path / "lone" / "trials.parquet")
    outcome = write_report(tmp_path / "lone" / "trials.parquet", out)
    assert not (out / "roc.png").exists() and not (out / "learning_curves.png").exists()
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".png") == sorted(p.name for p in outcome.figures)
    assert not list(out.glob(".report-tmp-*"))


def test_a_bug_in_one_part_costs_only_that_part(tmp_path, make_study, monkeypatch):
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(sections.complexity, "complexity_curve", broken)
    trials, _ = make_study(n_trials=12)
    trials.to_parquet(tmp_path / "trials.parquet")
    outcome = write_report(tmp_path / "trials.parquet", tmp_path / "out")
    assert "simulated bug" in _parts(outcome)["complexity curve"]
    assert "bug in jetstudy" in _parts(outcome)["complexity curve"]
    assert "complexity.png" not in {p.name for p in outcome.figures} and outcome.figures


def test_unwritable_output_is_explained(tmp_path, study_dir, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(report_module, "build_report", None)  # fails before any work is done
    with pytest.raises(AnalysisError, match="cannot write the report to .*file/out"):
        write_report(study_dir, blocker / "out")


def test_report_runs_with_torch_and_ray_unimportable(full_report: FullReport) -> None:
    """The colleague's machine: no torch, no Ray. Block both, import analysis (which must not
    pull in matplotlib, seaborn or optuna until they are needed) and write a full report (the
    shared full report is that one: tests/analysis/conftest.py's full_report)."""
    out = full_report.proc
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines() == ["[]", f"{len(FIGURE_FILES)} []"]
    assert full_report.outcome.out_dir == full_report.outcome.index_html.parent
    assert full_report.outcome.out_dir.name == "report"  # the study's own report/, by default


def test_pareto_section_uses_completed_trials_and_says_when_undetermined(tmp_path, make_study,
                                                                         write_study):
    import json

    trials, epochs = make_study(n_trials=16)
    # stopped before their last epoch (one that trained all of max_epochs is a full run, a
    # candidate whatever its status): the last epoch leaves the table and the log
    done = trials["status"] == "completed"
    trials.loc[done, "status"] = "stopped"
    trials.loc[done, "epochs"] -= 1
    last = epochs.merge(trials.loc[done, ["trial_id", "epochs"]], on="trial_id", how="left")
    epochs = epochs[~(last["epoch"] > last["epochs"]).to_numpy()]
    folder = write_study(tmp_path / "asha", trials, epochs)
    (folder / "data_summary.json").write_text(json.dumps(
        {"synthetic": True, "n_jets": {"val": 3000},
         "class_counts": {"val": {c: 600 for c in "gqWZt"}}}))
    outcome = write_report(folder, tmp_path / "out")
    _no_bug(outcome)
    assert "Pareto front" not in _parts(outcome) and "pareto.png" in {p.name for p in outcome.figures}
    md = outcome.summary_md.read_text()
    pareto = md.split("## Pareto front", 1)[1].split("\n## ", 1)[0]
    assert "undetermined, no trial ran to completion" in pareto
    assert "candidates: 0 here" in pareto and "binomial standard error" in pareto
    assert "| undetermined |" in pareto


def test_test_section_shows_errors_and_says_when_a_file_has_none(full):
    md = full.summary_md.read_text()
    test = md.split("## Test metrics", 1)[1].split("\n## ", 1)[0]
    assert "has no uncertainties (written by an older jetstudy)" in test  # the fixture's file
    assert "Clopper-Pearson" in test
