"""Which multi-objective sampler finds the better (val_loss, multiplications) front for the same
budget: Optuna's TPE (the search's settings) or NSGA-II, with random search as the floor.

Each trial draws from :func:`jetstudy.study.space.define_space` (depth 1-4, width 4-128, no
regularisation) and trains an MLP for 4 epochs on 12,000 synthetic jets (4,000 validation),
one CPU thread, no Ray. The score of a front is its hypervolume in (val_loss, log10
multiplications) against the reference point (1.7, log10 60000); higher is better.

    python -m bench.size_search 40      # trials per sampler and seed; about 8 minutes on 2 cores

Measured 2026-11-27 (2 CPU cores, 40 trials, seeds 0-2): TPE 2.58 / 2.64 / 2.68 (mean 2.64),
NSGA-II (population 10) 2.48 / 2.56 / 2.44 (mean 2.49), random 2.39 / 2.56 / 2.48 (mean 2.48).
"""

from __future__ import annotations

import json
import sys

import numpy as np
import optuna
import torch
from optuna._hypervolume import compute_hypervolume

from jetstudy.study.config import SpaceConfig
from jetstudy.study.space import define_space
from jetstudy.trainables.model import MLPArch, build_mlp, count_flops
from jetstudy.trainables.synth import sample_jets

SPACE = SpaceConfig(depth=(1, 4), width=(4, 128), dropout=(0.0, 0.0), l1=(0.0, 0.0),
                    l2=(0.0, 0.0), lr=(1e-3, 1e-2))
EPOCHS = 4
REFERENCE = np.array([1.7, np.log10(60000)])


def _data() -> tuple[torch.Tensor, ...]:
    x, y = sample_jets(16000, 3)
    x = ((x - x.mean(0)) / (x.std(0) + 1e-9)).astype(np.float32)
    return (torch.tensor(x[:12000]), torch.tensor(y[:12000]), torch.tensor(x[12000:]),
            torch.tensor(y[12000:]))


def _objective(data: tuple[torch.Tensor, ...]):
    xt, yt, xv, yv = data

    def objective(trial: optuna.Trial) -> tuple[float, int]:
        constants = define_space(SPACE, trial)  # asks the trial first: then params exist
        params = {**trial.params, **constants}
        arch = MLPArch(16, tuple(int(params[f"width_{i}"]) for i in range(params["depth"])))
        torch.manual_seed(trial.number)
        model = build_mlp(arch)
        opt = torch.optim.Adam(model.parameters(), lr=params["lr"])
        for _ in range(EPOCHS):
            perm = torch.randperm(len(xt))
            for i in range(0, len(xt), 256):
                idx = perm[i:i + 256]
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
                opt.step()
        with torch.no_grad():
            loss = float(torch.nn.functional.cross_entropy(model(xv), yv))
        return loss, count_flops(arch) // 2

    return objective


def _sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=10, multivariate=True,
                                          group=True, constant_liar=True)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=10)
    return optuna.samplers.RandomSampler(seed=seed)


def main(n_trials: int = 40, seeds: int = 3) -> dict[str, list[float]]:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)
    objective = _objective(_data())
    out: dict[str, list[float]] = {}
    for seed in range(seeds):
        for name in ("tpe", "nsga2", "random"):
            study = optuna.create_study(directions=["minimize", "minimize"],
                                        sampler=_sampler(name, seed))
            study.optimize(objective, n_trials=n_trials)
            front = np.array([[t.values[0], np.log10(t.values[1])] for t in study.best_trials])
            out.setdefault(name, []).append(round(float(compute_hypervolume(front, REFERENCE)),
                                                  4))
    return out


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)))
