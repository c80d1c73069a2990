"""The trained tagger as one plain network on raw jets: what ``jetstudy export`` writes.

A study's model expects standardised inputs (``scaler.json``) and gives logits, and in
training mode it has dropout and batch norm. :func:`fold_for_deployment` turns the best
epoch's ``build_mlp`` model into ``Linear -> activation -> ... -> Linear -> Softmax`` that
takes the **raw** 16 features and gives the 5 class probabilities:

* the standardisation ``(x - mean) / std`` is folded into the first Linear layer:
  ``W' = W / std`` (per input column), ``b' = b - W' @ mean``, computed in float64;
* each eval-mode BatchNorm1d is folded into the Linear before it:
  ``W' = W * g``, ``b' = (b - running_mean) * g + beta`` with ``g = gamma / sqrt(var + eps)``;
* dropout (the identity in eval mode) is dropped; a softmax over the classes is appended.

The result is mathematically the study's own ``softmax(model(standardise(x)))``; in float32 it
agrees to about 1e-6 (the tests hold it to 1e-5 on real-format jets).

A feature that was constant in the training split has std 1.0 in ``scaler.json``
(:meth:`jetstudy.trainables.data.Standardiser.fit`), so the model saw it as 0; folded, it contributes
``W (x - mean)``, zero at its training value, exactly as the study's model would. A std of 0
given to :func:`fold_for_deployment` is treated the same way (``jetstudy export`` refuses a
``scaler.json`` holding one: jetstudy never writes it). A feature that hardly varied far from 0
(``|mean| / std`` past :data:`FOLD_RATIO_LIMIT`) cannot be folded into a float32 bias: where
the export's check fails for that reason (:func:`fold_precision_problem` names the feature), it
folds again with ``shift_inputs``: an :class:`InputShift` (ONNX ``Sub`` of the float32 means)
first, and only the means' float32 rounding in the bias.

:func:`onnx_model` writes the folded network as an ONNX graph by hand (``MatMul`` + ``Add``
per Linear layer, the activation nodes, ``Softmax``; opset :data:`ONNX_OPSET`), without torch's
exporter: on torch 2.13 the default exporter needs ``onnxscript`` and the TorchScript-based one
is deprecated, while this graph needs only ``onnx``. Its nodes are the ones hls4ml 1.3.0's ONNX
front end converts (MatMul + Add is what qonnx's ``GemmToMatMul`` would make of a ``Gemm``, the
weights stored transposed, ``(in, out)``; ``build_mlp``'s PReLU, one shared slope, is written
as the identical ``LeakyRelu``, since hls4ml fails on a ``PRelu`` node).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["fold_for_deployment", "InputShift", "onnx_model", "describe_layers", "multiplications",
           "fold_precision_problem", "FOLD_RATIO_LIMIT",
           "deployed_params", "ONNX_OPSET", "INPUT_NAME", "OUTPUT_NAME"]

#: ONNX opset of the exported graph: 13 has Softmax over one axis (as torch's) and is read by
#: onnxruntime, qonnx and hls4ml alike.
ONNX_OPSET = 13
#: IR version matching the opset, so older runtimes load the file too.
_ONNX_IR_VERSION = 7
INPUT_NAME = "features"
OUTPUT_NAME = "probabilities"


class InputShift(nn.Module):
    """``x - shift`` (float32): the training means subtracted before the first layer, where
    folding them into its bias would cancel in float32 (:func:`fold_precision_problem`).
    Between numbers within a factor 2 of each other the float32 difference is exact."""

    def __init__(self, shift: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("shift", torch.as_tensor(np.asarray(shift, dtype=np.float32)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.shift


def _scaled_first(linear: nn.Linear, mean: np.ndarray, std: np.ndarray,
                  shift: np.ndarray | None = None) -> nn.Linear:
    """The first Linear on raw inputs (or, with ``shift``, on ``x - shift``)."""
    w = linear.weight.detach().double()
    b = linear.bias.detach().double()
    std = torch.as_tensor(np.where(std > 0, std, 1.0), dtype=torch.float64)
    mean = torch.as_tensor(mean, dtype=torch.float64)
    if shift is not None:  # what the subtraction leaves of the mean: its float32 rounding
        mean = mean - torch.as_tensor(shift, dtype=torch.float64)
    w_raw = w / std                      # each input column over its feature's std
    b_raw = b - w_raw @ mean
    return _linear(w_raw, b_raw)


def _linear(w: torch.Tensor, b: torch.Tensor) -> nn.Linear:
    out = nn.Linear(w.shape[1], w.shape[0])
    with torch.no_grad():
        out.weight.copy_(w.float())
        out.bias.copy_(b.float())
    return out


def _fold_batch_norm(linear: nn.Linear, bn: nn.BatchNorm1d) -> nn.Linear:
    w = linear.weight.detach().double()
    b = linear.bias.detach().double()
    g = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
    return _linear(w * g[:, None], (b - bn.running_mean.double()) * g + bn.bias.detach().double())


def fold_for_deployment(model: nn.Sequential, mean: np.ndarray, std: np.ndarray,
                        shift_inputs: bool = False) -> nn.Sequential:
    """``model`` (a ``build_mlp`` network, any mode) as an eval-mode network on raw features
    (``mean``, ``std``: the study's ``scaler.json``) that ends in a softmax; ``model`` itself
    is left untouched. Folding is done in float64 on the float32 weights. ``shift_inputs``:
    the network starts with :class:`InputShift` (the means, in float32) instead of folding
    them into the first layer's bias: for features that hardly varied far from 0."""
    mean = np.asarray(mean, dtype=np.float64)
    std = np.asarray(std, dtype=np.float64)
    shift = mean.astype(np.float32) if shift_inputs else None
    layers: list[nn.Module] = [InputShift(shift)] if shift is not None else []
    modules = list(model)
    first = True
    for i, module in enumerate(modules):
        if isinstance(module, nn.Linear):
            linear = _scaled_first(module, mean, std, shift) if first else _linear(
                module.weight.detach().double(), module.bias.detach().double())
            first = False
            following = modules[i + 1] if i + 1 < len(modules) else None
            if isinstance(following, nn.BatchNorm1d):
                linear = _fold_batch_norm(linear, following)
            layers.append(linear)
        elif isinstance(module, (nn.BatchNorm1d, nn.Dropout)):
            continue  # folded above / the identity in eval mode
        else:  # an activation: a copy, with its own parameters (PReLU)
            import copy

            layers.append(copy.deepcopy(module))
    if first:
        raise ValueError("fold_for_deployment: the model has no Linear layer")
    layers.append(nn.Softmax(dim=1))
    folded = nn.Sequential(*layers)
    folded.requires_grad_(False)
    return folded.eval()


#: |mean| / std past which folding ``(x - mean) / std`` into float32 weights cancels too much:
#: the first layer then adds terms ``W x / std`` and ``-W mean / std`` this many times larger
#: than their sum, each rounded to float32 (about 6e-8 relative).
FOLD_RATIO_LIMIT = 1e3


def fold_precision_problem(features: list[str], mean: np.ndarray, std: np.ndarray
                           ) -> str | None:
    """Why folding the standardisation into float32 weights cannot be exact for these
    features (a spread tiny against the mean: near-constant values far from 0), or None."""
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    ratio = np.abs(mean) / np.where(std > 0, std, 1.0)
    bad = [i for i in np.argsort(-ratio) if ratio[i] > FOLD_RATIO_LIMIT]
    if not bad:
        return None
    named = ", ".join(f"{features[i]} (mean {mean[i]:.6g}, std {std[i]:.3g})" for i in bad[:3])
    return (f"{'a feature' if len(bad) == 1 else f'{len(bad)} features'} hardly varied in "
            f"training against {'its' if len(bad) == 1 else 'their'} mean: {named}; folded into "
            f"the first layer's bias, the training means cancel in float32 (about 6e-8 x "
            f"{ratio[bad[0]]:.2g} of each term survives as error)")


def describe_layers(folded: nn.Sequential) -> list[dict[str, Any]]:
    """The deployed layers, for ``model.json``: ``{"type": "Linear", "in": 16, "out": 64}``,
    ``{"type": "PReLU", "slope": 0.25}``, ``{"type": "LeakyReLU", "negative_slope": 0.01}``..."""
    out: list[dict[str, Any]] = []
    for m in folded:
        entry: dict[str, Any] = {"type": type(m).__name__}
        if isinstance(m, nn.Linear):
            entry |= {"in": m.in_features, "out": m.out_features}
        elif isinstance(m, nn.PReLU):
            entry["slope"] = [float(v) for v in m.weight.detach().flatten()]
        elif isinstance(m, nn.LeakyReLU):
            entry["negative_slope"] = float(m.negative_slope)
        elif isinstance(m, nn.ELU):
            entry["alpha"] = float(m.alpha)
        elif isinstance(m, nn.Softmax):
            entry["dim"] = 1
        elif isinstance(m, InputShift):
            entry["subtract"] = [float(v) for v in m.shift]
        out.append(entry)
    return out


def multiplications(folded: nn.Sequential) -> int:
    """Dense multiply-adds of one jet through the Linear layers (what an FPGA pays)."""
    return sum(m.in_features * m.out_features for m in folded if isinstance(m, nn.Linear))


def deployed_params(folded: nn.Sequential) -> int:
    """Numbers the deployed network holds: each Linear layer's weights and biases and each
    PReLU's slope (batch norm is folded away, so fewer than the trained ``n_params`` then)."""
    return sum(p.numel() for p in folded.parameters())


def _activation_nodes(module: nn.Module, x: str, name: str, width: int, helper: Any,
                      inits: list) -> tuple[list, str]:
    """ONNX nodes computing ``module`` on tensor ``x``; returns (nodes, output name)."""
    y = f"{name}_out"
    node = helper.make_node
    if isinstance(module, nn.ReLU):
        return [node("Relu", [x], [y], name=name)], y
    if isinstance(module, nn.Tanh):
        return [node("Tanh", [x], [y], name=name)], y
    if isinstance(module, nn.ELU):
        return [node("Elu", [x], [y], name=name, alpha=float(module.alpha))], y
    if isinstance(module, nn.LeakyReLU):
        return [node("LeakyRelu", [x], [y], name=name, alpha=float(module.negative_slope))], y
    if isinstance(module, nn.PReLU) and module.weight.numel() == 1:
        # one shared slope (build_mlp's PReLU): the same function as LeakyRelu with that
        # alpha, which hls4ml 1.3.0's ONNX front end converts (its PRelu node fails there)
        alpha = float(module.weight.detach().float().item())
        return [node("LeakyRelu", [x], [y], name=name, alpha=alpha)], y
    if isinstance(module, nn.PReLU):
        slope = module.weight.detach().float().numpy()
        slope = np.broadcast_to(slope, (width,)).copy()  # per unit, as hls4ml's PReLU reads it
        inits.append(_tensor(helper, f"{name}_slope", slope))
        return [node("PRelu", [x, f"{name}_slope"], [y], name=name)], y
    if isinstance(module, nn.SiLU):  # x * sigmoid(x)
        return [node("Sigmoid", [x], [f"{name}_sig"], name=f"{name}_sigmoid"),
                node("Mul", [x, f"{name}_sig"], [y], name=name)], y
    if isinstance(module, nn.GELU):  # exact GELU: x * (erf(x / sqrt 2) + 1) / 2
        if getattr(module, "approximate", "none") != "none":
            raise ValueError(f"GELU(approximate={module.approximate!r}) is not exported")
        inits += [_tensor(helper, f"{name}_rsqrt2", np.array(1 / math.sqrt(2), np.float32)),
                  _tensor(helper, f"{name}_one", np.array(1.0, np.float32)),
                  _tensor(helper, f"{name}_half", np.array(0.5, np.float32))]
        return [node("Mul", [x, f"{name}_rsqrt2"], [f"{name}_a"], name=f"{name}_scale"),
                node("Erf", [f"{name}_a"], [f"{name}_e"], name=f"{name}_erf"),
                node("Add", [f"{name}_e", f"{name}_one"], [f"{name}_p"], name=f"{name}_add"),
                node("Mul", [x, f"{name}_p"], [f"{name}_m"], name=f"{name}_mul"),
                node("Mul", [f"{name}_m", f"{name}_half"], [y], name=name)], y
    raise ValueError(f"no ONNX form for activation {type(module).__name__}")


def _tensor(helper: Any, name: str, array: np.ndarray) -> Any:
    from onnx import numpy_helper

    return numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name=name)


def onnx_model(folded: nn.Sequential, doc: str = "",
               metadata: dict[str, str] | None = None) -> Any:
    """The folded network as an ``onnx.ModelProto``: input :data:`INPUT_NAME` (jets, 16
    raw features, float32), output :data:`OUTPUT_NAME` (jets, 5 probabilities); a dynamic
    batch axis named ``jets``; ``metadata`` as the model's metadata properties (what
    onnxruntime's ``get_modelmeta().custom_metadata_map`` gives). Needs the ``onnx``
    package (``jetstudy[export]``)."""
    import onnx
    from onnx import TensorProto, helper

    nodes: list = []
    inits: list = []
    x, width, n_in = INPUT_NAME, None, None
    for i, module in enumerate(folded):
        name = f"layer{i}_{type(module).__name__.lower()}"
        if isinstance(module, nn.Linear):
            n_in = module.in_features if n_in is None else n_in
            width = module.out_features
            inits += [_tensor(helper, f"{name}_weight", module.weight.detach().numpy().T),
                      _tensor(helper, f"{name}_bias", module.bias.detach().numpy())]
            nodes += [helper.make_node("MatMul", [x, f"{name}_weight"], [f"{name}_xw"],
                                       name=f"{name}_matmul"),
                      helper.make_node("Add", [f"{name}_xw", f"{name}_bias"], [f"{name}_out"],
                                       name=name)]
            x = f"{name}_out"
        elif isinstance(module, nn.Softmax):
            nodes.append(helper.make_node("Softmax", [x], [OUTPUT_NAME], name=name, axis=1))
            x = OUTPUT_NAME
        elif isinstance(module, InputShift):
            inits.append(_tensor(helper, f"{name}_shift", module.shift.numpy()))
            nodes.append(helper.make_node("Sub", [x, f"{name}_shift"], [f"{name}_out"],
                                          name=name))
            x = f"{name}_out"
        else:
            new, x = _activation_nodes(module, x, name, width, helper, inits)
            nodes += new
    if x != OUTPUT_NAME:
        raise ValueError("onnx_model: the folded network must end in a Softmax")
    graph = helper.make_graph(
        nodes, "jetstudy_tagger",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["jets", n_in])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["jets", width])],
        initializer=inits)
    model = helper.make_model(graph, producer_name="jetstudy", doc_string=doc,
                              opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    model.ir_version = _ONNX_IR_VERSION
    if metadata:
        helper.set_model_props(model, {k: str(v) for k, v in metadata.items()})
    onnx.checker.check_model(model, full_check=True)
    return model
