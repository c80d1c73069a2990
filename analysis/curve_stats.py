"""The few numbers of a learning curve that the regime rules read (:mod:`jetstudy.analysis.regimes`).

Final losses are the median of the finite epochs among the last ``SMOOTH`` by epoch number (one
spike is no verdict; an epoch missing from the log is not replaced by an early one), the
minimum and the trend are read on a centred running median of ``SMOOTH`` epochs (one low
fluctuation is no minimum; by epoch number too: an epoch's window holds the logged epochs
within one of it, never an epoch far away across a gap in the log); a curve of fewer than
``SMOOTH`` finite epochs has no median: its
final losses are its last epoch's and its minimum its lowest epoch, and the standard errors are the last epoch's. The *swing* of a
loss is how far it zig-zags from epoch to epoch at the end: over the last ``SWING_EPOCHS``
epochs, each pair of consecutive steps that reverses direction (up then down, or down then
up) counts the smaller of its two steps, a pair that does not reverse counts 0, and the swing
is the median (read only when each of the last ``SWING_EPOCHS`` epochs is logged: a step
across a gap in the log is no epoch-to-epoch step). That is the peak-to-peak step of a curve that alternates high/low, 0 for any
monotone curve (however curved: a still falling loss is no zig-zag), and 0 for one or two
isolated spikes (each reverses one pair of the five; the median ignores them). Without a
curve the numbers come from the trials table's last-epoch columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SMOOTH", "SWING_EPOCHS", "curve_summary", "swing", "epochs_words", "ran_full",
           "ran_to_the_end", "FULL_RUN_STATUSES", "stop_words"]

SMOOTH = 3  # epochs in the running median the trend and the final losses are read from
#: Epochs the swing is read from: six steps, five pairs of steps, so that two isolated
#: spikes (one reversing pair each) never make the median.
SWING_EPOCHS = 7


def swing(values: np.ndarray) -> float:
    """Epoch-to-epoch zig-zag of the last :data:`SWING_EPOCHS` values (module docstring); NaN
    for a shorter curve.

    >>> swing(np.array([0.6, 0.8] * 4)), swing(np.linspace(1.0, 0.6, 8))
    (0.2, 0.0)
    >>> swing(np.array([0.6, 0.6, 0.6, 0.9, 0.6, 0.6, 0.6]))  # one spike
    0.0
    """
    tail = np.asarray(values, dtype=float)[-SWING_EPOCHS:]
    if len(tail) < SWING_EPOCHS:
        return np.nan
    steps = np.diff(tail)
    first, second = steps[:-1], steps[1:]
    reversal = np.where(first * second < 0, np.minimum(np.abs(first), np.abs(second)), 0.0)
    return round(float(np.median(reversal)), 12)


def _curve_stats(e: pd.DataFrame) -> dict[str, float]:
    """The numbers one trial's curve gives the rules (rows sorted by epoch)."""
    nonfinite = ~np.isfinite(e["train_loss"]) | ~np.isfinite(e["val_loss"])
    out: dict[str, float] = {"n_epochs": float(e["epoch"].max()),
                             "first_nonfinite_epoch": float(e.loc[nonfinite, "epoch"].min())
                             if nonfinite.any() else np.nan}
    last = e.iloc[-1]
    out.update(last_train=last["train_loss"], last_val=last["val_loss"],
               last_auc=last["val_auc"] if "val_auc" in e else np.nan,
               train_se=last.get("train_loss_se", np.nan), val_se=last.get("val_loss_se", np.nan))
    ok = e[~nonfinite]
    out["n_logged"] = float(len(ok))  # epochs the log holds finite losses of (gaps left out)
    finite = np.concatenate([ok["train_loss"].to_numpy(float), ok["val_loss"].to_numpy(float)])
    out["min_loss"] = float(finite.min()) if finite.size else np.nan
    if ok.empty:
        return out
    # the last SMOOTH epochs by number, not by row: with epochs missing from the log (1, 2, 10)
    # the last three rows would reach back to the first epochs
    # a curve of fewer than SMOOTH epochs has no median to take: the mean of a run's first and
    # last epoch is no loss its model ever had (max_epochs 2: the final is epoch 2's)
    short = len(ok) < SMOOTH
    tail = ok.iloc[-1:] if short else ok[ok["epoch"] > ok["epoch"].iloc[-1] - SMOOTH]
    out["train"], out["val"] = tail["train_loss"].median(), tail["val_loss"].median()
    smooth = ok[["train_loss", "val_loss"]] if short else _running_median(ok)
    i = int(np.argmin(smooth["val_loss"].to_numpy()))
    out.update(min_val=smooth["val_loss"].iloc[i], min_val_epoch=ok["epoch"].iloc[i],
               train_at_min_val=smooth["train_loss"].iloc[i],
               smooth_final_train=smooth["train_loss"].iloc[-1],
               smooth_final_val=smooth["val_loss"].iloc[-1],
               swing_train=swing(_swing_tail(ok, "train_loss")),
               swing_val=swing(_swing_tail(ok, "val_loss")))
    return out


def _running_median(ok: pd.DataFrame) -> pd.DataFrame:
    """The centred running median of the losses over ``SMOOTH`` epochs *by number*: at epoch
    e, the median of the logged (finite) epochs e - 1 .. e + 1. With epochs missing from the
    log (1, 2, 3, 10, 11) a window of rows would mix epoch 3 with epoch 10; a window of epochs
    takes what of its own epochs is there (epoch 3: epochs 2 and 3)."""
    epoch = ok["epoch"].to_numpy(float)
    near = np.abs(epoch[:, None] - epoch[None, :]) <= SMOOTH // 2
    out = {}
    for name in ("train_loss", "val_loss"):
        values = np.where(near, ok[name].to_numpy(float)[None, :], np.nan)
        out[name] = np.nanmedian(values, axis=1)
    return pd.DataFrame(out, index=ok.index)


def _swing_tail(ok: pd.DataFrame, name: str) -> np.ndarray:
    """The loss at each of the last ``SWING_EPOCHS`` epochs by number, when every one of them
    is logged; else too short a run of consecutive epochs to read a zig-zag from (a step
    across a gap in the log is no epoch-to-epoch step): an empty array (swing NaN)."""
    tail = ok[ok["epoch"] > ok["epoch"].iloc[-1] - SWING_EPOCHS]
    if len(tail) < SWING_EPOCHS:
        return np.array([])
    return tail[name].to_numpy(float)


def curve_summary(trials: pd.DataFrame, epochs: pd.DataFrame | None) -> pd.DataFrame:
    """Per trial, the few numbers the rules need, from the curve when there is one.

    Columns: ``trial_id, has_curve, n_epochs`` (epochs trained: the last epoch's number),
    ``n_logged`` (epochs of the curve with finite losses; NaN without a curve), ``last_train, last_val, last_auc, train, val``
    (judged finals: median of the finite epochs among the last 3 by number), ``train_se, val_se, min_val,
    min_val_epoch, train_at_min_val`` (3-epoch running median), ``smooth_final_train,
    smooth_final_val, swing_train, swing_val`` (:func:`swing`), ``first_nonfinite_epoch,
    table_nonfinite``. Without a curve they come from the trials table's last-epoch columns
    (``min_val`` from ``best_val_loss``; no trend, no swing), as for a curve that ends before
    the table's ``epochs`` (its last epochs missing from the log). ``min_loss``: the lowest finite
    loss of the curve (of the table's losses without one): below 0 it is no cross-entropy.
    Of a trial listed twice the last row counts, and of an epoch listed twice (a resumed
    log) its last row, as in :func:`jetstudy.analysis.tables.load_tables`.
    """
    base = trials.drop_duplicates("trial_id", keep="last").set_index("trial_id")

    def col(name: str) -> pd.Series:  # numbers as floats (a CSV of whole numbers reads ints)
        if name not in base:
            return pd.Series(np.nan, index=base.index)
        return pd.to_numeric(base[name], errors="coerce").astype(float)

    out = pd.DataFrame(index=base.index)
    out["has_curve"] = False
    out["n_epochs"] = col("epochs")
    out["n_logged"] = np.nan  # no curve: no epochs logged to read a trend from
    out["last_train"] = out["train"] = col("train_loss")
    out["last_val"] = out["val"] = col("val_loss")
    out["last_auc"] = col("val_auc")
    out["train_se"], out["val_se"] = col("train_loss_se"), col("val_loss_se")
    out["min_val"] = np.fmin(col("best_val_loss"), out["val"])
    out["min_val_epoch"] = col("best_epoch")
    for name in ("train_at_min_val", "smooth_final_train", "smooth_final_val", "swing_train",
                 "swing_val", "first_nonfinite_epoch"):
        out[name] = np.nan
    out["table_nonfinite"] = ~np.isfinite(out["last_train"]) | ~np.isfinite(out["last_val"])
    out["min_loss"] = np.fmin(np.fmin(out["last_train"], out["last_val"]), out["min_val"])
    if epochs is not None and not epochs.empty:
        e = epochs[epochs["trial_id"].isin(base.index)]
        # epoch numbers as floats; a row without one (a hand-made table's empty cell) has no
        # place on the curve (load_tables drops it too)
        e = e.assign(epoch=pd.to_numeric(e["epoch"], errors="coerce").astype(float))
        e = e[np.isfinite(e["epoch"])].drop_duplicates(
            ["trial_id", "epoch"], keep="last").sort_values(["trial_id", "epoch"])
        stats = pd.DataFrame.from_dict(
            {tid: _curve_stats(g) for tid, g in e.groupby("trial_id", sort=False)}, orient="index")
        if not stats.empty:  # a log that ends before the trial did (its last epochs lost) is
            # not its curve: the table's last-epoch columns judge it (no trend, no swing)
            ran = out.loc[stats.index, "n_epochs"]
            stats = stats[~(stats["n_epochs"] < ran)]
        if not stats.empty:
            ids = stats.index
            out.loc[ids, ["min_val", "min_val_epoch", "train", "val"]] = np.nan
            for name in stats.columns:  # SE and AUC unknown in the curve: the table's
                keep = stats[name].notna() | (name not in ("train_se", "val_se", "last_auc"))
                out.loc[ids[keep.to_numpy()], name] = stats.loc[keep, name].astype(float)
            out.loc[ids, "has_curve"] = True
            out.loc[ids, "table_nonfinite"] = False
    return out.reset_index()


def epochs_words(n: float, budget: float) -> str:
    """How far a trial got, as every sentence says it: ``3 of 5 epochs``, ``1 epoch`` where
    the budget is unknown (never "1 epochs"), ``an unknown number of the 5 epochs`` (never
    "of of 5"). The one wording of regimes.csv's reasons and the summary's runner-up line."""
    if not np.isfinite(n):
        return (f"an unknown number of the {int(budget)} epochs" if np.isfinite(budget)
                else "an unknown number of epochs")
    if np.isfinite(budget):
        return f"{int(n)} of {int(budget)} epochs"
    return f"{int(n)} epoch{'' if n == 1 else 's'}"


def ran_full(n: float, budget: float) -> bool:
    """A trial that trained its whole ``max_epochs``: its curve is complete whatever its
    status says (a trial the time budget ended after its last epoch)."""
    return bool(np.isfinite(n) and np.isfinite(budget) and n >= budget)


#: Statuses whose trial, having trained its whole ``max_epochs``, holds a full run's score
#: (a failed or interrupted run did not end sound: never a candidate, whatever it trained).
FULL_RUN_STATUSES: tuple[str, ...] = ("completed", "stopped", "running")


def ran_to_the_end(trials: pd.DataFrame) -> pd.Series:
    """Per row of ``trials``: a trial whose score is a full run's, the one rule of the Pareto
    front, the size answer, the best trial's tie-break and the complexity curve. Status
    ``completed`` (``max_epochs``, or converged by its patience), or ``stopped``/``running``
    after its whole ``max_epochs`` (:func:`ran_full`: the time budget or a driver's end came
    after its last epoch), as regimes.csv's ``complete`` judges its curve. A table without
    ``epochs``/``max_epochs`` has only its status to tell."""
    status = (trials["status"].astype(str) if "status" in trials.columns
              else pd.Series("", index=trials.index))

    def numbers(name: str) -> pd.Series:
        if name not in trials.columns:
            return pd.Series(np.nan, index=trials.index)
        return pd.to_numeric(trials[name], errors="coerce").astype(float)

    full = np.array([ran_full(n, b) for n, b in zip(numbers("epochs"), numbers("max_epochs"))],
                    dtype=bool)
    done = status.eq("completed").to_numpy() | (status.isin(FULL_RUN_STATUSES).to_numpy() & full)
    return pd.Series(done, index=trials.index, dtype=bool)


def stop_words(row: pd.Series) -> str | None:
    """Why the curve is too short to show a regime, or None for a complete curve."""
    n, budget, status = row["n_epochs"], row["max_epochs"], row["status"]
    ran = epochs_words(n, budget)
    full = ran_full(n, budget)
    if status == "running":
        return f"{ran} so far: still running"
    if status == "failed" and not full:
        return f"failed after {ran}"
    if status != "completed" and not full:
        why = {"scheduler": " by the scheduler (ASHA)", "time_budget": " by the time budget",
               "interrupted": ": interrupted"}.get(row["stop_reason"], "")
        return f"stopped after {ran}{why}"
    return None
