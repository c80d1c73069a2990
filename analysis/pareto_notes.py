"""The Pareto part's words: what the pick of :func:`~jetstudy.analysis.pareto.compute_pareto`
means given the validation noise (:func:`pick_notes`: within noise or significant, repeats of
the pick's configuration, exact ties, a full run its status calls stopped, a band narrower than
the noise) and which fully trained trials were left out for want of a size
(:func:`unsized_words`). The numbers (front, pick, errors) stay in
:mod:`jetstudy.analysis.pareto`, which re-exports both functions."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from jetstudy.analysis.heldout_tables import MIN_CLASS_JETS
from jetstudy.analysis.intervals import (_significant, equal_digits, format_error,
                                         rounded_apart_words)
from jetstudy.analysis.pareto import NOISE_SIGMAS, ParetoResult, exact_ties
from jetstudy.analysis.pick_words import (best_repeats_words, full_run_words,
                                          median_outside_band, smallest_within_words,
                                          spread_words, ties_words)
from jetstudy.analysis.significance import below as _below
from jetstudy.analysis.significance import sigma_decimals
from jetstudy.analysis.trial_order import listed_ids, repeat_spread

__all__ = ["pick_notes", "unsized_words", "few_jets_words"]


def unsized_words(ids: Sequence[str], cost: str) -> str:
    """The sentence naming :func:`unsized_trials` (empty when there are none)."""
    if not ids:
        return ""
    shown = listed_ids(ids)
    one = len(ids) == 1
    return (f" Left out: {'trial' if one else 'trials'} {shown}, fully trained, whose `{cost}` "
            f"is not a size above 0 (a model has at least one weight: the trials table is "
            f"damaged or hand-edited); 'the best' here is the best of the others.")


def pick_notes(result: ParetoResult, complete: str = "max_epochs or patience",
               search_best: tuple[str, str] | None = None) -> list[str]:
    """Plain sentences on what the pick means given the noise, for the report; ``complete``:
    what ends a complete trial in this study's words (an ASHA study has no patience);
    ``search_best``: (search metric, trial id) of the report's Best-trial section, whose best
    may be another trial than this panel's (by its own score, among fully trained trials)."""
    notes = _pick_notes(result, complete)
    if notes and result.determined and search_best is not None:
        notes[0] += _other_best(result, *search_best)
    return notes


def _other_best(result: ParetoResult, metric: str, trial_id: str) -> str:
    """Where this panel's best is not the Best-trial section's, which is which (else '')."""
    best = str(result.best["trial_id"])
    if best == str(trial_id):
        return ""
    label = result.score.removeprefix("best_")
    by = f"best by {metric} among completed, stopped and running trials"
    return (f" 'The best' here is trial {best}, best by {label} among fully trained trials; "
            f"the Best-trial section's trial {trial_id} is {by}.")


def _pick_notes(result: ParetoResult, complete: str) -> list[str]:
    """:func:`pick_notes` without the words on the Best-trial section's best."""
    label = result.score.removeprefix("best_")
    where = f"{label} vs {result.cost}"
    left = unsized_words(result.unsized, result.cost)
    if not result.determined:
        sized = " with a size above 0" if result.unsized else ""  # (those without: below)
        return [f"{where}: undetermined, no trial{sized} ran to completion ({complete}); "
                f"the {len(result.partial)} stopped or running trials are drawn faded, their "
                "partial scores are not used." + left]
    pick, best = result.pick, result.best
    below = "below" if result.maximize else "above"  # worse than the best, in words
    notes = []
    if pick["trial_id"] == best["trial_id"]:
        notes.append(f"{where}: the smallest model within {result.tolerance:.0%} is the best "
                     f"fully trained trial itself (trial {pick['trial_id']}).")
        alone = smallest_within_words(len(result.points), int(
            (result.points["cost"].astype(float) < float(pick["cost"])).sum()),
            str(pick["trial_id"]),
            int((result.partial["cost"].astype(float) < float(pick["cost"])).sum()),
            len(result.unsized))
        if alone:
            notes.append(f"{where}:{alone}")
        cheaper = result.cheapest_within_noise
        if cheaper is not None:
            gap = float(best["score"] - cheaper["score"]) * (1.0 if result.maximize else -1.0)
            notes.append(
                f"{where}: but trial {cheaper['trial_id']}, at 1/{best['cost'] / cheaper['cost']:.3g}"
                f" of its cost, is {format_error(gap, math.hypot(best['se'], cheaper['se']))} "
                f"{below} it: within the validation noise (< {NOISE_SIGMAS:g} sigma), so the "
                "validation set cannot tell the two apart; the best is not shown to need its "
                "size.")
    elif not np.isfinite(result.gap_se):
        # to the decimals of the scores (4 figures of the larger), not 4 figures of its own:
        # 0.0073 below 0.8243, never 0.007293 (digits the scores do not have); the size
        # answer's rule (intervals.equal_digits)
        gap = equal_digits(float(best["score"]), float(pick["score"]), float(result.gap))[2]
        notes.append(f"{where}: trial {pick['trial_id']} scores {gap} {below} the best "
                     f"(trial {best['trial_id']}) at 1/{best['cost'] / pick['cost']:.3g} of its cost; "
                     "the scores' errors are unknown (no validation-set size, or no standard "
                     "error of this score in the table), so this difference comes without an "
                     "error.")
    elif result.within_noise:
        ratio = best["cost"] / pick["cost"]
        notes.append(f"{where}: trial {pick['trial_id']} is "
                     f"{format_error(result.gap, result.gap_se)} {below} the best (trial "
                     f"{best['trial_id']}){_unrounded(result)} at "
                     f"1/{ratio:.3g} of its cost: "
                     f"within the validation noise (< {NOISE_SIGMAS:g} sigma), so the "
                     "validation set cannot tell the two apart.")
    else:
        notes.append(f"{where}: trial {pick['trial_id']} is "
                     f"{format_error(result.gap, result.gap_se)} {below} the best (trial "
                     f"{best['trial_id']}){_unrounded(result)}, a significant "
                     f"({_sigmas(result.gap / result.gap_se)} sigma) but at most "
                     f"{result.tolerance:.0%} loss, at 1/{best['cost'] / pick['cost']:.3g} of "
                     "its cost.")
    named = [pick] if pick["trial_id"] == best["trial_id"] else [pick, best]
    full = full_run_words(named)
    if full:
        notes.append(f"{where}:{full}")
    for row in named:
        tied = ties_words(exact_ties(result.points, row, "cost", "score"), str(row["trial_id"]),
                          f"{result.cost} and {label}")
        if tied:
            notes.append(f"{where}:{tied}")
    # the repeats' digits: the scores' errors' where the report's table prints them with
    # one (both scores' errors known), else equal digits as the table then prints them
    known = all(np.isfinite(float(r["se"])) and float(r["se"]) > 0 for r in (pick, best))
    again = repeat_spread(result.points, pick, "score")
    if again is not None:  # the front's point is the luckiest of its repeats (as the size answer)
        runs = spread_words(label, again.low, again.high, again.median,
                            float(pick["se"]) if known else None,
                            "the pick is the best of its repeats, so expect about the median")
        notes.append(f"{where}: trial {pick['trial_id']}'s configuration was trained {again.n} "
                     f"times (also trial{'s' * (len(again.ids) > 1)} {', '.join(again.ids)}): {runs}.")
        outside = median_outside_band(again.median, float(best["score"]), result.tolerance,
                                      result.maximize, float(pick["se"]) if known else None)
        if outside:
            notes.append(f"{where}: trial {pick['trial_id']}'s {outside}")
    again = repeat_spread(result.points, best, "score")
    lucky = best_repeats_words(result.points, best, pick, "score", label, result.tolerance,
                               float(best["se"]) if known else None,
                               also="trials " if again and len(again.ids) > 1 else "trial ")
    if lucky:
        notes.append(f"{where}: {lucky}")
    band = result.tolerance * abs(float(best["score"]))
    others = len(result.points) > 1  # no note about trials that do not exist
    if np.isfinite(best["se"]) and _below(band, NOISE_SIGMAS * best["se"]) and others:
        shown = _significant(band, 2), _significant(float(best["se"]), 2)  # 0.0060, not 0.006
        notes.append(f"{where}: the {result.tolerance:.0%} band ({shown[0]}) is narrower than "
                     f"{NOISE_SIGMAS:g} standard errors of one score (se {shown[1]}): "
                     "trials just outside it may be as good.")
    few = few_jets_words(result)
    if few:
        notes.append(f"{where}:{few}")
    if left:
        notes.append(f"{where}:{left}")
    return notes


def few_jets_words(result: ParetoResult) -> str:
    """The sentence (leading space; empty when none) on an AUC panel whose macro AUC averages a
    class's one-vs-rest AUC from too few validation jets (:attr:`ParetoResult.few_jets`): that
    class's AUC is the rank of a handful of jets, which its error (Hanley-McNeil, from the macro
    value) does not see, so the panel's order, pick and verdict rest on it."""
    if not result.few_jets:
        return ""
    whys = " and ".join(result.few_jets)
    return (f" the macro AUC averages a one-vs-rest AUC from {whys} of the validation split "
            f"({MIN_CLASS_JETS} or fewer: undetermined on its own, as the test table says of "
            "such a class), so these scores, their errors, the front and the pick rest partly "
            "on the rank of those few jets; the accuracy panels do not. Add jets of that class "
            "or raise data.val_fraction.")


def _unrounded(result: ParetoResult) -> str:
    """The best's and the pick's scores unrounded when those the report's table prints (each
    to its error's digits) differ by other than the printed gap (0.805 and 0.800 beside a gap
    of 0.006): the runner-up line's rule (intervals.rounded_apart_words)."""
    best, pick = result.best, result.pick
    if not all(np.isfinite(float(r["se"])) and float(r["se"]) > 0 for r in (best, pick)):
        return ""  # the table then prints equal digits, whose difference is the gap's
    shown = [format_error(float(r["score"]), float(r["se"])) for r in (best, pick)]
    return rounded_apart_words(shown, format_error(result.gap, result.gap_se),
                               float(best["score"]), float(pick["score"]))


def _sigmas(z: float) -> str:
    """A lead in standard errors beside :data:`NOISE_SIGMAS`: 1 decimal, more where that would
    read as the threshold (2.04 sigma is 'significant', never '2.0 sigma')."""
    return f"{z:.{sigma_decimals(z, NOISE_SIGMAS)}f}"
