"""Why a study's undetermined trials are undetermined, read from their reasons in
``regimes.csv`` (:func:`jetstudy.analysis.regimes.assess_regimes`), for the report's words:
the rules' "undetermined:" line named only incomplete curves, while a complete trial is also
undetermined when its macro AUC rests on a class of a handful of validation jets, when L* is
its own best loss or no lower bound, when its loss has no standard error, or when its final
loss zig-zags. Each cause is told by the words its rule writes (regimes, regime_unstable,
regime_trend, reference_loss, curve_stats.stop_words), in the order checked below.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["CAUSES", "undetermined_causes", "causes_words"]

#: (a phrase its reason holds, the cause in words), first match wins: the L* causes and the
#: AUC rule first (their reasons quote the gap, as the too-short one does).
CAUSES: tuple[tuple[str, str], ...] = (
    ("L* is this trial's own best val loss", "L* made from its own best val loss (the only "
     "stable trial: a proxy judges it against itself)"),
    ("L* is no lower bound", "an L* that is no lower bound (another trial reached below it)"),
    ("L* lies below the Bayes-optimal loss", "an L* below the Bayes-optimal loss of these jets"),
    ("one-vs-rest AUC", "a macro AUC resting on a class of 5 validation jets or fewer"),
    ("no standard error (NaN", "a loss without a standard error (a split of fewer than 2 jets)"),
    ("too short a curve to show a regime", "an incomplete curve (stopped early, still running "
     "or failed midway)"),
    ("zig-zags by", "a final loss that zig-zags from epoch to epoch (not settled)"),
    ("no finite loss reported yet", "no finite loss reported yet"),
    ("failed: ", "a failure before a finite loss"),
    ("is no cross-entropy", "a negative loss (a damaged or hand-edited table)"),
)


def undetermined_causes(regimes: pd.DataFrame) -> list[tuple[str, int]]:
    """(cause in words, how many undetermined trials) in :data:`CAUSES`' order, counted from
    the regime table's ``reason``; a reason matching none counts as 'another reason'."""
    if regimes is None or regimes.empty or not {"regime", "reason"} <= set(regimes.columns):
        return []
    reasons = regimes.loc[regimes["regime"] == "undetermined", "reason"].astype(str)
    counts: dict[str, int] = {}
    for reason in reasons:
        cause = next((words for phrase, words in CAUSES if phrase in reason),
                     "another reason (see regimes.csv)")
        counts[cause] = counts.get(cause, 0) + 1
    order = [words for _, words in CAUSES] + ["another reason (see regimes.csv)"]
    return [(c, counts[c]) for c in order if c in counts]


def causes_words(regimes: pd.DataFrame) -> str:
    """' Here 3 of the 8 trials are undetermined: 2 for an incomplete curve (...), 1 for ...;
    each reason is in regimes.csv.' (empty when none is)."""
    causes = undetermined_causes(regimes)
    if not causes:
        return ""
    n = sum(k for _, k in causes)
    which = ("the only trial is" if len(regimes) == 1 else
             f"{n} of the {len(regimes)} trials {'is' if n == 1 else 'are'}")
    parts = "; ".join(f"{k} for {words}" for words, k in causes)
    return f" Here {which} undetermined: {parts}; each reason is in regimes.csv."
