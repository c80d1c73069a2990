"""The fixed-point numbers of an export (``model.json`` -> ``fixed_point``): how many integer
bits each deployed layer needs, so the export's README can say whether the hls4ml types it
sets (``fixed<32,16>`` for weights, biases and results) hold them, for this model.

The bound is guaranteed, not sampled: for every raw input inside the ranges seen in training
(``scaler.json``'s ``min``/``max``), interval arithmetic through the folded network bounds each
Linear layer's output (``|W| r`` around ``W c + b``, in float64) and each activation's (its
values at the interval's ends and at the activation's turning points inside it: 0 for the
piecewise-linear ones, the minima of SiLU and GELU). Inputs outside the training ranges can
go past it. Integer bits count the sign: ``fixed<W,I>`` holds ``[-2^(I-1), 2^(I-1))``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["integer_bits", "layer_bounds", "shift_bounds", "fraction_bits", "STEPS_PER_STD",
           "HLS_INTEGER_BITS"]

#: Integer bits of the ``fixed<32,16>`` the export README gives weights, biases and results.
HLS_INTEGER_BITS = 16
#: Where SiLU and GELU (exact) have their minimum: between these points every activation of
#: ``build_mlp`` is monotonic, so its range on an interval is that of these points and the ends.
_TURNING_POINTS = (0.0, -1.2784645427610738, -0.7517915822303082)


#: A raw input's fixed-point step is at most its training spread over this: finer than the
#: float32 check (1e-5 on probabilities) needs, coarse enough to stay within 32-40 bits.
STEPS_PER_STD = 100


def fraction_bits(std: list[float] | None) -> int:
    """Fraction bits that resolve every feature's training spread in ``STEPS_PER_STD`` steps
    (0 for unknown or no positive spread)."""
    spreads = [s for s in (std or []) if isinstance(s, (int, float)) and s > 0 and math.isfinite(s)]
    return max(0, math.ceil(math.log2(STEPS_PER_STD / min(spreads)))) if spreads else 0


def integer_bits(magnitude: float) -> int:
    """Integer bits, the sign included, a signed fixed-point number needs to hold
    ``±magnitude``."""
    if not math.isfinite(magnitude):
        raise ValueError(f"integer_bits: {magnitude} is not finite")
    return (math.floor(math.log2(magnitude)) + 1 if magnitude >= 1 else 0) + 1


def _activation_range(module: Any, lo: np.ndarray, hi: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    import torch

    points = np.stack([lo, hi, *(np.clip(p, lo, hi) for p in _TURNING_POINTS)])
    with torch.no_grad():
        values = module(torch.as_tensor(points, dtype=torch.float32)).double().numpy()
    slack = 1e-6 * np.maximum(1.0, np.abs(values).max(axis=0))  # float32 rounding
    return values.min(axis=0) - slack, values.max(axis=0) + slack


def layer_bounds(folded: Any, low: list[float], high: list[float]) -> list[dict[str, Any]]:
    """Per Linear layer of ``folded`` (``Add_0``, ``Add_1``, ...: the names qonnx's clean-up
    gives their bias adds, which hls4ml keeps): the largest ``|weight|`` and ``|bias|``, the
    bound on ``|output|`` for raw inputs within ``[low, high]``, and the integer bits the
    largest of the three needs."""
    from torch import nn

    from jetstudy.study.deployable import InputShift

    lo, hi = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    out: list[dict[str, Any]] = []
    for module in folded:
        if isinstance(module, nn.Softmax):
            break
        if isinstance(module, InputShift):  # x - the training means
            shift = module.shift.double().numpy()
            lo, hi = lo - shift, hi - shift
            continue
        if isinstance(module, nn.Linear):
            w = module.weight.detach().double().numpy()
            b = module.bias.detach().double().numpy()
            center, radius = w @ ((lo + hi) / 2) + b, np.abs(w) @ ((hi - lo) / 2)
            lo, hi = center - radius, center + radius
            numbers = {"max_abs_weight": float(np.abs(w).max()),
                       "max_abs_bias": float(np.abs(b).max()),
                       "max_abs_output": float(max(np.abs(lo).max(), np.abs(hi).max()))}
            out.append({"layer": f"Add_{len(out)}", "in": module.in_features,
                        "out": module.out_features, **numbers,
                        "integer_bits": integer_bits(max(numbers.values()))})
        else:
            lo, hi = _activation_range(module, lo, hi)
    return out


def shift_bounds(folded: Any, low: list[float], high: list[float],
                 std: list[float] | None = None) -> dict[str, Any] | None:
    """For a network that starts with :class:`InputShift` (``x - means``, hls4ml's ``Sub_0``),
    the one type its raw input, its means and its output need: the integer bits of the largest
    of ``|x|``, ``|means|`` and ``|x - means|`` for raw inputs within ``[low, high]``, the rest
    fraction bits (``fixed<32,I>``). The README's ``fixed<32,16>`` keeps 16 fraction bits
    (steps of 1.5e-5): a feature with a spread of 1e-5 is then rounded to a step or two after
    the subtraction and its mean shifted by up to half a step (hls4ml 1.3.0, C simulation: logits
    off by ~0.1, against ~0.001 with this type). Wider than 32 bits where the smallest ``std``
    needs more fraction bits (:func:`fraction_bits`). ``None`` for a network without the
    shift."""
    from jetstudy.study.deployable import InputShift

    first = next(iter(folded), None)
    if not isinstance(first, InputShift):
        return None
    shift = first.shift.double().numpy()
    lo, hi = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    numbers = {"max_abs_input": float(max(np.abs(lo).max(), np.abs(hi).max())),
               "max_abs_mean": float(np.abs(shift).max()),
               "max_abs_output": float(max(np.abs(lo - shift).max(), np.abs(hi - shift).max()))}
    bits = integer_bits(max(numbers.values()))
    width = max(32, bits + fraction_bits(std))
    return {"layer": "Sub_0", **numbers, "integer_bits": bits, "type": f"fixed<{width},{bits}>",
            "step": 2.0 ** (bits - width)}
