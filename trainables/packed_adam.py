"""Adam for many models in one flat buffer: per-model step sizes and bias corrections.

``torch.optim.Adam`` (its defaults: betas 0.9, 0.999, eps 1e-8, no weight decay) updates

    m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
    p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

with its own step count ``t``. A packed call's models have their own ``lr`` and ``t``, so the
two scalars per model and step are computed up front for the whole call, in float64 as torch
does, into :class:`AdamTables` on the device (``(steps, models)``), and each step reads its
row by the step index, a Python int (eager) or a ``(1,)`` device tensor (a CUDA graph's
counter, so a replayed step takes no host value). :func:`adam_update` is the in-place update,
a handful of element-wise kernels over the call's whole working copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

__all__ = ["BETA1", "BETA2", "EPS", "AdamTables", "adam_update", "adam_param_group",
           "adam_state_dict"]

BETA1, BETA2, EPS = 0.9, 0.999, 1e-8  # torch.optim.Adam's defaults


@dataclass(frozen=True, eq=False)
class AdamTables:
    """A call's Adam scalars per step (row) and model (column), float32 on the device."""

    size: torch.Tensor      # lr / (1 - beta1^t)
    bc2: torch.Tensor       # sqrt(1 - beta2^t)
    model_of: torch.Tensor  # each number of the working copy: its model (column)

    @classmethod
    def build(cls, lrs: Sequence[float], steps_done: Sequence[int], n_steps: int,
              model_of: torch.Tensor) -> AdamTables:
        """Tables for the next ``n_steps`` steps of models with learning rates ``lrs`` that
        have taken ``steps_done`` steps so far."""
        steps = np.array(steps_done)[None, :] + np.arange(1, n_steps + 1)[:, None]
        dev = model_of.device
        size = torch.tensor(np.array(lrs) / (1 - BETA1 ** steps), dtype=torch.float32,
                            device=dev)
        bc2 = torch.tensor(np.sqrt(1 - BETA2 ** steps), dtype=torch.float32, device=dev)
        return cls(size, bc2, model_of)

    def at(self, k: int | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Step ``k``'s (size, bc2) per model: ``k`` an int, or a ``(1,)`` device tensor read
        on the device (no host sync)."""
        if isinstance(k, int):
            return self.size[k], self.bc2[k]
        return self.size.index_select(0, k)[0], self.bc2.index_select(0, k)[0]


def adam_update(p: torch.Tensor, g: torch.Tensor, m: torch.Tensor, v: torch.Tensor,
                tables: AdamTables, k: int | torch.Tensor) -> None:
    """Step ``k`` of Adam on flat parameters ``p`` with gradients ``g`` and moments ``m``,
    ``v``, in place (no autograd, no host sync)."""
    size_k, bc2_k = tables.at(k)
    m.lerp_(g, 1 - BETA1)
    v.mul_(BETA2).addcmul_(g, g, value=1 - BETA2)
    denom = v.sqrt().div_(bc2_k[tables.model_of]).add_(EPS)
    p.addcdiv_(m * size_k[tables.model_of], denom, value=-1.0)


def adam_param_group() -> dict[str, Any]:
    """``torch.optim.Adam``'s default param group (without ``params`` and ``lr``'s value).

    Build it once, early: the first optimiser a process builds imports ``torch._dynamo``
    (seconds), which would otherwise stall a pack's round."""
    return torch.optim.Adam([torch.zeros(1)]).state_dict()["param_groups"][0]


def adam_state_dict(exp_avg: Sequence[torch.Tensor], exp_avg_sq: Sequence[torch.Tensor],
                    step: int, group: dict[str, Any]) -> dict[str, Any]:
    """One model's optimiser state in ``torch.optim.Adam.state_dict``'s layout: the moments
    of its parameters in order, its step count, ``group`` (with its ``lr``)."""
    return {"state": {j: {"step": torch.tensor(float(step)), "exp_avg": a, "exp_avg_sq": b}
                      for j, (a, b) in enumerate(zip(exp_avg, exp_avg_sq, strict=True))},
            "param_groups": [{**group, "params": list(range(len(exp_avg)))}]}
