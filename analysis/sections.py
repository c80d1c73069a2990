"""The report's parts: each turns the study's tables into one :class:`~jetstudy.analysis.render.Section`.

A part computes with the pure modules of this package, draws with :mod:`jetstudy.analysis.plots` and
raises :class:`AnalysisError` when its inputs do not allow it (the report then lists it under
"Skipped parts" with that message). :data:`PARTS` is the page order.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import yaml

from jetstudy.analysis import complexity, importance, maps, regimes, summary  # noqa: F401
from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.heldout_tables import few_validation_jets
from jetstudy.analysis.pareto import NOISE_SIGMAS
from jetstudy.analysis.render import Section, counted, format_cell
from jetstudy.analysis.restarts import restart_lines
from jetstudy.analysis.sections_curves import complexity_part as _complexity
from jetstudy.analysis.sections_curves import learning_curves_part as _learning_curves
from jetstudy.analysis.sections_curves import panels_words as _panels_words  # noqa: F401
from jetstudy.analysis.sections_pareto import pareto_part, val_counts
from jetstudy.analysis.size_answer import scores_with_errors
from jetstudy.analysis.sections_search import history_part, parallel_part
from jetstudy.analysis.sections_words import complete_words, stop_causes
from jetstudy.analysis.undetermined_causes import causes_words
from jetstudy.analysis.sections_heldout import heldout_part, roc_part
from jetstudy.analysis.sections_maps import (_cell_words, _few_jets, _left_out,  # noqa: F401
                                             _map_lines, _unplaced_lines)
from jetstudy.analysis.sections_maps import depth_width_part as _map_depth_width
from jetstudy.analysis.sections_maps import regularisation_part as _map_regularisation
from jetstudy.analysis.study_state import live_driver, study_folder, study_state
from jetstudy.analysis.tables import StudyTables, search_metric

__all__ = ["ReportState", "PARTS", "config_yaml"]

logger = logging.getLogger(__name__)

_PARAM_LABELS = {"max_width": "widest layer", "lr": "learning rate", "l1": "L1", "l2": "L2",
                 "batch_norm": "batch norm", "batch_size": "batch size"}


class ReportState:
    """What the parts share: the tables, the search metric, the regimes and the reference they
    were judged against, and what has been made so far (sections, figure PNG bytes, skipped
    parts with reasons).

    ``thresholds`` default to the study's ``regimes:`` config section (else the defaults); L*
    to its ``regimes.reference_loss``, else ``reference.json``'s Bayes loss, else a proxy.
    """

    def __init__(self, tables: StudyTables,
                 thresholds: regimes.RegimeThresholds | None = None) -> None:
        self.t = tables
        self.metric, self.maximize = search_metric(tables.config, tables.trials)
        verdicts, self.thresholds = regimes.study_regimes(tables, thresholds)
        self.regimes, self.reference = verdicts.table, verdicts.reference
        search = (tables.config or {}).get("search")
        sampler = search.get("sampler") if isinstance(search, dict) else None
        #: ``scan`` (a designed set trained to the end), ``search`` or None (no config)
        self.kind = None if sampler is None else "scan" if sampler in ("grid", "sobol") else "search"
        #: the live driver of a study still running, in words (None: none holds it)
        self.live = live_driver(tables.folder)
        self.sections: list[Section] = []
        self.figures: dict[str, bytes] = {}
        #: the report's data files (``pareto.csv``), written beside the figures
        self.files: dict[str, bytes] = {}
        self.skipped: list[tuple[str, str]] = []

    @functools.cached_property
    def _best_found(self) -> pd.Series | str:
        try:
            best = summary.best_trial(self.t.trials, self.metric, self.maximize).copy()
        except AnalysisError as exc:
            return str(exc)
        best["best_val_loss_se"] = summary.best_epoch_loss_se(best.to_frame().T,
                                                              self.t.epochs).iloc[0]
        return best

    def best_row(self) -> pd.Series:
        """The best trial's row (summary.best_trial, found once per report) with its best
        epoch's ``best_val_loss_se``; raises :class:`AnalysisError` (why) when none can be."""
        found = self._best_found
        if isinstance(found, str):
            raise AnalysisError(found)
        return found.copy()

    def attempt(self, part: str, build: Callable[[], Section]) -> None:
        start = time.perf_counter()
        try:
            self.sections.append(build())
        except AnalysisError as exc:
            self.skipped.append((part, str(exc)))
        except Exception as exc:  # a bug must not cost the user the other parts; logged in full
            logger.exception("report part %r failed", part)
            why = (f"failed unexpectedly ({type(exc).__name__}: {exc}); this is a bug in "
                   "jetstudy, please report it with the input tables")
            self.skipped.append((part, why))
        logger.debug("report part %r took %.2f s", part, time.perf_counter() - start)

    def figure(self, name: str, fig: Any) -> str:
        from jetstudy.analysis import plots

        self.figures[name] = plots.png_bytes(fig)
        return name

    def data_file(self, name: str, table: pd.DataFrame) -> str:
        """Keep ``table`` as the report's CSV file ``name`` (one of report.DATA_FILES)."""
        self.files[name] = table.to_csv(index=False).encode("utf-8")
        return name

    def needs(self, what: str) -> None:
        """Raise the recorded reason when an optional input is absent."""
        for missing, why in self.t.missing:
            if missing == what:
                raise AnalysisError(f"needs the {what}: {why}")

    @property
    def best_word(self) -> str:
        return "highest" if self.maximize else "lowest"


class _ConfigDumper(yaml.SafeDumper):
    """``yaml.SafeDumper`` writing a list of plain values on one line (``depth: [1, 4]``), as
    the configs in configs/ do; anything nested stays in block style."""


def _list(dumper: yaml.SafeDumper, items: list) -> yaml.Node:
    flat = all(not isinstance(v, (dict, list, tuple)) for v in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flat)


_ConfigDumper.add_representer(list, _list)
_ConfigDumper.add_representer(tuple, _list)


def config_yaml(config: dict[str, Any]) -> str:
    """The study config as the YAML a user writes (sections in file order, one value a line),
    never a Python repr: ``null``, ``false``, ``[relu]`` rather than ``None``, ``False``,
    ``['relu']``. ``config`` is the plain dict read from config.yaml; ``yaml.safe_load`` of
    the text gives it back."""
    return yaml.dump(config, Dumper=_ConfigDumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=88)


def _config(r: ReportState) -> Section:
    r.needs("config")
    search = (r.t.config or {}).get("search")
    objectives = search.get("objectives") if isinstance(search, dict) else None
    if r.kind == "scan":
        how = "the scan's configurations were fixed in advance; the report ranks its trials"
    elif isinstance(objectives, list) and len(objectives) > 1:
        how = (f"the search traded {' against '.join(map(str, objectives))} (see 'Pareto "
               "front'); the report ranks its trials")
    else:
        how = "the search ranked trials and the report ranks them"
    return Section("Study config",
                   lines=[f"From config.yaml; {how} by {r.metric} ({r.best_word} is best)."],
                   code=config_yaml(r.t.config or {}), code_language="yaml")


def _outcomes(r: ReportState) -> Section:
    trials = r.t.trials
    lines = list(study_state(trials, r.t.config, r.live, study_folder(r.t)).lines) + restart_lines(trials)
    lines += r.t.dropped  # rows the readers dropped as repeats (tables.load_tables)
    lines.append(f"Regimes (see 'Regime rules'): {r.reference.describe()}")
    tables = [("trials by status", summary.status_counts(trials)),
              ("trials by regime (see 'Regime rules')", summary.regime_counts(r.regimes))]
    errors = summary.common_errors(trials)
    if not errors.empty:
        tables.append(("most frequent errors of failed trials", errors))
    return Section("Outcomes", lines=lines, tables=tables)


_BEST_FIELDS = ("trial_id", "status", "depth", "widths", "n_params", "flops", "dropout", "l1", "l2",
                "lr", "activation", "batch_norm", "epochs", "max_epochs", "best_epoch",
                "best_val_loss", "best_val_acc", "best_val_auc", "wall_time_s")


def _best(r: ReportState) -> Section:
    best = r.best_row()
    regime = r.regimes.set_index("trial_id").loc[best["trial_id"]]
    rows = [(f, best[f]) for f in _BEST_FIELDS if f in best.index]
    n_val, counts = val_counts(r)  # the scores with their errors, as the Pareto part gives them
    rows = [(f, scores_with_errors([best], f, n_val, counts)[0])
            if f in ("best_val_loss", "best_val_acc", "best_val_auc") and pd.notna(v) else (f, v)
            for f, v in rows]
    few = _few_jets(r, "best_val_auc")  # the macro AUC's undetermined classes, as elsewhere
    rows = [(f, f"{v}{few}") if f == "best_val_auc" and pd.notna(best[f]) else (f, v)
            for f, v in rows]
    rows.append(("regime", f"{regime['regime']}: {regime['reason']}"))
    why = (f"Best by the {r.best_word} {maps.score_column(r.t.trials, r.metric)} among "
           "completed, stopped and running trials (a failed or interrupted trial is never best; "
           "ties go to a trial that ran to the end, then the smaller model, then the first the "
           "search proposed: trial_number, then trial_id)." + _one_of_two(r))
    runner_up = summary.runner_up_line(r.t.trials, r.metric, r.maximize, r.t.epochs, n_val,
                                       counts)
    return Section("Best trial", lines=[why] + ([runner_up] if runner_up else []),
                   tables=[("", pd.DataFrame(rows, columns=["field", "value"]))])






def _one_of_two(r: ReportState) -> str:
    """A size-aware search's 'best' is by its first objective alone: said, and where its answer
    (the front of the two) is; empty for a one-objective search."""
    from jetstudy.analysis.sections_search import _size_objective

    size = _size_objective(r)
    if size is None:
        return ""
    return (f" The search had two objectives, {r.metric} and {size}: this is the best by "
            f"{r.metric} alone, whatever its size; the trials that trade the two best are the "
            "search's own front in the Pareto part.")


def _few_jets_rule(r: ReportState) -> str:
    """The AUC rule's words where the validation split has a class of a handful of jets:
    regimes.csv then leaves undetermined a trial whose label their rank would decide."""
    few = few_validation_jets(val_counts(r)[1])
    if not few:
        return ""
    names = ", ".join(few)
    return (f" (here it includes {names}'s AUC from {' and '.join(few.values())} of the "
            f"validation split: where that rank decides the side of {r.thresholds.auc_floor:g}, "
            "the trial is undetermined)")





def _stopped_words(k: int, n: int, causes: str) -> str:
    """How many of the ``n`` ranked trials were stopped early, in the singular for one ('1 of
    the 12 trials was', never 'were') and without 'the completed trials' when none is."""
    which = (f"All {n} trials were" if k == n and n > 1 else "The only trial was" if k == n
             else f"1 of the {n} trials was" if k == 1 else f"{k} of the {n} trials were")
    than = "the completed trials'" if k < n else "a run to the end"
    return (f"{which} stopped early ({causes}): {'its value is' if k == 1 else 'their values are'}"
            f" of fewer epochs than {than}, so a hyperparameter that speeds early learning (such "
            "as lr) can rank above one that decides the fully trained score; Optuna's own "
            "importance leaves stopped (pruned) trials out.")


def _importance(r: ReportState) -> Section:
    from jetstudy.analysis import plots

    space = (r.t.config or {}).get("space")
    space = space if isinstance(space, dict) else None
    imp = importance.hyperparameter_importance(r.t.trials, space, r.metric, r.maximize)
    name = r.figure("importance.png", plots.importance_figure(imp, _PARAM_LABELS))
    origin = "config.yaml's space" if space else "the table's ranges (no config.yaml)"
    lines = [f"Distributions from {origin}."]
    top = importance.top_group(imp)
    if top is not None and top < importance.MIN_TOP_TRIALS:
        # PED-ANOVA ranks by the best 10%: 30 trials gave a confident bar chart from 3 of them
        lines.append(f"PED-ANOVA compares the best {importance.PED_ANOVA_TOP:.0%} of the "
                     f"trials ({top} of {imp.n_trials}) with all of them; Optuna advises at "
                     f"least {importance.MIN_TOP_TRIALS} in that group "
                     f"({importance.trials_for_top_group()} trials or more): from {top}, "
                     "these importances are mostly noise.")
    elif imp.n_trials < 20:
        lines.append(f"Only {imp.n_trials} trials: importances this few are mostly noise.")
    if imp.n_stopped:
        lines.append(_stopped_words(imp.n_stopped, imp.n_trials, stop_causes(r.t.config)))
    caption = (f"Importance for {imp.target} by {imp.evaluator} over {imp.n_trials} finished "
               "trials.")
    return Section("Hyperparameter importance", figure=name, lines=lines, caption=caption)


def _rules(r: ReportState) -> list[str]:
    """The rules in words, with this study's thresholds (analysis.regimes, in that order)."""
    t = r.thresholds
    return [
        r.reference.describe(),
        f"Significant, in these rules: beyond z = {t.z:g} standard errors of the difference "
        f"(train_loss_se, val_loss_se: per-jet loss spread / sqrt(n)); a table without them is "
        "judged on the relative thresholds alone, and each reason says so. Comparing two "
        "trials' scores (the runner-up, the Pareto pick, the size answer) calls a difference "
        f"of {NOISE_SIGMAS:g} standard errors or more significant and a smaller one within "
        f"the validation noise. Final losses: median of the last 3 epochs{_unread(r)}.",
        f"unstable: a NaN/inf loss or divergence; train loss within {t.prior_margin:.0%} of "
        f"the prior entropy H or above (no better than predicting the class frequencies: "
        f"H = ln 5 = 1.609 for balanced classes); val loss there without a significant gap; or "
        f"macro val AUC <= {t.auc_floor:g}{_few_jets_rule(r)}.",
        f"overfit: val loss significantly above train loss and by more than {t.gap_floor:.0%} "
        f"({t.gap_without_se:.0%} without standard errors); or val loss (3-epoch running "
        f"median) up significantly and >= {t.overfit_rise:.0%} from its minimum while train "
        f"loss still fell >= {t.train_still_falling:.0%} (at least {counted(t.min_epochs, 'epoch')}).",
        f"undetermined: the curve is not complete (stopped by {stop_causes(r.t.config)}, "
        "still running, failed midway) and shows neither of the above: it is too short to show "
        f"a regime. Complete: status completed (ran to {complete_words(r.t.config)}); a "
        f"complete run shorter than {counted(t.min_epochs, 'epoch')} is judged below on its final losses "
        "(the model as trained, no trend read), and its reason says so."
        + causes_words(r.regimes),
        f"underfit: a complete curve whose train loss is significantly above L*, by more than "
        f"{t.underfit_tolerance:.0%}, with no significant gap.",
        f"good: a complete curve within {t.underfit_tolerance:.0%} of L* (or not significantly "
        "above it) with no significant gap.",
        "Every trial's regime and reason is in regimes.csv; thresholds are set in the config's "
        "regimes: section.",
    ]


def _unread(r: ReportState) -> str:
    """The rules' words where some trials' final losses are the trials table's (no epoch read)."""
    from jetstudy.analysis.sections_curves import epochs_unread

    n = epochs_unread(r.regimes)
    if not n:
        return ""
    which = "every trial" if n == len(r.regimes) else f"{n} of the {len(r.regimes)} trials"
    return f" (for {which}, no epoch was read: the trials table's final losses)"


def _regime_rules(r: ReportState) -> Section:
    t = r.thresholds
    rules = pd.DataFrame([(f, format_cell(getattr(t, f))) for f in t.__dataclass_fields__],
                         columns=["threshold", "value"])
    table = r.regimes[["trial_id", "status", "regime", "reason"]]
    return Section("Regime rules and every trial", collapsed=True, lines=_rules(r), as_list=True,
                   tables=[("thresholds", rules), ("regime per trial", table)])


#: The report's parts in page order: (name used in "Skipped parts", builder).
PARTS: tuple[tuple[str, Callable[[ReportState], Section]], ...] = (
    ("study config", _config),
    ("outcomes", _outcomes),
    ("best trial", _best),
    ("test metrics", heldout_part),
    ("optimisation history", history_part),
    ("parallel coordinates", parallel_part),
    ("regime map (depth x width)", _map_depth_width),
    ("regime map (size x regularisation)", _map_regularisation),
    ("complexity curve", _complexity),
    ("learning curves", _learning_curves),
    ("Pareto front", pareto_part),
    ("ROC", roc_part),
    ("hyperparameter importance", _importance),
    ("regime rules", _regime_rules),
)
