"""The synthetic jets' model and its exact Bayes posterior (:mod:`jetstudy.trainables.synth`
samples it and writes the files; its docstring says why the posterior is exact and how the
model was calibrated). Kept apart so the numbers that define the classes, the generator's
version and the posterior that must match them live in one place.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr, logit, logsumexp

from jetstudy.trainables.errors import DataError
from jetstudy.trainables.schema import HLF_FEATURES

__all__ = ["GENERATOR_VERSION", "bayes_posterior", "class_priors"]

#: Bump when any parameter below changes: the posterior is only exact for its own version.
GENERATOR_VERSION: int = 2
_CHUNK = 32_768  # rows per step of bayes_posterior
_PRIORS = np.array([0.20125, 0.195, 0.20125, 0.20125, 0.20125])  # g q W Z t: quark a bit low

# Latent dims: the 16 HLF minus the duplicated j_d2_b1_mmdt (HLF column 6), multiplicity last.
_CONT_COLS = np.array([0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14])  # HLF column of dim 0..13
_D2_COPY, _D2_SOURCE, _MULT_COL = 6, 8, 15
# Open support (lo, hi) of the 14 continuous features, from the schema's range table.
_LO = np.array([-4.5, 0.1] + [0.0] * 12)
_HI = np.array([-0.5, 0.5, 0.15, 0.065, 0.2, 0.1, 6.0, 3.5, 0.36, 0.18, 0.12, 0.45, 0.33, 400.0])
_M_LO, _M_N = 5, 166  # multiplicity takes the integers 5..170

# One row per mixture component: class, weight within class, then the typical value of each of
# the 15 features (x scale). Order: zlogz c1_b0 c1_b1 c1_b2 c2_b1 c2_b2 d2_b2 d2_a1_b1 d2_a1_b2
# m2_b1 m2_b2 n2_b1 n2_b2 mass_mmdt multiplicity. Values follow the schema table and real jets.
# W, Z and top each have a "one-prong" component, a copy of the light-quark core: jets whose
# grooming dropped the other prongs (mMDT mass near 0), as in the real files' low-mass tails.
# These jets are confidently mistaken for quarks, which costs AUC more than accuracy, as real
# jets do; they make q the hardest class.
_ONE_PRONG = [-2.6, .40, .003, 5e-5, .004, 5e-5, 1.2, 1.2, .21, .10, .060, .33, .20, 10, 36]
_COMPONENTS = [
    (0, 0.76, [-3.3, .46, .035, 8e-3, .050, 8e-3, 1.3, 1.4, .22, .090, .050, .37, .25, 70, 58]),
    (0, 0.07, [-3.6, .47, .070, .020, .090, .020, 1.4, 1.4, .23, .10, .050, .37, .25, 150, 95]),
    (0, 0.17, [-3.0, .42, .003, 5e-5, .004, 6e-5, 1.2, 1.3, .20, .090, .050, .34, .21, 6, 45]),
    (1, 0.80, _ONE_PRONG),
    (1, 0.20, [-3.2, .455, .032, 7e-3, .045, 6.5e-3, 1.3, 1.37, .22, .090, .050, .37, .25, 62, 53]),
    (2, 0.88, [-2.8, .46, .040, 6e-3, .030, 1.5e-3, .20, .90, .090, .050, .010, .17, .040, 80, 37]),
    (2, 0.12, _ONE_PRONG),
    (3, 0.82, [-2.8, .465, .045, 8e-3, .035, 2e-3, .22, .95, .095, .052, .012, .18, .045, 91, 39]),
    (3, 0.18, _ONE_PRONG),
    (4, 0.78, [-3.3, .47, .085, .025, .10, .025, 1.0, 1.3, .23, .10, .050, .31, .21, 165, 58]),
    (4, 0.16, [-3.1, .46, .050, .012, .070, .010, .50, 1.1, .15, .070, .025, .23, .10, 80, 52]),
    (4, 0.06, _ONE_PRONG),
]
# Latent standard deviations: a base per feature times, per component (same row order), a scale;
# then that component's own mass and multiplicity widths, which set the peaks' sharpness.
_WIDTH_BASE = np.array([.5, .8, .5, .6, .6, .6, .5, .4, .4, .4, .5, .6, .6, 0, 0])
_Q_WIDTHS = (1.0, .8, .25)
_COMPONENT_WIDTHS = [(1.0, .9, .45), (1.0, .3, .35), (1.0, .6, .3), _Q_WIDTHS, (1.0, .9, .41),
                     (1.0, .07, .25), _Q_WIDTHS, (1.0, .07, .25), _Q_WIDTHS,
                     (.94, .28, .35), (.75, .18, .3), _Q_WIDTHS]
# Global factor on the non-mass widths: with the one-prong fractions, the knob that sets the
# Bayes AUCs and accuracy. At 2.5 no feature's density is bimodal (a logit-normal turns bimodal
# when its latent width passes about 1.4 near the middle of the range).
_SPREAD = 2.5
# Shared correlation of the latent dims from three loadings: "jet size" (mass, c1, c2,
# multiplicity up, zlogz down), "QCD-likeness" (d2, m2, n2 up) and the beta=2 family.
_LOADINGS = np.array([
    [-.5, .3, .8, .8, .7, .7, 0, 0, 0, .2, .2, .2, .2, .6, .4],
    [0, 0, 0, 0, .2, .2, .7, .6, .6, .6, .7, .8, .8, 0, 0],
    [0, 0, 0, .4, 0, .4, .4, 0, .4, 0, .4, 0, .4, 0, 0],
]).T


def _build_params() -> dict[str, np.ndarray]:
    """Turn the tables above into latent means, covariances and posterior helpers."""
    load = _LOADINGS * np.minimum(1.0, 0.9 / np.linalg.norm(_LOADINGS, axis=1))[:, None]
    corr = load @ load.T
    np.fill_diagonal(corr, 1.0)
    mus, covs = [], []
    for (_, _, centre), (scale, w_mass, w_mult) in zip(_COMPONENTS, _COMPONENT_WIDTHS):
        c = np.asarray(centre, dtype=np.float64)
        mu = np.empty(15)
        mu[:14] = logit((c[:14] - _LO) / (_HI - _LO))
        mu[14] = logit((c[14] - _M_LO + 0.5) / _M_N)
        std = _WIDTH_BASE * _SPREAD * scale
        std[13], std[14] = w_mass, w_mult
        mus.append(mu)
        covs.append(corr * np.outer(std, std))
    cov = np.array(covs)
    szz, szw, sww = cov[:, :14, :14], cov[:, :14, 14], cov[:, 14, 14]
    chol_zz = np.linalg.cholesky(szz)
    beta = np.linalg.solve(szz, szw[..., None])[..., 0]  # E[w | z] = mu_w + (z - mu_z) @ beta
    white = np.linalg.inv(chol_zz).transpose(0, 2, 1)  # (z - mu_z) @ white[k] ~ N(0, I)
    mu = np.array(mus)
    return {
        "mu": mu, "chol": np.linalg.cholesky(cov),
        # all components at once: z @ white_all - white_off, split in blocks of 14 per component
        "white_all": np.concatenate(list(white), axis=1),
        "white_off": np.einsum("ki,kij->kj", mu[:, :14], white).ravel(),
        "logdet_half": np.log(np.diagonal(chol_zz, axis1=1, axis2=2)).sum(axis=1),
        "beta_all": beta.T, "beta_off": mu[:, 14] - np.einsum("ki,ki->k", mu[:, :14], beta),
        "cond_sd": np.sqrt(sww - np.einsum("ki,ki->k", szw, beta)),
        "cls": np.array([c for c, _, _ in _COMPONENTS]),
        "logw": np.log([w for _, w, _ in _COMPONENTS]),
    }


_P = _build_params()


def class_priors() -> np.ndarray:
    """Class probabilities (5,) in ``schema.CLASSES`` order; a copy, safe to modify."""
    return _PRIORS.copy()


def _log_diff_ndtr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``log(Phi(b) - Phi(a))`` for ``a < b``, accurate in both tails."""
    upper = a > 0  # use the survival function there: Phi(b) - Phi(a) = Phi(-a) - Phi(-b)
    big = log_ndtr(np.where(upper, -a, b))
    small = log_ndtr(np.where(upper, -b, a))
    with np.errstate(divide="ignore", invalid="ignore"):  # log(1 - e^d), d <= 0: abs error ~1e-16
        return big + np.log(-np.expm1(small - big))


def _component_loglik(z: np.ndarray, w_lo: np.ndarray, w_hi: np.ndarray) -> np.ndarray:
    """log(weight * N(z; mu, S_zz) * P(m | z)) per component (rows, K), without the shared
    ``-7 log(2 pi)`` and the transform's Jacobian, both of which cancel in the posterior."""
    white = (z @ _P["white_all"] - _P["white_off"]).reshape(len(z), len(_COMPONENTS), 14)
    maha = np.einsum("nkd,nkd->nk", white, white)
    mean_w, sd = z @ _P["beta_all"] + _P["beta_off"], _P["cond_sd"]
    log_pm = _log_diff_ndtr((w_lo[:, None] - mean_w) / sd, (w_hi[:, None] - mean_w) / sd)
    return _P["logw"] - 0.5 * maha - _P["logdet_half"] + log_pm


def bayes_posterior(x16: np.ndarray) -> np.ndarray:
    """Exact ``P(class | x)`` (n, 5) for raw HLF rows (n, 16) in ``HLF_FEATURES`` order.

    Valid for data from this generator version, any seed. ``j_d2_b1_mmdt`` (column 6) is taken to
    equal ``j_d2_a1_b1_mmdt`` and is not read. Rows outside the generator's support (a feature
    outside its range, a non-integer multiplicity, NaN) have density zero under every class and
    get a NaN row. Vectorised, log-sum-exp throughout.
    """
    x = np.asarray(x16, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(HLF_FEATURES):
        raise DataError(f"bayes_posterior needs raw HLF rows of shape (n, {len(HLF_FEATURES)}), "
                        f"got {x.shape}; select the columns schema.HLF_FEATURES in that order")
    u = (x[:, _CONT_COLS] - _LO) / (_HI - _LO)
    m = np.rint(x[:, _MULT_COL])
    with np.errstate(invalid="ignore"):
        ok = (np.all((u >= 0) & (u <= 1), axis=1) & (np.abs(x[:, _MULT_COL] - m) < 1e-3)
              & (m >= _M_LO) & (m < _M_LO + _M_N))
    # a stored value can only sit on a bound through float32 rounding: nudge it inside
    z = logit(np.clip(np.nan_to_num(u, nan=0.5), np.finfo(float).tiny, np.nextafter(1.0, 0.0)))
    m = np.where(ok, m, _M_LO)
    with np.errstate(divide="ignore"):
        w_lo, w_hi = logit((m - _M_LO) / _M_N), logit((m - _M_LO + 1) / _M_N)
    ll = np.empty((len(x), len(_COMPONENTS)))
    for start in range(0, len(x), _CHUNK):  # chunks bound the (rows, 14 * K) temporaries
        rows = slice(start, start + _CHUNK)
        ll[rows] = _component_loglik(z[rows], w_lo[rows], w_hi[rows])
    log_joint = np.stack([logsumexp(ll[:, _P["cls"] == c], axis=1) for c in range(5)], axis=1)
    log_joint += np.log(_PRIORS)
    post = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
    post[~ok] = np.nan
    return post
