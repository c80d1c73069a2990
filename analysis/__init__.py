"""Analysis of a jetstudy study from its result tables: regimes, maps, curves, Pareto, ROC, report.

Pure functions on pandas tables (see docs/results_layout.md); no torch, no Ray, and no matplotlib
until a figure is drawn (only :mod:`jetstudy.analysis.plots` draws, and it is imported when needed).

>>> from jetstudy.analysis import write_report
>>> write_report("results/demo").index_html       # doctest: +SKIP
"""

from jetstudy.analysis.complexity import ComplexityCurve, complexity_curve
from jetstudy.analysis.curves import select_learning_curves
from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.importance import Importance, hyperparameter_importance, search_distributions
from jetstudy.analysis.maps import RegimeMap, bin_values, max_width, min_width, regime_map
from jetstudy.analysis.pareto import ParetoResult, compute_pareto, pareto_front, smallest_within
from jetstudy.analysis.regimes import (REGIMES, Reference, RegimeThresholds, RegimeVerdicts,
                              assess_regimes, classify_regimes, curve_summary, known_reference)
from jetstudy.analysis.report import ReportOutcome, write_report
from jetstudy.analysis.roc import rejection_table, roc_points
from jetstudy.analysis.tables import StudyTables, load_tables, search_metric

__all__ = [
    "AnalysisError",
    "StudyTables", "load_tables", "search_metric",
    "REGIMES", "RegimeThresholds", "classify_regimes", "curve_summary",
    "Reference", "RegimeVerdicts", "assess_regimes", "known_reference",
    "RegimeMap", "regime_map", "bin_values", "max_width", "min_width",
    "ComplexityCurve", "complexity_curve",
    "select_learning_curves",
    "ParetoResult", "compute_pareto", "pareto_front", "smallest_within",
    "roc_points", "rejection_table",
    "Importance", "hyperparameter_importance", "search_distributions",
    "ReportOutcome", "write_report",
]
