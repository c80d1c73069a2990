"""Referee, round 4 (task G): every number the report prints is the tables', in one format.

Counts (parameters, FLOPs, multiplications) read as the tables print them (``9733``, never
``9,733``, ``9733.0`` or ``1.23e+06``); a value's digits come from its error or a stated rule,
never from stripping trailing zeros (``0.40`` as quoted, not ``0.4``; a test AUC whose bootstrap
has no spread ``0.5000`` beside ``0.951 ± 0.010``, not ``0.5``); sentences name only the groups
of trials that exist; a study whose driver still runs is reported as partial. Hand-made study
folders and tables.
"""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis import pareto
from jetstudy.analysis.render import format_cell
from jetstudy.analysis.report import build_report, write_report
from jetstudy.analysis.sections import ReportState
from jetstudy.analysis.sections_pareto import _is_best, pareto_part
from jetstudy.analysis.study_state import study_state
from jetstudy.analysis.summary import compare_test_metrics, operating_table
from jetstudy.analysis.tables import load_tables
from jetstudy.trainables.schema import CLASSES
from tests.analysis.conftest import CONFIG, words_only

#: a count with a thousands separator, or an integer printed as a float or in e-notation
_BAD_COUNT = re.compile(r"\b\d{1,3}(?:,\d{3})+\b|\b\d+e\+\d+\b")


def _texts(state: ReportState) -> list[str]:
    """Every sentence and table cell the report's parts print (the config's YAML left out)."""
    out = []
    for s in state.sections:
        out += [*s.lines, s.caption]
        for _, table in s.tables:
            out += [format_cell(v) for v in table.to_numpy().ravel()]
    return out


@pytest.fixture(scope="module")
def big_study(tmp_path_factory, make_study, write_study):
    """Completed trials of 16 -> 40..256-wide nets (thousands of parameters and FLOPs), with
    the validation jets known (errors on every score)."""
    trials, epochs = make_study(n_trials=8, max_epochs=4, seed=3, asha=False)
    folder = write_study(tmp_path_factory.mktemp("r4") / "big", trials, epochs)
    (folder / "data_summary.json").write_text(json.dumps(
        {"synthetic": True, "n_jets": {"train": 1200, "val": 400, "test": 400}}))
    return folder, trials


def test_counts_print_as_the_tables_do_everywhere(big_study) -> None:
    folder, trials = big_study
    state = build_report(load_tables(folder), figures=False)  # every word, no PNG
    assert trials["n_params"].max() >= 1000  # the case a separator would show
    texts = _texts(state)
    bad = sorted({m.group(0) for t in texts for m in _BAD_COUNT.finditer(t)})
    assert not bad, bad
    (how,) = [t for t in texts if t.startswith("How big should my tagger be?")]
    for tid, n in trials.set_index("trial_id")["n_params"].items():
        if f"trial {tid} (" in how:
            assert f"{int(n)} parameters" in how, (tid, how)


def test_within_noise_cost_is_the_tables_count() -> None:
    """The best is its own pick; a cheaper trial within noise is named at its cost as the
    table's 'its cost' column prints costs (1234567, not 1.23457e+06)."""
    trials = pd.DataFrame({"trial_id": ["b", "c"], "status": "completed",
                           "flops": [2_400_000.0, 1_234_567.0], "best_val_acc": [0.80, 0.75]})
    res = pareto.compute_pareto(trials, "flops", "val_acc", n_val=100)
    assert res.pick["trial_id"] == "b" and res.cheapest_within_noise is not None
    assert _is_best(res) == "is the best; trial c at 1234567 is within noise of it"


def test_reference_numbers_keep_the_digits_they_were_quoted_with() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(len(CLASSES)), 40)
    p = rng.dirichlet(np.ones(len(CLASSES)), size=len(labels))
    pred = pd.DataFrame({"label": labels, **{f"p_{c}": p[:, i] for i, c in enumerate(CLASSES)}})
    table = operating_table(pred, synthetic=False)
    quoted = [c for c in table.columns if c.startswith("16-HLF DNN")]
    assert len(quoted) == 2
    for column in quoted:
        for text in table[column]:
            assert re.fullmatch(r"0\.\d\d", text), (column, text)  # 0.40 as quoted, not 0.4
    assert table.set_index("class").loc["g", quoted[1]] == "0.40"


def test_test_value_without_spread_keeps_four_figures_beside_the_others() -> None:
    flat = {"accuracy": 0.215, "log_loss": 6.524, "auc_macro": 0.5,
            "auc": dict.fromkeys(CLASSES, 0.5), "accuracy_se": 0.029, "log_loss_se": 0.61,
            "auc_macro_se": 0.0, "auc_se": dict.fromkeys(CLASSES, 0.0)}
    bayes = {"accuracy": 0.805, "log_loss": 0.571, "auc_macro": 0.9508,
             "auc": dict.fromkeys(CLASSES, 0.95), "accuracy_se": 0.029, "log_loss_se": 0.06,
             "auc_macro_se": 0.010, "auc_se": dict.fromkeys(CLASSES, 0.017)}
    table = compare_test_metrics({"model": flat, "bayes": bayes}, synthetic=True)
    model = table.set_index("metric")["model"]
    assert model["auc_macro"] == "0.5000" and model["auc g"] == "0.5000"
    assert model["accuracy"] == "0.215 ± 0.029"


def test_pareto_sentences_name_only_groups_that_exist(big_study) -> None:
    folder, trials = big_study
    state = words_only(load_tables(folder))
    text = " ".join(pareto_part(state).lines)
    assert "0 stopped or running" not in text and "drawn faded" not in text, text
    assert f"candidates: {len(trials)} here." in text


def test_size_aware_front_of_one_completed_trial_has_no_others(tmp_path, make_study,
                                                               write_study) -> None:
    trials, epochs = make_study(n_trials=3, max_epochs=4, seed=2, asha=False)
    trials.loc[1:, "status"] = "stopped"
    trials.loc[1:, "epochs"] = 2  # before the end (all 4 epochs would be a full run's score)
    config = copy.deepcopy(CONFIG)
    config["search"].update(objectives=["val_loss", "n_params"])
    state = words_only(load_tables(write_study(tmp_path / "s", trials, epochs, config=config)))
    (line,) = [t for t in pareto_part(state).lines if t.startswith("The search's own front")]
    assert "On the front: 1 of 1 fully trained trial (table)" in line, line
    assert "dominated" not in line, line
    assert "the 2 stopped or running trials" in line and "are never on it" in line, line


def test_one_planned_trial_reads_as_one_trial() -> None:
    trials = pd.DataFrame({"trial_id": ["a"], "status": ["completed"],
                           "stop_reason": ["max_epochs"]})
    (line,) = study_state(trials, {"search": {"num_trials": 1}}).lines
    assert line == "The study finished: 1 of the 1 trial asked for (search.num_trials) ran."


def test_report_of_a_study_whose_driver_still_runs_says_it_is_partial(big_study,
                                                                      tmp_path) -> None:
    """Between two trials the live tables hold no running row: the driver's lock (its
    heartbeat fresh, its process alive) still says the study is not over."""
    from jetstudy.study.lock import LOCK_FILE, LockInfo

    folder, trials = big_study
    live = tmp_path / "live"
    live.mkdir()
    for name in ("config.yaml", "trials.parquet", "epochs.parquet", "data_summary.json",
                 "reference.json"):
        (live / name).write_bytes((folder / name).read_bytes())
    config = load_tables(live).config
    assert config["search"]["num_trials"] > len(trials)  # fewer trials than planned, none running
    (live / LOCK_FILE).write_text(LockInfo.mine().to_json())
    outcome = write_report(live, figures=False)  # reads the words of the page and md
    md = outcome.summary_md.read_text()
    page = outcome.index_html.read_text()
    for text in (md, page):
        assert "Partial report: the study is still running" in text
        assert "this report is partial" in text
        assert "ended before it finished" not in text
    assert "the study is still running: its best model is evaluated" in md  # no test part yet


def test_a_whole_number_prints_its_digits_in_every_table() -> None:
    """A count from an integer column (parameters, FLOPs: numpy int64 once task D keeps the
    ints) was 4 significant figures, ``2e+04``; from a float column ``20000``."""
    for value in (20000, np.int64(20000), 20000.0, np.float64(20000.0)):
        assert format_cell(value) == "20000", value
    assert format_cell(1_234_567) == "1234567" and format_cell(np.int64(7)) == "7"
    assert format_cell(0.123456) == "0.1235"  # measured values keep their 4 figures


def test_all_failed_study_does_not_deny_the_maps_it_draws() -> None:
    """Failed trials may leave finite epochs (a failure after the last one): the maps and
    curves are then drawn from them, so 'no regime map' was false."""
    trials = pd.DataFrame({"trial_id": ["a", "b"], "status": "failed", "stop_reason": "failed"})
    (line,) = study_state(trials, {"search": {"num_trials": 2}}).lines
    assert line.startswith("All 2 trials failed, so there is no best model, no test "
                           "evaluation and no Pareto front;")
    assert "no regime map" not in line


def test_maps_left_out_for_one_reason_say_it_once(tmp_path, make_study, write_study) -> None:
    """One trial: every regularisation map fails on the one parameter count; the skipped
    part said the same sentence three times."""
    trials, epochs = make_study(n_trials=1, max_epochs=4, seed=1, asha=False)
    state = build_report(load_tables(write_study(tmp_path / "one", trials, epochs)),
                         figures=False)
    (why,) = [w for part, w in state.skipped if part == "regime map (size x regularisation)"]
    assert why.startswith("l1, l2, dropout: ") and why.count("does not vary") == 1, why


def test_pareto_csv_writes_counts_as_counts(big_study) -> None:
    """pareto.csv's cost_value read 1460.0 beside the report's 1460."""
    folder, _ = big_study
    state = words_only(load_tables(folder))
    pareto_part(state)
    csv = state.files["pareto.csv"].decode().splitlines()
    column = csv[0].split(",").index("cost_value")
    values = [line.split(",")[column] for line in csv[1:]]
    assert values and all(re.fullmatch(r"\d+", v) for v in values), values[:5]
