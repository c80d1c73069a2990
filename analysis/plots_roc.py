"""Drawing the ROC part: one-vs-rest ROC curves of the best model in the HEP convention, with
the Bayes optimum or the published reference points, AUCs with their errors in every legend.
Takes finished curves (:mod:`jetstudy.analysis.roc`) and an ``ax``; the report's other drawings
are :mod:`jetstudy.analysis.plots`."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from jetstudy.analysis.intervals import format_error
from jetstudy.analysis.plots import (CLASS_COLORS, CLASS_MARKERS, CLASS_STYLES, LEGEND_PT,
                                     MAX_WIDTH_IN, TITLE_PT, new_figure)
from jetstudy.analysis.plots_axes import FRACTION  # an efficiency's range: no legend room past it
from jetstudy.analysis.plots_legend import place_legend, place_note
from jetstudy.analysis.references import MORENO_DNN
from jetstudy.trainables.schema import CLASSES

#: Margin each side of the signal-efficiency axis [0, 1]: a ROC ends in a vertical segment at
#: efficiency 1 (and may start at 0), which xlim (0, 1) drew on the spine, hidden.
X_PAD = 0.02

__all__ = ["draw_roc", "draw_roc_overview", "roc_figure"]


def _log_floor(bkg: np.ndarray) -> float:
    """Bottom of the log axis: a little below the smallest measurable background efficiency."""
    positive = bkg[bkg > 0]
    return float(positive.min()) * 0.6 if positive.size else 1e-3


def _auc_label(auc: float | None, se: float | None, text: str | None = None) -> str:
    """`` (AUC 0.912 ± 0.004)``; an unknown error (None, NaN, 0) gives 3 decimals, as the
    other AUCs of the figure have, never format_error's bare ``0.9``. ``text``: the AUC as the
    report's test table prints it, shown as it is (the same number, the same error)."""
    if text:
        return f" (AUC {text})"
    if auc is None:
        return ""
    if not np.isfinite(auc):
        return " (AUC undefined)"
    if se is None or not (np.isfinite(se) and se > 0):
        return f" (AUC {auc:.3f})"
    return f" (AUC {format_error(auc, se)})"


def _no_curve(m: pd.DataFrame) -> bool:
    """A class without a ROC: absent from the test jets (or the only class there), its
    'curve' points at signal efficiency 0 or NaN only."""
    sig = m["signal_eff"].to_numpy(dtype=float)
    return not (np.isfinite(sig) & (sig > 0)).any()


def draw_roc(model: pd.DataFrame, cls: str, ax: Axes, bayes: pd.DataFrame | None = None,
             auc: float | None = None, bayes_auc: float | None = None,
             reference: bool = False, auc_se: float | None = None,
             bayes_auc_se: float | None = None, auc_text: str | None = None,
             bayes_auc_text: str | None = None) -> None:
    """One class's ROC, HEP convention: signal efficiency (x), background efficiency (log y);
    AUCs in the legend with their errors when given (``*_text``: as the test table prints
    them, used instead)."""
    color = CLASS_COLORS[cls]
    m = model[(model["cls"] == cls) & (model["background_eff"] > 0)]
    floor, absent = 1e-3, _no_curve(m)
    if absent:  # an empty panel with 'model (AUC undefined)' said nothing
        place_note(ax, f"no ROC: the test split has\nno {cls} jets (or only those)",
                   fontsize=LEGEND_PT + 0.5, color="#555555")
    else:
        label = "model" + _auc_label(auc, auc_se, auc_text)
        ax.plot(m["signal_eff"], m["background_eff"], color=color, lw=1.6, label=label)
        floor = _log_floor(m["background_eff"].to_numpy())
    if bayes is not None and not absent:
        b = bayes[(bayes["cls"] == cls) & (bayes["background_eff"] > 0)]
        label = "Bayes optimal" + _auc_label(bayes_auc, bayes_auc_se, bayes_auc_text)
        ax.plot(b["signal_eff"], b["background_eff"], color="black", ls="--", lw=1, label=label)
        floor = min(floor, _log_floor(b["background_eff"].to_numpy()))
    if reference and MORENO_DNN.tpr_at_fpr and cls in MORENO_DNN.tpr_at_fpr:
        ax.scatter(MORENO_DNN.tpr_at_fpr[cls], MORENO_DNN.fprs, marker="X", s=60, color="black",
                   zorder=5, label=MORENO_DNN.label)
        # the axis reaches the published points too: on a small test split (under ~100
        # background jets) the curve ends above 0.01 and the point there was below the axis
        floor = min(floor, _log_floor(np.asarray(MORENO_DNN.fprs, dtype=float)))
    ax.set_yscale("log")
    ax.yaxis.set_minor_locator(NullLocator())  # decades suffice; minor ticks double the time
    ax.set_xlim(-X_PAD, 1 + X_PAD)  # the ROC's last segment, at 1, clear of the spine
    ax.set_ylim(floor, 1.0)  # an efficiency: the axis never passes 1 (FRACTION)
    ax.set_xlabel(f"signal efficiency ({cls})")
    ax.set_ylabel("background efficiency")
    ax.set_title(f"{cls} vs rest", fontsize=TITLE_PT)
    ax.grid(alpha=0.3)
    place_legend(ax, FRACTION, fontsize=LEGEND_PT)  # where no curve is, the axis within (0, 1]


def draw_roc_overview(model: pd.DataFrame, ax: Axes, aucs: dict[str, float] | None = None,
                      auc_errors: dict[str, float] | None = None,
                      auc_texts: dict[str, str] | None = None) -> None:
    """All classes' model ROC curves in one panel, for comparing classes with each other; each
    AUC printed as in the class panels and the test table (with its error when given, digits
    from the error; ``auc_texts``: the test table's own text)."""
    floor, missing = 1.0, []
    for cls in CLASSES:
        m = model[(model["cls"] == cls) & (model["background_eff"] > 0)]
        if _no_curve(m):  # drew points at signal efficiency 0
            missing.append(cls)
            continue
        text = (auc_texts or {}).get(cls)
        auc = _auc_label((aucs or {}).get(cls), (auc_errors or {}).get(cls), text).replace(
            " (AUC ", " (", 1) if text or (aucs and cls in aucs) else ""
        ax.plot(m["signal_eff"], m["background_eff"], color=CLASS_COLORS[cls], lw=1.4,
                ls=CLASS_STYLES[cls], marker=CLASS_MARKERS[cls], ms=4, markevery=0.12,
                label=f"{cls}{auc}")
        floor = min(floor, _log_floor(m["background_eff"].to_numpy()))
    ax.set_yscale("log")
    ax.yaxis.set_minor_locator(NullLocator())  # decades suffice; minor ticks double the time
    ax.set_xlim(-X_PAD, 1 + X_PAD)  # the ROC's last segment, at 1, clear of the spine
    ax.set_ylim(floor, 1.0)  # an efficiency: the axis never passes 1 (FRACTION)
    ax.set_xlabel("signal efficiency")
    ax.set_ylabel("background efficiency")
    ax.set_title("all classes, model (AUC)", fontsize=TITLE_PT)
    ax.grid(alpha=0.3)
    if missing:
        place_note(ax, f"no ROC for {', '.join(missing)} (see its panel)", fontsize=LEGEND_PT + 0.5,
                   color="#555555")
    place_legend(ax, FRACTION, fontsize=LEGEND_PT)  # where no curve is, the axis within (0, 1]


def roc_figure(model: pd.DataFrame, aucs: dict[str, float], bayes: pd.DataFrame | None = None,
               bayes_aucs: dict[str, float] | None = None, reference: bool = False,
               auc_errors: dict[str, float] | None = None,
               bayes_auc_errors: dict[str, float] | None = None,
               auc_texts: dict[str, str] | None = None,
               bayes_auc_texts: dict[str, str] | None = None) -> Figure:
    """A panel per class (model, plus Bayes optimum or reference points) and an overview panel;
    ``*_errors`` put each AUC's standard error in the legends; ``*_texts`` (per class) are the
    AUCs as the report's test table prints them, shown instead where given."""
    fig, axes = new_figure(2, 3, width=MAX_WIDTH_IN, height=8.0,
                           margins={"left": 0.07, "right": 0.98, "bottom": 0.08, "top": 0.95,
                                    "wspace": 0.3})
    flat = list(axes.ravel())
    for cls, ax in zip(CLASSES, flat):
        draw_roc(model, cls, ax, bayes, aucs.get(cls), (bayes_aucs or {}).get(cls), reference,
                 (auc_errors or {}).get(cls), (bayes_auc_errors or {}).get(cls),
                 (auc_texts or {}).get(cls), (bayes_auc_texts or {}).get(cls))
    draw_roc_overview(model, flat[len(CLASSES)], aucs, auc_errors, auc_texts)
    return fig
