"""The report's regime-map parts: depth x size and size x regularisation, their captions
naming only what the maps draw, the lines on trials the maps could not colour or place, and why
a map was left out. Parts of :data:`jetstudy.analysis.sections.PARTS`, kept here so that module
stays a readable size; like every part, each returns a Section or raises
:class:`AnalysisError` with the sentence the report shows under "Skipped parts".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jetstudy.analysis import maps
from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.heldout_tables import few_validation_jets, macro_auc_words
from jetstudy.analysis.render import Section, counted
from jetstudy.analysis.sections_pareto import score_decimals, val_counts
from jetstudy.analysis.trial_order import listed_ids

if TYPE_CHECKING:
    from jetstudy.analysis.sections import ReportState

__all__ = ["depth_width_part", "regularisation_part"]


def _map_lines(r: ReportState) -> list[str]:
    """How many trials the maps could not colour, and where to get the full picture."""
    n = int((r.regimes["regime"] == "undetermined").sum())
    lines = []
    if n:
        one = n == 1  # '1 of 6 trials is undetermined (its curve ...)', never 'their'
        # complete curves the AUC rule cannot read (regime_unstable.auc_rule's reason)
        undetermined = r.regimes[r.regimes["regime"] == "undetermined"]
        few = "reason" in undetermined and undetermined["reason"].astype(str).str.contains(
            "one-vs-rest AUC").any()  # either AUC-rule reason; a table without reasons: none
        lines.append(f"{n} of {counted(len(r.regimes), 'trial')} {'is' if one else 'are'} "
                     f"undetermined ({'its curve' if one else 'their curves'} cannot "
                     "show a regime: stopped early, still running, too short or too noisy"
                     + (", or their macro AUC resting on a class of 5 validation jets or "
                        "fewer" if few else "") + "; "
                     f"{'its' if one else 'each'} reason is in regimes.csv): counted in "
                     f"{'its cell' if one else 'their cells'} as '+k undet.', never "
                     "colouring one.")
    scheduler = (r.t.config or {}).get("scheduler")
    asha = isinstance(scheduler, dict) and scheduler.get("type", "asha") == "asha"
    if r.kind == "search" and asha:
        lines.append("This is a search: ASHA stops most trials after a rung or two, as a search "
                     "for the best model should. For the regime picture, run a scan "
                     "(search.sampler: grid or sobol), which trains every configuration to the "
                     "end.")
    elif r.kind == "search":
        sampler = ((r.t.config or {}).get("search") or {}).get("sampler")
        how = ("drawn at random, so they cover the space unevenly" if sampler == "random" else
               "chosen by the sampler to find the best model, so they crowd where it looked "
               "best")
        lines.append(f"This is a search: its configurations were {how}. For an even picture "
                     "of the regimes, run a scan (search.sampler: grid or sobol).")
    return lines


def _unplaced_lines(found: list) -> list[str]:
    """One line per map that left trials off for lack of a value on one of its axes."""
    return [f"{m.y_title} x {m.x_title}: {m.n_unplaced} trial(s) without a value on an axis "
            "are left off this map." + (
                f" Of them, {listed_ids(m.unsized)} {'has' if len(m.unsized) == 1 else 'have'}"
                " a size of 0 or below (a model has at least one weight, a layer one unit: "
                "the trials table is damaged or hand-edited)." if m.unsized else "")
            for m in found if m.n_unplaced]


def _cell_words(r: ReportState, found: list) -> str:
    """How to read the maps' cells, naming only what the maps draw: the '+k undet.' count,
    hatched, white and grey ('not tried') cells where some cell is so (a map of complete,
    determined trials had all four explained)."""
    cells = [m.cells for m in found]
    undetermined = any((c["n_undetermined"] > 0).any() for c in cells)
    mark = maps.PARTIAL_MARK
    marked = any(c["counts"].str.contains(mark, regex=False).any() for c in cells)
    words = ["colour: the dominant regime of the cell's determined trials"
             + (" (those judged on complete curves, where the cell has any)" if marked else "")
             + f"; text: the cell's "
             f"{r.best_word} {found[0].metric}{_few_jets(r, found[0].metric)}, n = determined "
             "trials"
             + (", +k undet. = undetermined ones" if undetermined else "")]
    if any(c["dominant"].eq("mixed").any() for c in cells):
        words.append("striped, mixed: the deciding trials tie between regimes (their counts "
                     "printed in the cell)")
    if marked:
        words.append(f"{mark}: trials judged on incomplete curves, in a cell whose complete "
                     f"ones decide its colour")
    if any(c["partial_only"].any() for c in cells):
        words.append("hatched: judged on incomplete curves only")
    if any((c["n_trials"] == 0).any() for c in cells):
        words.append("white: undetermined trials only")
    if any(len(c) < len(c["x"].cat.categories) * len(c["y"].cat.categories) for c in cells):
        words.append("grey, 'not tried': no trial in the cell (a bin pair no trial drew, or a "
                     "bin no trial reached)")
    return "; ".join(words)


def _few_jets(r: ReportState, metric: str) -> str:
    """A val_auc whose macro average includes a class's AUC from too few validation jets: what
    the test table and the Best-trial table say of it (empty for another metric)."""
    if str(metric).removeprefix("best_") != "val_auc":
        return ""
    few = few_validation_jets(val_counts(r)[1])
    return macro_auc_words(few, " and ".join(few.values()) + " of the validation split")


def _left_out(maps: list[tuple[str, str]]) -> str:
    """Why maps were left out, one reason once with the maps it stopped (``l1, l2, dropout:
    `n_params` does not vary``, not the same sentence three times)."""
    by_reason: dict[str, list[str]] = {}
    for axis, why in maps:
        by_reason.setdefault(why, []).append(axis)
    return "; ".join(f"{', '.join(axes)}: {why}" for why, axes in by_reason.items())


def _maps(r: ReportState, axes: list[tuple[str, str, str]]
          ) -> tuple[list, list[tuple[str, str]]]:
    """The regime maps of each (name, x, y) that can be drawn, and (name, why) of those that
    cannot; none drawable raises :class:`AnalysisError` saying why for each."""
    found, left_out = [], []
    for name, x, y in axes:
        try:
            found.append(maps.regime_map(r.t.trials, r.regimes, x, y, r.metric, r.maximize,
                                         maps.configured_ranges(r.t.config)))
        except AnalysisError as exc:
            left_out.append((name, str(exc)))
    if not found:
        raise AnalysisError(_left_out(left_out))
    return found, left_out


def depth_width_part(r: ReportState) -> Section:
    from jetstudy.analysis import plots_maps

    found, left_out = _maps(r, [(x, x, "depth") for x in ("n_params", "min_width")])
    name = r.figure("regimes_depth_width.png",
                    plots_maps.regime_maps_figure(found, score_decimals(r)))
    caption = ("Regime by depth and size: parameter count, and the narrowest hidden layer (a "
               "bottleneck bounds what a net can learn, whatever its other layers); "
               f"{_cell_words(r, found)}.")
    ranges = list(dict.fromkeys(line for m in found for line in m.range_lines()))
    lines = (ranges + _map_lines(r) + _unplaced_lines(found)
             + ([f"Not shown: {_left_out(left_out)}."] if left_out else []))
    return Section("Regime map: depth x width", figure=name, caption=caption, lines=lines)


def regularisation_part(r: ReportState) -> Section:
    from jetstudy.analysis import plots_maps

    found, left_out = _maps(r, [(y, "n_params", y) for y in ("l1", "l2", "dropout")])
    name = r.figure("regimes_regularisation.png",
                    plots_maps.regime_maps_figure(found, score_decimals(r)))
    # 'off' names the bin of a strength of 0, only where a map has one (l2: [0, x] in space)
    off = any("off" in m.cells["y"].cat.categories for m in found)
    caption = (f"Regime by parameter count and regularisation strength{' (off = 0)' if off else ''}"
               f": where regularisation moves the overfit boundary; {_cell_words(r, found)}.")
    ranges = list(dict.fromkeys(line for m in found for line in m.range_lines()))
    return Section("Regime map: size x regularisation", figure=name, caption=caption,
                   lines=ranges + _unplaced_lines(found)
                   + ([f"Not shown: {_left_out(left_out)}."] if left_out else []))
