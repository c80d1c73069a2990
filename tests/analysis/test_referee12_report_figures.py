"""Round 12 (helper F): the report's figures read as a referee reads a paper's figures: every
legend names only what is drawn, in the way it is drawn; captions say what this study's figure
shows."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402


def _curve(sizes: list[int]):
    """A complexity curve of one completed, judged trial per size in ``sizes``."""
    from jetstudy.analysis.complexity import complexity_curve

    ids = [f"t{i}" for i in range(len(sizes))]
    trials = pd.DataFrame({"trial_id": ids, "status": "completed", "n_params": sizes})
    regimes = pd.DataFrame({"trial_id": ids, "regime": "good",
                            "final_train_loss": [0.9 - 0.01 * i for i in range(len(sizes))],
                            "final_val_loss": [1.0 - 0.01 * i for i in range(len(sizes))]})
    return complexity_curve(trials, regimes)


def _segments(line) -> int:
    """How many line segments ``line`` draws: neighbouring points both finite."""
    y = np.isfinite(np.asarray(line.get_ydata(), dtype=float))
    x = np.isfinite(np.asarray(line.get_xdata(), dtype=float))
    ok = x & y
    return int((ok[:-1] & ok[1:]).sum())


def legend_lines_not_drawn(ax) -> list[str]:
    """The legend entries of ``ax`` shown with a line (a line style) whose artist draws no
    segment: a legend naming a line that is drawn nowhere."""
    legend = ax.get_legend()
    named = {t.get_text() for t in legend.get_texts()} if legend else set()
    return [ln.get_label() for ln in ax.get_lines()
            if ln.get_label() in named and ln.get_linestyle() not in ("None", "none", "", " ")
            and _segments(ln) == 0]


@pytest.mark.parametrize("sizes, joined", [
    ([1000, 1100, 10000, 100000], False),   # one half-decade of two trials
    ([1000, 1100, 100000, 110000], False),  # two of two, apart: each median a lone point
    ([1000, 1100, 4000, 5000], True),       # two neighbouring bins of two: lines
])
def test_complexity_legend_shows_a_line_only_where_one_is_drawn(sizes, joined):
    """Round 11 left this: where only one half-decade held two trials or more, its medians were
    single points but the legend showed 'train, median', 'val, median', 'lowest in bin' and
    'median gap' as lines with markers (dashed, solid, dotted), lines drawn nowhere. Now each
    median is then a marker only, in the figure and in its legend entry."""
    from jetstudy.analysis import plots
    from jetstudy.analysis.complexity import median_lines_join

    curve = _curve(sizes)
    assert median_lines_join(curve.bins["n"]) is joined
    fig = plots.complexity_figure(curve)
    loss, gap = fig.axes[0], fig.axes[1]
    legend = [t.get_text() for t in loss.get_legend().get_texts()]
    assert "val, median" in legend and "median gap" in [
        t.get_text() for t in gap.get_legend().get_texts()], legend
    assert legend_lines_not_drawn(loss) == [], legend_lines_not_drawn(loss)
    assert legend_lines_not_drawn(gap) == [], legend_lines_not_drawn(gap)
    styles = {ln.get_label(): ln.get_linestyle() for ln in loss.get_lines()}
    assert (styles["val, median"] != "None") is joined, styles


def test_complexity_caption_says_medians_are_points_when_no_line_joins_them():
    """The caption said 'lines: medians per half-decade (train dashed with squares, val solid
    with circles) ...; red dotted with +' where no line is drawn; it now says the medians are
    points of the one half-decade holding two trials."""
    from jetstudy.analysis.sections_curves import median_words

    words = " ".join(median_words(_curve([1000, 1100, 10000, 100000])))
    assert "no median lines: only the one half-decade holding two or more trials has " \
           "medians, drawn as points" in words, words
    assert "dashed" not in words and "dotted" not in words and "black line" not in words, words
    words = " ".join(median_words(_curve([1000, 1100, 4000, 5000])))
    assert "lines: medians per half-decade (train dashed" in words, words


def _learning_curves(lengths: dict[str, int]) -> pd.DataFrame:
    """select_learning_curves' long table: one 'best' panel, a trial per entry of ``lengths``
    (its number of epochs)."""
    rows = [{"group": "best", "trial_id": tid, "epoch": e, "train_loss": 0.9 - 0.01 * e,
             "val_loss": 1.0 - 0.01 * e} for tid, n in lengths.items() for e in range(1, n + 1)]
    return pd.DataFrame(rows)


def test_learning_curve_legend_and_words_of_a_one_epoch_trial():
    """A trial of one epoch (ASHA's grace period 1, a smoke test's max_epochs 1) is a marker
    alone, but its legend entry showed a solid line, and the y label and caption said 'solid:
    val, dashed: train' where no line is drawn. Its entry is now the marker alone; a figure of
    one-epoch trials only names filled and hollow markers, a mixed one counts the lone ones."""
    from jetstudy.analysis import plots_curves
    from jetstudy.analysis.sections_curves import curve_style_words

    c = _learning_curves({"a": 1, "b": 1})
    fig = plots_curves.learning_curves_figure(c)
    ax = fig.axes[0]
    assert legend_lines_not_drawn(ax) == [], legend_lines_not_drawn(ax)
    assert "filled: val, hollow: train" in ax.get_ylabel(), ax.get_ylabel()
    words = curve_style_words(c)
    assert "dashed" not in words and "solid" not in words, words
    assert "hollow markers" in words and "single finite epoch" in words, words
    mixed = _learning_curves({"a": 1, "b": 5})
    ax = plots_curves.learning_curves_figure(mixed).axes[0]
    assert legend_lines_not_drawn(ax) == [], legend_lines_not_drawn(ax)
    assert "solid: val, dashed: train" in ax.get_ylabel()
    words = curve_style_words(mixed)
    assert words.startswith("Train (dashed, eval mode) and val (solid) loss per epoch (2 of "
                            "the 4 curves hold a single finite epoch: markers only"), words
    assert curve_style_words(_learning_curves({"a": 3})) == \
        "Train (dashed, eval mode) and val (solid) loss per epoch"


def _predictions() -> pd.DataFrame:
    """20 test jets, 4 per class; each class's two top-scored jets are its own, the third a
    background jet: every class keeps 2 of 4 signal jets (0.50) before a background jet passes.
    The Bayes columns keep 3 of 4 (0.75)."""
    from jetstudy.trainables.schema import CLASSES

    rows = []
    for c in range(5):
        for k in range(4):
            p = np.full(5, 0.1)
            p[c] = (0.9, 0.8, 0.3, 0.2)[k]  # the class's own score: two high, two low
            p[(c + 1) % 5] = 0.5 if k == 3 else 0.1  # beats this class's low ones
            rows.append({"label": c, **{f"p_{n}": v for n, v in zip(CLASSES, p)},
                         **{f"bayes_{n}": (0.95 if k < 3 else 0.0) if n == CLASSES[c]
                            else 0.05 for n in CLASSES}})
    return pd.DataFrame(rows)


def test_roc_caption_says_what_the_log_axis_leaves_out():
    """A ROC on a log background axis cannot draw its points at background efficiency 0: each
    curve seemed to start at a signal efficiency of 0.2-0.3 (the demo's test split), as if no
    cut kept less, and nothing said the stretch before the first background jet passes was
    below the axis. The caption now gives it, for the model and the Bayes optimum."""
    from jetstudy.analysis.sections_heldout import below_axis_words, zero_background_reach

    pred = _predictions()
    reach = zero_background_reach(pred, "p_")
    assert reach == {c: 0.5 for c in reach} and len(reach) == 5, reach
    words = below_axis_words(pred, bayes=True)
    assert "a curve starts where the first background jet passes" in words, words
    assert "(model: 0.50 by class; Bayes optimum: 0.75) is below the log axis" in words, words
    assert "Bayes" not in below_axis_words(pred, bayes=False)


def test_the_report_roc_caption_carries_the_words(study_dir):
    """The report's own ROC section (the shared 40-trial study) ends with those words."""
    from jetstudy.analysis.sections_heldout import roc_part
    from jetstudy.analysis.tables import load_tables
    from tests.analysis.conftest import words_only

    section = roc_part(words_only(load_tables(study_dir)))
    assert "a curve starts where the first background jet passes" in section.caption
    assert section.caption.endswith(") is below the log axis."), section.caption


def test_the_rules_define_both_meanings_of_significant(study_dir):
    """'Regime rules' defined 'Significant: beyond z = 3 standard errors', and the same report
    called a runner-up's 2.7-sigma lead 'a significant lead' (summary.best_trial_lines,
    NOISE_SIGMAS = 2), as the Pareto notes and the size answer do: one word, two thresholds,
    one of them unsaid. The rules now give both, each with its use."""
    from jetstudy.analysis.pareto import NOISE_SIGMAS
    from jetstudy.analysis.sections import _rules
    from jetstudy.analysis.tables import load_tables
    from tests.analysis.conftest import words_only

    state = words_only(load_tables(study_dir))
    (line,) = [w for w in _rules(state) if w.startswith("Significant")]
    assert f"beyond z = {state.thresholds.z:g} standard errors" in line, line
    assert (f"Comparing two trials' scores (the runner-up, the Pareto pick, the size answer) "
            f"calls a difference of {NOISE_SIGMAS:g} standard errors or more significant") in line


def test_a_running_trial_is_named_running_in_the_learning_curves(tmp_path, make_study,
                                                                  write_study):
    """A study still running: the best panel drew running trials' curves ending at epoch 10 of
    20, their legend entries bare trial ids, so a curve cut by the snapshot read as one that
    stopped; the partial report said 'partial' in its overview only. Each running trial's
    entry now says '(running)' and the caption says what that means; a finished trial's does
    not."""
    from jetstudy.analysis import plots_curves
    from jetstudy.analysis.curves import select_learning_curves
    from jetstudy.analysis.sections_curves import learning_curves_part
    from jetstudy.analysis.tables import load_tables
    from tests.analysis.conftest import words_only

    trials, epochs = make_study(n_trials=10, seed=13, running=4)
    state = words_only(load_tables(write_study(tmp_path / "s", trials, epochs)))
    c = select_learning_curves(state.t.trials, state.regimes, state.t.epochs, state.metric,
                               state.maximize)
    running = set(trials.loc[trials["status"] == "running", "trial_id"])
    drawn = set(c["trial_id"]) & running
    assert drawn, "the study's best panel should hold a running trial"
    fig = plots_curves.learning_curves_figure(c)
    named = {t.get_text() for ax in fig.axes if ax.get_legend()
             for t in ax.get_legend().get_texts()}
    assert {f"{t} (running)" for t in drawn} <= named, named
    assert not {t for t in named if t.endswith("(running)") and t.split()[0] not in running}
    caption = learning_curves_part(state).caption
    assert "'(running)' in a legend: a trial still training, its curve so far" in caption


def test_parallel_coordinates_say_which_lines_are_of_unfinished_trials():
    """The parallel coordinates colour each trial by its best epoch's val loss however far it
    ran; the history marks running and stopped trials apart, the parallel lines look alike and
    nothing said a stopped or running trial's colour is of a model still learning."""
    from jetstudy.analysis.sections_search import _unfinished_words

    words = _unfinished_words(pd.Series(["completed"] * 4 + ["running"] * 4 + ["stopped"] * 2),
                              "val loss")
    assert words.startswith("Of the 10 trials drawn, 4 are still running and 2 were stopped "
                            "early: their val loss is of the epochs they ran"), words
    assert _unfinished_words(pd.Series(["completed", "stopped"]), "val loss").startswith(
        "Of the 2 trials drawn, 1 was stopped early: its val loss is of the epochs it ran")
    assert _unfinished_words(pd.Series(["completed", "failed"]), "val loss") == ""


def test_maps_of_a_study_whose_trials_all_run_do_not_call_them_stopped():
    """A study just started, every trial running after 2 epochs: the regime maps were skipped
    as 'all 4 are undetermined (stopped before their curves showed a regime). A scan study ...
    trains every configuration to the end', naming a stop that never happened and a fix
    (a scan) where waiting is the fix. They now say the trials are still running."""
    from jetstudy.analysis.errors import AnalysisError
    from jetstudy.analysis.maps import regime_map

    ids = [f"t{i}" for i in range(4)]
    trials = pd.DataFrame({"trial_id": ids, "status": "running", "depth": [1, 2, 3, 4],
                           "widths": ["8", "16-16", "32-32-32", "64-64-64-64"],
                           "n_params": [100, 400, 1600, 6400],
                           "best_val_loss": [0.9, 0.8, 0.7, 0.6]})
    regimes = pd.DataFrame({"trial_id": ids, "status": "running", "regime": "undetermined",
                            "judged_on_partial": False})
    with pytest.raises(AnalysisError) as err:
        regime_map(trials, regimes, "n_params", "depth", "val_loss", False)
    text = str(err.value)
    assert "all 4 are undetermined (still running, their curves too short so far" in text, text
    assert "stopped" not in text and "scan" not in text, text
    trials.loc[0, "status"] = regimes.loc[0, "status"] = "stopped"
    with pytest.raises(AnalysisError, match=r"\(3 still running, 1 stopped before its curve "
                                            r"showed a regime\)\. A scan study"):
        regime_map(trials, regimes, "n_params", "depth", "val_loss", False)


def test_importance_says_when_pedanova_top_group_is_a_handful(tmp_path, make_study,
                                                               write_study):
    """PED-ANOVA ranks hyperparameters by how the best 10% of the trials differ from all; of
    30 trials that is 3, and the report drew a confident bar chart (dropout 0.37, L1 0.27 ...)
    with no word of it (its caveat came only under 20 trials). Optuna advises at least 5 in
    that top group: the part now says how many it held and that fewer make noise."""
    from jetstudy.analysis import importance
    from jetstudy.analysis.sections import _importance
    from jetstudy.analysis.tables import load_tables
    from tests.analysis.conftest import words_only

    assert importance.trials_for_top_group() == 41
    trials, epochs = make_study(n_trials=30, seed=12)
    state = words_only(load_tables(write_study(tmp_path / "s", trials, epochs)))
    section = _importance(state)
    n = int(trials["status"].isin(["completed", "stopped"]).sum())
    top = -(-n // 10)
    assert top < 5
    (line,) = [w for w in section.lines if w.startswith("PED-ANOVA compares")]
    assert (f"the best 10% of the trials ({top} of {n}) with all of them; Optuna advises at "
            "least 5 in that group (41 trials or more)") in line, line
    assert not [w for w in section.lines if w.startswith("Only ")], section.lines


def test_figures_name_the_tested_trial_when_the_best_has_moved_on(tmp_path, make_study,
                                                                   write_study):
    """A study still running: test_metrics.json is of trial t0004, the best when it was
    evaluated; the table's best is now t0006. The Test metrics part said so in one sentence,
    but opened 'Best model (trial t0004)', the ROC caption said 'ROC of the best model', and
    the Pareto legend and caption called the diamond 'best model, test split'. Each now names
    the tested trial; a study whose test evaluation is of its best keeps the old words."""
    import json

    from jetstudy.analysis.sections_heldout import heldout_part, roc_part, tested_model
    from jetstudy.analysis.sections_pareto import pareto_part
    from jetstudy.analysis.tables import load_tables
    from tests.analysis.conftest import words_only

    trials, epochs = make_study(n_trials=10, seed=13, running=4)
    folder = write_study(tmp_path / "s", trials, epochs)
    state = words_only(load_tables(folder))
    best = str(state.best_row()["trial_id"])
    tested = json.loads((folder / "best" / "test_metrics.json").read_text())["trial_id"]
    assert tested != best, (tested, best)
    assert heldout_part(state).lines[0].startswith(
        f"The model of trial {tested}, the best when it was evaluated, on ")
    assert f"One-vs-rest ROC of trial {tested}, the model evaluated on test (the table's " \
           f"best is now {best})" in roc_part(state).caption
    assert (f"diamond = trial {tested} on test (evaluated before {best} became the table's "
            "best)") in pareto_part(state).caption
    assert tested_model(state)[1] == f"trial {tested} (tested; best now {best}), test split"
    # the test evaluation of the table's best: the words as before
    meta = json.loads((folder / "best" / "test_metrics.json").read_text())
    meta["trial_id"] = best
    meta.pop("epoch", None)
    (folder / "best" / "test_metrics.json").write_text(json.dumps(meta))
    state = words_only(load_tables(folder))
    assert tested_model(state)[0] == "the best model"
    assert heldout_part(state).lines[0].startswith(f"Best model (trial {best}) on ")


def test_a_complexity_curve_of_one_trial_is_not_called_constant(tmp_path, make_study,
                                                                write_study):
    """A one-trial study: the complexity curve was skipped as '`n_params` does not vary among
    the trials it would draw (all 13955; ...)', words for many trials of one size. It now says
    there is one trial to draw."""
    from jetstudy.analysis.errors import AnalysisError
    from jetstudy.analysis.sections_curves import complexity_part
    from jetstudy.analysis.tables import load_tables
    from tests.analysis.conftest import words_only

    trials, epochs = make_study(n_trials=1, seed=2, asha=False)
    state = words_only(load_tables(write_study(tmp_path / "s", trials, epochs)))
    with pytest.raises(AnalysisError) as err:
        complexity_part(state)
    text = str(err.value)
    assert text.startswith("one trial to draw (") and "does not vary" not in text, text
    assert f"{int(trials['n_params'].iloc[0])} parameters): a curve against size needs two " \
           "sizes" in text, text
