"""Where a study stands, in the words the report leads with: finished, still running, interrupted,
cut by its time budget, or with every trial failed.

A report is read as a statement about a study, so it must not describe an interrupted study (or
one whose time budget ran out) as if it had run its course: its counts, its best trial and its
maps are those of the trials that got to run. Everything here is read from the trials table and
``config.yaml`` alone (``status``, ``stop_reason``, ``search.num_trials``,
``search.time_budget_s``), so it also holds for a lone table.

>>> state = study_state(trials, config)          # doctest: +SKIP
>>> state.word, state.lines[0]                   # doctest: +SKIP
('interrupted', 'The study was interrupted (Ctrl-C or SIGTERM) before it finished: ...')
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from jetstudy.analysis.pareto import SCORED_STATUSES

__all__ = ["StudyState", "study_state", "missing_test_reason", "live_driver", "Driver"]


@dataclass(frozen=True)
class StudyState:
    """``word``: ``finished``, ``running``, ``interrupted`` (Ctrl-C), ``crashed`` (the driver
    died), ``time budget``, ``ended early`` (fewer trials than asked for, no reason recorded),
    ``all failed`` or ``unknown`` (no config to compare with); ``lines``: the sentences the report shows;
    ``n_trials`` / ``planned``: trials in the table and ``search.num_trials`` (None unknown)."""

    word: str
    n_trials: int
    planned: int | None
    lines: list[str] = field(default_factory=list)


def _search(config: dict[str, Any] | None) -> dict[str, Any]:
    search = (config or {}).get("search")
    return search if isinstance(search, dict) else {}


def _count(trials: pd.DataFrame, column: str, value: str) -> int:
    if column not in trials.columns:
        return 0
    return int((trials[column].astype(str) == value).sum())


def _trials(k: int, plural: str, singular: str) -> str:
    """``2 trials were`` / ``1 trial was`` / ``no trial was`` (never "0 trials were")."""
    if k == 0:
        return f"no trial {singular}".strip()
    return f"{k} trials {plural}" if k != 1 else f"1 trial {singular}"


def study_folder(tables: Any) -> Path | None:
    """The study folder a report reads (``StudyTables.folder``) when it is one (it holds
    config.yaml), for the resume command; None for a lone table."""
    folder = getattr(tables, "folder", None)
    return folder if isinstance(folder, Path) and (folder / "config.yaml").is_file() else None


def _resume_hint(config: dict[str, Any] | None, folder: Path | None = None) -> str:
    """The command that continues the study; with its ``folder`` known, the folder's parent
    as ``storage.results_dir`` (absolute) and its name as ``storage.name``: the config's own
    may be relative to where the study was started, or the study may have been moved or
    renamed. Quoted for the shell (a name with a space)."""
    if folder is not None:  # the folder's own name: it may have been renamed since it ran
        place = shlex.join(["--set", f"storage.results_dir={folder.absolute().parent}",
                            "--set", f"storage.name={folder.name}"])
        return f"`jetstudy run <config> {place} --resume` continues it"
    storage = (config or {}).get("storage")
    name = storage.get("name") if isinstance(storage, dict) else None
    name = shlex.quote(name) if isinstance(name, str) and name else "<the study's folder name>"
    return f"`jetstudy run <config> --set storage.name={name} --resume` continues it"


@dataclass(frozen=True)
class Driver:
    """The study's driver as its ``driver.lock`` tells it: ``words`` (host, pid, since when),
    and ``gone``: why it is known to have died (its process on this machine is gone: ``kill
    -9``, a crash, a reboot), empty while it runs. Reads as its words."""

    words: str
    gone: str = ""

    def __str__(self) -> str:
        return self.words


def live_driver(folder: Path | None) -> Driver | None:
    """The driver of the study in ``folder`` as its ``driver.lock`` says: one running it now
    (:meth:`jetstudy.study.lock.LockInfo.stale_reason`: a report written meanwhile reads live
    snapshots of the tables), or one of this machine whose process is gone (``kill -9``: its
    last snapshot still calls its trials running), or none at all in a study folder (the
    driver ended without its final tables); None when no lock says either (a lock of another
    machine whose heartbeat stopped proves nothing: that driver may still run; a lone table
    has no lock)."""
    if folder is None:
        return None
    from jetstudy.study.lock import read_lock  # the lock's one owner (lazy: no back-import)

    holder = read_lock(Path(folder))
    if holder is None:
        from jetstudy.study.lock import LOCK_FILE
        from jetstudy.study.paths import holds_study

        lock = Path(folder) / LOCK_FILE
        if not (lock.exists() or lock.is_symlink()) and holds_study(Path(folder)):
            # a driver holds the lock from before its first snapshot until after its final
            # tables: a snapshot no driver holds was left by one that ended abnormally
            return Driver("no driver holds its driver.lock", gone=(
                "its driver ended without writing the final tables: an error, or a kill"))
        return None
    if holder.stale_reason() is None:
        return Driver(holder.describe())
    gone = holder.gone_reason()  # of this machine, its process gone
    if gone is not None:
        return Driver(holder.describe(), gone=gone)
    return None


def study_state(trials: pd.DataFrame, config: dict[str, Any] | None,
                live: str | Driver | None = None, folder: Path | None = None) -> StudyState:
    """How the study in ``trials`` ended (or that it has not), with the report's sentences;
    ``live`` (:func:`live_driver`): a driver still runs the study, so whatever the table
    says, it is a partial snapshot; or its driver died (``Driver.gone``), so trials the table
    calls running were cut short (a text is a live driver's words)."""
    state = _study_state(trials, config, live, folder)
    if state.planned and state.n_trials > state.planned:
        return replace(state, lines=[
            *state.lines, f"The tables hold {state.n_trials} trials, more than the "
            f"{state.planned} search.num_trials asks for now: the config was changed after "
            "they ran."])
    return state


def _study_state(trials: pd.DataFrame, config: dict[str, Any] | None,
                 live: str | Driver | None, folder: Path | None = None) -> StudyState:
    if "trial_id" in trials.columns:  # a trial listed twice is one trial, its last row
        trials = trials.drop_duplicates("trial_id", keep="last")
    search = _search(config)
    planned = search.get("num_trials")
    planned = planned if isinstance(planned, int) and not isinstance(planned, bool) else None
    budget = search.get("time_budget_s")
    n = len(trials)
    running = _count(trials, "status", "running")
    interrupted = _count(trials, "status", "interrupted")
    failed = _count(trials, "status", "failed")
    budget_cut = _count(trials, "stop_reason", "time_budget")
    # status stopped, stop_reason interrupted: the driver died (a crash, kill -9) before Tune
    # recorded the trial's end (docs/results_layout.md)
    crashed = int(((trials["status"].astype(str) != "interrupted")
                   & (trials["stop_reason"].astype(str) == "interrupted")).sum()
                  ) if {"status", "stop_reason"} <= set(trials.columns) else 0
    if planned and n <= planned:
        tried = f"{n} of the {_trials(planned, 'asked for', 'asked for')} (search.num_trials)"
    else:  # no plan, or more than the config asks for now (lowered after they ran)
        tried = _trials(n, "", "").strip()
    are, were = ("is", "was") if n == 1 else ("are", "were")  # "1 of the 64 trials ... is"
    if n and failed == n:
        return StudyState("all failed", n, planned, [
            f"{f'All {n} trials' if n > 1 else 'The only trial'} failed, so there is no best "
            "model, no test evaluation and no Pareto front; any regime, map or curve below is "
            f"read from the epochs {'the failed trials' if n > 1 else 'it'} recorded before "
            f"{'they' if n > 1 else 'it'} failed. The most frequent errors are listed below."])
    gone = live.gone if isinstance(live, Driver) else ""
    if running and gone:  # its last snapshot, written while it ran: nothing trains them now
        return StudyState("crashed", n, planned, [
            f"The study's driver stopped before it finished ({live}: {gone}), and the "
            "tables are its last snapshot: "
            f"{_trials(running, 'were', 'was')} training then (status running: cut short where "
            f"{'their' if running > 1 else 'its'} last epoch stands) and {tried} {were} "
            f"started; {_resume_hint(config, folder)}."])
    if live and not gone:
        now = (f"; {_trials(running, 'are', 'is')} training now" if running else "")
        return StudyState("running", n, planned, [
            f"The study is still running (its driver: {live}): this report is partial, a "
            f"snapshot of the tables as they stand ({tried} {are} in the table so far{now}); the "
            "counts, the best trial, the regimes and the front will change, and the test "
            "evaluation comes at the end. Run jetstudy report again once it has finished."])
    if running:
        return StudyState("running", n, planned, [
            f"{_trials(running, 'are', 'is')} still running: this report is partial, a snapshot; "
            f"{'their curves are' if running > 1 else 'its curve is'} judged "
            f"as {'they stand' if running > 1 else 'it stands'} ({tried} {are} in the table so "
            "far)."])
    if interrupted:
        return StudyState("interrupted", n, planned, [
            "The study was interrupted (Ctrl-C or SIGTERM) before it finished: "
            f"{_trials(interrupted, 'were', 'was')} cut short (status interrupted) and {tried} "
            f"{were} started; "
            f"{_resume_hint(config, folder)}. Everything below describes the study as it stood when it "
            "was stopped, and its best model was not evaluated on the test split."])
    if budget_cut or (isinstance(budget, (int, float)) and planned and n < planned):
        seconds = f" = {budget:g} s" if isinstance(budget, (int, float)) else ""
        return StudyState("time budget", n, planned, [
            f"The study's time budget ran out (search.time_budget_s{seconds}) before it "
            f"finished: {_trials(budget_cut, 'were', 'was')} cut short by it (stop_reason "
            "time_budget) and "
            f"{tried} {were} started."])
    if crashed:
        return StudyState("crashed", n, planned, [
            "The study's driver stopped (a crash, or a kill) before it finished: "
            f"{_trials(crashed, 'were', 'was')} cut short when it died (stop_reason "
            f"interrupted) and {tried} {were} started; {_resume_hint(config, folder)}."])
    if planned is None:
        return StudyState("unknown", n, planned, [])
    if n < planned:
        return StudyState("ended early", n, planned, [
            f"The study ended before it finished, or some trials never trained an epoch "
            f"(those are not in the tables): {tried} {are} in the table."])
    failures = f"; {failed} of them failed (see the errors below)" if failed else ""
    return StudyState("finished", n, planned, [f"The study finished: {tried} ran{failures}."])


def missing_test_reason(trials: pd.DataFrame, config: dict[str, Any] | None,
                        live: str | Driver | None = None,
                        folder: Path | None = None) -> str | None:
    """Why a study has no test evaluation, when its tables (or a ``live`` driver) say (None:
    they do not)."""
    state = study_state(trials, config, live, folder)
    if state.word == "all failed":
        return "every trial failed, so no model was evaluated on the test split"
    if state.word == "interrupted":
        return ("the study was interrupted before its best model was evaluated on the test "
                f"split; {_resume_hint(config, folder)}")
    if state.word == "crashed":
        return ("the study's driver stopped (a crash, or a kill) before its best model was "
                f"evaluated on the test split; {_resume_hint(config, folder)}")
    if state.word == "running":
        return "the study is still running: its best model is evaluated on the test split at the end"
    scored = trials["status"].isin(SCORED_STATUSES) if "status" in trials.columns else None
    if scored is not None and not scored.any():
        return "no trial trained an epoch without failing, so no model was evaluated"
    return None
