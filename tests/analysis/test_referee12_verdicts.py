"""Round 12 referee of the verdicts (issue 8's class): a regime label resting on a class of a
handful of validation jets, captions colouring by val_auc without saying so, and the ties and
small studies every verdict must survive."""
from __future__ import annotations

import pandas as pd
import pytest

from tests.analysis.test_regimes import BAYES, _flat, _frames

#: A validation split of 1,201 jets, one of them a t jet.
ONE_T = {"g": 300, "q": 300, "W": 300, "Z": 300, "t": 1}


def _regime(auc: float, counts, train: float = 0.62, val: float = 0.63) -> tuple[str, str]:
    from jetstudy.analysis.regimes import assess_regimes

    t, e = _frames(_flat("a", train, val, auc=auc))
    row = assess_regimes(t, e, reference=BAYES, val_class_counts=counts).table.iloc[0]
    return row["regime"], row["reason"]


@pytest.mark.parametrize("auc", [0.52, 0.60, 0.62])
def test_the_auc_rule_does_not_label_a_trial_on_one_validation_jet(auc):
    """A collapsed net passed the 0.55 AUC floor when the class of one validation jet ranked its
    jet first (0.5 for four classes and 1.0 for t average 0.60), and was 'good'; a macro AUC of
    0.52 called a net 'unstable' that may separate the four other classes at 0.65. Where the one
    jet's rank decides which side of the floor the other classes lie, the trial is undetermined
    and the reason gives their range."""
    regime, reason = _regime(auc, ONE_T)
    assert regime == "undetermined", reason
    lo, hi = max(0.0, (5 * auc - 1) / 4), 5 * auc / 4
    assert reason.startswith(f"macro val AUC {auc:.3f} averages a one-vs-rest AUC from 1 t jet "
                             "of the validation split"), reason
    assert f"between {lo:.3f} and {hi:.3f}" in reason and "regimes.auc_floor 0.55" in reason
    # the same curve on a split of 300 jets per class: the AUC rule reads the number itself
    plain, _ = _regime(auc, [300] * 5)
    assert plain == ("unstable" if auc <= 0.55 else "good")


def test_a_verdict_the_few_jets_cannot_move_stands_and_says_why():
    """Outside the band the one jet cannot move the others across the floor: 0.40 is unstable
    whatever t's rank (the others average at most 0.500), 0.70 passes (at least 0.625)."""
    regime, reason = _regime(0.40, ONE_T)
    assert regime == "unstable", reason
    assert "the other classes' AUCs average at most 0.500 whatever the rank of those jets" \
        in reason, reason
    regime, reason = _regime(0.70, ONE_T)
    assert regime == "good", reason


def test_every_class_of_a_handful_of_jets_leaves_the_auc_rule_undetermined():
    """Ten validation jets, two a class: each one-vs-rest AUC is the rank of two jets, so no
    macro AUC tells a collapsed net from a working one."""
    regime, reason = _regime(0.95, [2] * 5)
    assert regime == "undetermined", reason
    assert "every class's one-vs-rest AUC rests on 5 or fewer validation jets" in reason, reason


def test_a_loss_at_the_priors_is_unstable_whatever_the_few_jets_say():
    """The prior rule rests on the losses of every jet, not on one class's rank."""
    regime, reason = _regime(0.60, ONE_T, train=1.62, val=1.63)
    assert regime == "unstable" and "class priors" in reason, reason


@pytest.fixture(scope="module")
def auc_study_one_t(tmp_path_factory, make_study, write_study):
    """The report's state of a 6-trial study searched on val_auc whose validation split holds
    a single t jet (and the same study with 300 t jets)."""
    import copy
    import json

    from jetstudy.analysis.tables import load_tables
    from tests.analysis.conftest import CONFIG, words_only

    trials, epochs = make_study(n_trials=6, max_epochs=4, seed=5, asha=False)
    config = copy.deepcopy(CONFIG)
    config["search"] = {**config.get("search", {}), "metric": "val_auc"}
    states = {}
    for name, counts in (("one_t", ONE_T), ("many", dict.fromkeys(ONE_T, 300))):
        folder = write_study(tmp_path_factory.mktemp("r12") / name, trials, epochs,
                             config=config)
        n = sum(counts.values())
        (folder / "data_summary.json").write_text(json.dumps({
            "synthetic": True, "n_jets": {"total": 5 * n, "train": 3 * n, "val": n, "test": n},
            "class_counts": {"train": counts, "val": counts, "test": counts}}))
        states[name] = words_only(load_tables(folder))
    return states


def test_history_and_parallel_captions_say_the_val_auc_rests_on_one_jet(auc_study_one_t):
    """The optimisation history and the parallel coordinates coloured by 'val AUC (macro)'
    without the words every other display of that macro AUC carries (the Best-trial table, the
    maps, the test table): '(includes t's AUC, undetermined: 1 t jet of the validation split)'."""
    from jetstudy.analysis.sections_search import history_part, parallel_part

    words = "(includes t's AUC, undetermined: 1 t jet of the validation split)"
    state = auc_study_one_t["one_t"]
    assert state.metric == "val_auc"
    for part in (history_part, parallel_part):
        caption = part(state).caption
        assert "val AUC (macro) " + words in caption, caption
        assert words not in part(auc_study_one_t["many"]).caption


def test_the_reports_unstable_rule_says_how_a_few_jet_class_is_read(auc_study_one_t):
    """The report's rules said 'unstable: ... or macro val AUC <= 0.55' while regimes.csv, with
    one t jet in the validation split, leaves undetermined a trial whose label that jet's rank
    would decide: the rule in the report says so where the split has such a class."""
    from jetstudy.analysis.sections import _rules

    rule = next(x for x in _rules(auc_study_one_t["one_t"]) if x.startswith("unstable:"))
    assert rule.endswith("or macro val AUC <= 0.55 (here it includes t's AUC from 1 t jet "
                         "of the validation split: where that rank decides the side of 0.55, "
                         "the trial is undetermined)."), rule
    plain = next(x for x in _rules(auc_study_one_t["many"]) if x.startswith("unstable:"))
    assert plain.endswith("or macro val AUC <= 0.55."), plain


def _disagreeing() -> pd.DataFrame:
    """Four fully trained trials whose val_loss and val_acc disagree: t2 has the best loss
    (0.650) at accuracy 0.760, t1, half its size, a loss 1.5% worse at accuracy 0.800."""
    return pd.DataFrame({
        "trial_id": ["t0", "t1", "t2", "t3"], "trial_number": [0, 1, 2, 3],
        "status": "completed", "epochs": 6, "max_epochs": 6,
        "n_params": [1000, 2000, 4000, 8000], "widths": ["8", "16", "32", "64"],
        "best_val_loss": [0.70, 0.66, 0.65, 0.68], "best_val_loss_se": 0.007,
        "best_val_acc": [0.75, 0.80, 0.76, 0.79], "best_val_auc": [0.95, 0.94, 0.96, 0.97]})


def test_a_cheaper_model_far_more_accurate_is_not_called_within_noise():
    """'But trial t1 ... has val_loss 0.660 ± 0.007 and accuracy 0.800 ± 0.004: both within
    the validation noise of the best': its accuracy is 0.040 above the best's 0.760 ± 0.004,
    7 standard errors, no noise. The sentence says each score's own relation."""
    from jetstudy.analysis.size_answer import how_big, how_big_paragraph

    answer = how_big(_disagreeing(), "val_loss", False, "n_params")
    assert answer.pick["trial_id"] == answer.best["trial_id"] == "t2"
    text = how_big_paragraph(answer, None, 10000, [2000] * 5)
    assert "both within the validation noise" not in text, text
    assert ("has val_loss 0.660 ± 0.007, within the validation noise of the best's "
            "0.650 ± 0.007 (< 2 standard errors of the difference), and accuracy 0.800 ± 0.004, "
            "significantly above the best's 0.760 ± 0.004 (6.8 sigma), so the validation set "
            "cannot show that trial t2 needs its size.") in text, text


def test_numeric_trial_ids_are_named_as_trials_in_the_pareto_notes():
    """A hand-made table with trial ids 1..5: 'val_auc vs n_params: 5 scores 0.0063 below the
    best (4) at 1/3.35 of its cost' reads as a count of five scores and a best of four; every
    note names a trial as 'trial 5', whatever its id looks like."""
    import re

    from jetstudy.analysis.pareto import compute_pareto, pick_notes
    from jetstudy.analysis.sections_pareto import _is_best

    t = pd.DataFrame({"trial_id": [1, 2, 3, 4, 5, 6], "trial_number": range(6),
                      "status": "completed", "epochs": 6, "max_epochs": 6,
                      "n_params": [500, 1000, 2000, 4000, 8000, 16000],
                      "best_val_acc": [0.60, 0.795, 0.795, 0.80, 0.799, 0.70]})
    cases = {"unknown errors": compute_pareto(t, "n_params", "val_acc"),
             "within noise": compute_pareto(t, "n_params", "val_acc", n_val=2000),
             "significant": compute_pareto(t, "n_params", "val_acc", n_val=10 ** 7)}
    for why, r in cases.items():
        notes = " ".join(pick_notes(r))
        # an id where a clause starts, or alone in brackets, reads as a count
        bare = re.findall(r"(?:: |; |but |\()\d+\b(?![./])", notes)
        assert not bare, (why, bare, notes)
        assert "n_params: trial 2 " in notes and "the best (trial 4)" in notes, (why, notes)
    best = compute_pareto(t.assign(best_val_acc=[0.6, 0.7, 0.799, 0.80, 0.5, 0.5]),
                          "n_params", "val_acc", n_val=2000)
    assert _is_best(best) == "is the best; trial 3 at 2000 is within noise of it"


def test_a_tie_between_numeric_ids_goes_to_the_first_by_number():
    """A hand-made table without trial_number and ids 1..12: an exact tie went to trial '10'
    over trial '9' ('10' < '9' as text) while the words say the first the search proposed
    wins; ids compare by their numbers (Ray's zero-padded ids keep their order)."""
    from jetstudy.analysis.summary import best_trial
    from jetstudy.analysis.trial_order import tie_keys

    t = pd.DataFrame({"trial_id": [str(i) for i in range(1, 13)], "status": "completed",
                      "epochs": 6, "max_epochs": 6, "n_params": 1000,
                      "best_val_loss": [0.7] * 8 + [0.6, 0.6, 0.7, 0.7]})
    assert str(best_trial(t, "val_loss", False)["trial_id"]) == "9"
    ray = pd.DataFrame({"trial_id": ["ab12_00010", "ab12_00009", "ab9_00001", "ab10_00000"]})
    order = tie_keys(ray).sort_values("_id").index.tolist()
    assert [ray["trial_id"][i] for i in order] == ["ab9_00001", "ab10_00000", "ab12_00009",
                                                   "ab12_00010"]


@pytest.mark.parametrize("epochs_kept", [None, 2, 8])
def test_the_proxy_reference_says_how_its_loss_was_read(epochs_kept):
    """The proxy L* was described as 'the lowest 3-epoch running median of its curve, so one
    low epoch is no yardstick' also where no curve was read (a trials table alone: the
    table's best_val_loss, one epoch) or the curve has 2 epochs (no median: its lowest epoch);
    the sentence now says what the number is."""
    from jetstudy.analysis.regimes import assess_regimes

    t, e = _frames(_flat("a", 0.62, 0.63), _flat("b", 0.70, 0.72))
    if epochs_kept is None:
        e = None
    elif epochs_kept == 2:  # a complete run of 2 epochs
        t = t.assign(epochs=2, max_epochs=2)
        e = e[e["epoch"] <= 2]
    text = assess_regimes(t, e).reference.describe()
    median = "the lowest 3-epoch running median of its curve, so one low epoch is no yardstick"
    assert (median in text) == (epochs_kept == 8), text
    if epochs_kept is None:
        assert ("trial a's min_val_loss: the lower of its best_val_loss and val_loss in the "
                "trials table; no epochs read, so one epoch's value: a low fluctuation may set "
                "it)") in text, text
    if epochs_kept == 2:
        assert ("trial a's min_val_loss: its lowest epoch (a curve of 2 epochs, too short for "
                "a 3-epoch running median: a low fluctuation may set it))") in text, text


def _collapsed_predictions(n: int = 2000) -> pd.DataFrame:
    """Test predictions of a net that gives every jet the same probabilities (g's score takes
    two values): no cut lies between tied jets."""
    import numpy as np

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, n)
    p = {f"p_{c}": np.full(n, 0.2) for c in "gqWZt"}
    p["p_g"] = np.where(rng.random(n) < 0.5, 0.3, 0.1)
    return pd.DataFrame({"label": labels, **p})


def test_a_signal_efficiency_at_a_background_the_cuts_cannot_reach_says_where_it_is():
    """A collapsed net: 'sig eff @ 10% bkg' read '0.000 [0.000, 0.005]' as if the tagger kept
    no signal at 10% background; no cut lies between its tied scores, so the number is at 0%
    background (the next cut passes every jet). The rejections name the efficiency their cut
    reaches ('at 100% sig'); the efficiencies now name the background theirs reaches."""
    from jetstudy.analysis.heldout_tables import operating_table

    table = operating_table(_collapsed_predictions(), None).set_index("class")
    cell = table.loc["q", "sig eff @ 10% bkg"]
    assert cell == ("0.000 [0.000, 0.005] (at 0% bkg: 0 of 1621 background jets pass; tied "
                    "scores leave no cut nearer 10%)"), cell
    g = table.loc["g", "sig eff @ 1% bkg"]
    assert g.endswith("(at 0% bkg: 0 of 1619 background jets pass; tied scores leave no cut "
                      "nearer 1%)"), g


def test_an_efficiency_whose_cut_reaches_its_background_has_no_note(make_study):
    """Continuous scores: each cut passes one more jet, every efficiency is at its background."""
    from jetstudy.analysis.heldout_tables import operating_table
    from tests.analysis.conftest import _predictions

    table = operating_table(_predictions(2000, 0, True), True)
    for column in ("sig eff @ 10% bkg", "sig eff @ 1% bkg"):
        assert not table[column].str.contains("tied scores").any(), table[column]


def test_the_best_trial_of_a_size_aware_search_says_it_is_best_by_one_objective(
        tmp_path, make_study, write_study):
    """search.objectives [val_loss, n_params]: 'Best trial' said 'Best by the lowest
    best_val_loss among ...' as in a one-objective search, where the search's answer is a
    front of trade-offs; it now says the best is by val_loss alone, whatever its size, and
    where the search's own front is."""
    import copy

    from jetstudy.analysis.sections import _best
    from jetstudy.analysis.tables import load_tables
    from tests.analysis.conftest import CONFIG, words_only

    trials, epochs = make_study(n_trials=4, max_epochs=4, seed=5, asha=False)
    config = copy.deepcopy(CONFIG)
    config["search"] = {**config["search"], "objectives": ["val_loss", "n_params"]}
    two = words_only(load_tables(write_study(tmp_path / "two", trials, epochs, config=config)))
    line = _best(two).lines[0]
    assert ("The search had two objectives, val_loss and n_params: this is the best by "
            "val_loss alone, whatever its size; the trials that trade the two best are the "
            "search's own front in the Pareto part.") in line, line
    one = words_only(load_tables(write_study(tmp_path / "one", trials, epochs)))
    assert "two objectives" not in _best(one).lines[0]


def test_the_maps_say_why_complete_trials_are_undetermined_on_one_jet(tmp_path, make_study,
                                                                       write_study):
    """Trials that ran to the end, undetermined because their macro AUC rests on one t jet:
    the maps' line said their 'curves cannot show a regime: stopped early, still running, too
    short or too noisy', none of which they are."""
    import json

    from jetstudy.analysis.sections_maps import _map_lines
    from jetstudy.analysis.tables import load_tables
    from tests.analysis.conftest import words_only

    trials, epochs = make_study(n_trials=4, max_epochs=4, seed=5, asha=False)
    folder = write_study(tmp_path / "s", trials.assign(val_auc=0.6), epochs.assign(val_auc=0.6))
    (folder / "data_summary.json").write_text(json.dumps({
        "synthetic": True, "class_counts": {"val": ONE_T}}))
    state = words_only(load_tables(folder))
    assert (state.regimes["regime"] == "undetermined").all()
    line = _map_lines(state)[0]
    assert "or their macro AUC resting on a class of 5 validation jets or fewer" in line, line
