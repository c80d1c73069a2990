"""Published results on the real hls4ml LHC jet data, to put a real-data study in context.

Copied from ``shared/hls4ml_schema.md`` (JEDI-net paper, arXiv 1908.05318, and the hls4ml
tutorial model). They apply to the real dataset only: a synthetic study is compared with its
Bayes-optimal classifier instead.
"""

from __future__ import annotations

__all__ = ["REFERENCE_NAME", "REFERENCE_FPRS", "REFERENCE_TPR", "REFERENCE_AUC"]

#: Which model the reference numbers describe.
REFERENCE_NAME = "16-HLF DNN (JEDI-net paper, arXiv 1908.05318)"

#: Background efficiencies (false-positive rates) at which :data:`REFERENCE_TPR` is quoted.
REFERENCE_FPRS: tuple[float, float] = (0.10, 0.01)

#: Signal efficiency (TPR) at FPR 10% and 1%, per class.
REFERENCE_TPR: dict[str, tuple[float, float]] = {
    "g": (0.81, 0.40),
    "q": (0.68, 0.16),
    "W": (0.84, 0.64),
    "Z": (0.82, 0.71),
    "t": (0.91, 0.63),
}

#: One-vs-rest AUC per class of the same model.
REFERENCE_AUC: dict[str, float] = {"g": 0.938, "q": 0.903, "W": 0.954, "Z": 0.946, "t": 0.962}
