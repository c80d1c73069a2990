"""Round 11, second wave (helper J): follow-ups of the first wave's report and verdict findings.
A validation macro AUC resting on a handful of jets of a class is said wherever the report
shows one; the Pareto part's counts and captions; the complexity figure's one-trial bins; the
ROC legends' errors; index.html against summary.md."""
from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

#: A validation split of 1,201 jets, one of them a t jet.
ONE_T = {"g": 300, "q": 300, "W": 300, "Z": 300, "t": 1}


@pytest.fixture(scope="module")
def one_t_jet_state(tmp_path_factory, make_study, write_study):
    """The report's words for a 6-trial study ranked by val_loss (the config's metric) whose
    validation split holds a single t jet."""
    from jetstudy.analysis.tables import load_tables
    from tests.analysis.conftest import words_only

    trials, epochs = make_study(n_trials=6, max_epochs=4, seed=5, asha=False)
    folder = write_study(tmp_path_factory.mktemp("r11j") / "s", trials, epochs)
    n = sum(ONE_T.values())
    (folder / "data_summary.json").write_text(json.dumps({
        "synthetic": True, "n_jets": {"total": 5 * n, "train": 3 * n, "val": n, "test": n},
        "class_counts": {"train": ONE_T, "val": ONE_T, "test": ONE_T}}))
    return words_only(load_tables(folder))


def test_the_best_trial_table_flags_a_macro_auc_from_one_jet_when_ranked_by_loss(
        one_t_jet_state):
    """Ranked by val_loss, the Best-trial table showed best_val_auc as '0.9x ± 0.00x' with no
    word that the macro AUC averages the AUC of a single t jet, which the Pareto part and the
    test table say of such a class: the value now says it, the accuracy and loss do not."""
    from jetstudy.analysis.sections import _best

    assert one_t_jet_state.metric.removeprefix("best_") == "val_loss"
    table = _best(one_t_jet_state).tables[0][1].set_index("field")["value"]
    auc = str(table["best_val_auc"])
    assert auc.endswith(" (includes t's AUC, undetermined: 1 t jet of the validation split)"), auc
    assert "±" in auc, auc
    assert "jet" not in str(table["best_val_acc"]) and "jet" not in str(table["best_val_loss"])
