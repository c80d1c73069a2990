"""Round 10 referee of the verdicts (issue 8's class): what a physicist reads in the Pareto part,
the held-out test table and the size answer."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402


def _stopped_full_run() -> pd.DataFrame:
    """Two candidates: a completed trial and one the time budget stopped after all its epochs."""
    return pd.DataFrame({
        "trial_id": ["big", "small"], "trial_number": [0, 1],
        "status": ["completed", "stopped"], "stop_reason": ["max_epochs", "time_budget"],
        "epochs": [6, 6], "max_epochs": [6, 6], "best_epoch": [6, 6],
        "n_params": [4000, 400], "flops": [8000, 800], "depth": [2, 1], "widths": ["64-32", "16"],
        "best_val_acc": [0.70, 0.80], "best_val_loss": [0.7, 0.6]})


def test_the_pareto_legend_names_the_candidates_as_the_notes_do():
    """A stopped trial that ran all of max_epochs is drawn as a candidate (a full point, on the
    front) while the legend called the points "completed trials" and the line "Pareto front
    (completed)": the notes and pareto.csv say "fully trained"."""
    import matplotlib.pyplot as plt

    from jetstudy.analysis import pareto
    from jetstudy.analysis.plots_pareto import draw_pareto

    # the big trial better, so the front has two points and its line shows (a front of one
    # point, under the pick's star, is neither drawn nor named: test_referee11_report_figures)
    trials = _stopped_full_run().assign(best_val_acc=[0.85, 0.80])
    r = pareto.compute_pareto(trials, "n_params", "val_acc", n_val=10000)
    assert set(r.points["status"]) == {"completed", "stopped"} and len(r.front) == 2
    fig, ax = plt.subplots()
    try:
        draw_pareto(r, ax)
        labels = ax.get_legend_handles_labels()[1]
    finally:
        plt.close(fig)
    assert not [x for x in labels if "completed" in x], labels
    assert "fully trained trials (± 1 se)" in labels
    assert "Pareto front (fully trained)" in labels


def test_the_search_front_line_counts_fully_trained_trials():
    """The size-aware search's own front counted "1 of 2 completed trials" where one of the two
    is a stopped full run (pareto.search_front's ``complete``)."""
    from jetstudy.analysis.pareto import search_front
    from jetstudy.analysis.sections_pareto import _own_front_line

    own = search_front(_stopped_full_run(), "val_acc", True, "n_params")
    line = _own_front_line(own, "val_acc", "n_params", int(own["complete"].sum()))
    assert "On the front: 1 of 2 fully trained trials (table)" in line, line


def _one_t_jet() -> tuple:
    """1,200 test jets of g, q, W, Z and a single t jet, a classifier that ranks it first."""
    import numpy as np

    rng = np.random.default_rng(1)
    labels = np.array([0] * 300 + [1] * 300 + [2] * 300 + [3] * 300 + [4])
    p = rng.dirichlet(np.ones(5), len(labels))
    p[np.arange(len(labels)), labels] += 0.5
    return labels, p / p.sum(1, keepdims=True)


def test_a_class_auc_from_one_jet_says_so_and_is_undetermined():
    """One t jet in the test split: its AUC (the rank of that one jet) read "0.999 ± 0.020"
    (Bayes the same) beside AUCs from 300 jets, with no count anywhere in the test table
    (test_metrics.json held none per class, the counts were only in the operating table)."""
    from jetstudy.analysis.summary import compare_test_metrics, few_jet_classes
    from jetstudy.study.evaluate import score_test_split
    from jetstudy.trainables.schema import CLASSES

    labels, p = _one_t_jet()
    counts = {c: int((labels == i).sum()) for i, c in enumerate(CLASSES)}
    tm = {"n_test": len(labels), "class_counts": counts, **score_test_split(labels, p, p)}
    table = compare_test_metrics(tm, True).set_index("metric")
    assert table.loc["auc t", "test jets"] == "1 t / 1200 other"
    assert table.loc["auc g", "test jets"] == "300 g / 901 other"
    assert table.loc["accuracy", "test jets"] == "1201"
    for column in ("model", "Bayes optimal", "model - Bayes"):
        assert table.loc["auc t", column].startswith("undetermined: 1 t jet ("), column
        assert "undetermined" not in table.loc["auc g", column]
    assert "includes t's AUC, undetermined: too few jets" in table.loc["auc_macro", "model"]
    # the counts from the predictions when test_metrics.json has none (an older file)
    old = {k: v for k, v in tm.items() if k != "class_counts"}
    assert compare_test_metrics(old, True, counts).equals(compare_test_metrics(tm, True))
    assert "test jets" not in compare_test_metrics(old, True).columns  # unknown: no column
    # at the threshold and past it; the rest counts too (a class that is almost all the jets)
    assert few_jet_classes({"g": 5, "q": 100, "W": 100, "Z": 0, "t": 0}) == {"g": "5 g jets"}
    assert few_jet_classes({"g": 6, "q": 100, "W": 100, "Z": 0, "t": 0}) == {}
    assert few_jet_classes({"g": 2, "q": 100, "W": 0, "Z": 0, "t": 0}) == {
        "g": "2 g jets", "q": "2 jets besides q"}


def test_the_evaluation_records_each_classs_test_jets(tmp_path):
    """test_metrics.json now holds ``class_counts`` (what each class's AUC rests on), and the
    report's loader takes them as counts."""
    import json

    from jetstudy.analysis.summary import heldout_class_counts
    from jetstudy.analysis.table_files import check_json_numbers
    from jetstudy.study.evaluate import evaluate_best
    from tests.study.test_evaluate_best import _splits, _trial_with_best

    state = _trial_with_best(tmp_path)
    evaluate_best(state, "t", _splits(61), False, tmp_path / "best", expected_epoch=4, n_boot=5)
    tm = json.loads((tmp_path / "best" / "test_metrics.json").read_text())
    assert tm["class_counts"] == {"g": 13, "q": 12, "W": 12, "Z": 12, "t": 12}
    check_json_numbers("test_metrics.json", tm)
    assert heldout_class_counts(tm) == tm["class_counts"]
    assert heldout_class_counts({**tm, "class_counts": {"g": 1.5}}) is None  # hand-edited


def test_every_list_of_trials_names_five_and_counts_the_rest():
    """size_answer.no_answer_reason, pareto.unsized_words and the runner-up's ties each built
    "a, b and N more" themselves; one helper (trial_order.listed_ids), the words kept."""
    from jetstudy.analysis.pareto import unsized_words
    from jetstudy.analysis.size_answer import no_answer_reason
    from jetstudy.analysis.summary import runner_up_line
    from jetstudy.analysis.trial_order import listed_ids

    ids = [f"t{i}" for i in range(7)]
    assert listed_ids(ids) == "t0, t1, t2, t3, t4 and 2 more"
    assert listed_ids(ids[:5]) == "t0, t1, t2, t3, t4" and listed_ids([]) == ""
    assert "trials t0, t1, t2, t3, t4 and 2 more, fully trained" in unsized_words(ids, "flops")
    t = pd.DataFrame({"trial_id": ids, "trial_number": range(7), "status": "completed",
                      "epochs": 4, "max_epochs": 4, "n_params": 0, "best_val_acc": 0.8})
    assert "(t0, t1, t2, t3, t4 and 2 more) have no `n_params`" in no_answer_reason(t, "n_params")
    t9 = pd.DataFrame({"trial_id": [f"t{i}" for i in range(9)], "trial_number": range(9),
                       "status": "completed", "n_params": 100, "best_val_acc": 0.8})
    line = runner_up_line(t9, "val_acc", True, n_val=1000)
    assert "Trials t2, t3, t4, t5, t6 and 2 more tie at that score too" in line, line


def test_a_user_given_reference_loss_is_named_in_the_curve_captions():
    """With regimes.reference_loss given, the complexity and learning-curve captions said
    "dashed: L*, as given in regimes:." (a sentence cut off) where 'Outcomes' says "the given
    regimes.reference_loss 0.7"."""
    from types import SimpleNamespace

    from jetstudy.analysis.reference_loss import known_reference
    from jetstudy.analysis.sections_curves import _reference_words

    ref = known_reference({"prior_entropy": 1.6}, reference_loss=0.7)
    assert ref.source == "user"
    words = _reference_words(SimpleNamespace(reference=ref), "dashed")
    assert words == "dashed: L*, the given regimes.reference_loss", words
    assert "the given regimes.reference_loss 0.7" in ref.describe()


def test_the_test_part_says_when_the_evaluated_model_was_stopped_early(tmp_path, make_study,
                                                                       write_study):
    """Every trial stopped by ASHA after 2 of 6 epochs: the best (trial t0003) is evaluated on
    the test split and compared with the Bayes optimum ("model - Bayes -0.094") while nothing
    in 'Test metrics' said that model was stopped still learning (the runner-up line did, the
    export's model.json does): its gap read as its configuration's."""
    from jetstudy.analysis.sections_heldout import heldout_part
    from jetstudy.analysis.tables import load_tables
    from tests.analysis.conftest import words_only

    trials, epochs = make_study(n_trials=6, max_epochs=6, seed=3, asha=False)
    stopped = trials.assign(status="stopped", stop_reason="scheduler", epochs=2)
    state = words_only(load_tables(write_study(tmp_path / "s", stopped,
                                               epochs[epochs["epoch"] <= 2])))
    best = str(state.best_row()["trial_id"])
    text = " ".join(heldout_part(state).lines)
    assert (f"Trial {best} was stopped after 2 of 6 epochs: these test numbers are of a model "
            "still learning") in text, text
    done = words_only(load_tables(write_study(tmp_path / "d", trials, epochs)))
    assert "still learning" not in " ".join(heldout_part(done).lines)


def test_the_roc_legend_calls_a_one_jet_auc_undetermined_without_overflowing(tmp_path,
                                                                               make_study,
                                                                               write_study):
    """With the test table's "undetermined: 1 t jet (0.999 ± 0.020)" the t panel's legend ran
    past its panel into the next: the legends say "undetermined: 1 t jet" (the value stays in
    the table) and the caption says why."""
    import json

    from jetstudy.analysis.sections_heldout import _table_aucs
    from jetstudy.analysis.tables import load_tables
    from jetstudy.study.evaluate import score_test_split
    from jetstudy.trainables.schema import CLASSES
    from tests.analysis.conftest import words_only

    trials, epochs = make_study(n_trials=4, max_epochs=6, seed=3, asha=False)
    folder = write_study(tmp_path / "s", trials, epochs)
    labels, p = _one_t_jet()
    tm = json.loads((folder / "best" / "test_metrics.json").read_text())
    tm.update(n_test=len(labels), **score_test_split(labels, p, p))  # an older file: no counts
    (folder / "best" / "test_metrics.json").write_text(json.dumps(tm))
    columns = {f"{k}_{c}": p[:, i] for k in ("p", "bayes") for i, c in enumerate(CLASSES)}
    pd.DataFrame({"label": labels, **columns}).to_parquet(
        folder / "best" / "test_predictions.parquet")
    texts = _table_aucs(words_only(load_tables(folder)))
    assert texts["model"]["t"] == texts["bayes"]["t"] == "undetermined: 1 t jet"
    assert "±" in texts["model"]["g"] and "undetermined" not in texts["model"]["g"]


def test_the_size_answer_deploys_no_model_that_did_not_learn():
    """Every trial collapsed to the class priors (val loss above ln 5, AUC 0.5: all unstable in
    regimes.csv): "How big should my tagger be?" still named the smallest within 1% of the
    best and said "Deploy it with jetstudy export" -- a net that tells no class apart."""
    from jetstudy.analysis.size_answer import how_big, how_big_paragraph

    t = pd.DataFrame({"trial_id": list("abc"), "trial_number": range(3), "status": "completed",
                      "epochs": 4, "max_epochs": 4, "n_params": [100, 1000, 5000],
                      "depth": 1, "widths": ["8", "60", "300"],
                      "best_val_loss": [1.621, 1.6205, 1.620], "best_val_acc": 0.2})
    answer = how_big(t, "val_loss", False, "n_params")
    assert answer.pick["trial_id"] == "a" and answer.best["trial_id"] == "c"
    assert "Deploy it" in how_big_paragraph(answer)  # (without the regimes: the old words)
    why = "train loss 1.62 is no better than predicting the class priors"
    text = how_big_paragraph(answer, unstable={"a": why, "b": why, "c": why})
    assert text.startswith("How big should my tagger be? Undetermined: the best fully trained "
                           "model, trial c"), text
    assert f"is unstable in regimes.csv ({why}); all 3 fully trained trials are" in text
    assert "Deploy" not in text
    # a stable best with an unstable pick: the answer stands, with a warning
    warned = how_big_paragraph(answer, unstable={"a": why})
    assert "Deploy it" in warned and f"Trial a is unstable in regimes.csv ({why})" in warned
    assert "Undetermined" not in how_big_paragraph(answer, unstable={"z": why})


def test_the_pareto_part_passes_the_regimes_to_the_size_answer(tmp_path, make_study,
                                                               write_study):
    """Through the report: a study of collapsed nets gets no 'Deploy it'."""
    import numpy as np

    from jetstudy.analysis.sections_pareto import pareto_part
    from jetstudy.analysis.tables import load_tables
    from tests.analysis.conftest import words_only

    trials, epochs = make_study(n_trials=4, max_epochs=6, seed=3, asha=False)
    for c in ("train_loss", "val_loss", "best_val_loss"):
        trials[c] = 1.62 + 0.001 * np.arange(len(trials))
    epochs = epochs.assign(train_loss=1.62, val_loss=1.62, val_auc=0.5)
    trials = trials.assign(best_val_acc=0.2, best_val_auc=0.5, val_auc=0.5)
    state = words_only(load_tables(write_study(tmp_path / "s", trials, epochs)))
    assert set(state.regimes["regime"]) == {"unstable"}
    (answer,) = [t for t in pareto_part(state).lines if t.startswith("How big")]
    assert "Undetermined: the best fully trained model" in answer and "Deploy" not in answer


def test_a_pareto_gap_that_the_rounded_scores_do_not_show_gives_them_unrounded():
    """The Pareto table printed the pick at 0.800 ± 0.004, the best at 0.805 ± 0.004 and
    "best - pick 0.006 ± 0.005" (the unrounded 0.80538 - 0.79971), and the note said the same
    0.006; the runner-up line gives the unrounded scores in that case, the Pareto notes now
    do too (one rule, intervals.rounded_apart_words)."""
    from jetstudy.analysis import pareto

    t = pd.DataFrame({"trial_id": ["big", "small"], "trial_number": [0, 1],
                      "status": "completed", "n_params": [6339, 5862],
                      "best_val_acc": [0.80538, 0.79971]})
    r = pareto.compute_pareto(t, "n_params", "val_acc", n_val=12000)
    assert r.pick["trial_id"] == "small" and r.within_noise
    (note,) = [n for n in pareto.pick_notes(r) if "below the best" in n]
    assert ("trial small is 0.006 ± 0.005 below the best (trial big) (the unrounded scores, 0.80538 and "
            "0.79971; those shown are rounded) at 1/1.08 of its cost") in note, note
    # printed scores whose difference is the printed gap: no clause
    t2 = t.assign(best_val_acc=[0.8054, 0.7994])
    r2 = pareto.compute_pareto(t2, "n_params", "val_acc", n_val=12000)
    assert "unrounded" not in " ".join(pareto.pick_notes(r2))


def test_the_runner_up_line_says_when_the_best_is_the_luckiest_of_its_repeats():
    """Trial a's configuration was trained 4 times (val loss 0.600, 0.98, 0.99, 1.0): the
    runner-up line said only that a leads e by 0.005, as if a's configuration were the best;
    the size answer warned of the lucky run, 'Best trial' did not."""
    from jetstudy.analysis.summary import runner_up_line

    t = pd.DataFrame({"trial_id": list("abcde"), "trial_number": range(5),
                      "status": "completed", "epochs": 4, "max_epochs": 4,
                      "n_params": [100, 100, 100, 100, 5000], "depth": 1,
                      "widths": ["8", "8", "8", "8", "300"], "dropout": 0.1, "lr": 1e-3,
                      "best_val_loss": [0.60, 1.0, 0.98, 0.99, 0.605]})
    line = runner_up_line(t, "val_loss", False)
    assert ("Trial a's configuration was trained 4 times (also trials b, c, d): val_loss from 0.600 "
            "to 1.000, median 0.985; the best is the luckiest of them") in line, line
    # the runner-up as the only other run: the pair's own sentence, not this one
    pair = runner_up_line(t.iloc[[0, 1, 4]].assign(best_val_loss=[0.60, 0.601, 0.7]),
                          "val_loss", False)
    assert "repeats trial a's configuration" in pair and "luckiest" not in pair
