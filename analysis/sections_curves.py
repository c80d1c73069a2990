"""The report's curve parts: the complexity curve and the learning curves, with their captions
(which panels are drawn, which L* line). Parts of :data:`jetstudy.analysis.sections.PARTS`,
kept here so that module stays a readable size; like every part, each returns a Section or
raises :class:`AnalysisError` with the sentence the report shows under "Skipped parts".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from jetstudy.analysis import complexity, curves, regimes
from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.render import Section
from jetstudy.analysis.sections_words import ran_to_end

if TYPE_CHECKING:
    from jetstudy.analysis.sections import ReportState

__all__ = ["complexity_of", "complexity_part", "learning_curves_part", "panels_words"]


_REFERENCE_WORDS = {"bayes": "the Bayes-optimal val loss", "user": "the given regimes.reference_loss",
                    "proxy": "a proxy: the study's best val loss"}


def _reference_words(r: ReportState, style: str) -> str:
    """The caption's words for the L* line drawn in ``style``; no line is drawn without L*."""
    if r.reference.loss is None:
        return "no L* line: no reference loss is known (see 'Outcomes')"
    return f"{style}: L*, {_REFERENCE_WORDS.get(r.reference.source, r.reference.source)}"


def complexity_of(r: ReportState) -> complexity.ComplexityCurve:
    """The study's complexity curve, its note in this study's words (what ended a complete
    trial: ASHA's max_epochs, or max_epochs or the patience; sections_words)."""
    config = r.t.config
    return complexity.complexity_curve(
        r.t.trials, r.regimes,
        ran=(ran_to_end(config, one=True), ran_to_end(config, one=False)))


def median_words(c: complexity.ComplexityCurve) -> tuple[str, str]:
    """The complexity caption's words for the bin medians of the loss panel and of the gap
    panel: lines where two neighbouring bins of two trials join them, points where no line
    does (plots.draw_complexity draws them so), none where no bin holds two trials."""
    # a bin of one trial draws no median (plots.draw_complexity): said where there is one
    alone = "a bin of one trial shows that trial alone (a median of one is the trial itself)"
    if complexity.median_lines_join(c.bins["n"]):
        one = f", and {alone}" if (c.bins["n"] == 1).any() else ""
        lines = ("lines: medians per half-decade (train dashed with squares, val solid with "
                 "circles), at the median size of the bin's trials, broken where a bin has "
                 f"none or one trial{one}; red dotted with +: each bin's lowest val loss, at "
                 "that trial's size")
        gap = "of each trial (grey dots) and the bins' medians (black line)"
    elif (c.bins["n"] >= 2).any():  # lone markers: no two neighbouring bins of two
        held = int((c.bins["n"] >= 2).sum())
        which_bins = ("the one half-decade holding" if held == 1
                      else f"the {held} half-decades (none beside another) holding")
        lines = (f"no median lines: only {which_bins} two or more trials "
                 f"{'has' if held == 1 else 'have'} medians, drawn as points at the median "
                 "size of the bin's trials (train: square, val: circle; red +: the bin's "
                 "lowest val loss, at that trial's size), "
                 f"and {alone}")
        gap = "of each trial (grey dots) and the bins' medians (black dots)"
    else:
        lines = (f"no median lines: no half-decade holds two trials, and {alone}")
        gap = "of each trial (grey dots)"
    return lines, gap


def complexity_part(r: ReportState) -> Section:
    from jetstudy.analysis import plots

    c = complexity_of(r)
    sizes = c.points["n_params"].astype(float).unique()
    if len(c.points) == 1:  # 'does not vary among the trials ... (all 33115' of one trial
        raise AnalysisError(f"one trial to draw ({c.note}; {sizes[0]:.0f} parameters): a curve "
                            "against size needs two sizes")
    if len(sizes) < 2:  # one point per series, each under the next: a legend of the unseen
        raise AnalysisError(f"`n_params` does not vary among the trials it would draw (all "
                            f"{sizes[0]:.0f}; {c.note}): a curve against size needs two sizes")
    name = r.figure("complexity.png", plots.complexity_figure(c))
    which = (f"Judged train (eval mode) and val loss ({_judged_from(r, c)}: regimes.csv's "
             "judged_* columns)" if c.losses == "judged"
             else "Last-epoch train (eval mode) and val loss")
    lines, gap = median_words(c)
    caption = (f"{which} against parameter count ({c.note}; "
               f"unstable and undetermined trials left out); {lines}; "
               f"{_reference_words(r, 'dashed')}; lower panel: the generalisation gap val - "
               f"train, {gap}.")
    return Section("Complexity curve", figure=name, caption=caption)


def _judged_from(r: ReportState, c: complexity.ComplexityCurve) -> str:
    """Where the drawn trials' judged losses come from: the median of their last 3 finite
    epochs, or, for a trial no epoch of which was read (a trials table alone), the table's
    final losses (regimes.csv's epochs_logged is then empty)."""
    epochs = "each the median of its trial's last 3 finite epochs, fewer in a shorter run"
    if "epochs_logged" not in r.regimes.columns or "trial_id" not in c.points.columns:
        return epochs
    unread = epochs_unread(r.regimes, c.points["trial_id"])
    if not unread:
        return epochs
    if unread == len(c.points):
        return "the trials table's final losses, as no epoch of these trials was read"
    return (f"{epochs}; the trials table's final losses for {unread} of the {len(c.points)} "
            "trials, no epoch of which was read")


def epochs_unread(regimes: pd.DataFrame, ids: pd.Series | None = None) -> int:
    """How many of the trials ``ids`` (default: all) were judged with no epoch read
    (regimes.csv's ``epochs_logged`` empty: a trials table alone, or trials the epochs table
    lacks): their final losses are the trials table's, no median of epochs."""
    if "epochs_logged" not in regimes.columns:
        return 0
    by_id = regimes.drop_duplicates("trial_id", keep="last").set_index("trial_id")
    unread = pd.to_numeric(by_id["epochs_logged"], errors="coerce").isna()
    if "judged_val_loss" in by_id.columns:  # a trial with no finite loss at all has none read
        unread &= pd.to_numeric(by_id["judged_val_loss"], errors="coerce").notna()
    if ids is None:
        return int(unread.sum())
    return int(ids.map(unread).fillna(False).astype(bool).sum())


def learning_curves_part(r: ReportState) -> Section:
    from jetstudy.analysis import plots

    r.needs("epochs")
    if r.t.epochs is None or r.t.epochs.empty:
        raise AnalysisError("the epochs table has no rows")
    c = curves.select_learning_curves(r.t.trials, r.regimes, r.t.epochs, r.metric, r.maximize)
    name = r.figure("learning_curves.png", plots.learning_curves_figure(c, r.reference.loss))
    running = ("status" in c.columns
               and c.loc[c["status"].astype(str) == "running", "trial_id"].nunique())
    still = ("; '(running)' in a legend: a trial still training, its curve so far" if running
             else "")
    caption = (f"{curve_style_words(c)}: "
               f"{panels_words(c, r.regimes)}{still}; {_reference_words(r, 'dotted')}.")
    return Section("Learning curves", figure=name, caption=caption)


def curve_style_words(c: pd.DataFrame) -> str:
    """How the learning curves are drawn, as drawn: lines where a curve has two neighbouring
    finite epochs, markers alone (filled val, hollow train) where it has one."""
    drawn, lone = curves.points_only(c)
    if drawn and lone == drawn:  # one-epoch curves only: no line anywhere
        return ("Train (hollow markers, eval mode) and val (filled markers) loss per epoch, "
                "each curve a single finite epoch (no line)")
    words = "Train (dashed, eval mode) and val (solid) loss per epoch"
    if lone:
        words += (f" ({lone} of the {drawn} curves hold a single finite epoch: markers only, "
                  "filled val, hollow train)")
    return words


def panels_words(c: pd.DataFrame, verdicts: pd.DataFrame) -> str:
    """Which panels the learning-curve figure has, for its caption: the best trial(s), then
    the trials that ran longest of each regime drawn; a judged regime whose trials are all
    among the best gets no panel, and the caption says so (one trial: 'the best trials, then
    ... of each regime' beside one panel)."""
    best = c.loc[c["group"] == "best", "trial_id"].nunique()
    shown = [g for g in dict.fromkeys(c["group"]) if g != "best"]
    words = ([] if not best else ["the best trial" if best == 1 else f"the {best} best trials"])
    if shown:
        words.append("the longest-running trials of each regime (" + ", ".join(shown) + ")")
    text = ", then ".join(words)
    if "regime" not in verdicts.columns:
        return text
    in_best = set(c.loc[c["group"] == "best", "trial_id"].astype(str))
    for g in regimes.REGIMES:
        ids = set(verdicts.loc[verdicts["regime"] == g, "trial_id"].astype(str))
        if g == "undetermined" or g in shown or not ids:
            continue
        why = ("among the best above" if ids <= in_best else
               "among the best above or without a recorded curve" if ids & in_best else
               "without a recorded curve")
        text += f"; no {g} panel: {'its trial is' if len(ids) == 1 else 'its trials are'} {why}"
    return text
