"""The export's record of the size answer (model.json ``selection.size_answer``) agrees with the
report's paragraph on models that did not learn: the report says "Undetermined" when the best
fully trained model is unstable in regimes.csv, the export named a pick to deploy."""
from __future__ import annotations

import numpy as np


def _collapsed(make_study, write_study, folder, stable_best: bool):
    trials, epochs = make_study(n_trials=4, max_epochs=6, seed=3, asha=False)
    for c in ("train_loss", "val_loss", "best_val_loss"):
        trials[c] = 1.62 + 0.001 * np.arange(len(trials))
    epochs = epochs.assign(train_loss=1.62, val_loss=1.62, val_auc=0.5)
    trials = trials.assign(best_val_acc=0.2, best_val_auc=0.5, val_auc=0.5)
    if stable_best:  # the largest trial learned; the rest collapsed
        big = trials["n_params"].astype(float).idxmax()
        big_id = trials.loc[big, "trial_id"]
        trials.loc[big, ["train_loss", "val_loss", "best_val_loss"]] = [0.55, 0.6, 0.6]
        trials.loc[big, ["best_val_acc", "best_val_auc", "val_auc"]] = [0.78, 0.94, 0.94]
        mine = epochs["trial_id"] == big_id
        epochs.loc[mine, ["train_loss", "val_loss", "val_auc"]] = [0.55, 0.6, 0.94]
    return write_study(folder, trials, epochs)


def test_the_export_names_no_size_answer_of_models_that_did_not_learn(tmp_path, make_study,
                                                                     write_study):
    from jetstudy.analysis.sections_pareto import pareto_part
    from jetstudy.analysis.tables import load_tables
    from jetstudy.study.export_meta import _size_answer
    from tests.analysis.conftest import words_only

    folder = _collapsed(make_study, write_study, tmp_path / "s", stable_best=False)
    state = words_only(load_tables(folder))
    assert set(state.regimes["regime"]) == {"unstable"}
    (report,) = [t for t in pareto_part(state).lines if t.startswith("How big")]
    assert "Undetermined" in report
    answer, why = _size_answer(folder, "val_loss", "n_params")
    assert answer is None, answer  # (it named the smallest collapsed net)
    assert why.startswith("undetermined: the best fully trained model, trial ") and \
        "is unstable" in why and "no model within 1% of it is one to deploy" in why


def test_the_export_marks_an_unstable_trial_beside_a_stable_best(tmp_path, make_study,
                                                                 write_study):
    from jetstudy.study.export_meta import _size_answer

    folder = _collapsed(make_study, write_study, tmp_path / "s", stable_best=True)
    answer, why = _size_answer(folder, "val_loss", "n_params")
    assert answer is not None, why
    assert "unstable" not in answer["best"]
    # the pick is the best here (the collapsed nets are far outside 1%): no mark either
    assert answer["pick"]["trial_id"] == answer["best"]["trial_id"]
    assert "unstable" not in answer["pick"]
