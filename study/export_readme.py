"""The ``README.md`` written beside an exported model: how to load it and hand it to hls4ml.

Made from ``model.json``'s content alone, so it always describes the files beside it. The
hls4ml part is written against hls4ml 1.3.0 (``hls4ml.utils.config.config_from_onnx_model``,
``hls4ml.converters.convert_from_onnx_model``) and qonnx's ``cleanup_model``, as hls4ml's
"ONNX and QONNX" front-end page describes them, and was run as written with hls4ml 1.3.0 and
qonnx 1.0.0 (C simulation) on small jetstudy networks when it was written; the types it sets
come from that run.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["export_readme", "HLS4ML_VERSION", "input_integer_bits"]

#: The hls4ml release whose API the README's conversion call was written against.
HLS4ML_VERSION = "1.3.0"


def input_integer_bits(ranges: dict[str, Any] | str) -> tuple[int, str] | None:
    """Integer bits (sign included) a fixed-point input needs to hold every raw value seen in
    training, and the feature that needs them; None when the ranges are unknown."""
    if not isinstance(ranges, dict) or not ranges:
        return None
    name, largest = max(((f, max(abs(r["min"]), abs(r["max"]))) for f, r in ranges.items()),
                        key=lambda item: item[1])
    magnitude = math.floor(math.log2(largest)) + 1 if largest >= 1 else 0
    return magnitude + 1, name


def _metrics_line(meta: dict[str, Any]) -> str:
    test = meta.get("test_metrics")
    if isinstance(test, dict) and isinstance(test.get("model"), dict):
        m = test["model"]
        return (f"On the study's held-out test split ({test.get('n_test', '?')} jets): "
                f"accuracy {m['accuracy']:.4f}, macro AUC {m['auc_macro']:.4f} "
                f"(`model.json` → `test_metrics`, with errors).")
    return f"Test metrics: none ({meta.get('test_metrics_note') or 'not evaluated'})."


def _shift_note(meta: dict[str, Any]) -> str:
    """Said when the network starts by subtracting the training means (``check.input_shift``)."""
    why = meta["check"].get("input_shift")
    if not why:
        return ""
    return (f" Here the network first subtracts the training means (an ONNX `Sub` node, "
            f"`deployed_layers[0]`): {why}. hls4ml {HLS4ML_VERSION} converts it (`Sub_0`); the "
            f"hls4ml call below gives its input, means and output a type with enough fraction "
            f"bits for that feature's spread.")


def _shift_types(meta: dict[str, Any]) -> str:
    """The hls4ml lines for the input shift's ``Sub_0`` (``model.json`` -> ``fixed_point`` ->
    ``input_shift``): with ``fixed<32,16>`` the near-constant feature is lost in rounding."""
    fixed = meta.get("fixed_point")
    shift = fixed.get("input_shift") if isinstance(fixed, dict) else None
    if not meta["check"].get("input_shift"):
        return ""
    if not isinstance(shift, dict):  # training ranges unknown: no bound to size the type by
        return ('\nconfig["LayerName"]["Sub_0"]["Precision"]["bias"] = "fixed<32,12>"  '
                '# the training means; narrow the integer bits to what your inputs need')
    t = shift["type"]
    same = t == _input_type(meta)[0]  # then set once, above
    return (("" if same else f'\nconfig["LayerName"]["global_in"]["Precision"]["result"] = "{t}"  '
                             f'# fraction bits for the near-constant feature')
            + f'\nconfig["LayerName"]["Sub_0"]["Precision"]["result"] = "{t}"  # x - the training means\n'
            f'config["LayerName"]["Sub_0"]["Precision"]["bias"] = "{t}"  # the training means')


def _selection_line(meta: dict[str, Any]) -> str:
    """Why this trial (``model.json`` -> ``selection``), and the smaller one the report
    names when it is another."""
    selection = meta.get("selection")
    if not isinstance(selection, dict):
        return ""
    line = f"Why this trial: {selection['why']}."
    answer = selection.get("size_answer") or {}
    pick = answer.get("pick")
    if isinstance(pick, dict) and not answer.get("exported"):
        line += (f" The report's smallest model within 1% of the best (and 0.5 points of "
                 f"accuracy) is trial `{pick['trial_id']}` ({pick.get('n_params')} parameters, "
                 f"{pick.get('multiplications')} multiplications): `{answer['export_command']}`.")
    if isinstance(pick, dict) and answer.get("left_out"):  # as the report's paragraph
        line += f" Size answer: {answer['left_out']}"
    return line


def _training_line(meta: dict[str, Any]) -> str:
    """``model.json`` -> ``training``'s warning, first thing after the model's description,
    when the trial is not fully trained (the folder travels; its reader never saw the
    export's printed line)."""
    training = meta.get("training")
    if not isinstance(training, dict) or training.get("fully_trained") is not False:
        return ""
    return f"\n**Not fully trained**: {training.get('warning')}.\n\n"


def _wide_type(layer: dict[str, Any]) -> str:
    return f"fixed<{layer['integer_bits'] + 16},{layer['integer_bits']}>"


def _widen_types(meta: dict[str, Any]) -> str:
    """hls4ml lines for each layer past ``fixed<32,16>`` (``model.json`` -> ``fixed_point``):
    hls4ml keeps a layer's weights and accumulator under its ``MatMul_<i>`` and its bias under
    ``Add_<i>``; setting only ``Add_<i>``'s result left the weights to wrap (hls4ml 1.3.0: logits
    off by as much as their spread)."""
    fixed = meta.get("fixed_point")
    layers = fixed.get("layers") if isinstance(fixed, dict) else None
    lines = []
    for layer in layers or []:
        if layer["integer_bits"] <= fixed["readme_types_integer_bits"]:
            continue
        t, add = _wide_type(layer), layer["layer"]
        matmul = add.replace("Add", "MatMul")
        lines += [f'config["LayerName"]["{matmul}"]["Precision"]["{key}"] = "{t}"'
                  for key in ("weight", "accum", "result")]
        lines += [f'config["LayerName"]["{add}"]["Precision"]["{key}"] = "{t}"'
                  for key in ("bias", "result")]
    if lines:
        lines[0] += "  # past fixed<32,16>: see below"
    return "".join(f"\n{line}" for line in lines)


def _layers_line(meta: dict[str, Any]) -> str:
    """Whether ``fixed<32,16>`` holds every layer's weights, biases and outputs for inputs in
    the training ranges (``model.json`` -> ``fixed_point``), and what to set where not."""
    fixed = meta.get("fixed_point")
    layers = fixed.get("layers") if isinstance(fixed, dict) else None
    if not layers:
        return ""
    last = layers[-1]
    saturates = ("" if last["max_abs_output"] < 128 else
                 f" The last layer's outputs (the logits) reach up to {last['max_abs_output']:.4g} "
                 f"in that bound, past the ±128 of its `fixed<18,8,RND,SAT>`: such logits "
                 f"saturate, and two saturated classes tie; widen that type if your jets reach "
                 f"them.")
    worst = max(layers, key=lambda layer: layer["integer_bits"])
    over = [layer for layer in layers if layer["integer_bits"] > fixed["readme_types_integer_bits"]]
    if not over:
        return (f" For raw inputs within the training ranges every layer's weights, biases and "
                f"outputs fit `fixed<32,16>` (at most {worst['integer_bits']} integer bits with "
                f"the sign, `{worst['layer']}`: guaranteed interval bounds in `model.json` -> "
                f"`fixed_point`).{saturates}")
    fixes = "; ".join(f"the layer ending in `{layer['layer']}` needs {layer['integer_bits']}: "
                      f"the hls4ml call above widens its weight, accumulator, bias and result "
                      f"types (`{layer['layer'].replace('Add', 'MatMul')}`'s `weight`, `accum`, "
                      f"`result`, `{layer['layer']}`'s `bias`, `result`) to "
                      f"`{_wide_type(layer)}`"
                      for layer in over)
    return (f" `fixed<32,16>` is too narrow for this model: for raw inputs within the training "
            f"ranges {fixes} (guaranteed interval bounds in `model.json` -> `fixed_point`; "
            f"otherwise the values wrap).{saturates}")


def _input_type(meta: dict[str, Any]) -> tuple[str, str]:
    """The raw input's hls4ml type (``fixed<32,12>``, or wider where a feature's training spread
    is below ``STEPS_PER_STD`` of its 2^-20 steps: such a feature was rounded to a few values)
    and a sentence on why, when it is not the usual one."""
    from jetstudy.study.export_fixed import STEPS_PER_STD, fraction_bits

    standardisation = (meta.get("input") or {}).get("standardisation") or {}
    std = standardisation.get("std") if isinstance(standardisation, dict) else None
    bits, frac = input_integer_bits(meta.get("input_ranges")), fraction_bits(std)
    if bits is None or frac <= 20 or not isinstance(std, list):
        return "fixed<32,12>", ""
    n = bits[0]
    name, spread = min(zip(meta["input"]["features"], std), key=lambda item: item[1])
    return (f"fixed<{max(32, n + frac)},{n}>",
            f" `{name}` hardly varied in training (std {spread:.3g}): {STEPS_PER_STD} steps of "
            f"that spread need {frac} fraction bits, which this input type keeps (with "
            f"`fixed<32,12>`'s 20 the feature is rounded to a few values).")


def _ranges_line(meta: dict[str, Any]) -> str:
    bits = input_integer_bits(meta.get("input_ranges"))
    if bits is None:
        return ("The input ranges seen in training are unknown (the study was prepared before "
                "jetstudy recorded them): check that your inputs' largest values fit the input "
                "type before synthesis.")
    n, feature = bits
    fits = ("`fixed<32,12>` holds it" if n <= 12 else
            f"raise the input type's integer bits to at least {n}")
    kind, why = _input_type(meta)
    if kind != "fixed<32,12>":
        fits = f"`{kind}` holds it"
    return (f"The largest raw value seen in training (`{feature}`) needs {n} integer bits with "
            f"the sign: {fits} (every feature's range: `model.json` -> `input_ranges`).{why}")


def export_readme(meta: dict[str, Any]) -> str:
    """The README text for the export described by ``meta`` (``model.json``)."""
    arch = meta["architecture"]
    trained = arch["trained"]
    widths = "-".join(str(w) for w in trained["widths"]) or "none (logistic regression)"
    activation = trained["activation"]
    features = ", ".join(meta["input"]["features"])
    classes = ", ".join(meta["output"]["classes"])
    check = meta["check"]["max_abs_difference"]
    last_add = f"Add_{sum(1 for layer in arch['deployed_layers'] if layer['type'] == 'Linear') - 1}"
    hls_note = ("" if activation != "gelu" else
                f"\nNote: `gelu` is written with an ONNX `Erf` node, which hls4ml "
                f"{HLS4ML_VERSION} refuses (\"Unsupported operation type: Erf\"); for an FPGA, "
                f"retrain with relu, leaky_relu, elu, prelu, tanh or silu.\n")
    return f"""# Jet tagger exported by jetstudy

Trial `{meta['trial_id']}`, best epoch {meta['best_epoch']} (weights from
`{meta['weights_from']}` of the study `{meta['study']}`). Hidden layers {widths},
activation `{activation}`, {arch['n_params']} trained parameters ({arch['deployed_params']} in the
deployed network), {arch['multiplications']} multiplications per jet. {_metrics_line(meta)}
{_training_line(meta)}{_selection_line(meta)}

| file | what |
|---|---|
| `model.onnx` | ONNX (opset {meta['onnx']['opset']}): input `{meta['input']['name']}` (jets, 16) float32, output `{meta['output']['name']}` (jets, 5) |
| `model.pt` | the same network as TorchScript |
| `model.json` | architecture, feature and class order, training config, test metrics, input ranges, the export's check |

**Input**: the 16 raw (not standardised) high-level features, in this order: {features}
(`jets` below: a list of rows, a NumPy array or a pandas DataFrame of those columns in that
order; the OpenML table names them without the `j_`).
The study's standardisation is folded into the first layer, batch norm into the layer before
it, dropout is removed.{_shift_note(meta)} **Output**: the probabilities of {classes} (a softmax; rows sum to 1).
Checked at export: both files agree with the study's own model (standardise, network, softmax)
to {max(check.values()):.1e} on {meta['check']['jets']} jets (allowed {meta['check']['tolerance']:g}).

## onnxruntime

```python
import numpy as np
import onnxruntime as ort

session = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
x = np.asarray(jets, dtype=np.float32)          # (n, 16) raw features, in the order above
probabilities = session.run(None, {{"{meta['input']['name']}": x}})[0]   # (n, 5): {classes}
```

## torch

```python
import numpy as np
import torch

model = torch.jit.load("model.pt")   # torch >= 2.10 warns that torch.jit is deprecated; it loads
x = torch.from_numpy(np.asarray(jets, dtype=np.float32))   # (n, 16) raw features, as above
with torch.no_grad():
    probabilities = model(x)          # (n, 5): {classes}
```

## hls4ml

Written against hls4ml {HLS4ML_VERSION} and its ONNX front end, which reads the graph through
qonnx (`pip install hls4ml qonnx`). Each Linear layer is already a MatMul + Add, so qonnx's
clean-up is all the graph needs; it names the input `global_in` and the last layer's bias add
`{last_add}`.

```python
import hls4ml
import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.util.cleanup import cleanup_model

model = cleanup_model(ModelWrapper("model.onnx"))
config = hls4ml.utils.config.config_from_onnx_model(
    model, granularity="name", backend="Vitis", default_precision="fixed<32,16>")
for layer in config["LayerName"].values():  # explicit types: "auto" broke the folded layers
    for key, value in layer.get("Precision", {{}}).items():
        if value == "auto":
            layer["Precision"][key] = "fixed<32,16>"
config["LayerName"]["global_in"]["Precision"]["result"] = "{_input_type(meta)[0]}"  # raw inputs{_widen_types(meta)}
config["LayerName"]["{last_add}"]["Precision"]["result"] = "fixed<18,8,RND,SAT>"  # softmax input{_shift_types(meta)}
hls_model = hls4ml.converters.convert_from_onnx_model(
    model, output_dir="hls4ml_prj", backend="Vitis", io_type="io_parallel", hls_config=config)
hls_model.compile()
probabilities_hls = hls_model.predict(np.ascontiguousarray(x))  # x: the onnxruntime block's
```

Why these types: the inputs are raw and the first layer holds the standardisation, so its
weights are large where a feature's spread is small. Tried with hls4ml 1.3.0 and qonnx 1.0.0
(C simulation, jetstudy's demo model and small relu, prelu, elu, leaky_relu, tanh and silu
networks; a network that subtracts the means first, one with a near-constant feature and one
with a layer past `fixed<32,16>`, each with the lines this call adds for it): with the default `fixed<16,6>`, or with types left `auto`, the first layer's outputs
were off by several units and the predicted class was often wrong; with the types above the
logits agreed with onnxruntime to about 0.02 and the predicted class on 95-99% of 200 jets
(trained networks), while hls4ml's table-based softmax still moved probabilities by up to about
0.2 (they need not sum to 1): the jets whose class changed were near ties (their top two
probabilities within about 0.06 in onnxruntime), so compare the logits, or the class away from
ties. Compare `predict` with onnxruntime on your own jets, then narrow
the types and set the reuse factor for your FPGA. {_ranges_line(meta)}{_layers_line(meta)}
{hls_note}"""
