"""The yardsticks the regime rules measure losses against: the reference loss L* and the prior
entropy H (see :mod:`jetstudy.analysis.regimes`).

L* is the user's ``regimes.reference_loss`` when given (an explicit setting beats a default),
else the Bayes-optimal validation loss of synthetic jets from ``reference.json``, else the
study's own best validation loss, which :mod:`jetstudy.analysis.regimes` fills in as a *proxy* and the
report names as one. H is ``reference.json``'s prior entropy (class frequencies of the training
split), else ln 5. With the Bayes loss comes its value on the training jets
(``bayes_train_loss``): the training loss is compared with that (the same jets), and the two
splits' own difference in difficulty, ``bayes_val_loss - bayes_train_loss``, is taken out of
a model's val - train gap.

>>> known_reference({"prior_entropy": 1.6, "bayes_val_loss": 0.49}).source
'bayes'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from jetstudy.analysis.curve_stats import SMOOTH
from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.intervals import format_error, signed
from jetstudy.analysis.significance import judge_diff
from jetstudy.analysis.trial_order import TIE_KEYS, with_tie_keys
from jetstudy.trainables.schema import CLASSES

if TYPE_CHECKING:
    from jetstudy.analysis.regime_thresholds import RegimeThresholds

__all__ = ["Reference", "known_reference", "contradiction", "only_against_unreachable",
           "proxy_reference", "own_yardstick"]


@dataclass(frozen=True)
class Reference:
    """What the rules compare with: L* (``loss``, its ``se``, where it came from) and the prior
    entropy H. ``source`` is ``user``, ``bayes``, ``proxy`` (the study's best val loss) or
    ``none`` (no stable trial with a finite loss). ``train_loss`` (``train_se``): the Bayes loss on
    the training jets, when known."""

    loss: float | None = None
    se: float | None = None
    source: str = "none"
    train_loss: float | None = None
    train_se: float | None = None
    prior_entropy: float = math.log(len(CLASSES))
    prior_source: str = f"ln {len(CLASSES)} (no reference.json)"
    proxy_trial: str | None = None
    #: The proxy L* comes from the only stable trial: that trial's bias is then judged against
    #: its own loss (circular), so its verdict is undetermined instead of "good".
    proxy_alone: bool = False
    #: How the proxy trial's min_val_loss was read (the words after its name): a running
    #: median of its curve, its lowest epoch of a short curve, or the trials table's value.
    proxy_basis: str = ""
    #: The best val loss of the other stable trials (``(trial_id, loss, se)``, se None when
    #: unknown): the proxy trial's own yardstick, so that no trial is judged against itself.
    proxy_next: tuple[str, float, float | None] | None = None
    #: A trial whose validation loss is significantly *below* L* (``(trial_id, loss, sigma)``):
    #: then L* is no lower bound (a user value set too high, a reference.json of other data),
    #: so "good" cannot be told from "underfit"; the rules say undetermined instead.
    contradicted_by: tuple[str, float, float] | None = None
    #: The Bayes reference of ``reference.json`` that a user's L* overrode (synthetic jets):
    #: no classifier beats it, so an L* below it is unreachable and an underfit verdict
    #: against that L* needs the loss to be above the Bayes loss too.
    bayes: Reference | None = None

    @property
    def below_bayes(self) -> bool:
        """A user L* below the Bayes-optimal loss of the same jets (unreachable)."""
        return (self.bayes is not None and self.loss is not None
                and self.bayes.loss is not None and self.loss < self.bayes.loss)

    def describe(self) -> str:
        """One sentence for the report."""
        if self.loss is None:
            return ("no reference loss: no trial has a finite loss below the prior entropy "
                    f"H = {self.prior_entropy:.4f} nats (every trial diverged, failed or sits "
                    "at the class priors), so none is a yardstick")
        # value and error to the same digits (PDG rounding), as every other number of the report
        bayes = format_error(self.loss, self.se) if self.se else f"{self.loss:.4g}"
        what = {
            "user": f"the given regimes.reference_loss {self.loss:.4g}",
            "bayes": f"the Bayes-optimal validation loss {bayes} of the synthetic jets",
            "proxy": (f"a PROXY: the study's own best validation loss {bayes} (trial "
                      f"{self.proxy_trial}'s min_val_loss: {self.proxy_basis or _MEDIAN}); "
                      "no Bayes optimum is known and none was given "
                      "(regimes.reference_loss), so the best trial can never be underfit"
                      + ("; it is the only stable trial, so its own bias is undetermined"
                         if self.proxy_alone else self._next_words())),
        }[self.source]
        train = ""
        if self.train_loss is not None:
            train = (f" On the training jets the Bayes loss is {self._train_text()}: training "
                     "losses are compared with that, and the splits' difference "
                     f"{self._offset_text()} is taken out of every val - train gap.")
        contradicted = ""
        if self.contradicted_by is not None:
            tid, loss, sigma = self.contradicted_by
            # below L*: the sigmas with the percentage's sign, as a reason prints them
            much = f", {signed(-sigma, '+.1f')} sigma" if math.isfinite(sigma) else ""
            contradicted = (f" L* is NOT a lower bound here: trial {tid} reached a validation "
                            f"loss of {loss:.4g} ({(loss - self.loss) / self.loss:+.0%}{much}), "
                            "so no trial is called good against it (undetermined instead; "
                            "underfit verdicts stand, a lower bound would only make them "
                            "stronger). Set regimes.reference_loss to the lowest loss "
                            "achievable, or leave it null to use the study's best as a proxy.")
        if self.below_bayes:
            b = self.bayes
            optimum = format_error(b.loss, b.se) if b.se else f"{b.loss:.4g}"
            contradicted += (f" L* lies BELOW the Bayes-optimal validation loss {optimum} "
                             "of these synthetic jets, which no classifier beats: a trial is "
                             "called underfit only when its loss is significantly above the "
                             "Bayes loss too (else undetermined). Set regimes.reference_loss "
                             "to at least the Bayes loss, or leave it null to use it.")
        return (f"Reference loss L* = {what}.{train}{contradicted} Prior entropy H = "
                f"{self.prior_entropy:.4f} nats ({self.prior_source}).")

    def _next_words(self) -> str:
        """How the proxy trial itself is judged: against the other trials' best, never its own
        loss (that would call it good by construction)."""
        if self.proxy_next is None:
            return ""
        tid, loss, se = self.proxy_next
        shown = format_error(loss, se) if se else f"{loss:.4g}"
        return (f"; trial {self.proxy_trial} itself is judged against trial {tid}'s "
                f"min_val_loss {shown}, the best of the others (against its own it would "
                "be good by construction)")

    def _digits_error(self, own: float | None) -> float | None:
        """The error that sets a number's digits: its own, else L*'s (same jets' kind)."""
        for se in (own, self.se):
            if se is not None and np.isfinite(se) and se > 0:
                return float(se)
        return None

    def _train_text(self) -> str:
        """The training jets' Bayes loss to the digits its error (else L*'s) allows, with its
        error when known: printed beside L* ± error, never with more figures than it."""
        if self.train_se is not None and np.isfinite(self.train_se) and self.train_se > 0:
            return format_error(self.train_loss, self.train_se)
        err = self._digits_error(None)
        if err is None:
            return f"{self.train_loss:.4g}"
        return format_error(self.train_loss, err).split(" ± ")[0]

    def _offset_text(self) -> str:
        """The splits' difference L* - train Bayes loss, ± the error of a difference of two
        losses on different jets, to that error's digits (was +.3g beside L*'s 2 figures)."""
        errors = [e for e in (self.se, self.train_se) if e is not None and np.isfinite(e)
                  and e > 0]
        if not errors:
            return signed(self.split_offset)
        text = format_error(self.split_offset, math.hypot(*errors))
        zero = float(text.split(" ± ")[0]) == 0  # rounded to 0: no sign
        return text if text.startswith("-") or self.split_offset <= 0 or zero else "+" + text

    @property
    def train_reference(self) -> tuple[float | None, float]:
        """L* for a training loss, and its standard error (0 when unknown)."""
        if self.train_loss is not None:
            return self.train_loss, self.train_se or 0.0
        return self.loss, self.se or 0.0

    @property
    def split_offset(self) -> float:
        """How much harder the validation jets are than the training jets for the Bayes
        classifier (0 when unknown): the part of any val - train gap no model can help."""
        if self.train_loss is None or self.loss is None or self.source != "bayes":
            return 0.0
        return self.loss - self.train_loss


def _finite(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def known_reference(reference_json: Mapping[str, Any] | None,
                    reference_loss: float | None = None) -> Reference:
    """L* and H from ``reference.json`` and the user's ``regimes.reference_loss`` (which wins:
    an explicit setting beats a default); L* stays None when neither gives one (the rules
    then use the study's best as a proxy)."""
    ref = reference_json or {}
    h = _finite(ref.get("prior_entropy"))
    prior = {"prior_entropy": h, "prior_source": "class frequencies of the training split"} \
        if h is not None and h > 0 else {}
    user = _finite(reference_loss)
    if reference_loss is not None and not (user is not None and user > 0):
        raise AnalysisError(f"regimes.reference_loss is {reference_loss!r}, but must be a "
                            "loss in nats > 0 (e.g. 0.6), or null for the Bayes loss or a proxy")
    bayes = _finite(ref.get("bayes_val_loss"))
    optimum = None
    if bayes is not None and bayes > 0:
        optimum = Reference(loss=bayes, se=_finite(ref.get("bayes_val_loss_se")),
                            source="bayes", train_loss=_finite(ref.get("bayes_train_loss")),
                            train_se=_finite(ref.get("bayes_train_loss_se")), **prior)
    if user is not None:
        return Reference(loss=user, source="user", bayes=optimum, **prior)
    return optimum or Reference(**prior)


# --- the reference against the trials: used by the regime rules (analysis.regimes) ---

def only_against_unreachable(row: pd.Series, ref: Reference, t: RegimeThresholds,
                              what: str) -> str | None:
    """Words when a user's L* lies below the Bayes loss of these jets (no classifier reaches
    it) and the loss judged underfit is not significantly above the Bayes loss: then the
    verdict rests on an unreachable bound. None when there is no such doubt."""
    if not ref.below_bayes:
        return None
    b = ref.bayes
    judged, judged_se = (row["val"], row["val_se"]) if what == "val loss" else (
        row["train"], row["train_se"])
    target, se_ref = (b.loss, b.se or 0.0) if what == "val loss" else b.train_reference
    vs = judge_diff(judged - target, target, judged_se ** 2 + se_ref ** 2, t,
                     t.underfit_tolerance, t.underfit_tolerance)
    if vs.significant:
        return None  # underfit against the Bayes loss too: the verdict stands
    jets = "training" if what == "train loss" and b.train_loss is not None else "validation"
    return (f"but L* lies below the Bayes-optimal loss {target:.4g} of the {jets} jets, which no "
            f"classifier beats, and against that the {what} is {vs.text}, within "
            f"{t.underfit_tolerance:.0%}: underfit only against an unreachable L*; set "
            f"regimes.reference_loss >= {b.loss:.4g}, or null")


def contradiction(s: pd.DataFrame, ref: Reference, t: RegimeThresholds
                   ) -> tuple[str, float, float] | None:
    """The trial whose best val loss lies furthest significantly below L* (beyond ``z``
    standard errors and ``underfit_tolerance``), or None: then L* is no lower bound."""
    if ref.loss is None or ref.source == "proxy":
        return None
    found = None
    usable = np.isfinite(s["min_val"]) & s["first_nonfinite_epoch"].isna() & ~(s["min_loss"] < 0)
    # equal losses (identical curves) name the trial proposed first, whatever the row order
    ordered = with_tie_keys(s[usable]).sort_values(list(TIE_KEYS), kind="mergesort")
    for _, row in ordered.iterrows():
        below = judge_diff(ref.loss - row["min_val"], ref.loss,
                            row["val_se"] ** 2 + (ref.se or 0.0) ** 2, t,
                            t.underfit_tolerance, t.underfit_tolerance)
        if below.significant and (found is None or row["min_val"] < found[1]):
            found = (str(row["trial_id"]), float(row["min_val"]), below.sigma)
    return found


#: How a proxy L* read from a curve of :data:`~jetstudy.analysis.curve_stats.SMOOTH` epochs or
#: more was taken.
_MEDIAN = (f"the lowest {SMOOTH}-epoch running median of its curve, so one low epoch is no "
           "yardstick")


def _proxy_basis(best: pd.Series) -> str:
    """How ``best``'s (a curve_summary row) min_val was read, in words: the curve's running
    median, its lowest epoch when the curve is too short for one, or the trials table's value
    when no curve was read (one epoch's value: a low fluctuation may set it)."""
    if not bool(best.get("has_curve", False)):
        return ("the lower of its best_val_loss and val_loss in the trials table; no epochs "
                "read, so one epoch's value: a low fluctuation may set it")
    n = best.get("n_logged", np.nan)
    if np.isfinite(n) and n < SMOOTH:
        return (f"its lowest epoch (a curve of {int(n)} epoch{'' if n == 1 else 's'}, too short "
                f"for a {SMOOTH}-epoch running median: a low fluctuation may set it)")
    return _MEDIAN


def proxy_reference(s: pd.DataFrame, ref: Reference, t: RegimeThresholds) -> Reference:
    """The study's best val loss of a stable trial, as a stand-in for L*."""
    stable = s["first_nonfinite_epoch"].isna() & np.isfinite(s["last_train"])
    stable &= s["last_train"] < (1 - t.prior_margin) * ref.prior_entropy
    stable &= ~(s["min_loss"] < 0)  # no cross-entropy: no yardstick
    candidates = s.loc[stable & np.isfinite(s["min_val"])]
    if candidates.empty:
        return ref
    # equal best losses (identical curves) go to the trial proposed first, not the first row
    ranked = with_tie_keys(candidates).sort_values(["min_val", *TIE_KEYS], kind="mergesort")
    best = ranked.iloc[0]
    se = float(best["val_se"])  # a measured loss: its noise enters every test against it
    after = None  # the best trial's own yardstick: the best of the others (never itself)
    if len(ranked) > 1:
        nxt = ranked.iloc[1]
        nxt_se = float(nxt["val_se"])
        after = (str(nxt["trial_id"]), float(nxt["min_val"]),
                 nxt_se if np.isfinite(nxt_se) and nxt_se > 0 else None)
    return Reference(loss=float(best["min_val"]), se=se if np.isfinite(se) and se > 0 else None,
                     source="proxy", prior_entropy=ref.prior_entropy,
                     prior_source=ref.prior_source, proxy_trial=str(best["trial_id"]),
                     proxy_basis=_proxy_basis(best),
                     proxy_alone=len(candidates) == 1, proxy_next=after)


def own_yardstick(row: pd.Series, ref: Reference) -> tuple[Reference, str]:
    """The reference a trial's bias is judged against, and the words naming its source: the
    proxy trial (the study's best) against the best val loss of the *other* stable trials,
    since against its own it would be good by construction; every other trial against
    ``ref`` itself."""
    if ref.source != "proxy" or ref.proxy_next is None or str(row["trial_id"]) != ref.proxy_trial:
        return ref, ref.source
    tid, loss, se = ref.proxy_next
    return (replace(ref, loss=loss, se=se),
            f"proxy: trial {tid}'s min_val_loss, the best of the other trials; its own would "
            "judge this trial against itself")
