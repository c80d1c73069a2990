"""Refereeing the report's sentences on hand-made study folders: what it says about the study at
hand must hold. An interrupted study is said to be interrupted (never finished), a spent time
budget is named, an all-failed study says why it has no best model, a search without ASHA is
not told that ASHA stopped its trials, a maximised metric is "highest", the first learning
curve is the trial 'Best trial' names (ties included), and a map cell's best value is one the
report could call best (never a failed trial's)."""

from __future__ import annotations

import copy
import shutil

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis import maps
from jetstudy.analysis.curves import select_learning_curves
from jetstudy.analysis.regimes import assess_regimes
from jetstudy.analysis.sections import PARTS, ReportState
from jetstudy.analysis.study_state import missing_test_reason, study_state
from jetstudy.analysis.summary import best_trial
from jetstudy.analysis.tables import load_tables

from tests.analysis.conftest import CONFIG, words_only


def _config(**sections: dict) -> dict:
    config = copy.deepcopy(CONFIG)
    for name, fields in sections.items():
        config[name].update(fields)
    return config


def build_report(tables, only: tuple[str, ...] = ()) -> ReportState:
    """The report's state with only the parts named (all: ``()``), its figures not rendered
    (``write_report(figures=False)``'s state): drawing every figure for a sentence would cost
    the suite seconds per test. Every test of it reads words, tables and skipped parts."""
    state = words_only(tables)
    for name, part in PARTS:
        if not only or name in only:
            state.attempt(name, lambda part=part: part(state))
    return state


def _section(state, title: str):
    found = [s for s in state.sections if s.title == title]
    assert found, f"no section {title!r}; skipped: {state.skipped}"
    return found[0]


def _text(state, title: str) -> str:
    return " ".join(_section(state, title).lines)


def _no_bug(state) -> None:
    bugs = [f"{p}: {w}" for p, w in state.skipped if "bug in jetstudy" in w]
    assert not bugs, bugs


def _interrupted(trials: pd.DataFrame, k: int) -> pd.DataFrame:
    """The last ``k`` trials cut short by Ctrl-C, as the study writes them."""
    trials = trials.copy()
    rows = trials.index[-k:]
    trials.loc[rows, "status"] = "interrupted"
    trials.loc[rows, "stop_reason"] = "interrupted"
    return trials


def test_an_interrupted_study_says_so_and_why_it_has_no_test(tmp_path, make_study, write_study):
    trials, epochs = make_study(n_trials=10, seed=5)
    trials = _interrupted(trials, 2)
    folder = write_study(tmp_path / "intr", trials, epochs,
                         config=_config(search={"num_trials": 30}, storage={"name": "intr"}))
    shutil.rmtree(folder / "best")  # the study skips the test evaluation when interrupted
    state = build_report(load_tables(folder), ("outcomes", "test metrics", "ROC"))
    _no_bug(state)
    outcomes = _text(state, "Outcomes")
    assert "was interrupted" in outcomes and "2 trials were cut short" in outcomes
    assert "10 of the 30 trials asked for" in outcomes
    assert "--set storage.name=intr --resume" in outcomes
    assert "The study finished" not in outcomes
    skipped = dict(state.skipped)
    assert "interrupted before its best model was evaluated" in skipped["test metrics"]
    assert "interrupted" in skipped["ROC"]


def test_a_spent_time_budget_is_named(tmp_path, make_study, write_study):
    trials, epochs = make_study(n_trials=10, seed=6, asha=False)
    cut = trials.index[-3:]
    trials.loc[cut, "status"] = "stopped"
    trials.loc[cut, "stop_reason"] = "time_budget"
    folder = write_study(tmp_path / "budget", trials, epochs,
                         config=_config(search={"num_trials": 64, "time_budget_s": 120}))
    state = build_report(load_tables(folder), ("outcomes",))
    outcomes = _text(state, "Outcomes")
    assert "time budget ran out (search.time_budget_s = 120 s)" in outcomes
    assert "3 trials were cut short by it" in outcomes and "10 of the 64" in outcomes
    assert "The study finished" not in outcomes


def test_a_finished_study_says_finished(tmp_path, make_study, write_study):
    trials, epochs = make_study(n_trials=8, seed=7)
    folder = write_study(tmp_path / "done", trials, epochs,
                         config=_config(search={"num_trials": 8}))
    state = study_state(load_tables(folder).trials, load_tables(folder).config)
    assert state.word == "finished" and state.lines == ["The study finished: 8 of the 8 trials "
                                                        "asked for (search.num_trials) ran."]


def test_an_all_failed_study_says_why_everywhere(tmp_path, make_study, write_study):
    trials, epochs = make_study(n_trials=4, seed=8)
    trials["status"], trials["stop_reason"] = "failed", "failed"
    trials["error"] = "TrialDiverged: training loss became nan; lower the learning rate range"
    trials[["val_loss", "val_acc", "val_auc"]] = np.nan
    # as a real study writes them: the epochs before the loss broke keep their values
    folder = write_study(tmp_path / "failed", trials, epochs, config=_config())
    assert not (folder / "best").exists()
    state = build_report(load_tables(folder), ("outcomes", "test metrics",
                                               "optimisation history"))
    _no_bug(state)
    assert "All 4 trials failed" in _text(state, "Outcomes")
    skipped = dict(state.skipped)
    assert skipped["test metrics"] == ("every trial failed, so no model was evaluated on the "
                                       "test split")
    history = _section(state, "Optimisation history")
    assert "so far" not in history.caption and "so far" not in " ".join(history.lines)
    assert "no running best" in " ".join(history.lines)
    assert missing_test_reason(trials, None) is not None


@pytest.mark.parametrize("scheduler, sampler, asha_named", [
    ("asha", "tpe", True), ("fifo", "tpe", False), ("patience", "random", False)])
def test_only_an_asha_search_is_told_asha_stopped_its_trials(tmp_path, make_study, write_study,
                                                              scheduler, sampler, asha_named):
    trials, epochs = make_study(n_trials=12, seed=9, asha=scheduler == "asha")
    folder = write_study(tmp_path / scheduler, trials, epochs,
                         config=_config(scheduler={"type": scheduler},
                                        search={"sampler": sampler}))
    state = build_report(load_tables(folder), ("regime map (depth x width)",))
    text = _text(state, "Regime map: depth x width")
    assert ("ASHA" in text) == asha_named, text
    assert "This is a search" in text
    assert ("drawn at random" in text) == (sampler == "random"), text
    assert ("crowd where it looked best" in text) == (sampler == "tpe" and not asha_named)


def test_a_maximised_metric_is_highest_in_every_sentence(tmp_path, make_study, write_study):
    trials, epochs = make_study(n_trials=12, seed=10)
    folder = write_study(tmp_path / "acc", trials, epochs,
                         config=_config(search={"metric": "val_acc"}))
    state = build_report(load_tables(folder), (
        "study config", "best trial", "optimisation history", "regime map (depth x width)",
        "regime map (size x regularisation)"))
    _no_bug(state)
    assert "highest best_val_acc" in _text(state, "Best trial")
    assert "(highest is best)" in _text(state, "Study config")
    for title in ("Best trial", "Study config", "Optimisation history",
                  "Regime map: depth x width", "Regime map: size x regularisation"):
        s = _section(state, title)
        assert "lowest" not in " ".join(s.lines) + s.caption, title


def test_the_first_learning_curve_is_the_best_trial_on_a_tie(make_study):
    """val_acc is a count over the validation jets: ties at the top are common. The first
    'best' curve is the trial 'Best trial' names (the smaller model), whatever the row order."""
    trials, epochs = make_study(n_trials=12, seed=11, asha=False)
    order = trials.sort_values("n_params", ascending=False).index
    big, small = order[0], order[-1]
    assert trials.loc[big, "n_params"] > trials.loc[small, "n_params"]
    trials.loc[[big, small], "status"] = "completed"
    trials.loc[[big, small], "best_val_acc"] = 0.99  # a tie at the top, the big model first
    small_id = trials.loc[small, "trial_id"]
    trials = pd.concat([trials.loc[[big]], trials.drop(index=big)], ignore_index=True)
    regimes = assess_regimes(trials, epochs).table
    named = best_trial(trials, "val_acc", True)["trial_id"]
    chosen = select_learning_curves(trials, regimes, epochs, "val_acc", True)
    first = chosen.loc[chosen["group"] == "best", "trial_id"].iloc[0]
    assert named == small_id and first == named


def test_a_map_cell_never_shows_a_failed_trials_value(make_study):
    trials, epochs = make_study(n_trials=16, seed=12, asha=False)
    trials["status"] = "completed"
    failed = trials.index[0]
    trials.loc[failed, ["status", "error"]] = ["failed", "diverged"]
    trials.loc[failed, "best_val_loss"] = 0.01  # a good epoch before the loss broke
    regimes = assess_regimes(trials, epochs).table
    result = maps.regime_map(trials, regimes, "n_params", "depth", "val_loss", False)
    best = best_trial(trials, "val_loss", False)
    assert result.cells["best"].min() == pytest.approx(best["best_val_loss"])
    assert not np.isclose(result.cells["best"], 0.01).any()


@pytest.mark.parametrize("synthetic", [True, False])
def test_the_yardstick_is_named_for_what_it_is(tmp_path, make_study, write_study, synthetic):
    """Synthetic jets: L* is the Bayes-optimal loss; real data: a proxy (the study's best),
    named as one in every sentence that uses it, and the test split compared with the
    published taggers."""
    trials, epochs = make_study(n_trials=10, seed=13, asha=False)
    folder = write_study(tmp_path / "s", trials, epochs, synthetic=synthetic, config=_config())
    state = build_report(load_tables(folder), ("outcomes", "complexity curve", "learning curves",
                                               "test metrics"))
    _no_bug(state)
    outcomes = _text(state, "Outcomes")
    captions = [_section(state, t).caption for t in ("Complexity curve", "Learning curves")]
    if synthetic:
        assert "Bayes-optimal validation loss" in outcomes and "PROXY" not in outcomes
        assert all("the Bayes-optimal val loss" in c and "proxy" not in c for c in captions)
        assert "the Bayes-optimal classifier" in _text(state, "Test metrics")
    else:
        assert "PROXY: the study's own best validation loss" in outcomes
        assert all("a proxy: the study's best val loss" in c and "Bayes" not in c
                   for c in captions)
        test = _text(state, "Test metrics")
        assert "published taggers on the real data" in test and "Bayes" not in test


def test_the_bayes_reference_is_printed_with_digits_from_its_error():
    """L* = 0.5935 ± 0.0279 gave the error three significant figures and the value one digit
    more than its error allows; every other number of the report follows PDG rounding."""
    from jetstudy.analysis.intervals import format_error
    from jetstudy.analysis.reference_loss import known_reference

    ref = known_reference({"prior_entropy": 1.609, "bayes_val_loss": 0.59353,
                           "bayes_val_loss_se": 0.02791})
    assert format_error(0.59353, 0.02791) == "0.594 ± 0.028"
    assert "the Bayes-optimal validation loss 0.594 ± 0.028 of the synthetic jets" in \
        ref.describe()


@pytest.mark.parametrize("kind", ["scan", "two objectives", "search"])
def test_who_ranked_the_trials_is_said_truly(tmp_path, make_study, write_study, kind):
    """A scan's configurations were fixed in advance: no search ranked them; a size-aware
    search traded two objectives, not one."""
    trials, epochs = make_study(n_trials=8, seed=14, asha=kind != "scan")
    search = {"sampler": "grid"} if kind == "scan" else {}
    if kind == "two objectives":
        search = {"objectives": ["val_loss", "multiplications"]}
    folder = write_study(tmp_path / "k", trials, epochs,
                         config=_config(search=search,
                                        scheduler={"type": "fifo" if kind == "scan" else "asha"}))
    state = build_report(load_tables(folder), ("study config", "optimisation history"))
    _no_bug(state)
    config, history = _text(state, "Study config"), _text(state, "Optimisation history")
    if kind == "scan":
        assert "search ranked" not in config + history
        assert "fixed in advance" in config and "the one the report ranks it by" in history
    elif kind == "two objectives":
        assert "traded val_loss against multiplications" in config
    else:
        assert "the search ranked trials" in config and "the search ranked it by" in history


def test_user_text_in_the_new_sentences_is_escaped(tmp_path, make_study, write_study):
    """The study folder's name reaches the page in the resume command of an interrupted study
    (the folder's own name since round 12: it may have been renamed since it ran): in
    summary.md it is text (no link, no emphasis, no HTML), in index.html escaped."""
    import shlex

    from jetstudy.analysis.render import render_html, render_markdown

    name = "a`b*c*_d_[x](e.example)<i>&amp;|"  # a folder name: no '/'
    trials, epochs = make_study(n_trials=6, seed=15)
    folder = write_study(tmp_path / name, _interrupted(trials, 1), epochs,
                         config=_config(storage={"name": name}))
    state = build_report(load_tables(folder), ("outcomes",))
    outcomes = _section(state, "Outcomes")
    assert f"{shlex.join(['--set', f'storage.name={name}'])} --resume" in " ".join(
        outcomes.lines)
    md = render_markdown("report", [outcomes])
    for live in ("[x](", "<i>", "*c*", "&amp;|"):
        assert live not in md, live
    assert r"\[x\](e.example)&lt;i&gt;&amp;amp;\|" in md
    page = render_html("report", [outcomes], {})
    assert "<i>" not in page and "&lt;i&gt;&amp;amp;|" in page


def test_the_pareto_counts_add_up_to_the_trials(tmp_path, make_study, write_study):
    """Candidates + faded + not drawn = every trial: a failed trial is said to be left out,
    not silently missing from the counts."""
    trials, epochs = make_study(n_trials=12, seed=16)
    trials.loc[trials.index[:2], ["status", "error"]] = ["failed", "diverged"]
    folder = write_study(tmp_path / "p", trials, epochs, config=_config())
    state = build_report(load_tables(folder), ("Pareto front",))
    _no_bug(state)
    text = _text(state, "Pareto front")
    done = int((trials["status"] == "completed").sum())
    faded = int(trials["status"].isin(["stopped", "running"]).sum())
    assert f"are candidates: {done} here; {faded} stopped or running" in text
    assert f"The other {len(trials) - done - faded} trials (failed" in text


def test_a_lone_table_of_an_interrupted_study_still_says_so():
    """No config.yaml beside the table: the sentence still holds (one trial in the singular,
    the resume command with a placeholder for the study's name, not a command that fails)."""
    trials = pd.DataFrame({"trial_id": ["a", "b"], "status": ["completed", "interrupted"],
                           "stop_reason": ["max_epochs", "interrupted"]})
    state = study_state(trials, None)
    assert state.word == "interrupted"
    (line,) = state.lines
    assert "1 trial was cut short" in line and "2 trials were started" in line
    assert "--set storage.name=<the study's folder name> --resume" in line
    assert missing_test_reason(trials, None).startswith("the study was interrupted")


def test_undetermined_trials_are_not_all_said_to_be_stopped(tmp_path, make_study, write_study):
    """A running trial is undetermined too: the map note gives the reasons, not 'stopped'."""
    trials, epochs = make_study(n_trials=12, seed=17, running=3)
    folder = write_study(tmp_path / "live", trials, epochs, config=_config())
    state = build_report(load_tables(folder), ("regime map (depth x width)",))
    text = _text(state, "Regime map: depth x width")
    regimes = state.regimes
    n = int((regimes["regime"] == "undetermined").sum())
    assert (regimes.loc[regimes["status"] == "running", "regime"] == "undetermined").all()
    assert f"{n} of 12 trials are undetermined (their curves cannot show a regime: stopped " \
        "early, still running" in text
    assert "stopped before their curves showed" not in text


def test_a_study_whose_driver_died_is_not_called_finished():
    """stop_reason interrupted with status stopped: the driver died before Tune recorded the
    trial's end (a crash, kill -9); fewer trials than asked for without any recorded reason is
    an early end too. Neither is 'finished'."""
    config = _config(search={"num_trials": 10}, storage={"name": "dead"})
    crashed = pd.DataFrame({"trial_id": ["a", "b", "c"],
                            "status": ["completed", "stopped", "stopped"],
                            "stop_reason": ["max_epochs", "interrupted", "scheduler"]})
    state = study_state(crashed, config)
    assert state.word == "crashed"
    assert "1 trial was cut short when it died" in state.lines[0]
    assert "--set storage.name=dead --resume" in state.lines[0]
    assert missing_test_reason(crashed, config).startswith("the study's driver stopped")
    short = crashed.assign(stop_reason=["max_epochs", "scheduler", "scheduler"])
    state = study_state(short, config)
    assert state.word == "ended early" and "The study finished" not in state.lines[0]
    assert state.lines == ["The study ended before it finished, or some trials never trained "
                           "an epoch (those are not in the tables): 3 of the 10 trials asked "
                           "for (search.num_trials) are in the table."]
    assert study_state(short, _config(search={"num_trials": 3})).word == "finished"
