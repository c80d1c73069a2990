"""Classification metrics on the training device, in torch (no host round trip).

The same definitions as :mod:`jetstudy.trainables.metrics` (which stays numpy-only for ``analysis``);
the tests check the two agree exactly.
"""

from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["roc_auc_ovr_batched"]


def roc_auc_ovr_batched(probs: torch.Tensor, labels: torch.Tensor,
                        class_counts: Sequence[int]) -> torch.Tensor:
    """One-vs-rest AUC (M, C), float64, of probabilities ``probs`` (M, N, C) of M models on
    their device: :func:`jetstudy.trainables.metrics.roc_auc_ovr`'s definition (Mann-Whitney, exact
    ties, NaN for a class absent or everywhere). ``class_counts`` (host ints) spares syncs."""
    n = probs.shape[1]
    out = torch.full(probs.shape[::2], float("nan"), dtype=torch.float64, device=probs.device)
    for c, n_pos in enumerate(class_counts):
        if 0 < n_pos < n:
            s = probs[:, :, c].contiguous()
            v = torch.sort(s, dim=1).values
            # the average 1-based rank of a run of ties: (first index + end index + 1) / 2
            rank = (torch.searchsorted(v, s) + torch.searchsorted(v, s, right=True) + 1) / 2.0
            u = rank.double() @ (labels == c).double() - n_pos * (n_pos + 1) / 2.0
            out[:, c] = u / (n_pos * (n - n_pos))
    return out
