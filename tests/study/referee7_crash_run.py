"""Helper of test_referee7_search_crash_resume (run as a process of its own: a pytest worker
never kills Ray processes): ``python referee7_crash_run.py CONFIG STUDY OUT_JSON``.

Starts ``python -m jetstudy.study.cli run CONFIG --no-report``, polls the study's epoch logs
until ASHA has judged two trials at its first rung (a trial judged there either logged an epoch
past it or was ended by Tune: its ``ended`` marker), then SIGKILLs the driver and, by PID, every
process it had started (Ray's GCS, raylet and workers; no ``ray stop``, nothing of anyone
else's). OUT_JSON: each trial's logged epochs and marker at the kill, the driver's exit status,
and the PIDs still alive afterwards (none expected)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

RUNG = 1  # scheduler.grace_period: ASHA's first rung


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, start time) of a live process; None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    if fields[0] == "Z":
        return None
    return int(fields[1]), fields[19]


def _descendants(roots: dict[int, str]) -> dict[int, str]:
    """Every live process under ``roots`` (pid -> start time), the roots included."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None:
                table[int(entry)] = st
    found = {pid: start for pid, start in roots.items()
             if pid in table and table[pid][1] == start}
    grew = True
    while grew:
        grew = False
        for pid, (ppid, start) in table.items():
            if ppid in found and pid not in found:
                found[pid] = start
                grew = True
    return found


def _judged(trial: Path) -> bool:
    try:
        epochs = [json.loads(x)["epoch"] for x in (trial / "epochs.jsonl").read_text().splitlines()
                  if x.strip()]
    except (OSError, ValueError, KeyError):
        return False
    return RUNG in epochs and (max(epochs) > RUNG or (trial / "ended").exists())


def _logged(trials: Path) -> dict:
    out = {}
    for folder in sorted(p for p in trials.iterdir() if p.is_dir()):
        log = folder / "epochs.jsonl"
        rows = ([json.loads(x) for x in log.read_text().splitlines() if x.strip()]
                if log.exists() else [])
        out[folder.name] = {"epochs": [r["epoch"] for r in rows],
                            "values": [r["val_loss"] for r in rows],
                            "ended": (folder / "ended").exists()}
    return out


def write_crash_study(root: Path, name: str, num_trials: int) -> tuple[Path, Path]:
    """The small serial study these crash tests kill: its config written to
    ``root/study.yaml`` (results under ``root/results``); (config path, study folder)."""
    import yaml

    from tests.conftest import make_small_config

    cfg = make_small_config(root / "results", name, data={"synthetic_jets": 1000},
                            search={"num_trials": num_trials, "max_concurrent": 1, "seed": 1},
                            scheduler={"max_epochs": 2, "grace_period": 1,
                                       "reduction_factor": 2},
                            space={"depth": [1, 1], "width": [4, 16]},
                            training={"batch_size": 128, "train_eval_jets": 200})
    config = root / "study.yaml"
    config.write_text(yaml.safe_dump(cfg.to_dict()))
    return config, root / "results" / name


def main(config: str, study: str, out: str) -> int:
    trials = Path(study) / "trials"
    with open(Path(out).with_suffix(".log"), "w") as log:
        driver = subprocess.Popen([sys.executable, "-m", "jetstudy.study.cli", "run", config,
                                   "--no-report"], stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        while driver.poll() is None:  # the epoch logs decide; the sleep only paces the polls
            if trials.is_dir() and sum(_judged(t) for t in trials.iterdir()) >= 2:
                break
            time.sleep(0.1)
        if driver.poll() is not None:
            Path(out).write_text(json.dumps({"crashed": False, "rc": driver.returncode}))
            return 1
        ours = _descendants({driver.pid: _stat(driver.pid)[1]})
        driver.send_signal(signal.SIGKILL)
        at_kill = _logged(trials)
        rc = driver.wait()
        for _ in range(50):  # ours, and whatever they started since, until none is left
            ours = _descendants(ours)
            if not ours:
                break
            for pid in ours:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        left = sorted(_descendants(ours))
    Path(out).write_text(json.dumps({"crashed": True, "rc": rc, "at_kill": at_kill,
                                     "left": left}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
