"""The report's search views: optimisation history and parallel coordinates (the figures Optuna
users look for first). Parts of :data:`jetstudy.analysis.sections.PARTS`, kept here so that
module stays a readable size; like every part, each returns a Section or raises
:class:`AnalysisError` with the sentence the report shows under "Skipped parts".
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from jetstudy.analysis import history, parallel
from jetstudy.analysis.render import Section, counted
from jetstudy.trainables.plain_read import read_plain

if TYPE_CHECKING:
    from jetstudy.analysis.sections import ReportState
    from jetstudy.analysis.tables import StudyTables

_SAMPLERS = {"tpe": "Optuna TPE", "random": "Optuna random sampling", "grid": "a grid",
             "sobol": "a scrambled Sobol design"}

__all__ = ["history_part", "parallel_part", "kind_lines"]

_WORDS = {"best_val_loss": "val loss", "best_val_acc": "val accuracy",
          "best_val_auc": "val AUC (macro)", "n_params": "parameters", "flops": "FLOPs",
          "multiplications": "multiplications per jet"}


def _few_jets(r: ReportState, column: str) -> str:
    """A colour or value of val_auc whose macro average includes a class's AUC from too few
    validation jets: the words the Best-trial table, the maps and the test table give it
    (one rule, sections._few_jets); empty for another column."""
    from jetstudy.analysis.sections import _few_jets as words

    return words(r, column)


def _size_objective(r: ReportState) -> str | None:
    search = (r.t.config or {}).get("search")
    objectives = search.get("objectives") if isinstance(search, dict) else None
    if isinstance(objectives, list) and len(objectives) > 1:
        return str(objectives[1])
    return None


def history_part(r: ReportState) -> Section:
    """The search metric per trial with the running best; a size objective's own panel."""
    from jetstudy.analysis import plots_search

    panels = history.optimisation_history(r.t.trials, r.metric, r.maximize, _size_objective(r))
    name = r.figure("history.png", plots_search.history_figure(panels, _stopped_by(r)))
    first = panels[0]
    word = _WORDS.get(first.objective, first.objective)
    scored = bool(first.points["scored"].any())
    ranker = "the report ranks" if r.kind == "scan" else "the search ranked"  # a scan ranks none
    step = (f"The step line is the {r.best_word} so far among completed, stopped and running "
            "trials, as 'Best trial' picks." if scored else
            "No trial counts for the best (each failed or was interrupted), so there is no "
            "running best to draw.")
    lines = [f"{word} of every trial, in the order the study started them (Optuna's trial "
             "number; the tables hold no completion times). The value is the trial's best "
             f"epoch's, the one {ranker} it by. {step}"]
    if r.kind == "scan":
        lines.append("This is a scan: its configurations were fixed in advance, so the order "
                     "says nothing about a search learning.")
    missing = first.n_without_value
    if missing:
        one = missing == 1
        lines.append(f"{missing} of {counted(len(first.points), 'trial')} "
                     f"{'has' if one else 'have'} no value (failed before an epoch, or running "
                     f"without one) and {'is' if one else 'are'} not drawn.")
    if len(panels) > 1:
        lines.append(f"The search had two objectives ({r.metric} and {panels[1].objective}): "
                     "the lower panel shows the second per trial; trading it against the first "
                     "is the Pareto front's business, so it has no running best.")
    caption = (f"Optimisation history: {word}{_few_jets(r, first.objective)} per trial number "
               f"({_markers_drawn(first)})"
               + ("; log axis" if first.log_y else "")
               + (f"; black step line: the {r.best_word} so far." if scored else "."))
    return Section("Optimisation history", lines=lines, figure=name, caption=caption)


#: stop_reason of a stopped trial -> its cause in the history's legend
_STOP_WORDS = {"scheduler": "ASHA", "time_budget": "time budget", "interrupted": "driver stopped"}


def _stopped_by(r: ReportState) -> str:
    """What stopped this study's stopped trials, from their stop_reason (``ASHA``, ``time
    budget``, ``driver stopped``): a scan without ASHA had its stopped trials put down to
    ASHA; tables without the column keep the general ``ASHA, time budget``."""
    t = r.t.trials
    if "stop_reason" not in t.columns:
        return "ASHA, time budget"
    reasons = t.loc[t["status"].astype(str) == "stopped", "stop_reason"].astype(str)
    words = [w for k, w in _STOP_WORDS.items() if (reasons == k).any()]
    scheduler = (r.t.config or {}).get("scheduler")
    asha = not isinstance(scheduler, dict) or scheduler.get("type", "asha") == "asha"
    if not asha:
        words = [("scheduler" if w == "ASHA" else w) for w in words]
    return ", ".join(words) or ("ASHA, time budget" if asha else "time budget")


def _markers_drawn(panel: history.HistoryPanel) -> str:
    """The caption's key to the markers, naming only the statuses the panel draws (a study
    without a running or failed trial had its triangles and crosses explained)."""
    p = panel.points
    drawn = p.loc[np.isfinite(p["value"].astype(float)), "status"].astype(str)
    words = [w for status, w in (("completed", "filled: completed"),
                                 ("stopped", "hollow: stopped early"),
                                 ("running", "triangles: running")) if (drawn == status).any()]
    if (~drawn.isin(["completed", "stopped", "running"])).any():
        words.append("crosses: failed or interrupted")
    return ", ".join(words) or "no trial has a value"


def _unfinished_words(status: pd.Series, word: str) -> str:
    """The parallel coordinates colour every trial by its best epoch's score, however far it
    ran: the trials still running or stopped early, whose colour is of a model still learning
    (the optimisation history marks them apart; these lines look alike), said in a line."""
    running, stopped = int((status == "running").sum()), int((status == "stopped").sum())
    parts = ([f"{running} {'is' if running == 1 else 'are'} still running"] if running else []
             ) + ([f"{stopped} {'was' if stopped == 1 else 'were'} stopped early"]
                  if stopped else [])
    if not parts:
        return ""
    one = running + stopped == 1
    return (f"Of the {counted(len(status), 'trial')} drawn, {' and '.join(parts)}: "
            f"{'its' if one else 'their'} {word} is of the epochs {'it' if one else 'they'} ran, "
            "a model still learning, not of a run to the end.")


def parallel_part(r: ReportState) -> Section:
    """Every trial's hyperparameters as a line, coloured by val loss and by regime."""
    from jetstudy.analysis import plots_search

    pc = parallel.parallel_coordinates(r.t.trials, r.regimes, r.metric, r.maximize)
    name = r.figure("parallel_coordinates.png", plots_search.parallel_figure(pc))
    n_grey = int((~np.isfinite(pc.lines["colour"])).sum())
    off = any(text == "off" for axis in pc.axes for _, text in axis.ticks)
    lines = [f"One line per trial ({len(pc.lines)}), through its hyperparameters; log axes for "
             "sizes, penalties and the learning rate."
             + (" A switched-off L1 or L2 penalty sits at 'off' below its axis." if off else "")]
    if pc.left_out:
        lines.append(f"Not shown, the same in every trial: {', '.join(pc.left_out)}.")
    word = _WORDS.get(pc.colour_column, pc.colour_column)
    if n_grey:
        lines.append(f"{counted(n_grey, 'trial')} without a {word} "
                     f"{'is' if n_grey == 1 else 'are'} drawn grey.")
    unfinished = _unfinished_words(pc.lines["status"].astype(str), word)
    if unfinished:
        lines.append(unfinished)
    stops = ("the colour bar stops at the 5th percentile; worse trials take its bottom "
             "colour" if pc.maximize else "the colour bar stops at the 95th percentile; worse "
             "trials take its top colour")
    if not parallel.colour_capped(pc.lines["colour"]):  # too few trials to cap an outlier
        stops = f"the colour bar spans every trial's {word}"
    caption = (f"Parallel coordinates of the hyperparameters: top, coloured by {word}"
               f"{_few_jets(r, pc.colour_column)}, the "
               f"search metric ({stops}), the {r.best_word} "
               "drawn last" + ("; bottom, coloured by regime (each with its line style)"
                                  + (", undetermined trials grey and underneath" if
                                     (pc.lines["regime"] == "undetermined").any() else "")
                                  + "." if pc.has_regimes else "."))
    return Section("Parallel coordinates", lines=lines, figure=name, caption=caption)


def _sampler_ran(tables: StudyTables) -> dict[str, Any] | None:
    """``provenance.json``'s record of the sampler of the study's last run, when there is one
    (``jetstudy.study.sampler.sampler_record``)."""
    try:
        record = json.loads(read_plain(tables.folder / "provenance.json"))
    except (OSError, ValueError):
        return None
    sampler = record.get("sampler") if isinstance(record, dict) else None
    return sampler if isinstance(sampler, dict) else None


def kind_lines(tables: StudyTables) -> list[str]:
    """The overview's sentence on what kind of study ran (a search or a scan, its sampler and
    scheduler), with the TPE settings ``provenance.json`` recorded from the sampler itself;
    nothing without a ``config.yaml``."""
    search = (tables.config or {}).get("search")
    scheduler = (tables.config or {}).get("scheduler")
    if not isinstance(search, dict) or search.get("sampler") not in _SAMPLERS:
        return []
    sampler = search["sampler"]
    sch = scheduler.get("type") if isinstance(scheduler, dict) else None
    ends = {"asha": "ASHA stopping the weaker trials early", "fifo": "every trial to max_epochs",
            "patience": "each trial to max_epochs or its validation-loss patience"}.get(sch, "")
    metric = search.get("metric", "val_loss") if isinstance(search, dict) else "val_loss"
    grace, most = ((scheduler.get("grace_period"), scheduler.get("max_epochs"))
                   if isinstance(scheduler, dict) else (None, None))
    if sch == "asha" and isinstance(grace, int) and isinstance(most, int) and grace >= most:
        ends = "ASHA with no rung before the last epoch (every trial to max_epochs)"
    if sch == "patience" and metric != "val_loss":  # patience counts the search metric
        ends = f"each trial to max_epochs or its patience on {metric}"
    if sampler in ("grid", "sobol"):
        n = search.get("num_trials")
        short, more = _ran_short(tables, search, "scan"), _ran_more(tables, search)
        counts = (f"{counted(n, 'configuration')}, {short[0]} ran ({short[1]})" if short
                  else f"{counted(more, 'configuration')} ({_lowered(n, more)})" if more
                  else counted(n, "configuration"))
        line = f"Kind: scan, {_SAMPLERS[sampler]} of {counts}, {ends}: the regime picture."
    else:
        n, at_once = search.get("num_trials"), search.get("max_concurrent")
        if isinstance(n, int) and isinstance(at_once, int):
            at_once = min(n, at_once)  # never more at a time than there are trials
        held = (_sampler_ran(tables) or {}).get("trials_at_once")  # nor than Ray's nodes held
        if isinstance(held, int) and not isinstance(held, bool) and 0 < held:
            at_once = held if not isinstance(at_once, int) else min(at_once, held)
        sampled, answer = _SAMPLERS[sampler], "the best model"
        objectives = search.get("objectives")
        if isinstance(objectives, list) and len(objectives) > 1:  # a size-aware search
            size = objectives[1]
            sampled += (f" over two objectives, {metric} and {size} ({size} minimised; ASHA "
                        f"ranks by {metric} alone)")
            answer = f"the models that trade {metric} against {size} best (a Pareto front)"
        short, more = _ran_short(tables, search, "search"), _ran_more(tables, search)
        counts = (f"{short[0]} of {counted(n, 'trial')} ran ({short[1]})" if short
                  else f"{counted(more, 'trial')} ({_lowered(n, more)})" if more
                  else counted(n, "trial"))
        line = (f"Kind: search, {sampled}, {counts}, "
                f"{at_once} at a time{_limit_words(search)}, {ends}: {answer}."
                + _stop_words(getattr(tables, "trials", None))
                + _repeat_words(getattr(tables, "trials", None)))
    ran = _sampler_ran(tables)
    if ran and ran.get("class") == "TPESampler":
        kinds = [word for key, word in (("multivariate", "multivariate"),
                                        ("group", "grouped (each depth's widths together)"),
                                        ("constant_liar", "constant liar")) if ran.get(key)]
        trained = (" (trained trials: the draws a size limit turned away do not count)"
                   if _limit_words(search) and ran.get("startup_counts") == "trained trials"
                   else "")
        line += _guided_words(search, getattr(tables, "folder", None),
                              _ran_more(tables, search) or (short[0] if short else None),
                              _unfinished(tables))
        line += (f" TPE as it ran (provenance.json, Optuna {ran.get('optuna')}): "
                 f"{', '.join(kinds) or 'independent'}, "
                 f"{counted(ran.get('n_startup_trials'), 'random start-up trial')}{trained} "
                 "before it models anything.")
    return [line + _journal_running_words(tables)]


def _journal_running_words(tables: StudyTables) -> str:
    """`` optuna.journal still calls 2 trials running ...``: a driver killed (``kill -9``)
    before it closed its Optuna trials leaves them *running* in the journal, and
    optuna-dashboard shows them so, however long ago it died; empty unless the driver is
    known gone and the journal holds such trials. The report says it rather than closing
    them: ``--resume`` continues the trials still running (closed ones would be lost)."""
    from jetstudy.study.optuna_story import running_in_journal

    folder = getattr(tables, "folder", None)
    if folder is None or not _driver_gone(tables):
        return ""
    running = running_in_journal(folder)
    if not running:
        return ""
    them = "it" if running == 1 else "them"
    return (f" optuna.journal still calls {counted(running, 'trial')} running (so does "
            f"optuna-dashboard): the driver died before it closed {them}; --resume continues "
            f"{them} or closes {them} from the trial logs, and until then the journal stays "
            "as the driver left it.")


def _ran_short(tables: StudyTables, search: dict[str, Any],
               what: str) -> tuple[int, str] | None:
    """How many trials ran and what ended the search, ``(3, 'search.time_budget_s, 60 s,
    ended the search')``, when the trials table holds fewer than ``search.num_trials`` (a time
    budget or an interruption ended it early); None when all ran or there is no table."""
    n, trials = search.get("num_trials"), getattr(tables, "trials", None)
    if not isinstance(n, int) or isinstance(n, bool) or not isinstance(trials, pd.DataFrame):
        return None
    ran = len(trials)
    if ran >= n:
        return None
    statuses = set(trials["status"].astype(str)) if "status" in trials else set()
    budget = search.get("time_budget_s")
    if "interrupted" in statuses:
        why = "the run was interrupted; --resume continues it"
    elif "running" in statuses:
        why = ("its driver stopped before its final tables, by a crash or a kill; --resume "
               "continues it" if _driver_gone(tables) else "so far: trials are still running")
    elif isinstance(budget, (int, float)) and not isinstance(budget, bool):
        why = f"search.time_budget_s, {budget:g} s, ended the {what}"
    else:
        why = f"the {what} ended early"
    return ran, why


def _driver_gone(tables: StudyTables) -> bool:
    """The study's driver is known to have died (``kill -9``, a crash): its last snapshot
    still calls its trials running (:func:`jetstudy.analysis.study_state.live_driver`)."""
    from jetstudy.analysis.study_state import live_driver

    folder = getattr(tables, "folder", None)
    driver = live_driver(folder) if folder is not None else None
    return bool(driver is not None and driver.gone)


def _unfinished(tables: StudyTables) -> bool:
    """Trials of the table are still running or were cut by Ctrl-C (or a killed driver's
    snapshot): the study has not ended."""
    trials = getattr(tables, "trials", None)
    if not isinstance(trials, pd.DataFrame) or "status" not in trials.columns:
        return False
    return bool(trials["status"].astype(str).isin(["running", "interrupted"]).any())


def _ran_more(tables: StudyTables, search: dict[str, Any]) -> int | None:
    """How many trials the table lists when that is more than ``search.num_trials`` (a
    ``--resume`` lowered it after more had started: they are kept and listed,
    :class:`jetstudy.study.resume.ResumedSearch`); None otherwise."""
    n, trials = search.get("num_trials"), getattr(tables, "trials", None)
    if (not isinstance(n, int) or isinstance(n, bool) or not isinstance(trials, pd.DataFrame)
            or trials.empty):
        return None
    ran = trials["trial_id"].nunique() if "trial_id" in trials.columns else len(trials)
    return int(ran) if ran > n else None


def _lowered(n: int, ran: int) -> str:
    return f"search.num_trials is {n}, lowered by a --resume after {ran} had started"


def _stop_words(trials: Any) -> str:
    """`` ASHA stopped 4 of the 12 trials at its rungs (3 after epoch 1, 1 after epoch 3).``
    and how many the time budget cut short, from ``stop_reason`` and ``epochs``: what the
    scheduler really did, beside what it was set to do; empty when it stopped none."""
    if not isinstance(trials, pd.DataFrame) or not {"stop_reason", "epochs"} <= set(
            trials.columns):
        return ""
    if "trial_id" in trials.columns:
        trials = trials.drop_duplicates("trial_id", keep="last")
    reason = trials["stop_reason"].astype(str)
    words = ""
    asha = trials.loc[reason == "scheduler", "epochs"]
    if len(asha):
        at = pd.to_numeric(asha, errors="coerce").value_counts().sort_index()
        where = ", ".join(f"{k} after epoch {int(e)}" for e, k in at.items())
        words += (f" ASHA stopped {len(asha)} of the {len(trials)} trials at its rungs"
                  + (f" ({where})." if where else "."))
    cut = int((reason == "time_budget").sum())
    if cut:
        words += (f" search.time_budget_s cut {counted(cut, 'trial')} short "
                  "(stop_reason time_budget).")
    return words


#: trials.parquet's columns that make a trial's configuration (those the table holds)
_CONFIG_COLUMNS = ("depth", "widths", "dropout", "l1", "l2", "lr", "activation", "batch_norm",
                   "batch_size")


def _repeat_words(trials: Any) -> str:
    """`` 3 of the 12 trials repeat an earlier trial's configuration (...)``: TPE and random
    search draw with replacement, so in a space of few configurations (integer depth and
    widths, every float knob fixed) a search trains some again, only the seed differing;
    empty when every trial's configuration is its own (or the table cannot say)."""
    if not isinstance(trials, pd.DataFrame) or trials.empty:
        return ""
    columns = [c for c in _CONFIG_COLUMNS if c in trials.columns]
    if "widths" not in columns:
        columns += sorted(c for c in trials.columns if str(c).startswith("width_"))
    if not {"depth", "lr"} <= set(columns):  # too little to tell configurations apart
        return ""
    if "trial_id" in trials.columns:  # a trial listed twice is one trial
        trials = trials.drop_duplicates("trial_id", keep="last")
    keys = trials[columns].astype(str).agg("|".join, axis=1)
    repeats = len(keys) - keys.nunique()
    if repeats <= 0:
        return ""
    one = repeats == 1
    return (f" {repeats} of the {len(keys)} trials {'repeats' if one else 'repeat'} an earlier "
            f"trial's configuration ({keys.nunique()} distinct; only the seed differs: the "
            "sampler draws with replacement, so a repeat shows seed spread, not a new point "
            "of the space).")


#: The search's size limits: config field -> the size it bounds, in the report's words.
_LIMITS = {"max_params": "parameters", "max_flops": "FLOPs",
           "max_multiplications": "multiplications per jet"}


def _limit_words(search: dict[str, Any]) -> str:
    """``, within at most 2000 parameters (search.max_params: ...)``: a search under size
    limits draws again every configuration over one, untrained; empty without limits."""
    limits = [f"{search[field]} {word}" for field, word in _LIMITS.items()
              if isinstance(search.get(field), int) and not isinstance(search[field], bool)]
    if not limits:
        return ""
    fields = ", ".join(f"search.{f}" for f in _LIMITS if isinstance(search.get(f), int))
    return (f", within at most {' and '.join(limits)} ({fields}: a configuration over a limit "
            "is drawn again, never trained)")


def _guided_words(search: dict[str, Any], folder: Any = None, ran: int | None = None,
                  unfinished: bool = False) -> str:
    """How many trials TPE proposed from its model, and when that is under a quarter, that the
    search was nearly random (the run's config warning): counted in ``optuna.journal``, where
    the sampler marked each proposal (``optuna_story.guided_trials``), else estimated from
    the config (``search_rules.tpe_guided_trials``: the start-up counts finished trials, so
    those asked while it ran are random too; it cannot know of failed trials). Of the ``ran``
    trials when more or fewer than ``search.num_trials`` ran; a study not ended
    (``unfinished``: trials running or cut short) gets the count so far, no verdict, and no
    estimate."""
    from jetstudy.study.optuna_story import guided_trials
    from jetstudy.study.search_rules import tpe_guided_trials

    n, at_once = search.get("num_trials"), search.get("max_concurrent")
    initial = search.get("initial_points") or []
    if not (isinstance(n, int) and isinstance(at_once, int) and n > 0 and at_once > 0):
        return ""
    known = guided_trials(folder) if folder is not None else None
    if unfinished:  # a verdict on the trials so far would judge a search not yet done
        return ("" if known is None else f" {known} of the trials so far were proposed from "
                "TPE's model (counted in optuna.journal; the study has not ended).")
    # the estimate: the first trials are unguided, the rest guided; of the first `ran` ones
    planned = tpe_guided_trials(n, at_once, len(initial) if isinstance(initial, list) else 0)
    n = ran or n  # the trials that ran, when not search.num_trials
    guided = known if known is not None else max(0, planned - (search["num_trials"] - n))
    source = " (counted in optuna.journal)" if known is not None else ""
    nearly = (" (under a quarter: nearly a random search; more trials or fewer at a time "
              "let TPE learn)") if guided < n / 4 else ""
    return f" {guided} of the {n} trials were proposed from TPE's model{source}{nearly}."
