"""Names of the hls4ml LHC jet dataset: columns, the 16 high-level features, the classes.

The values come from the public files (see ``shared/hls4ml_schema.md``). Files in the wild order
their columns differently, so every reader selects columns *by name* using these lists.
"""

from __future__ import annotations

__all__ = [
    "JET_FEATURE_NAMES",
    "PARTICLE_FEATURE_NAMES",
    "HLF_FEATURES",
    "LABEL_COLUMNS",
    "CLASSES",
    "OPENML_FEATURES",
    "OPENML_CLASS_TO_INDEX",
]

#: The 59 columns of the ``jets`` array in Format A, in the order of the original files.
JET_FEATURE_NAMES: tuple[str, ...] = (
    "j_ptfrac", "j_pt", "j_eta", "j_mass", "j_tau1_b1", "j_tau2_b1", "j_tau3_b1", "j_tau1_b2",
    "j_tau2_b2", "j_tau3_b2", "j_tau32_b1", "j_tau32_b2", "j_zlogz", "j_c1_b0", "j_c1_b1",
    "j_c1_b2", "j_c2_b1", "j_c2_b2", "j_d2_b1", "j_d2_b2", "j_d2_a1_b1", "j_d2_a1_b2", "j_m2_b1",
    "j_m2_b2", "j_n2_b1", "j_n2_b2", "j_tau1_b1_mmdt", "j_tau2_b1_mmdt", "j_tau3_b1_mmdt",
    "j_tau1_b2_mmdt", "j_tau2_b2_mmdt", "j_tau3_b2_mmdt", "j_tau32_b1_mmdt", "j_tau32_b2_mmdt",
    "j_c1_b0_mmdt", "j_c1_b1_mmdt", "j_c1_b2_mmdt", "j_c2_b1_mmdt", "j_c2_b2_mmdt",
    "j_d2_b1_mmdt", "j_d2_b2_mmdt", "j_d2_a1_b1_mmdt", "j_d2_a1_b2_mmdt", "j_m2_b1_mmdt",
    "j_m2_b2_mmdt", "j_n2_b1_mmdt", "j_n2_b2_mmdt", "j_mass_trim", "j_mass_mmdt", "j_mass_prun",
    "j_mass_sdb2", "j_mass_sdm1", "j_multiplicity", "j_g", "j_q", "j_w", "j_z", "j_t", "j_undef",
)

#: Names in ``particleFeatureNames`` (17; only the first 16 are stored in ``jetConstituentList``).
PARTICLE_FEATURE_NAMES: tuple[str, ...] = (
    "j1_px", "j1_py", "j1_pz", "j1_e", "j1_erel", "j1_pt", "j1_ptrel", "j1_eta", "j1_etarel",
    "j1_etarot", "j1_phi", "j1_phirel", "j1_phirot", "j1_deltaR", "j1_costheta",
    "j1_costhetarel", "j1_pdgid",
)

#: The 16 high-level features of the hls4ml DNN, in the order the model sees them.
HLF_FEATURES: tuple[str, ...] = (
    "j_zlogz", "j_c1_b0_mmdt", "j_c1_b1_mmdt", "j_c1_b2_mmdt", "j_c2_b1_mmdt", "j_c2_b2_mmdt",
    "j_d2_b1_mmdt", "j_d2_b2_mmdt", "j_d2_a1_b1_mmdt", "j_d2_a1_b2_mmdt", "j_m2_b1_mmdt",
    "j_m2_b2_mmdt", "j_n2_b1_mmdt", "j_n2_b2_mmdt", "j_mass_mmdt", "j_multiplicity",
)

#: One-hot label columns of Format A, in class order.
LABEL_COLUMNS: tuple[str, ...] = ("j_g", "j_q", "j_w", "j_z", "j_t")

#: Class names in label-index order (the Format A one-hot order): gluon, quark, W, Z, top.
CLASSES: tuple[str, ...] = ("g", "q", "W", "Z", "t")

#: Format B (OpenML ``hls4ml_lhc_jets_hlf``) feature names: the HLF names without ``j_``.
OPENML_FEATURES: tuple[str, ...] = tuple(name[2:] for name in HLF_FEATURES)

#: Format B ``class`` values mapped to the Format A index. Not alphabetical on purpose: an
#: alphabetical label encoder would give t=2, w=3, z=4 and silently swap W, Z and top.
OPENML_CLASS_TO_INDEX: dict[str, int] = {"g": 0, "q": 1, "w": 2, "z": 3, "t": 4}
