"""How a rerun's tables differ from the study's (:func:`compare_runs`): ``jetstudy rerun``
prints it after the rerun's study; the numbers, not Ray's ids or the timings
(:data:`VOLATILE`), must be equal for "reproduced"."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jetstudy.trainables.errors import listed
from jetstudy.trainables.table_schema import TRIAL_ORDER
from jetstudy.trainables.plain_read import read_plain

__all__ = ["compare_runs", "VOLATILE", "expected_causes", "verdict"]


#: Columns a rerun is not expected to repeat: Ray's random trial id, the timings and the
#: restarts and continuations by --resume (a worker that died, a driver that stopped: the
#: machine's events; such a trial's numbers are compared as any other's).
VOLATILE = ("trial_id", "wall_time_s", "time_s", "restarts", "resumed")


def compare_runs(first: str | os.PathLike[str], rerun: str | os.PathLike[str]) -> list[str]:
    """How the rerun's ``trials.parquet`` and ``epochs.parquet`` differ from the first run's,
    apart from :data:`VOLATILE`; empty: reproduced. Where both runs number their trials, rows
    pair by ``trial_number`` (epochs by it and ``epoch``) and a difference names the trial
    numbers (did the rerun stop the same trials?); else rows are compared in a canonical
    order and only the columns are named."""
    import pandas as pd

    out = []
    numbers = [_trial_numbers(Path(f)) for f in (first, rerun)]
    paired = all(n is not None for n in numbers)  # both runs number their trials
    for name in ("trials.parquet", "epochs.parquet"):
        try:
            a, b = (pd.read_parquet(Path(f) / name) for f in (first, rerun))
        except Exception as exc:  # a table missing: say so, never fail the rerun over it
            out.append(f"{name}: cannot be compared ({type(exc).__name__})")
            continue
        if paired:  # each row with its trial's number (a table from before the column too)
            a, b = (t.assign(**{TRIAL_ORDER: t["trial_id"].astype(str).map(n)})
                    for t, n in ((a, numbers[0]), (b, numbers[1])))
            out += _paired_differences(name, a, b)
            continue
        # a table from before trial_number beside a numbered one: the numbers are the
        # search's bookkeeping, not a result; rows are compared as a whole
        one_side = name == "trials.parquet" and (TRIAL_ORDER in a) != (TRIAL_ORDER in b)
        volatile = VOLATILE + ((TRIAL_ORDER,) if one_side else ())
        a, b = (t.drop(columns=[c for c in volatile if c in t.columns]) for t in (a, b))
        for where, cols in (("the study", [c for c in a.columns if c not in b.columns]),
                            ("the rerun", [c for c in b.columns if c not in a.columns])):
            if cols:  # another jetstudy version's tables: the common columns still count
                out.append(f"{name}: columns only in {where}: {listed(cols)}")
        if len(a) != len(b):
            out.append(f"{name}: {len(a)} rows in the study, {len(b)} in the rerun")
            continue
        common = [c for c in a.columns if c in b.columns]
        a, b = a[common], b[common]
        a, b = (t.loc[t.astype(str).apply(tuple, axis=1).sort_values().index]
                .reset_index(drop=True) for t in (a, b))
        differ = [c for c in a.columns if not a[c].astype(str).equals(b[c].astype(str))]
        if differ:
            out.append(f"{name}: {listed(differ)} differ")
    return out


def _trial_numbers(folder: Path) -> dict[str, int] | None:
    """trial_id -> ``trial_number`` of the folder's trials table; a row from before the
    column takes its Optuna number from the journal in the folder (by its ``trial_id``
    attribute), as the report numbers it. None when there is no table, a row has no number
    from either (its place in the search is not known: rows are then compared as a whole)
    or a number repeats."""
    import pandas as pd

    from jetstudy.study.trial_numbers import numbers_from_journal

    try:
        trials = pd.read_parquet(folder / "trials.parquet")
        ids = trials["trial_id"].astype(str)
    except Exception:  # noqa: BLE001 - no table or no trial_id: compare as before
        return None
    numbers = (pd.to_numeric(trials[TRIAL_ORDER], errors="coerce") if TRIAL_ORDER in trials
               else pd.Series(float("nan"), index=trials.index))
    if numbers.isna().any():
        journal = numbers_from_journal(folder)
        numbers = numbers.fillna(ids.map(journal).astype(float))
    if numbers.isna().any() or numbers.duplicated().any():
        return None
    return dict(zip(ids, numbers.astype(int)))


def _paired_differences(name: str, a: Any, b: Any) -> list[str]:
    """How two tables of numbered trials differ, rows paired by ``trial_number`` (and
    ``epoch``), naming the trial numbers of the rows that differ or are in one run only."""
    import pandas as pd

    out = []
    key = [TRIAL_ORDER] + (["epoch"] if "epoch" in a.columns and "epoch" in b.columns else [])
    a, b = (t.drop(columns=[c for c in VOLATILE if c in t.columns]) for t in (a, b))
    for where, cols in (("the study", [c for c in a.columns if c not in b.columns]),
                        ("the rerun", [c for c in b.columns if c not in a.columns])):
        if cols:  # another jetstudy version's tables: the common columns still count
            out.append(f"{name}: columns only in {where}: {listed(cols)}")
    common = [c for c in a.columns if c in b.columns]
    both = a[key].merge(b[key], on=key, how="outer", indicator=True)
    only = {side: sorted({int(n) for n in both.loc[both["_merge"] == flag, TRIAL_ORDER]
                          if pd.notna(n)})
            for side, flag in (("the study", "left_only"), ("the rerun", "right_only"))}
    if len(a) != len(b) or any(only.values()):
        where = "; ".join(f"trial_number {listed([str(n) for n in ns])} only in {side}"
                          for side, ns in only.items() if ns)
        out.append(f"{name}: {len(a)} rows in the study, {len(b)} in the rerun"
                   + (f" ({where})" if where else ""))
    # an inner join for the values: the outer one turns a column with a missing side to float
    matched = a[common].merge(b[common], on=key, how="inner", suffixes=("", " (rerun)"))
    differ, trials = [], set()
    for c in (c for c in common if c not in key):
        x, y = matched[c].astype(str), matched[f"{c} (rerun)"].astype(str)
        unequal = (~((x == y) | (x.isna() & y.isna()))).to_numpy()  # NaN may stay NaN
        if unequal.any():
            differ.append(c)
            trials |= {int(n) for n in matched.loc[unequal, TRIAL_ORDER] if pd.notna(n)}
    if differ:
        out.append(f"{name}: {listed(differ)} differ (trial_number "
                   f"{listed([str(n) for n in sorted(trials)])})")
    return out


def expected_causes(first: Path, rerun: Path, warned: Any = ()) -> list[str]:
    """Why this rerun need not repeat the study's numbers, of the causes the README names
    ("Reproducible reruns"): more than one trial at a time, trials on a GPU, packed training
    (a pack's trials share its shuffle), a time budget, trials that went on from a checkpoint
    (``restarts``, ``resumed``), other versions, source, host or data (``warned``:
    the rerun plan's warnings), or config fields the rerun's ``--set`` changed. Empty: a
    CPU study of one trial at a time rerun as it ran, which repeats exactly."""
    import json

    import yaml

    def read(folder: Path, name: str) -> dict[str, Any]:
        try:
            text = read_plain(folder / name)
            value = json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError):
            return {}
        return value if isinstance(value, dict) else {}

    out = []
    runs = [(read(f, "config.yaml"), read(f, "provenance.json")) for f in (first, rerun)]
    at_once = max((_number(p.get("sampler"), "trials_at_once")
                   or _number(c.get("search"), "max_concurrent") or 1) for c, p in runs)
    if at_once > 1:
        out.append(f"{at_once:g} trials ran at once (which reaches an ASHA rung first, and which "
                   "ones TPE sees running, depend on timing)")
    if any(_number(c.get("resources"), "gpus_per_trial") and
           (p.get("device") or {}).get("cuda_available") for c, p in runs):
        out.append("trials trained on a GPU")
    if any(_number(p.get("packing"), "resolved") for _, p in runs):
        out.append("packed training (a pack's trials share its shuffle)")
    if any(_number(c.get("search"), "time_budget_s") for c, _ in runs):
        out.append("search.time_budget_s cut trials by the clock")
    continued = [col for col in ("restarts", "resumed") if any(_continued(f, col)
                                                               for f in (first, rerun))]
    if continued:  # the epochs after a checkpoint were trained again: the RNG went on anew
        out.append(f"trials went on from a checkpoint ({' and '.join(continued)} in "
                   "trials.parquet)")
    if [w for w in warned if " predates " not in w]:  # not a field the rerun sets as it ran
        out.append("what the warnings above name")
    a, b = _flat(runs[0][0]), _flat(runs[1][0])
    changed = sorted(k for k in set(a) & set(b)  # a field of one version only: set as it ran
                     if not k.startswith("storage.") and k != "data.path" and a[k] != b[k])
    if changed:
        out.append(f"config fields --set changed ({listed(changed)})")
    return out


def _continued(folder: Path, column: str) -> bool:
    """Some trial of the folder's table went on from its checkpoint (``restarts`` after its
    worker died, ``resumed`` by --resume after the driver stopped)."""
    import pandas as pd

    try:
        values = pd.read_parquet(folder / "trials.parquet", columns=[column])[column]
    except Exception:  # noqa: BLE001 - no table, or one from before the column
        return False
    return bool((pd.to_numeric(values, errors="coerce").fillna(0) > 0).any())


def _number(section: Any, key: str) -> float:
    value = section.get(key) if isinstance(section, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _flat(config: dict[str, Any]) -> dict[str, Any]:
    return {f"{s}.{k}": v for s, fields in config.items() if isinstance(fields, dict)
            for k, v in fields.items()}


def verdict(differ: list[str], causes: list[str]) -> str:
    """The line ``jetstudy rerun`` ends with: reproduced, or not, and whether that was to be
    expected of this study (:func:`expected_causes`) or is a finding."""
    schema = [d for d in differ if ": columns only in " in d]  # another version's tables
    if not [d for d in differ if d not in schema]:
        return ("reproduced: trials.parquet and epochs.parquet equal the study's apart from "
                "trial_id and the timings" + (f" (in the columns both have; {'; '.join(schema)})"
                                              if schema else ""))
    if causes:
        return (f"not reproduced: {'; '.join(differ)} (expected here: {'; '.join(causes)}: "
                "README, 'Reproducible reruns')")
    return (f"not reproduced: {'; '.join(differ)}. Not expected: a CPU study of one trial at a "
            "time, rerun with the same config, versions, source, host and data, repeats "
            "exactly (README, 'Reproducible reruns'); the first trial_number named is where "
            "the runs part")
