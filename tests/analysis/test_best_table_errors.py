"""The Best-trial table gives the validation accuracy and AUC with their errors (binomial,
Hanley-McNeil) when the validation split's size is known, as the Pareto part does for the
same numbers; without it, the plain values."""

from __future__ import annotations

import json

from jetstudy.analysis.intervals import binomial_se, format_error
from jetstudy.analysis.sections import _best
from jetstudy.analysis.tables import load_tables
from tests.analysis.test_referee2_report import build_report


def _best_rows(folder) -> dict[str, str]:
    state = build_report(load_tables(folder), ("Best trial",))
    (table,) = [t for _, t in _best(state).tables]
    return dict(zip(table["field"], table["value"]))


def test_best_scores_carry_their_errors_when_the_split_size_is_known(tmp_path, make_study,
                                                                      write_study):
    trials, epochs = make_study(n_trials=8, seed=3)
    folder = write_study(tmp_path / "s", trials, epochs)
    plain = _best_rows(folder)
    assert "±" not in str(plain["best_val_acc"])  # no split size: no error to give
    n_val = 5000
    counts = {"g": 1000, "q": 1000, "W": 1000, "Z": 1000, "t": 1000}
    (folder / "data_summary.json").write_text(json.dumps(
        {"synthetic": True, "n_jets": {"val": n_val}, "class_counts": {"val": counts}}))
    rows = _best_rows(folder)
    acc = float(trials.set_index("trial_id").loc[rows["trial_id"], "best_val_acc"])
    assert rows["best_val_acc"] == format_error(acc, binomial_se(acc, n_val))
    assert "±" in rows["best_val_auc"]
