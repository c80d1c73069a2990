"""Round 5: a driver crash lost two running trials of the same configuration (TPE over a small
integer space, or initial points repeated by the sampler); the resumed driver gave each lost
folder the first running Optuna trial of its parameters, so the folder proposed second took
the first one's Optuna trial: trials.parquet's ``trial_number`` (from the folder's config) and
Optuna's journal (``trial_id`` user attribute) then disagreed. A lost folder now continues its
own Optuna trial (its ``trial_id`` attribute, else its config's ``trial_number``). No Ray."""

from __future__ import annotations

import json
from pathlib import Path

from jetstudy.study.searcher import make_searcher
from jetstudy.study.space import optuna_params
from jetstudy.trainables.table_schema import TRIAL_ORDER
from jetstudy.trainables.trialfiles import (CONFIG_FILE, EPOCHS_FILE, STATE_FILE,
                                            trial_folder)
from tests.conftest import make_small_config

SPACE = {"depth": [1, 1], "width": [4, 6], "l1": [0, 0], "l2": [0, 0], "dropout": [0, 0],
         "lr": [3e-3, 3e-3], "activations": ["relu"], "batch_norm": [False]}


def test_each_lost_trial_continues_its_own_optuna_trial(tmp_path: Path) -> None:
    cfg = make_small_config(tmp_path, "s", space=SPACE,
                            search={"num_trials": 4, "max_concurrent": 2, "sampler": "random"})
    folder = tmp_path / "s"
    state = folder / "trials"
    state.mkdir(parents=True)
    first = make_searcher(cfg, folder).searcher
    params = {"depth": 1, "width_0": 5}
    for _ in range(2):  # in Optuna's names (d1_width_0): Optuna ignores a name it is not asked
        first._ot_study.enqueue_trial(optuna_params(cfg.space, params))
    # proposed in this order; the folder names sort the other way
    for trial_id in ("b_first", "a_second"):
        config = first.suggest(trial_id)
        assert {k: config[k] for k in params} == params
        trial_folder(str(state), trial_id, config)
        (state / trial_id / EPOCHS_FILE).write_text(json.dumps({"epoch": 1}) + "\n")
        (state / trial_id / STATE_FILE).write_bytes(b"x")
    numbers = {t: json.loads((state / t / CONFIG_FILE).read_text())[TRIAL_ORDER]
               for t in ("b_first", "a_second")}
    assert numbers == {"b_first": 0, "a_second": 1}
    # the driver died; a new one finds both folders lost and both Optuna trials running
    second = make_searcher(cfg, folder).searcher
    found = second._find_orphans(sorted(p.parent for p in state.glob(f"*/{EPOCHS_FILE}")))
    adopted = {old_id: frozen.number for old_id, _, frozen in found}
    assert adopted == numbers
