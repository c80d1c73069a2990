"""The **unstable** rules of :mod:`jetstudy.analysis.regimes` (rule 1 there): a net that
diverged, or collapsed to the class priors (a loss at the prior entropy H), or does not
separate the classes (a macro validation AUC at ``auc_floor`` or below, read through the other
classes where a class has a handful of validation jets). Each takes a row of
:func:`~jetstudy.analysis.curve_stats.curve_summary` as the regime table builds it and returns
the reason in words; the order of the rules stays in ``regimes._judge``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from jetstudy.analysis.curve_stats import stop_words
from jetstudy.analysis.intervals import percent
from jetstudy.analysis.reference_loss import Reference
from jetstudy.analysis.regime_thresholds import RegimeThresholds
from jetstudy.analysis.significance import below, beyond

__all__ = ["DIVERGED_ERROR", "NO_SEPARATION", "shows_collapse", "unstable", "auc_rule",
           "at_priors"]

#: A failure's error that says the loss diverged: "became nan/inf" (TrialDiverged), whole
#: words only, so that "more information", "inference" or "maintenance" are no divergence.
DIVERGED_ERROR = re.compile(r"\bnan\b|\binf(inity)?\b|diverg|overflow|non-finite",
                            re.IGNORECASE)


def shows_collapse(row: pd.Series, t: RegimeThresholds) -> bool:
    """A loss at the class priors (or an AUC near 0.5) means a collapsed net only on a complete
    curve or one of at least ``min_epochs`` epochs: after one or two epochs, and stopped there by
    ASHA, a deep narrow net or a small learning rate may just not have started learning yet."""
    n = row["n_epochs"]
    return stop_words(row) is None or bool(np.isfinite(n) and n >= t.min_epochs)


def unstable(row: pd.Series, ref: Reference, t: RegimeThresholds) -> str | None:
    """Why the trial is unstable (a non-finite loss, a divergence, a training loss at the
    priors, a macro AUC at the floor the few-jet classes cannot move), None otherwise."""
    error = row["error"]
    if np.isfinite(row["first_nonfinite_epoch"]):
        return f"non-finite loss at epoch {int(row['first_nonfinite_epoch'])}"
    if row["status"] == "failed" and DIVERGED_ERROR.search(error):
        return f"failed: {error}"
    train, val = row["last_train"], row["last_val"]
    if row["table_nonfinite"] and (row["status"] in ("completed", "stopped")
                                   or np.isinf([train, val]).any()):
        return f"ended with a non-finite loss (train {train}, val {val})"
    if not shows_collapse(row, t):  # a net at the priors after an epoch may just start slowly
        return None
    limit = (1 - t.prior_margin) * ref.prior_entropy
    if np.isfinite(train) and not below(train, limit):  # at the limit up to the last bit: at it
        return f"train loss {train:.4f} {at_priors(train, ref, t)}"
    auc = auc_rule(row, t)
    return auc[1] if auc is not None and auc[0] == "unstable" else None


def auc_rule(row: pd.Series, t: RegimeThresholds) -> tuple[str, str] | None:
    """The AUC rule's verdict ("unstable" or "undetermined") and reason, None when it passes.
    A macro AUC averaging the AUC of a class of a handful of validation jets
    (:func:`~jetstudy.analysis.heldout_tables.few_validation_jets`) decides nothing on its own:
    those AUCs may lie anywhere in [0, 1] (one t jet ranked first: 1.0), so the rule reads the
    range of the other classes' mean; where the few jets' rank decides which side of
    ``auc_floor`` it lies, the label would rest on them and the trial is undetermined."""
    auc = row["last_auc"]
    if not (np.isfinite(auc) and shows_collapse(row, t)):
        return None
    # a user's auc_floor far above 0.5 makes it a quality cut, not "no separation"
    what = ("the classes are not separated" if auc <= NO_SEPARATION
            else "below the separation regimes.auc_floor asks for")
    k, few = row["auc_classes"], row["auc_few"]
    if not few:
        return (("unstable", f"macro val AUC {auc:.3f} <= {t.auc_floor:g}: {what}")
                if not beyond(auc, t.auc_floor) else None)
    jets = f"{row['few_jets']} of the validation split"
    if few >= k:
        return "undetermined", (
            f"macro val AUC {auc:.3f}, but every class's one-vs-rest AUC rests on 5 or fewer "
            f"validation jets ({jets}): it cannot tell a collapsed net from a working one "
            "(regimes.auc_floor); use a larger data.val_fraction or more jets")
    lo, hi = max(0.0, (k * auc - few) / (k - few)), min(1.0, k * auc / (k - few))
    if not beyond(hi, t.auc_floor):  # at the floor up to the last bit: at it (<=)
        return "unstable", (f"macro val AUC {auc:.3f} <= {t.auc_floor:g}: {what} (it averages a "
                            f"one-vs-rest AUC from {jets}, too few jets to judge on their own; "
                            f"the other classes' AUCs average at most {hi:.3f} whatever the "
                            "rank of those jets)")
    if beyond(lo, t.auc_floor):
        return None
    return "undetermined", (
        f"macro val AUC {auc:.3f} averages a one-vs-rest AUC from {jets} (too few jets to judge "
        f"on their own): as those jets rank, the other classes' AUCs average between {lo:.3f} "
        f"and {hi:.3f}, either side of regimes.auc_floor {t.auc_floor:g}, so whether the net "
        "separates the classes is undetermined; use a larger data.val_fraction or more jets")


#: A macro AUC up to this is "no separation" in words; a higher regimes.auc_floor (allowed
#: up to 1) is a quality cut, and the reason says so instead of "not separated".
NO_SEPARATION = 0.6


def at_priors(loss: float, ref: Reference, t: RegimeThresholds) -> str:
    """Words for a loss at or within ``prior_margin`` of the prior entropy H: "no better than
    the priors" only when it is (within the default 1%); a user's wider margin (up to 50%) makes
    it a cut the reason names, not a claim that the net learnt nothing."""
    h = ref.prior_entropy
    if loss >= h or t.prior_margin <= RegimeThresholds().prior_margin:
        return f"is no better than predicting the class priors (H = {h:.4f} nats)"
    return (f"is within regimes.prior_margin {t.prior_margin:.0%} of the class-prior entropy "
            f"H = {h:.4f} nats ({percent(loss / h - 1)} of it)")
