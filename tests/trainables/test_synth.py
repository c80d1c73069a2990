"""The synthetic generator keeps its promises: an exact posterior, the schema's shapes, Format A.

Expected values come from ``shared/hls4ml_schema.md`` (the per-class table) and from probability
theory (a true posterior is calibrated: among jets it gives probability p, a fraction p is of
that class), never from a run of the generator.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from jetstudy.trainables import synth
from jetstudy.trainables.errors import DataError
from jetstudy.trainables.metrics import accuracy
from jetstudy.trainables.schema import (
    CLASSES,
    HLF_FEATURES,
    JET_FEATURE_NAMES,
    LABEL_COLUMNS,
    PARTICLE_FEATURE_NAMES,
)

G, Q, W, Z, T = range(5)
COL = {name: i for i, name in enumerate(HLF_FEATURES)}
JCOL = {name: i for i, name in enumerate(JET_FEATURE_NAMES)}


# Feature ranges of the schema table (closed: a float32 value may round onto a bound).
SCHEMA_RANGES = {
    "j_zlogz": (-4.5, -0.5), "j_c1_b0_mmdt": (0.1, 0.5), "j_c1_b1_mmdt": (0.0, 0.15),
    "j_c1_b2_mmdt": (0.0, 0.065), "j_c2_b1_mmdt": (0.0, 0.2), "j_c2_b2_mmdt": (0.0, 0.1),
    "j_d2_b1_mmdt": (0.0, 3.5), "j_d2_b2_mmdt": (0.0, 6.0), "j_d2_a1_b1_mmdt": (0.0, 3.5),
    "j_d2_a1_b2_mmdt": (0.0, 0.36), "j_m2_b1_mmdt": (0.0, 0.18), "j_m2_b2_mmdt": (0.0, 0.12),
    "j_n2_b1_mmdt": (0.0, 0.45), "j_n2_b2_mmdt": (0.0, 0.33), "j_mass_mmdt": (0.0, 400.0),
    "j_multiplicity": (5, 170),
}
# Typical per-class values of the schema table, checked on the class median: within a factor
# 2 for the scale-like features, within an absolute margin for zlogz and c1_b0.
SCHEMA_TYPICAL = [
    ("j_zlogz", "gt", -3.3), ("j_zlogz", "WZ", -2.8), ("j_zlogz", "q", -2.6),
    ("j_c1_b0_mmdt", "gqWZt", 0.465), ("j_c1_b1_mmdt", "W", 0.04), ("j_c1_b1_mmdt", "Z", 0.045),
    ("j_c1_b1_mmdt", "t", 0.09), ("j_c1_b2_mmdt", "t", 0.03), ("j_c2_b1_mmdt", "WZ", 0.03),
    ("j_c2_b1_mmdt", "t", 0.12), ("j_c2_b2_mmdt", "t", 0.03), ("j_d2_b1_mmdt", "gqWZt", 1.25),
    ("j_d2_b2_mmdt", "WZ", 0.2), ("j_d2_b2_mmdt", "t", 1.0), ("j_d2_b2_mmdt", "gq", 1.3),
    ("j_d2_a1_b2_mmdt", "WZ", 0.09), ("j_d2_a1_b2_mmdt", "t", 0.23),
    ("j_m2_b1_mmdt", "WZ", 0.05), ("j_m2_b1_mmdt", "t", 0.1), ("j_m2_b2_mmdt", "WZ", 0.01),
    ("j_m2_b2_mmdt", "gqt", 0.05), ("j_n2_b1_mmdt", "WZ", 0.175), ("j_n2_b1_mmdt", "t", 0.3),
    ("j_n2_b1_mmdt", "gq", 0.375), ("j_n2_b2_mmdt", "WZ", 0.04), ("j_n2_b2_mmdt", "t", 0.2),
    ("j_n2_b2_mmdt", "gq", 0.25),
]


@pytest.fixture(scope="module")
def jets() -> tuple[np.ndarray, np.ndarray]:
    return synth.sample_jets(60_000, seed=2024)


@pytest.fixture(scope="module")
def posterior(jets: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return synth.bayes_posterior(jets[0])


def calibration_z(hit: np.ndarray, prob: np.ndarray) -> float:
    """(observed - expected hits) in standard errors, for Bernoulli(prob) hits."""
    return float((hit.sum() - prob.sum()) / np.sqrt(np.sum(prob * (1 - prob))))


# --- the posterior -----------------------------------------------------------------------------


def test_posterior_rows_are_probability_distributions(jets, posterior) -> None:
    assert posterior.shape == (len(jets[0]), 5)
    assert np.isfinite(posterior).all() and (posterior >= 0).all()
    np.testing.assert_allclose(posterior.sum(axis=1), 1.0, atol=1e-9)


def test_argmax_accuracy_equals_mean_confidence(jets, posterior) -> None:
    y = jets[1]
    hit = posterior.argmax(axis=1) == y
    assert abs(calibration_z(hit, posterior.max(axis=1))) < 4
    # the check has power: a sharpened (overconfident) posterior fails it
    sharp = posterior**3 / np.sum(posterior**3, axis=1, keepdims=True)
    assert abs(calibration_z(sharp.argmax(axis=1) == y, sharp.max(axis=1))) > 8


@pytest.mark.parametrize("c", range(5), ids=CLASSES)
def test_posterior_is_calibrated_per_class(jets, posterior, c: int) -> None:
    p, hit = posterior[:, c], jets[1] == c
    edges = [0, 0.02, 0.1, 0.25, 0.4, 0.6, 0.75, 0.9, 0.98, 1.0]
    tested = 0
    for lo, hi in zip(edges[:-1], edges[1:]):
        in_bin = (p >= lo) & (p <= hi)
        if in_bin.sum() >= 200:
            tested += 1
            z = calibration_z(hit[in_bin], p[in_bin])
            assert abs(z) < 4.5, f"class {CLASSES[c]}, p in [{lo}, {hi}]: {z:.1f} std errors off"
    assert tested >= 6


@pytest.mark.parametrize("name", HLF_FEATURES)
def test_posterior_is_calibrated_given_each_feature(jets, posterior, name: str) -> None:
    """E[1{y = c} - P(c | x) | bin of x_f] = 0 for the exact posterior, whatever the feature.

    Plain calibration would not notice a posterior that ignores a feature (it is still a
    calibrated posterior given less); calibration within bins of that feature does.
    """
    x, y = jets
    values = x[:, COL[name]]
    edges = np.unique(np.quantile(values, [0.2, 0.4, 0.6, 0.8]))
    bins = np.searchsorted(edges, values)
    for b in np.unique(bins):
        for c in range(5):
            z = calibration_z(y[bins == b] == c, posterior[bins == b, c])
            assert abs(z) < 4.5, f"class {CLASSES[c]}, {name} bin {b}: {z:.1f} std errors off"


def test_calibrated_within_bins_of_max_posterior(jets, posterior) -> None:
    pmax, hit = posterior.max(axis=1), posterior.argmax(axis=1) == jets[1]
    for lo, hi in [(0.2, 0.5), (0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 0.97),
                   (0.97, 1.0)]:
        in_bin = (pmax >= lo) & (pmax <= hi)
        assert in_bin.sum() >= 500
        assert abs(calibration_z(hit[in_bin], pmax[in_bin])) < 4.5, (lo, hi)


# Published one-vs-rest AUCs of the 16-HLF DNN on real jets (Moreno et al., "JEDI-net",
# EPJC 80 (2020) 58, arXiv 1908.05318; copied in shared/hls4ml_schema.md). The Bayes optimum on
# synthetic jets must sit at or just above them: never easier than real jets by more than 0.02.
REAL_DNN_AUC = {"g": 0.938, "q": 0.903, "W": 0.954, "Z": 0.946, "t": 0.962}
AUC_BAND = (0.0, 0.02)


@pytest.fixture(scope="module")
def big_sample() -> tuple[np.ndarray, np.ndarray]:
    """400k jets: the AUCs' sampling spread (about 0.0005) is far inside the 0.02 band."""
    x, y = synth.sample_jets(400_000, seed=31)
    return y, synth.bayes_posterior(x)


@pytest.mark.parametrize("c", range(5), ids=CLASSES)
def test_bayes_auc_sits_just_above_the_published_real_dnn(big_sample, c: int) -> None:
    y, post = big_sample
    auc = roc_auc_score(y == c, post[:, c])
    ref = REAL_DNN_AUC[CLASSES[c]]
    assert ref + AUC_BAND[0] <= auc <= ref + AUC_BAND[1], (
        f"class {CLASSES[c]}: Bayes AUC {auc:.4f}, real DNN {ref}; the generator must be "
        f"at most {AUC_BAND[1]} easier than real jets")


def test_quark_is_the_hardest_class_and_top_the_easiest(big_sample) -> None:
    y, post = big_sample
    aucs = [roc_auc_score(y == c, post[:, c]) for c in range(5)]
    assert int(np.argmin(aucs)) == Q and int(np.argmax(aucs)) == T, aucs


def test_bayes_accuracy_is_in_the_target_band(big_sample) -> None:
    """Near 0.78-0.80: a little above the real DNN's 0.75-0.77, as the Bayes optimum must be."""
    y, post = big_sample
    assert 0.77 <= accuracy(y, post) <= 0.81


def test_no_single_feature_comes_close_to_bayes(jets, posterior) -> None:
    """A 40-bin histogram classifier on any one feature stays far below the Bayes accuracy."""
    x, y = jets
    half = len(y) // 2
    best = 0.0
    for i in range(x.shape[1]):
        edges = np.unique(np.quantile(x[:half, i], np.linspace(0, 1, 41)[1:-1]))
        b_train, b_test = np.searchsorted(edges, x[:half, i]), np.searchsorted(edges, x[half:, i])
        counts = np.zeros((len(edges) + 1, 5))
        np.add.at(counts, (b_train, y[:half]), 1)
        best = max(best, float(np.mean(counts.argmax(axis=1)[b_test] == y[half:])))
    assert best <= accuracy(y, posterior) - 0.1


def test_posterior_of_out_of_support_rows_is_nan_and_bad_shapes_raise(jets) -> None:
    rows = np.repeat(jets[0][:1].astype(np.float64), 4, axis=0)
    rows[1, COL["j_mass_mmdt"]] = 450.0  # above the mass range
    rows[2, COL["j_multiplicity"]] = 36.5  # not an integer
    rows[3, COL["j_multiplicity"]] = 171.0  # above the multiplicity range
    post = synth.bayes_posterior(rows)
    assert np.isfinite(post[0]).all() and np.isnan(post[1:]).all()
    with pytest.raises(DataError, match=r"shape \(n, 16\), got \(5, 15\).*HLF_FEATURES"):
        synth.bayes_posterior(np.zeros((5, 15)))


# --- classes and features against the schema -------------------------------------------------


def test_class_priors_follow_the_schema() -> None:
    priors = synth.class_priors()
    assert priors.shape == (5,) and priors.sum() == pytest.approx(1.0)
    assert int(np.argmin(priors)) == Q and np.all((priors > 0.19) & (priors < 0.21))
    priors[:] = 0  # a copy: the generator's own priors are untouched
    assert synth.class_priors().sum() == pytest.approx(1.0)


def test_class_fractions_match_the_priors_and_quark_is_rarest() -> None:
    _, y = synth.sample_jets(200_000, seed=5)
    counts, priors = np.bincount(y, minlength=5), synth.class_priors()
    se = np.sqrt(priors * (1 - priors) / len(y))
    assert np.all(np.abs(counts / len(y) - priors) < 4 * se)
    assert int(np.argmin(counts)) == Q


@pytest.mark.parametrize("name", HLF_FEATURES)
def test_features_stay_in_the_schema_ranges(jets, name: str) -> None:
    lo, hi = SCHEMA_RANGES[name]
    values = jets[0][:, COL[name]]
    assert np.isfinite(values).all() and values.min() >= lo and values.max() <= hi


def test_multiplicity_is_an_integer_count_and_d2_is_duplicated(jets) -> None:
    x = jets[0]
    mult = x[:, COL["j_multiplicity"]]
    np.testing.assert_array_equal(mult, np.round(mult))
    np.testing.assert_array_equal(x[:, COL["j_d2_b1_mmdt"]], x[:, COL["j_d2_a1_b1_mmdt"]])


@pytest.mark.parametrize(("name", "classes", "typical"), SCHEMA_TYPICAL)
def test_class_medians_follow_the_schema_table(jets, name: str, classes: str,
                                               typical: float) -> None:
    x, y = jets
    for c in classes:
        median = float(np.median(x[y == "gqWZt".index(c), COL[name]]))
        if name in ("j_zlogz", "j_c1_b0_mmdt"):
            assert abs(median - typical) < 0.3 * abs(typical), (c, median)
        else:
            assert typical / 2 <= median <= typical * 2, (c, median)


def test_substructure_orders_classes_like_the_schema(jets) -> None:
    x, y = jets
    med = {name: [np.median(x[y == c, COL[name]]) for c in range(5)] for name in HLF_FEATURES}
    assert np.argmax(med["j_c2_b1_mmdt"]) == T and np.argmax(med["j_c1_b1_mmdt"]) == T
    assert np.argmin(med["j_c1_b1_mmdt"]) == Q  # "q spikes at 0"
    for name in ("j_d2_b2_mmdt", "j_n2_b1_mmdt", "j_n2_b2_mmdt", "j_m2_b2_mmdt"):
        assert set(np.argsort(med[name])[:2]) == {W, Z}, name  # two-prong W/Z lowest
    c1_b0_p5 = [np.quantile(x[y == c, COL["j_c1_b0_mmdt"]], 0.05) for c in range(5)]
    assert np.argmin(c1_b0_p5) == Q  # q has the longer low tail


def test_mass_peaks_follow_the_schema(jets) -> None:
    x, y = jets
    m = x[:, COL["j_mass_mmdt"]]
    mw, mz, mt, mq, mg = (m[y == c] for c in (W, Z, T, Q, G))
    assert 77 <= np.median(mw[(mw > 60) & (mw < 110)]) <= 83  # W spike ~80
    assert 88 <= np.median(mz[(mz > 60) & (mz < 120)]) <= 94  # Z ~91
    assert 160 <= np.median(mt[mt > 120]) <= 180  # top ~170 ...
    assert np.mean((mt > 65) & (mt < 95)) > 0.1  # ... with a shoulder ~80
    assert np.median(mq) < 50 and np.mean(mq < 50) > 0.6  # q piles up at 0-50
    assert np.mean(mg < 15) > 0.1 and np.quantile(mg, 0.9) > 120  # g: spike near 0, broad


def test_multiplicity_peaks_follow_the_schema(jets) -> None:
    x, y = jets
    mult = x[:, COL["j_multiplicity"]]
    for c in (Q, W, Z):
        assert 33 <= np.median(mult[y == c]) <= 42, CLASSES[c]  # q/W/Z peak 35-40
    assert 50 <= np.median(mult[y == G]) <= 60 and mult[y == G].max() > 100  # g ~55, tail
    assert 52 <= np.median(mult[y == T]) <= 62  # t ~55-60


def test_real_jets_lie_in_the_generator_support(real_jets: pd.DataFrame) -> None:
    real = real_jets
    post = synth.bayes_posterior(real[list(HLF_FEATURES)].to_numpy())
    assert np.isfinite(post).all()
    np.testing.assert_allclose(post.sum(axis=1), 1.0, atol=1e-9)


def test_sampling_is_deterministic_and_longer_samples_extend_shorter_ones() -> None:
    x1, y1 = synth.sample_jets(12_345, seed=3)
    x2, y2 = synth.sample_jets(25_000, seed=3)
    x3, _ = synth.sample_jets(12_345, seed=4)
    assert x1.dtype == np.float32 and y1.dtype == np.int64 and x1.shape == (12_345, 16)
    np.testing.assert_array_equal(x1, x2[:12_345])
    np.testing.assert_array_equal(y1, y2[:12_345])
    assert not np.array_equal(x1, x3)


# --- the Format A table and files ------------------------------------------------------------


def test_jet_table_has_the_format_a_quirks() -> None:
    table, y = synth.make_jet_table(20_000, seed=9)
    assert table.shape == (20_000, 59) and table.dtype == np.float32
    np.testing.assert_array_equal(table[:, [JCOL[n] for n in HLF_FEATURES]],
                                  synth.sample_jets(20_000, seed=9)[0])
    assert np.all(table[:, JCOL["j_ptfrac"]] == 1.0) and np.all(table[:, JCOL["j_undef"]] == 0.0)
    np.testing.assert_array_equal(table[:, JCOL["j_d2_b1_mmdt"]], table[:, JCOL["j_d2_a1_b1_mmdt"]])
    onehot = table[:, [JCOL[n] for n in LABEL_COLUMNS]]
    assert set(np.unique(onehot)) == {0.0, 1.0}
    np.testing.assert_array_equal(onehot.sum(axis=1), 1.0)
    np.testing.assert_array_equal(onehot.argmax(axis=1), y)


def test_other_jet_columns_are_plausible() -> None:
    table, _ = synth.make_jet_table(20_000, seed=9)
    col = {name: table[:, i] for i, name in enumerate(JET_FEATURE_NAMES)}
    assert np.isfinite(table).all()
    assert 800 < np.median(col["j_pt"]) < 1200 and col["j_pt"].min() > 0
    assert np.abs(col["j_eta"]).max() <= 2.0
    assert np.all(col["j_mass"] >= col["j_mass_mmdt"])
    for groomed in ("j_mass_trim", "j_mass_prun", "j_mass_sdb2", "j_mass_sdm1"):
        assert np.all((col[groomed] > 0) & (col[groomed] <= col["j_mass"])), groomed
        assert np.median(np.abs(np.log(col[groomed] / col["j_mass_mmdt"]))) < 0.1, groomed
    for name in JET_FEATURE_NAMES:
        if name.startswith("j_tau32"):
            assert np.all((col[name] > 0) & (col[name] <= 1)), name
        elif name.startswith("j_tau"):
            assert np.all(col[name] > 0), name
    for suffix in ("_b1", "_b2", "_b1_mmdt", "_b2_mmdt"):
        assert np.all(col[f"j_tau2{suffix}"] <= col[f"j_tau1{suffix}"])
        assert np.all(col[f"j_tau3{suffix}"] <= col[f"j_tau2{suffix}"])


def read_files(paths: list[Path]) -> np.ndarray:
    parts = []
    for path in paths:
        with h5py.File(path, "r") as f:
            parts.append(f["jets"][:])
    return np.concatenate(parts)


def test_write_synthetic_writes_real_looking_files(tmp_path: Path) -> None:
    paths = synth.write_synthetic(tmp_path / "out", n_jets=25_000, seed=7, jets_per_file=7_000)
    assert [p.name for p in paths] == [
        "jetImage_synth_7_0_7000.h5", "jetImage_synth_7_7000_14000.h5",
        "jetImage_synth_7_14000_21000.h5", "jetImage_synth_7_21000_25000.h5"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)
    with h5py.File(paths[0], "r") as f:
        names, particles = f["jetFeatureNames"][:], f["particleFeatureNames"][:]
        assert names.dtype.kind == "S" and particles.dtype.kind == "S"
        assert [n.decode() for n in names] == list(JET_FEATURE_NAMES)
        assert [n.decode() for n in particles] == list(PARTICLE_FEATURE_NAMES)
        assert f["jets"].shape == (7_000, 59) and f["jets"].dtype == np.float32
        assert json.loads(f.attrs["jetstudy_synthetic"]) == {
            "generator": "jetstudy.synth", "version": synth.GENERATOR_VERSION, "seed": 7,
            "n_jets_total": 25_000}
    np.testing.assert_array_equal(read_files(paths), synth.make_jet_table(25_000, seed=7)[0])
    assert all(synth.is_synthetic_file(p) for p in paths)


def test_write_synthetic_is_deterministic(tmp_path: Path) -> None:
    first = read_files(synth.write_synthetic(tmp_path / "a", 15_000, seed=7, jets_per_file=4_000))
    again = read_files(synth.write_synthetic(tmp_path / "b", 15_000, seed=7, jets_per_file=4_000))
    other = read_files(synth.write_synthetic(tmp_path / "c", 15_000, seed=8, jets_per_file=4_000))
    resplit = read_files(synth.write_synthetic(tmp_path / "d", 15_000, seed=7))
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, resplit)
    assert not np.array_equal(first, other)


def test_is_synthetic_file_tells_synthetic_from_plain_files(tmp_path: Path) -> None:
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f.create_dataset("jets", data=np.zeros((2, 59), dtype=np.float32))
    assert synth.is_synthetic_file(plain) is False
    with pytest.raises(DataError, match="missing.h5"):
        synth.is_synthetic_file(tmp_path / "missing.h5")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n_jets": 0}, r"n_jets must be an integer >= 1, got 0; set e\.g\. 100000"),
    ({"n_jets": 2.5}, r"n_jets must be an integer >= 1, got 2\.5; set e\.g\."),
    ({"jets_per_file": 0}, r"jets_per_file must be an integer >= 1, got 0; set e\.g\. 10000"),
    ({"seed": -1}, r"seed must be an integer >= 0, got -1; set e\.g\. 0"),
])
def test_write_synthetic_rejects_bad_arguments(tmp_path: Path, kwargs: dict,
                                               message: str) -> None:
    args = {"out_dir": tmp_path / "out", "n_jets": 100, "seed": 1, "jets_per_file": 50} | kwargs
    with pytest.raises(DataError, match=message):
        synth.write_synthetic(**args)
    assert not (tmp_path / "out").exists()


def test_write_synthetic_refuses_a_file_as_out_dir(tmp_path: Path) -> None:
    a_file = tmp_path / "jets.h5"
    a_file.write_text("not a folder")
    with pytest.raises(DataError, match=r"jets\.h5.* is a file, not a directory; pass a directory"):
        synth.write_synthetic(a_file, n_jets=10, seed=1)
    assert a_file.read_text() == "not a folder"
