"""CUDA-graph replay of the packed training step (opt-in: ``PackedTrainer(graphs=True)``).

A small round is bound by kernel launches (a step of a few models is ~165 small kernels).
:func:`replay_steps` runs a call's full batches as: ``WARMUP`` eager steps on a side stream
(cuBLAS handles, autograd), then one step captured as a CUDA graph and replayed for every
other full batch. The step (:class:`~jetstudy.trainables.packed_step.TrainStep`) reads its
batch and Adam scalars (:class:`~jetstudy.trainables.packed_adam.AdamTables`) through a step
counter on the device (``step(counter)`` indexes them with it, and the graph increments it),
so a replay is a single launch from the host. The dropout generator is registered with the graph, so each
replay draws new numbers from it as the eager path would. One capture per call: the call's
working tensors (its layout) are new each call, so nothing is cached across calls.

The eager path (``step(k)`` with a Python int) is the reference; a ``gpu`` test compares the
two after an epoch, and a CPU test (``tests/trainables/test_packed_units.py``) checks that the
counter path indexes exactly as the eager one.
"""

from __future__ import annotations

import logging
from typing import Callable, Sequence

import torch

__all__ = ["replay_steps", "WARMUP"]

logger = logging.getLogger(__name__)

#: Eager steps before the capture (CUDA graphs need their kernels' libraries initialised).
WARMUP = 2


def replay_steps(step: Callable[[int | torch.Tensor], None], count: int,
                 device: torch.device, generators: Sequence[torch.Generator] = ()) -> bool:
    """Run ``step(0)`` .. ``step(count - 1)``: the first ``WARMUP`` eagerly, the rest as
    replays of one captured ``step(counter)``. ``step`` must accept a Python int (eager) or a
    ``(1,)`` long tensor on ``device`` holding the step index, and must not sync the host.

    If the capture fails (nothing of the captured step has run then), the remaining steps run
    eagerly and this returns False (the caller may stop asking for graphs); else True."""
    current = torch.cuda.current_stream(device)
    side = torch.cuda.Stream(device)
    side.wait_stream(current)
    warm = min(WARMUP, count)
    with torch.cuda.stream(side):
        for k in range(warm):
            step(k)
    current.wait_stream(side)
    left = count - warm
    if left <= 0:
        return True
    counter = torch.full((1,), warm, dtype=torch.long, device=device)
    graph = torch.cuda.CUDAGraph()
    for generator in generators:
        graph.register_generator_state(generator)
    side.wait_stream(current)
    try:
        with torch.cuda.stream(side):
            # thread_local: the pack's writer thread may touch CUDA meanwhile
            graph.capture_begin(capture_error_mode="thread_local")
            try:
                step(counter)
                counter.add_(1)
            finally:
                graph.capture_end()
    except RuntimeError:
        logger.warning("capturing the packed step as a CUDA graph failed; this call and the "
                       "next train eagerly", exc_info=True)
        current.wait_stream(side)
        for k in range(warm, count):
            step(k)
        return False
    current.wait_stream(side)
    for _ in range(left):
        graph.replay()
    return True
