"""The sentences the Pareto notes (:func:`jetstudy.analysis.pareto.pick_notes`) and the size
answer (:mod:`jetstudy.analysis.size_answer`) share about a pick and the best it is compared
with: exact ties, a full run whose status says stopped, nothing smaller compared, repeats of
the pick's or the best's configuration; and the band "within ``tolerance`` of the best" they
are read against (:func:`band_edge`). One wording for both, so the two never say one thing two
ways.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from jetstudy.analysis.curve_stats import epochs_words
from jetstudy.analysis.intervals import digits_of_error
from jetstudy.analysis.trial_order import repeat_spread

__all__ = ["band_edge", "spread_words", "ties_words", "full_run_words", "median_outside_band",
           "best_repeats_words", "smallest_within_words"]


def spread_words(label: str, low: float, high: float, median: float, error: float | None,
                 lucky: str) -> str:
    """A configuration's runs as a clause: ``{label} from {low} to {high}, median {median};
    {lucky}`` (to ``error``'s digits, :func:`digits_of_error`), or, when every run scored the
    same, ``{label} {value} in every run`` (no spread, so no lucky run to warn of)."""
    shown = digits_of_error(error, low, high, median)
    if low == high:
        return f"{label} {shown[0]} in every run"
    return f"{label} from {shown[0]} to {shown[1]}, median {shown[2]}; {lucky}"


def ties_words(ties: list[str], named: str, what: str) -> str:
    """A sentence (with a leading space; empty without ties) saying that ``ties`` have exactly
    the ``named`` trial's ``what``, and why that one is named."""
    if not ties:
        return ""
    who = ("trial " if len(ties) == 1 else "trials ") + ", ".join(ties)
    verb = "ties" if len(ties) == 1 else "tie"
    return (f" {who[0].upper()}{who[1:]} {verb} trial {named} exactly (same {what}): one point, "
            "named by the first the search proposed (trial_number, then trial_id).")


def full_run_words(rows: Sequence[pd.Series]) -> str:
    """A sentence (leading space; empty when none) per row whose status is not ``completed``
    though it trained its whole ``max_epochs`` (the time budget or an interruption came after
    its last epoch): a reader who sees "stopped" beside a pick must learn why it is one."""
    words = []
    for row in rows:
        status = str(row.get("status", ""))
        if status == "completed" or not status:
            continue
        n, budget = (float(pd.to_numeric(pd.Series([row.get(c)]), errors="coerce").iloc[0])
                     for c in ("epochs", "max_epochs"))
        why = str(row.get("stop_reason", "") or "")
        why = f" ({why})" if why and why != "nan" else ""
        words.append(f" Trial {row['trial_id']}'s status is {status}{why}, but it trained all "
                     f"{epochs_words(n, budget)}: its score is a full run's, a candidate as "
                     "regimes.csv calls its curve complete.")
    return "".join(words)


def median_outside_band(median: float, best: float, tolerance: float, maximize: bool,
                        error: float | None) -> str:
    """Words (no leading subject; empty when inside) when a pick's configuration's median run
    lies outside the ``tolerance`` band of the best: the pick is in the band by its luckiest
    repeat only. Numbers to ``error``'s digits (:func:`digits_of_error`)."""
    edge = band_edge(best, tolerance, maximize)
    if (median >= edge) if maximize else (median <= edge):
        return ""
    shown, limit = digits_of_error(error, median, edge)
    return (f"median run ({shown}) is outside the {tolerance:.0%} band of the best "
            f"({'down' if maximize else 'up'} to {limit}): the configuration is within it by "
            "its best run only, not as a rule.")


def best_repeats_words(rows: pd.DataFrame, best: pd.Series, pick: pd.Series, score: str,
                       label: str, tolerance: float, error: float | None, who: str = "",
                       also: str = "") -> str:
    """A sentence (no leading space; empty when ``best`` is the pick or was trained once)
    when the best's configuration ran more than once: the band 'within ``tolerance`` of the
    best' is measured from its luckiest run. ``who``: how the best is named (default
    ``the best (trial <id>)``), ``also``: the words before the other runs' ids."""
    if str(best["trial_id"]) == str(pick["trial_id"]):
        return ""
    again = repeat_spread(rows, best, score)
    if again is None:
        return ""
    ids = ", ".join(again.ids)
    who = who or f"the best (trial {best['trial_id']})"
    runs = spread_words(label, again.low, again.high, again.median, error,
                        f"the {tolerance:.0%} band hangs from its best run")
    return f"{who}'s configuration was trained {again.n} times (also {also}{ids}): {runs}."


def smallest_within_words(n_points: int, n_smaller: int, pick: str,
                          n_smaller_tried: int | None = None, n_left_out: int = 0) -> str:
    """A sentence (leading space; empty when some completed trial is smaller than ``pick``):
    with no smaller model compared, the pick bounds the size needed from above only.
    ``n_smaller_tried``: the stopped or running trials smaller than ``pick`` (None: unknown);
    with none, no smaller model was tried at all (not 'not trained to the end').
    ``n_left_out``: fully trained trials left out for a damaged row (no size, no accuracy),
    which the sentence that names them follows: the pick is then the only one *compared*."""
    if n_points <= 1:
        alone = ("the only fully trained trial" if not n_left_out else
                 f"the only fully trained trial compared ({n_left_out} more left out, named "
                 "below)")
        return (f" Trial {pick} is {alone}: no other model was compared, so "
                "nothing shows that a smaller one would not do as well.")
    if n_smaller == 0 and n_smaller_tried == 0:
        return (f" No fully trained trial is smaller than trial {pick}: no smaller model was "
                "tried at all, so a smaller one may do as well.")
    if n_smaller == 0:
        return (f" No fully trained trial is smaller than trial {pick}: smaller models were not "
                "trained to the end, so a smaller one may do as well.")
    return ""


def band_edge(best: float, tolerance: float, maximize: bool) -> float:
    """The worst score still within ``tolerance`` (relative) of ``best``, widened by float
    rounding only: a score exactly 1% below the best (0.989802 against 0.9998) is within 1%,
    though ``0.9998 - 0.01 * 0.9998`` computes as 0.9898020000000001."""
    band = tolerance * abs(best) + 1e-9 * max(abs(best), 1e-300)
    return best - band if maximize else best + band
