"""Drive jetstudy's searcher as Tune would, without Tune or training: up to ``concurrent``
trials suggested at once, the oldest finishing first (shared by the round 8 search tests)."""

from __future__ import annotations

from typing import Any, Callable

from optuna.samplers._tpe.sampler import _RELATIVE_PARAMS_KEY


def drive(searcher: Any, concurrent: int,
          result: Callable[[dict[str, Any]], dict[str, Any] | None],
          on_error: Callable[[str, dict[str, Any]], None] | None = None) -> list:
    """Suggest until the searcher has no more, finishing the oldest live trial each time
    with ``result(config)`` (None: the trial errored, after ``on_error(trial_id, config)``,
    e.g. writing the files a diverged trial leaves); the Optuna study's trials."""
    live: list[str] = []
    configs: dict[str, dict[str, Any]] = {}
    k = 0
    while True:
        while len(live) < concurrent:
            config = searcher.suggest(f"t{k}")
            if not isinstance(config, dict):
                break
            configs[f"t{k}"], k = config, k + 1
            live.append(f"t{k - 1}")
        if not live:
            break
        done = live.pop(0)
        outcome = result(configs[done])
        if outcome is None:  # diverged: Tune reports an error
            if on_error is not None:
                on_error(done, configs[done])
            searcher.on_trial_complete(done, None, error=True)
        else:
            searcher.on_trial_complete(done, {"epoch": 2, "config": configs[done], **outcome})
    return searcher._ot_study.trials


def guided(trial: Any) -> bool:
    """Whether Optuna's TPE proposed ``trial`` from its model (its relative parameters)."""
    return any(key.startswith(_RELATIVE_PARAMS_KEY) for key in trial.system_attrs)
