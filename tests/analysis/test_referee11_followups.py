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


def _state(folder, trials, epochs, write_study, config=None, n_val=None):
    from jetstudy.analysis.tables import load_tables
    from tests.analysis.conftest import words_only

    folder = write_study(folder, trials, epochs, config=config)
    if n_val:
        (folder / "data_summary.json").write_text(json.dumps({
            "synthetic": True, "n_jets": {"train": 3 * n_val, "val": n_val, "test": n_val}}))
    return words_only(load_tables(folder))


def test_the_candidates_count_is_each_panels_when_some_trials_lack_a_val_auc(
        tmp_path, make_study, write_study, small_report):
    """'are candidates: N here' counted the val_acc panel only: with two completed trials
    lacking a val_auc the AUC panels hold two fewer points than the number said."""
    from jetstudy.analysis.sections_pareto import pareto_part

    trials, epochs = make_study(n_trials=6, max_epochs=4, seed=5, asha=False)
    assert (trials["status"] == "completed").sum() >= 4
    done = trials.index[trials["status"] == "completed"][:2]
    trials.loc[done, "best_val_auc"] = float("nan")
    state = _state(tmp_path / "s", trials, epochs, write_study)
    n = int((trials["status"] == "completed").sum())
    (line,) = [w for w in pareto_part(state).lines if " are candidates: " in w]
    assert f"are candidates: {n} in the val_acc panels, {n - 2} in the val_auc panels" in line, \
        line
    # all panels alike (the same study, every val_auc kept): one number, as before
    from jetstudy.analysis.tables import load_tables
    from tests.analysis.conftest import words_only

    state = words_only(load_tables(small_report[0]))
    (line,) = [w for w in pareto_part(state).lines if " are candidates: " in w]
    assert f"are candidates: {n} here." in line, line


def test_the_size_aware_caption_names_no_star_when_there_is_no_answer(
        tmp_path, make_study, write_study):
    """A size-aware search none of whose trials ran to the end: the own-objectives panel draws
    no star (there is no answer to 'how big'), yet its caption said 'the answer to 'how big' as
    a star'."""
    import copy

    from jetstudy.analysis.sections_pareto import pareto_part
    from tests.analysis.conftest import CONFIG

    config = copy.deepcopy(CONFIG)
    config["search"].update(objectives=["val_acc", "n_params"], metric="val_acc")
    trials, epochs = make_study(n_trials=4, max_epochs=4, seed=5, asha=False, running=4)
    section = pareto_part(_state(tmp_path / "s", trials, epochs, write_study, config, 400))
    assert "Last row: the search's own objectives" in section.caption
    assert "as a star" not in section.caption, section.caption
    assert "no star" in section.caption, section.caption
    # with an answer, the star is named as before
    trials, epochs = make_study(n_trials=6, max_epochs=4, seed=5, asha=False)
    section = pareto_part(_state(tmp_path / "t", trials, epochs, write_study, config, 400))
    assert "the answer to 'how big' as a star." in section.caption, section.caption


def _curve(sizes: list[int]):
    """A complexity curve of one completed trial per size in ``sizes``."""
    import pandas as pd

    from jetstudy.analysis.complexity import complexity_curve

    ids = [f"t{i}" for i in range(len(sizes))]
    trials = pd.DataFrame({"trial_id": ids, "status": "completed", "n_params": sizes})
    regimes = pd.DataFrame({"trial_id": ids, "regime": "good_fit",
                            "final_train_loss": [0.9 - 0.01 * i for i in range(len(sizes))],
                            "final_val_loss": [1.0 - 0.01 * i for i in range(len(sizes))]})
    return complexity_curve(trials, regimes)


def _finite_lines(ax) -> dict[str, int]:
    """Each labelled line of ``ax``: how many finite points it draws."""
    import numpy as np

    return {ln.get_label(): int(np.isfinite(np.asarray(ln.get_ydata(), dtype=float)).sum())
            for ln in ax.get_lines() if not ln.get_label().startswith("_")}


def test_a_bin_of_one_trial_draws_no_median_on_its_own_point():
    """A 3-trial study, one trial per half-decade: each bin's 'median' and its red 'lowest in
    bin' + were drawn on that trial's own point (a median of one is the point itself), three
    markers over one dot and a legend of medians there are none of. Bins of one trial now draw
    their trial only; a bin of two still gets its medians; the caption says the rule."""
    import matplotlib.pyplot as plt

    from jetstudy.analysis import plots

    fig = plots.complexity_figure(_curve([1000, 10000, 100000]))
    loss, gap = fig.axes[0], fig.axes[1]
    assert not [k for k in _finite_lines(loss) if "median" in k or "lowest" in k], \
        _finite_lines(loss)
    assert not [k for k in _finite_lines(gap) if "median" in k], _finite_lines(gap)
    legend = [t.get_text() for t in loss.get_legend().get_texts()]
    assert legend and not [t for t in legend if "median" in t or "lowest" in t], legend
    plt.close(fig)
    # two trials in the first bin, one in each other: medians at the first bin only
    fig = plots.complexity_figure(_curve([1000, 1100, 10000, 100000]))
    lines = _finite_lines(fig.axes[0])
    assert lines["val, median"] == 1 and lines["train, median"] == 1, lines
    assert lines["val, lowest in bin (at its trial)"] == 1, lines
    assert _finite_lines(fig.axes[1])["median gap"] == 1
    plt.close(fig)


def test_the_complexity_caption_says_a_bin_of_one_trial_draws_no_median(
        tmp_path, make_study, write_study):
    from jetstudy.analysis.sections_curves import complexity_part

    trials, epochs = make_study(n_trials=3, max_epochs=4, seed=5, asha=False)
    state = _state(tmp_path / "s", trials, epochs, write_study)
    section = complexity_part(state)
    assert "a bin of one trial shows that trial alone" in section.caption, section.caption


_NUMBER = r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?"


def _html_sections(page: str) -> dict[str, str]:
    """Each section's text as the reader sees it (title -> text), the tables summary.md leaves
    out (collapsed under 'show table') left out too."""
    import html
    import re

    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
    body = re.sub(r"<details>.*?</details>", " ", body, flags=re.S)
    return {html.unescape(m.group(1)): html.unescape(re.sub(r"<[^>]+>", " ", m.group(2)))
            for m in re.finditer(r'<section id="[^"]*"><h2>(.*?)<a class="up".*?</h2>(.*?)'
                                 r"</section>", body, flags=re.S)}


def _md_sections(md: str) -> dict[str, str]:
    import html
    import re

    out = {}
    for part in md.split("\n## ")[1:]:
        title, _, rest = part.partition("\n")
        out[title.replace("\\", "")] = html.unescape(re.sub(r"\\(.)", r"\1", rest))
    return out


@pytest.fixture(scope="module")
def small_report(tmp_path_factory, make_study, write_study):
    """A 6-trial study's report written without figures (same words and tables)."""
    from jetstudy.analysis.report import write_report

    trials, epochs = make_study(n_trials=6, max_epochs=4, seed=5, asha=False)
    folder = write_study(tmp_path_factory.mktemp("r11j-report") / "s", trials, epochs)
    return folder, write_report(folder, figures=False)


def test_index_html_and_summary_md_give_the_same_numbers_section_by_section(small_report):
    """Every number of summary.md stands in index.html, in the same section and order (the
    page's collapsed tables, which summary.md leaves out, aside)."""
    import re

    _, outcome = small_report
    page = _html_sections(outcome.index_html.read_text(encoding="utf-8"))
    md = _md_sections(outcome.summary_md.read_text(encoding="utf-8"))
    assert list(page) == list(md) and len(md) >= 10, (list(page), list(md))
    shared = 0
    for title, text in md.items():
        numbers = re.findall(_NUMBER, text)
        assert re.findall(_NUMBER, page[title]) == numbers, title
        shared += len(numbers)
    assert shared > 100  # the comparison saw the tables' numbers, not a handful


def test_index_html_links_only_to_what_exists_and_every_image_has_alt_text(small_report):
    """The page's links are its own section anchors or files beside it (none elsewhere), each
    figure left undrawn keeps its caption; a drawn figure is an <img> whose alt text is its
    caption, escaped (render_html, as write_report renders the page, on sections of its own)."""
    import html
    import re

    from jetstudy.analysis.render import Section, render_html

    _, outcome = small_report
    page = outcome.index_html.read_text(encoding="utf-8")
    ids = set(re.findall(r'\sid="([^"]+)"', page))
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs
    for href in hrefs:
        if href.startswith("#"):
            assert href[1:] in ids, href
        else:
            assert "://" not in href and (outcome.out_dir / href).is_file(), href
    assert "<img" not in page  # written without figures: no image to point at
    assert page.count("<figcaption>") == page.count('<p class="undrawn">') >= 5
    captions = ["Loss against size: 'a' & \"b\" <i>", "ROC, AUC ± 1 se"]
    drawn = render_html("t", [Section(f"s{i}", figure=f"f{i}.png", caption=c)
                              for i, c in enumerate(captions)],
                        {f"f{i}.png": b"\x89PNG" for i in range(len(captions))})
    images = re.findall(r"<img\b[^>]*>", drawn)
    assert [html.unescape(re.search(r'\salt="([^"]*)"', img).group(1)) for img in images] \
        == captions


def test_the_regime_maps_cells_flag_a_macro_auc_from_one_jet(tmp_path, make_study, write_study):
    """Ranked by val_auc, the regime maps print each cell's highest val_auc; with one t jet in
    the validation split the caption said nothing of that macro AUC resting on it, as the
    Best-trial table and the Pareto part now do."""
    import copy

    from jetstudy.analysis.sections import _map_depth_width
    from jetstudy.analysis.tables import load_tables
    from tests.analysis.conftest import CONFIG, words_only

    config = copy.deepcopy(CONFIG)
    config["search"].update(metric="val_auc")
    trials, epochs = make_study(n_trials=6, max_epochs=4, seed=5, asha=False)
    folder = write_study(tmp_path / "s", trials, epochs, config=config)
    n = sum(ONE_T.values())
    (folder / "data_summary.json").write_text(json.dumps({
        "synthetic": True, "n_jets": {"total": 5 * n, "train": 3 * n, "val": n, "test": n},
        "class_counts": {"train": ONE_T, "val": ONE_T, "test": ONE_T}}))
    caption = _map_depth_width(words_only(load_tables(folder))).caption
    assert "highest best_val_auc" in caption, caption
    assert ("best_val_auc (includes t's AUC, undetermined: 1 t jet of the validation split)"
            in caption), caption
