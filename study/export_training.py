"""How far an exported trial trained (:mod:`jetstudy.study.export`): ``model.json`` ->
``training``, the warning ``jetstudy export`` prints for weights of an unfinished run, and
why ``--trial`` refuses a trial without ``--allow-unfinished``. Read from trials.parquet by
the report's full-run rule, or, before the study's first table, from the trial's own epoch
log as the tables' writer would read it.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pandas as pd

from jetstudy.study.export_inputs import ExportError, read_study_config
from jetstudy.trainables.plain_read import read_plain

__all__ = ["fully_trained_ids", "trial_training", "unfinished_refusal"]


def trial_training(results: Path, trial_id: str, study_best: bool = False) -> dict[str, Any]:
    """How far ``trial_id`` trained, from trials.parquet: its status, epochs and max_epochs,
    ``fully_trained`` by the report's own rule (analysis.curve_stats.ran_to_the_end), and a
    ``warning`` when it is not (a failed, errored or stopped-early trial: half-trained weights
    a trigger engineer must not take for a finished model; for the ``study_best`` it points
    to the fully trained trials, not back to itself); ``undetermined`` without a row, unless
    the trial's epoch log shows it ran to its end (:func:`_training_by_epoch_log`)."""
    from jetstudy.analysis.curve_stats import ran_to_the_end

    if not (results / "trials.parquet").is_file():
        return _training_by_epoch_log(results, trial_id)
    try:
        table = pd.read_parquet(results / "trials.parquet")
        row = table.loc[table["trial_id"].astype(str) == str(trial_id)]
    except (OSError, ValueError, KeyError) as exc:
        return {"fully_trained": "undetermined", "note": f"trials.parquet unreadable: {exc}"}
    if row.empty:  # started after the table's last snapshot: its own epoch log may show
        # it finished (the driver died before the next snapshot); else how far is unknown
        by_log = _training_by_epoch_log(results, trial_id)
        note = f"trial {trial_id} has no row in trials.parquet"
        if by_log["fully_trained"] is True:
            return {**by_log, "note": f"{note}; read from trials/{trial_id}/epochs.jsonl"}
        return {"fully_trained": "undetermined", "note": note}
    row = row.iloc[[0]]

    def number(name: str) -> int | None:
        v = pd.to_numeric(row[name], errors="coerce").iloc[0] if name in row.columns else None
        return int(v) if v is not None and pd.notna(v) else None

    status = str(row["status"].iloc[0]) if "status" in row.columns else ""
    epochs, budget = number("epochs"), number("max_epochs")
    full = bool(ran_to_the_end(row).iloc[0])
    out: dict[str, Any] = {"status": status, "epochs": epochs, "max_epochs": budget,
                           "fully_trained": full}
    if not full:
        out["warning"] = (f"trial {trial_id} is not fully trained (status {status or 'unknown'}"
                          f", {epochs if epochs is not None else '?'} of "
                          f"{budget if budget is not None else '?'} epochs): these are the best "
                          f"weights of an unfinished run; for a finished model export "
                          + (f"a fully trained trial with --trial{_completed(results)}"
                             if study_best else f"{_best_or(results)}a completed trial"
                             f"{_completed(results)}"))
    return out


def _training_by_epoch_log(results: Path, trial_id: str) -> dict[str, Any]:
    """How far ``trial_id`` trained when the study has no trials.parquet yet (its driver
    ended, or died, before the first snapshot): read from the trial's own epoch log
    (``trials/<id>/epochs.jsonl``) against the study's ``scheduler.max_epochs``, by the rule
    the tables' writer applies to such a trial (:func:`jetstudy.study.collect.build_tables`):
    fully trained when its last epoch reaches ``max_epochs`` or says it converged (its
    patience), not when it diverged (``trials/<id>/diverged``); the status is what that table
    would say (``completed``; ``failed``; ``running`` while the study's driver lives, else
    ``stopped``). ``undetermined`` only where the log or ``max_epochs`` cannot be read."""
    from jetstudy.study.tables import epochs_trained
    from jetstudy.trainables.trialfiles import EPOCHS_FILE, diverged_before, read_epochs

    note = "the study has no trials.parquet (it wrote no table yet)"
    try:
        scheduler = read_study_config(results).get("scheduler")
    except ExportError:  # no config.yaml, or a damaged one: no epoch budget to judge by
        scheduler = None
    budget = scheduler.get("max_epochs") if isinstance(scheduler, dict) else None
    state_dir = str(results / "trials")
    try:
        records = read_epochs(state_dir, trial_id)
        diverged = diverged_before(state_dir, trial_id)
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        records, diverged = [], None
    if not records or not isinstance(budget, int) or isinstance(budget, bool) or budget < 1:
        return {"fully_trained": "undetermined",
                "note": f"{note}, and trials/{trial_id}/{EPOCHS_FILE} or the config's "
                        f"scheduler.max_epochs cannot be read"}
    epochs = epochs_trained(records)
    full = diverged is None and (epochs >= budget or bool(records[-1].get("converged")))
    if full:
        status = "completed"
    elif diverged is not None:
        status = "failed"
    else:
        from jetstudy.analysis.study_state import live_driver

        driver = live_driver(results)
        status = "running" if driver is not None and not driver.gone else "stopped"
    out: dict[str, Any] = {"status": status, "epochs": epochs, "max_epochs": budget,
                           "fully_trained": full,
                           "note": f"{note}: read from trials/{trial_id}/{EPOCHS_FILE}"}
    if not full:
        out["warning"] = (f"trial {trial_id} is not fully trained (status {status}, {epochs} "
                          f"of {budget} epochs by its epoch log): these are the best weights of "
                          f"an unfinished run; for a finished model export a completed trial")
    return out


def unfinished_refusal(results: Path, trial_id: str, training: dict[str, Any]) -> str | None:
    """Why ``jetstudy export --trial`` refuses ``trial_id`` without ``--allow-unfinished``:
    ``training`` (:func:`trial_training`) says it is not fully trained (stopped early by ASHA,
    failed, still running; before the study's first trials.parquet, by the trial's epoch log),
    the study's driver still runs it before any table exists, or how far it trained is
    unknown (trials.parquet has no row for it: it started after the last snapshot; an
    unreadable table or epoch log); None when it may go (a fully trained trial)."""
    flag = "pass --allow-unfinished to export these weights anyway"
    full = training.get("fully_trained")
    if full is not True and not (results / "trials.parquet").is_file():
        from jetstudy.analysis.study_state import live_driver

        driver = live_driver(results)
        if driver is not None and not driver.gone:
            return (f"--trial {trial_id}: the study is still running ({driver}) and has no "
                    f"trials.parquet yet, so trial {trial_id} may be training; wait for the "
                    f"study to end, or {flag}")
    if full is False:
        return (f"--trial {trial_id}: trial {trial_id} is not fully trained (status "
                f"{training.get('status') or 'unknown'}, {_count(training.get('epochs'))} of "
                f"{_count(training.get('max_epochs'))} epochs), its weights are an unfinished "
                f"run's; export {_best_or(results)}a completed trial{_completed(results)}, "
                f"or {flag}")
    if full == "undetermined":
        note = str(training.get("note"))
        if (results / "trials.parquet").is_file() and "no row" in note:
            return (f"--trial {trial_id}: how far trial {trial_id} trained is unknown "
                    f"({note}: {_no_row_words(results)}), or {flag}")
        if (results / "trials.parquet").is_file():
            return (f"--trial {trial_id}: how far trial {trial_id} trained is unknown ({note});"
                    f" put back the study's own trials.parquet (trials.csv holds the same "
                    f"rows), or {flag}")
        return f"--trial {trial_id}: how far trial {trial_id} trained is unknown ({note}); {flag}"
    return None


def _no_row_words(results: Path) -> str:
    """Why a trial has no row in trials.parquet, and what adds it: a running driver's next
    snapshot; once no driver holds the study's ``driver.lock`` no table comes: a driver killed
    before its final tables (``ended`` null in provenance.json) leaves a study that ``jetstudy
    run ... --resume`` continues (its unfinished trials, then the tables), a driver that
    ended left final tables that someone edited."""
    from jetstudy.analysis.study_state import live_driver
    from jetstudy.study.lock import read_lock
    from jetstudy.study.provenance import PROVENANCE

    driver = live_driver(results)
    if (driver is not None and not driver.gone) or (driver is None
                                                    and read_lock(results) is not None):
        # running, or a lock of another host whose heartbeat stopped: it may still run
        return ("it started after the table's last snapshot, and the study's driver may still "
                "run it; wait for the study's tables")
    try:
        record = json.loads(read_plain(results / PROVENANCE))
    except (OSError, ValueError):  # none (an older study), or unreadable: not known ended
        record = None
    if isinstance(record, dict) and record.get("ended"):
        return (f"the study ended at {record['ended']} and its final tables have no row for "
                "it: trials.parquet was edited or replaced; put back the study's own "
                "trials.parquet (trials.csv holds the same rows)")
    place = shlex.join(["--set", f"storage.results_dir={results.absolute().parent}",
                        "--set", f"storage.name={results.name}"])
    return ("it started after the table's last snapshot, and no driver holds the study's "
            "driver.lock (its driver was killed or crashed before its final tables), so no "
            f"table will list it: continue the study with `jetstudy run CONFIG {place} "
            "--resume` (CONFIG: the config it ran with), which continues its unfinished trials "
            "and writes the tables")


def _best_or(results: Path) -> str:
    """``the study's best (no --trial) or `` where the study has one to export (a study
    whose driver ended before its evaluation has no ``best/model.pt``), else ''."""
    return "the study's best (no --trial) or " if (results / "best" / "model.pt").is_file() else ""


def _count(n: Any) -> str:
    return str(n) if n is not None else "?"


def fully_trained_ids(results: Path) -> list[str]:
    """The trials trials.parquet calls fully trained (the report's full-run rule) and that
    have a folder under ``trials/``, in the table's order; before the study's first table,
    those whose epoch logs say so (:func:`_training_by_epoch_log`), by id; [] without a
    readable table."""
    from jetstudy.analysis.curve_stats import ran_to_the_end

    if not (results / "trials.parquet").is_file():
        folders = results / "trials"
        ids = sorted(p.name for p in folders.iterdir() if p.is_dir()) if folders.is_dir() else []
        return [i for i in ids if _training_by_epoch_log(results, i)["fully_trained"] is True]
    try:
        table = pd.read_parquet(results / "trials.parquet")
        ids = table.loc[ran_to_the_end(table), "trial_id"].astype(str).tolist()
    except (OSError, ValueError, KeyError):
        return []
    return [i for i in dict.fromkeys(ids) if (results / "trials" / i).is_dir()]


def _completed(results: Path) -> str:
    """`` (a, b, c)``: up to three trials trials.parquet calls fully trained, else ''."""
    ids = fully_trained_ids(results)
    if not ids:
        return ""
    return f" ({', '.join(ids[:3])}{', ...' if len(ids) > 3 else ''})"
