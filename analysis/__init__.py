"""Analysis of a jetstudy study from its result tables: regimes, maps, curves, Pareto, ROC, report.

Pure functions on pandas tables (see docs/results_layout.md); no torch, no Ray, and no matplotlib
until a figure is drawn (only :mod:`analysis.plots` draws, and it is imported when needed).

>>> from analysis import write_report
>>> write_report("results/demo").index_html       # doctest: +SKIP
"""

from analysis.complexity import ComplexityCurve, complexity_curve
from analysis.curves import select_learning_curves
from analysis.errors import AnalysisError
from analysis.importance import Importance, hyperparameter_importance, search_distributions
from analysis.maps import RegimeMap, bin_values, max_width, min_width, regime_map
from analysis.pareto import ParetoResult, compute_pareto, pareto_front, smallest_within
from analysis.regimes import (REGIMES, Reference, RegimeThresholds, RegimeVerdicts,
                              assess_regimes, classify_regimes, curve_summary, known_reference)
from analysis.report import ReportOutcome, write_report
from analysis.roc import rejection_table, roc_points
from analysis.tables import StudyTables, load_tables, search_metric

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
