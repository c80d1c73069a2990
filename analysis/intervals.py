"""Statistical uncertainties of the report's numbers, and printing them with honest digits.

Every efficiency, rejection, accuracy and AUC the report prints is measured on a finite set of
jets, so it comes with a counting error. This module holds the few estimators used:

- **binomial intervals** (Clopper-Pearson, exact and conservative, the HEP habit) for
  efficiencies, at 68.27% confidence (one sigma) unless asked otherwise; a rejection
  ``1 / eps_b`` takes its interval from the background jets passing the cut;
- the **binomial standard error** ``sqrt(p (1 - p) / n)`` for an accuracy;
- the **Hanley-McNeil** standard error of an AUC from the AUC and the two class counts;
- a **bootstrap** over test jets (fixed seed) for the test metrics, which also covers the
  macro AUC (its classes share jets) and model - Bayes differences measured on the same jets;
- :func:`format_error` / :func:`format_interval`: a value printed to the digits its error
  allows (PDG rounding: one or two significant figures of the error).

>>> format_error(0.75123, 0.00312)
'0.7512 ± 0.0031'
>>> format_rejection(3, 2400)
'800 [400, 2000] (only 3 bkg jets)'
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

import numpy as np

__all__ = ["ONE_SIGMA", "clopper_pearson", "binomial_se", "hanley_mcneil_se",
           "rejection_interval", "round_error", "format_error", "unsigned_zero", "signed",
           "percent", "round_to_error", "three_figures", "equal_digits", "shared_decimals",
           "digits_of_error", "rounded_apart_words",
           "format_interval", "format_efficiency",
           "format_rejection", "weighted_auc", "bootstrap_replicates", "FEW_BACKGROUND"]

#: Two-sided confidence level of "one sigma".
ONE_SIGMA = 0.6827

#: A rejection measured from this many background jets or fewer is printed with one
#: significant figure and flagged: its relative error is 40% or more.
FEW_BACKGROUND = 5


def clopper_pearson(k: int, n: int, cl: float = ONE_SIGMA) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a binomial fraction ``k / n``.

    Conservative: it covers the true fraction at least ``cl`` of the time for every true value.
    ``(nan, nan)`` when ``n`` is 0.
    """
    from scipy.stats import beta

    if n <= 0:
        return math.nan, math.nan
    if not 0 <= k <= n:
        raise ValueError(f"k is {k}, but must be in [0, n={n}]")
    alpha = 1.0 - cl
    lo = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def binomial_se(p: float | np.ndarray, n: float | None) -> float | np.ndarray:
    """Standard error ``sqrt(p (1 - p) / n)`` of a fraction measured on ``n`` trials (NaN
    when ``n`` is unknown or not positive).

    At ``p`` = 0 or 1 that formula says 0, as if 10 of 10 were exact; there the error is half
    the one-sigma Clopper-Pearson interval instead (``[0, 1 - 0.159^(1/n)]``: 0.083 for 10
    of 10), which the formula approaches for p inside (0, 1).
    """
    if n is None or not n > 0:
        return np.full_like(np.asarray(p, dtype=float), np.nan) if np.ndim(p) else math.nan
    p = np.asarray(p, dtype=float)
    se = np.sqrt(np.clip(p * (1 - p), 0, None) / n)
    edge = (1.0 - ((1.0 - ONE_SIGMA) / 2) ** (1.0 / n)) / 2  # half of [0, CP upper] at k = 0
    se = np.where((p <= 0) | (p >= 1), edge, se)
    return se if se.ndim else float(se)


def hanley_mcneil_se(auc: float, n_pos: float, n_neg: float) -> float:
    """Standard error of an AUC (Hanley & McNeil 1982, Radiology 143, 29), from the AUC and
    the numbers of signal and background jets; NaN when either is not positive.

    At an AUC of exactly 1 (or 0) the formula says 0, as if a perfect separation of 10 jets
    were certain; there the error is that of a fraction of 1 on the smaller class's jets
    (:func:`binomial_se`), a rough but honest bound.
    """
    if not (n_pos > 0 and n_neg > 0) or not np.isfinite(auc):
        return math.nan
    if auc >= 1 or auc <= 0:
        return float(binomial_se(1.0, min(n_pos, n_neg)))
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc)
           + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    return float(math.sqrt(max(var, 0.0)))


def rejection_interval(k: int, n: int, cl: float = ONE_SIGMA) -> tuple[float, float, float]:
    """Background rejection ``n / k`` and its interval ``(1 / eps_hi, 1 / eps_lo)``, from the
    ``k`` of ``n`` background jets that pass; ``inf`` where no jet passes (the value, and the
    upper end whenever the lower end of the efficiency is 0)."""
    lo, hi = clopper_pearson(k, n, cl)
    value = math.inf if k == 0 else n / k
    return value, 1.0 / hi, (math.inf if lo == 0 else 1.0 / lo)


def round_error(error: float) -> tuple[float, int]:
    """The error rounded as the PDG does, and the number of decimals to print.

    Three leading digits 100-354: two significant figures; 355-949: one; 950-999: rounded up
    to 1000 and kept with two. Decimals may be negative (round to tens, hundreds).
    """
    if not (np.isfinite(error) and error > 0):
        raise ValueError(f"error is {error!r}, but must be a finite number > 0")
    three = f"{error:.2e}"  # three decimal digits, free of binary noise
    mantissa, power = three.split("e")
    leading, exponent = int(mantissa.replace(".", "")), int(power)  # 100..999
    if leading >= 950:  # 0.95 -> 1.0: round(0.95, 1) gave 0.9 (0.95 is 0.9499... in binary)
        exponent += 1
        return 10.0 ** exponent, 1 - exponent
    figures = 2 if leading <= 354 else 1
    decimals = figures - 1 - exponent
    # half up on the decimal digits (0.0125 -> 0.013), not on the binary value (0.012)
    rounded = Decimal(three).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return float(rounded), decimals


def _fixed(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}" if decimals > 0 else f"{round(value, decimals):.0f}"
    # a value that rounds to zero has no sign (model - Bayes of -0.0001 ± 0.004 is 0.000)
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def unsigned_zero(text: str) -> str:
    """``text`` without the sign of a number that prints as zero (``-0``, ``+0.000``, ``-0%``):
    a zero has no sign, and a reader takes ``-0.000`` for a small negative value."""
    return text[1:] if text[:1] in "+-" and not text[1:].strip("0.%") else text


def signed(value: float, spec: str = "+.3g") -> str:
    """``format(value, spec)`` with no sign on a zero (:func:`unsigned_zero`); a ``g`` format
    keeps the trailing zeros its rounding made, as :func:`three_figures` does (+0.09996 is
    ``+0.100``, not ``+0.1``, which reads as exact).

    >>> signed(0.09996), signed(0.1), signed(-0.0), signed(0.0406, "+.1f")
    ('+0.100', '+0.1', '0', '0.0')
    """
    text = format(value, spec)
    short = re.fullmatch(r"([+ -]?)(\.\d+g)", spec)
    if short and np.isfinite(value) and float(text) != value:
        text = format(value, f"{short[1]}#{short[2]}").rstrip(".")
    return unsigned_zero(text)


def percent(fraction: float) -> str:
    """A signed relative difference in percent, with the digits it needs: ``+17%``, ``+0.4%``
    (not ``+0%`` for a 0.4% gap), ``0%`` for none, never ``-0%``.

    >>> percent(0.1666), percent(0.004), percent(0.005), percent(-0.0), percent(-0.00004)
    ('+17%', '+0.4%', '+0.5%', '0%', '-0.004%')
    """
    if not np.isfinite(fraction):
        return f"{fraction:+}"
    if fraction == 0 or abs(fraction) >= 0.01:  # below 1%, ".0%" may round to 0 (0.5% -> +0%)
        return unsigned_zero(f"{fraction:+.0%}")
    return f"{fraction * 100:+.1g}%"


def round_to_error(value: float, error: float | None) -> float:
    """``value`` rounded to the decimal its error allows (:func:`round_error`), as a number
    for a table (regimes.csv); 4 significant figures without a positive error; never -0.0.

    >>> round_to_error(0.623456, 0.0031), round_to_error(-0.00001, 0.004), round_to_error(12.3456, None)
    (0.6235, 0.0, 12.35)
    """
    if value is None or not np.isfinite(value) or value == 0:
        return math.nan if value is None else float(value) + 0.0
    if error is not None and np.isfinite(error) and error > 0:
        decimals = round_error(float(error))[1]
    else:
        decimals = 3 - math.floor(math.log10(abs(value)))
    return round(float(value), decimals) + 0.0


def three_figures(value: float) -> str:
    """``value`` to 3 significant figures, keeping the trailing zeros that rounding made
    (``1.005`` is ``1.00``, not ``1``, which reads as exact); a value that is exactly what
    the short form says stays short (``0.62``, ``0.6``).

    >>> three_figures(1.005), three_figures(0.62), three_figures(0.6), three_figures(0.82249)
    ('1.00', '0.62', '0.6', '0.822')
    """
    short = f"{value:.3g}"
    if not np.isfinite(value) or float(short) == value:
        return short
    return f"{value:#.3g}".rstrip(".")


def shared_decimals(*values: float) -> int:
    """The decimals that give the largest of ``values`` (by size; zeros and NaN ignored, 1.0
    when none is left) 4 significant figures: one rule for numbers printed side by side
    without errors (two scores and their difference), so their digits never differ by trailing
    zeros (0.6010 against 0.6000) and a difference has no digits the scores lack (0.0073
    below 0.8243, never 0.007293).

    >>> shared_decimals(0.8243, 0.817, 0.0073), shared_decimals(12.5, 0.3), shared_decimals(0.0)
    (4, 2, 3)
    """
    top = max((abs(v) for v in values if math.isfinite(v) and v != 0), default=1.0)
    return max(0, 3 - math.floor(math.log10(top)))


def equal_digits(*values: float) -> list[str]:
    """``values`` printed to :func:`shared_decimals` decimals, without a sign on a zero.

    >>> equal_digits(0.601, 0.6, 0.001)
    ['0.6010', '0.6000', '0.0010']
    """
    decimals = shared_decimals(*values)
    return [unsigned_zero(f"{v:.{decimals}f}") for v in values]


def digits_of_error(error: float | None, *values: float) -> list[str]:
    """``values`` printed to the decimals of ``error`` (:func:`round_error`), as a value
    printed ``value ± error`` beside them shows: a range of repeats beside a pick printed
    0.628 ± 0.007 reads ``from 0.628 to 0.717``, never ``from 0.6278 to 0.7165`` (digits the
    pick's noise does not allow); :func:`equal_digits` when the error is unknown.

    >>> digits_of_error(0.0071, 0.62784, 0.71649), digits_of_error(None, 0.601, 0.6)
    (['0.628', '0.716'], ['0.6010', '0.6000'])
    """
    if error is None or not (np.isfinite(error) and error > 0):
        return equal_digits(*values)
    decimals = round_error(float(error))[1]
    return [_fixed(float(v), decimals) for v in values]


def format_error(value: float, error: float | None) -> str:
    """``value ± error`` with the error rounded by :func:`round_error` and the value to the same
    decimal; the value alone (4 significant figures) when the error is unknown."""
    if value is None or not np.isfinite(value):
        return "-"
    if error is None or not (np.isfinite(error) and error > 0):
        return unsigned_zero(f"{value:.4g}")
    err, decimals = round_error(error)
    return f"{_fixed(value, decimals)} ± {_fixed(err, decimals)}"


def format_measured(value: float, error: float | None) -> str:
    """``value ± error`` as :func:`format_error`; a value whose error is 0 (a bootstrap without
    spread: every resampling gave it, e.g. the AUC 0.5 of a constant classifier) or unknown
    keeps 4 significant figures with their zeros (0.5000, never a bare 0.5 beside
    0.951 ± 0.010)."""
    if error is not None and np.isfinite(error) and error > 0:
        return format_error(value, error)
    if value is None or not np.isfinite(value) or value == 0:
        return format_error(value, None)
    return _significant(float(value), 4)


def _significant(value: float, figures: int, way: str = "nearest") -> str:
    """``value`` to ``figures`` significant figures, in plain notation (800, 0.04, 1.5);
    ``way`` ``down`` or ``up`` rounds toward -inf or +inf instead of to the nearest: the
    ends of an interval go outward, so rounding never shrinks it (a limit of 259 is "> 200",
    not "> 300")."""
    if value == 0 or not np.isfinite(value):
        return f"{value:g}"
    decimals = figures - 1 - math.floor(math.log10(abs(value)))
    if way == "nearest":
        rounded = round(value, decimals)
    else:
        step = Decimal(1).scaleb(-decimals)
        exact = Decimal(repr(value)).quantize(step, rounding=ROUND_FLOOR if way == "down"
                                              else ROUND_CEILING)
        rounded = float(exact)  # never 0: the value has a digit in this decade
    decimals = figures - 1 - math.floor(math.log10(abs(rounded)))  # 9.6 -> 10 gains a digit
    return _fixed(rounded, decimals)


def format_interval(value: float, lo: float, hi: float, figures: int | None = None) -> str:
    """``value [lo, hi]``; digits from the shorter side of the interval (PDG rounding), or
    ``figures`` significant figures for all three when given (the ends rounded outward)."""
    if not np.isfinite(value):
        return "-" if np.isnan(value) else "inf"
    hi_text = "inf" if math.isinf(hi) else None
    if figures is not None:
        parts = [_significant(value, figures), _significant(lo, figures, "down")]
        hi_text = hi_text or _significant(hi, figures, "up")
        return f"{parts[0]} [{parts[1]}, {hi_text}]"
    sides = [d for d in (value - lo, hi - value) if np.isfinite(d) and d > 0]
    if not sides:
        return f"{value:.4g} [{lo:.4g}, {hi_text or f'{hi:.4g}'}]"
    _, decimals = round_error(min(sides))
    hi_text = hi_text or _fixed(hi, decimals)
    return f"{_fixed(value, decimals)} [{_fixed(lo, decimals)}, {hi_text}]"


def format_efficiency(k: int, n: int, cl: float = ONE_SIGMA) -> str:
    """``k / n`` with its Clopper-Pearson interval, e.g. ``0.634 [0.620, 0.648]``."""
    if n <= 0:
        return "-"
    lo, hi = clopper_pearson(k, n, cl)
    return format_interval(k / n, lo, hi)


def format_rejection(k: int, n: int, cl: float = ONE_SIGMA) -> str:
    """Background rejection from ``k`` of ``n`` background jets passing, with its interval.

    No jet passing gives a lower limit; 1 to :data:`FEW_BACKGROUND` jets give one significant
    figure and a flag, since the value is then known to a factor of about two at best.
    """
    if n <= 0:
        return "-"
    value, lo, hi = rejection_interval(k, n, cl)
    if k == 0:
        return f"> {_significant(lo, 1, 'down')} (no bkg jet passes)"
    if k <= FEW_BACKGROUND:
        jets = "jet" if k == 1 else "jets"
        return f"{format_interval(value, lo, hi, figures=1)} (only {k} bkg {jets})"
    return format_interval(value, lo, hi)


def weighted_auc(is_signal: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> float:
    """AUC with a weight per jet (ties count one half), the Mann-Whitney statistic of
    :func:`jetstudy.trainables.metrics.roc_auc` with weights; NaN when a class has no weight."""
    order = np.argsort(scores, kind="mergesort")
    return _sorted_auc(np.asarray(is_signal, bool)[order], *_runs(np.asarray(scores)[order]),
                       np.asarray(weights, float)[order])


def _runs(sorted_scores: np.ndarray) -> tuple[np.ndarray, int]:
    """Run index of each sorted score (equal scores share one) and the number of runs."""
    run = np.concatenate(([0], np.cumsum(np.diff(sorted_scores) != 0)))
    return run, int(run[-1]) + 1 if run.size else 0


def _sorted_auc(sig: np.ndarray, run: np.ndarray, n_runs: int, w: np.ndarray) -> float:
    w_sig = np.where(sig, w, 0.0)
    w_bkg = w - w_sig
    total_sig, total_bkg = w_sig.sum(), w_bkg.sum()
    if total_sig <= 0 or total_bkg <= 0:
        return math.nan
    if n_runs == len(w):  # no tied scores (the usual case): every jet is its own run
        bkg_run, sig_run = w_bkg, w_sig
    else:
        bkg_run = np.bincount(run, weights=w_bkg, minlength=n_runs)
        sig_run = np.bincount(run, weights=w_sig, minlength=n_runs)
    below = np.cumsum(bkg_run) - bkg_run
    return float(np.sum(sig_run * (below + 0.5 * bkg_run)) / (total_sig * total_bkg))


def bootstrap_replicates(
    labels: np.ndarray, probs: Mapping[str, np.ndarray], n_boot: int = 200, seed: int = 0,
    eps: float = 1e-12,
) -> dict[str, dict[str, np.ndarray]]:
    """Metrics of each classifier in ``probs`` on ``n_boot`` resamplings of the jets.

    Every classifier sees the same resampled jets in each replicate, so differences between
    them (model - Bayes) get their paired error from the replicates too. Returns, per
    classifier, arrays of length ``n_boot`` for ``accuracy``, ``log_loss``, ``auc_macro`` and
    ``auc_<k>`` (class index k). A resampling is drawn as multiplicity weights, so each
    class's scores are sorted once: about a second for 10^5 jets and 200 replicates.

    The macro AUC of a replicate averages the same classes as the full sample's (those with
    jets in it and jets outside it): a replicate that loses one of them (a class of one jet
    is lost by ~37% of them) has no macro AUC (NaN), never a mean over fewer classes, which
    would mix a 4-class and a 5-class mean in one spread.
    """
    if n_boot < 2:
        raise ValueError(f"n_boot is {n_boot}, but must be >= 2; e.g. 200")
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    rng = np.random.default_rng(seed)
    prepared = {}
    for name, p in probs.items():
        p = np.asarray(p, dtype=float)
        correct = (np.argmax(p, axis=1) == labels).astype(float)
        nll = -np.log(np.clip(p[np.arange(n), labels], eps, 1.0))
        classes = []
        for c in range(p.shape[1]):
            order = np.argsort(p[:, c], kind="mergesort")
            classes.append((order, labels[order] == c, *_runs(p[order, c])))
        prepared[name] = (correct, nll, classes)
    n_classes = max((p.shape[1] for p in map(np.asarray, probs.values())), default=0)
    present = [c for c in range(n_classes) if 0 < int((labels == c).sum()) < n]
    out = {name: {"accuracy": np.empty(n_boot), "log_loss": np.empty(n_boot),
                  "auc_macro": np.empty(n_boot),
                  **{f"auc_{c}": np.empty(n_boot) for c in range(len(classes))}}
           for name, (_, _, classes) in prepared.items()}
    for b in range(n_boot):
        w = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        for name, (correct, nll, classes) in prepared.items():
            rep = out[name]
            # np.sum, not w @ x: a BLAS call per replicate is slow where threads are scarce
            rep["accuracy"][b] = np.sum(w * correct) / n
            rep["log_loss"][b] = np.sum(w * nll) / n
            aucs = [_sorted_auc(sig, run, n_runs, w[order])
                    for order, sig, run, n_runs in classes]
            for c, a in enumerate(aucs):
                rep[f"auc_{c}"][b] = a
            kept = [aucs[c] for c in present]
            rep["auc_macro"][b] = (float(np.mean(kept)) if kept and np.isfinite(kept).all()
                                   else math.nan)
    return out


def rounded_apart_words(shown: list[str], lead: str, a: float, b: float) -> str:
    """A clause when two scores as printed (``shown``, ``value ± error`` or bare) differ by
    other than the printed difference ``lead`` (it is the unrounded scores' difference:
    0.694 and 0.684 printed, "leads by 0.009"): ``a`` and ``b`` to two more decimals, so a
    reader subtracting them finds the difference; else nothing. The runner-up line's and the
    Pareto notes' one rule."""
    def number(text: str) -> float:
        return float(text.split(" ± ")[0].replace("\u2212", "-"))

    lead_text = lead.split(" ± ")[0]
    decimals = len(lead_text.split(".")[1]) if "." in lead_text else 0
    try:
        apart = abs(number(shown[0]) - number(shown[1]))
        printed = abs(number(lead))
    except ValueError:  # a format without a plain number: nothing to compare
        return ""
    # equal, unless both read 0 for a lead that is not (0.805 against 0.805, 'leads by
    # 0.000 ± 0.018': which scored higher was nowhere to be read)
    if round(apart, decimals) == round(printed, decimals) and printed != 0:
        return ""
    if float(a) == float(b):
        return ""
    more = decimals + 2
    return (f" (the unrounded scores, {float(a):.{more}f} and {float(b):.{more}f}; those "
            "shown are rounded)")
