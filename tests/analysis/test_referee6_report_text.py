"""Referee, round 6 (task G): the ROC legends print the test table's AUCs, errors and all.

With an older test_metrics.json (no bootstrap errors) the test table showed AUCs alone (4
significant figures) while the ROC legends showed the same AUCs to 3 decimals with
Hanley-McNeil errors: two numbers for one quantity. The legends now print the table's text,
and the caption says which errors they are. Hand-made study folder (tests/analysis/conftest).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jetstudy.analysis.sections_heldout import heldout_part, roc_part
from jetstudy.analysis.tables import load_tables
from jetstudy.trainables.schema import CLASSES


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, make_study, write_study) -> Path:
    """Four trials and an older test_metrics.json: AUCs without errors (conftest writes none)."""
    trials, epochs = make_study(n_trials=4, max_epochs=4, seed=3, asha=False)
    return write_study(tmp_path_factory.mktemp("old_metrics") / "study", trials, epochs,
                       n_test=200)


def _table_and_legends(folder: Path) -> tuple[dict, dict, list[str], str]:
    from tests.analysis.conftest import FigureCapture

    state = FigureCapture(load_tables(folder), pixels=False)
    table = heldout_part(state).tables[0][1].set_index("metric")
    section = roc_part(state)
    fig = state.drawn["roc.png"]
    panels = {cls: [t.get_text() for t in ax.get_legend().get_texts()]
              for cls, ax in zip(CLASSES, fig.axes)}
    overview = [t.get_text() for t in fig.axes[len(CLASSES)].get_legend().get_texts()]
    return table, panels, overview, section.caption


def test_roc_legends_without_stored_errors_print_the_tables_aucs(folder: Path) -> None:
    table, panels, overview, caption = _table_and_legends(folder)
    for cls in CLASSES:
        model, bayes = table.loc[f"auc {cls}", "model"], table.loc[f"auc {cls}", "Bayes optimal"]
        assert "±" not in model  # the older json: the table shows no error
        assert panels[cls][:2] == [f"model (AUC {model})", f"Bayes optimal (AUC {bayes})"]
        assert f"{cls} ({model})" in overview
    assert "Hanley-McNeil" not in caption and "± 1 standard error" not in caption
    assert "without errors" in caption


def test_roc_legends_with_stored_errors_print_the_tables_aucs(folder: Path, tmp_path) -> None:
    """A newer json with bootstrap errors: the legends' errors are those of the table (the
    Hanley-McNeil ones of the curves were never shown beside them)."""
    import shutil

    newer = tmp_path / "study"
    shutil.copytree(folder, newer)
    path = newer / "best" / "test_metrics.json"
    tm = json.loads(path.read_text())
    for key, se in (("model", 0.0123), ("bayes", 0.0071)):
        tm[key]["auc_se"] = dict.fromkeys(CLASSES, se)
    tm["uncertainty"] = {"method": "bootstrap", "n_boot": 200, "seed": 0}
    path.write_text(json.dumps(tm))
    table, panels, overview, caption = _table_and_legends(newer)
    for cls in CLASSES:
        model, bayes = table.loc[f"auc {cls}", "model"], table.loc[f"auc {cls}", "Bayes optimal"]
        assert model.endswith("± 0.012") and bayes.endswith("± 0.007")
        assert panels[cls][:2] == [f"model (AUC {model})", f"Bayes optimal (AUC {bayes})"]
        assert f"{cls} ({model})" in overview
    assert "bootstrap over the test jets" in caption and "Hanley-McNeil" not in caption


def test_learning_curves_caption_names_the_panels_drawn() -> None:
    """One trial (overfit): the figure has one panel, 'best', under a caption promising 'the
    best trials, then the longest-running trials of each regime'."""
    import pandas as pd

    from jetstudy.analysis.sections import _panels_words

    one = pd.DataFrame({"group": "best", "trial_id": "t0", "epoch": [1, 2, 3]})
    verdicts = pd.DataFrame({"trial_id": ["t0"], "regime": ["overfit"]})
    assert _panels_words(one, verdicts) == (
        "the best trial; no overfit panel: its trial is among the best above")
    several = pd.DataFrame({"group": ["best", "best", "underfit", "unstable"],
                            "trial_id": ["a", "b", "c", "d"], "epoch": 1})
    verdicts = pd.DataFrame({"trial_id": list("abcde"),
                             "regime": ["good", "good", "underfit", "unstable", "undetermined"]})
    assert _panels_words(several, verdicts) == (
        "the 2 best trials, then the longest-running trials of each regime (underfit, "
        "unstable); no good panel: its trials are among the best above")


def test_map_cells_print_the_best_score_to_the_best_tables_digits(folder: Path,
                                                                  tmp_path) -> None:
    """The cells printed 3 decimals whatever the Best-trial table gave the same score (0.9356
    ± 0.0017 beside a cell's 0.936; 0.64 ± 0.02 beside 0.641): a small validation set."""
    import re
    import shutil

    import pandas as pd
    from tests.analysis.conftest import FigureCapture

    from jetstudy.analysis.sections import PARTS

    small = tmp_path / "study"
    shutil.copytree(folder, small)
    for name in ("epochs.parquet", "trials.parquet"):
        table = pd.read_parquet(small / name)
        table["val_loss_se"] = 0.04  # a few hundred validation jets, not 10,000
        table.to_parquet(small / name)
    (small / "trials.csv").unlink()
    state = FigureCapture(load_tables(small), pixels=False)
    table = dict(PARTS)["best trial"](state).tables[0][1].set_index("field")["value"]
    shown = str(table["best_val_loss"]).split(" ± ")[0]
    decimals = len(shown.split(".")[1])
    assert str(table["best_val_loss"]).endswith("± 0.04") and decimals == 2, table["best_val_loss"]
    dict(PARTS)["regime map (depth x width)"](state)
    firsts = [t.get_text().split("\n")[0] for ax in state.drawn["regimes_depth_width.png"].axes
              for t in ax.texts if re.fullmatch(r"\d+\.\d+", t.get_text().split("\n")[0])]
    assert firsts, "no cell printed a score"
    assert {len(f.split(".")[1]) for f in firsts} == {decimals}, (shown, firsts)


def test_pareto_caption_names_the_tolerance_line(folder: Path) -> None:
    """The panels draw a green dotted line at the 1% band's edge (in their legend); the
    caption named points, hollow points, front, star and diamond, not that line."""
    from tests.analysis.conftest import FigureCapture

    from jetstudy.analysis.sections_pareto import pareto_part

    state = FigureCapture(load_tables(folder), pixels=False)
    section = pareto_part(state)
    fig = state.drawn["pareto.png"]
    dotted = [line for ax in fig.axes for line in ax.get_lines()
              if line.get_linestyle() == ":" and line.get_label().startswith("within 1%")]
    assert dotted, "the band's edge is drawn"
    assert "green dotted = the edge of the 1% band below the best" in section.caption
