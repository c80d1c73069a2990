"""The study config: one typed, validated, frozen object, loaded from YAML.

Every field has a default with a reason (the comment beside it) and a declared constraint
(:mod:`jetstudy.study.checks`). :func:`load_config` reads YAML, applies ``--set section.field=value``
overrides, checks everything once and returns a frozen :class:`StudyConfig`; a bad value raises
:class:`~jetstudy.trainables.errors.ConfigError` naming the field, the value and the fix::

    search.num_trials must be an integer >= 1, got 0; set e.g. 64

The resolved config is written next to the results (``config.yaml``) and
``StudyConfig.from_dict`` rebuilds the same object from it.

>>> cfg = from_dict({"search": {"num_trials": 12}})
>>> cfg.search.num_trials, cfg.scheduler.type
(12, 'asha')
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from jetstudy.study.checks import (BAD, Auto, Check, Choice, Float, Int, Optional, Points,
                                   Range, SubsetOf, Text, shorten, small)
from jetstudy.study.check_hints import value_hint
from jetstudy.trainables.duplicates import POLICIES as DUPLICATES
from jetstudy.trainables.errors import ConfigError
from jetstudy.trainables.objective import METRIC_MODES
from jetstudy.trainables.table_schema import MAX_EPOCHS as _TABLE_MAX_EPOCHS

__all__ = [
    "DataConfig", "SpaceConfig", "SearchConfig", "SchedulerConfig", "TrainingConfig",
    "ResourcesConfig", "StorageConfig", "RegimesConfig", "StudyConfig", "from_dict", "load_config",
    "apply_overrides", "pack_problem", "ACTIVATIONS", "PACKABLE_ACTIVATIONS", "METRIC_MODES",
    "SEARCH_SAMPLERS", "SCAN_SAMPLERS", "SIZE_OBJECTIVES", "data_beside_config",
]

logger = logging.getLogger(__name__)

#: Activations the model builder knows (see trainables.model).
ACTIVATIONS: tuple[str, ...] = ("relu", "elu", "prelu", "tanh", "gelu", "silu", "leaky_relu")
#: What a packed model can use (``jetstudy.trainables.packed.PACKED_ACTIVATIONS``; PReLU learns a slope)
PACKABLE_ACTIVATIONS: tuple[str, ...] = tuple(a for a in ACTIVATIONS if a != "prelu")
#: Samplers of a search (looks for the best model) and of a scan (a designed set, study.design).
SEARCH_SAMPLERS: tuple[str, ...] = ("tpe", "random")
SCAN_SAMPLERS: tuple[str, ...] = ("grid", "sobol")
#: Model sizes a search can minimise or limit (per jet: trainable parameters, FLOPs = 2 per
#: multiply-add of the Linear layers, multiplications = the dense MACs an FPGA pays).
SIZE_OBJECTIVES: tuple[str, ...] = ("n_params", "flops", "multiplications")
# METRIC_MODES (search metrics and whether lower or higher is better) is
# trainables.objective's: the one rule for "better", re-exported here.
#: The largest seed: Optuna's samplers (NumPy's RandomState) take seeds below 2**32.
MAX_SEED = 2**32 - 1
#: The most synthetic jets a study or ``jetstudy synth`` writes: 11x the real 150-particle set
#: (880k), about 5 GB of files; more would fill a disk (or an hour) without teaching more.
MAX_SYNTHETIC_JETS = 10_000_000
# Upper bounds of the other counts: a typo like 99999999999999999999 is refused here, not met
# as an overflow deep in Ray, torch or Optuna. Limits that are only compared: 2**53, the
# largest integer a float (JSON, parquet, YAML readers) holds exactly.
MAX_COUNT = 2**53
MAX_TRIALS = 1_000_000
MAX_EPOCHS = _TABLE_MAX_EPOCHS  # one owner: the tables' reader refuses more too
#: ln 5 to 4 decimals: the cross-entropy (nats) of guessing the shares of 5 balanced classes,
#: the most any reference loss L* can be (unbalanced shares guess better).
LN5 = 1.6094
#: Ray counts CPUs and GPUs in steps of 0.0001: a finer share is 0 (or an error in Ray).
RESOURCE_STEP = 1e-4


def spec(default: Any, check: Check, example: Any = None) -> Any:
    """A dataclass field with its constraint and an example value for error messages."""
    example = default if example is None else example
    if isinstance(default, (list, dict)):
        raise TypeError("use tuples for defaults")
    return field(default=default, metadata={"check": check, "example": example})


@dataclass(frozen=True)
class DataConfig:
    # null: generate synthetic jets (Format A files) into <results>/data, so a study runs anywhere
    path: str | None = spec(None, Optional(Text()), example="data/train/*.h5")
    # auto: .h5/.hdf5 -> Format A (original files), .csv/.parquet -> Format B (OpenML table)
    format: str = spec("auto", Choice(("auto", "hdf5", "table")))
    # enough jets that a 16-64-32-32-5 MLP is data-limited only for the biggest models
    synthetic_jets: int = spec(60_000, Int(lo=1_000, hi=MAX_SYNTHETIC_JETS), example=60_000)
    synthetic_seed: int = spec(1, Int(lo=0, hi=MAX_SEED))
    # null: read everything; set to cap a quick look at a large dataset
    max_jets: int | None = spec(None, Optional(Int(lo=100, cap=MAX_COUNT)), example=100_000)
    # 60/20/20 split: the validation split drives the search, the test split is touched once
    val_fraction: float = spec(0.2, Float(lo=0.0, hi=0.9, lo_open=True), example=0.2)
    test_fraction: float = spec(0.2, Float(lo=0.0, hi=0.9, lo_open=True), example=0.2)
    split_seed: int = spec(0, Int(lo=0, hi=MAX_SEED))
    # a jet read twice (two files, a copy, a link) could land in train and test alike: error
    # stops the study; drop uses each jet once; keep uses the jets as read
    duplicates: str = spec("error", Choice(DUPLICATES))


@dataclass(frozen=True)
class SpaceConfig:
    # depth 1-6 spans underfitting (1 layer) to overfitting (6 wide layers) on 16 inputs
    depth: tuple[int, int] = spec((1, 6), Range(integer=True, lo=1, hi=16), example=[1, 6])
    # widths drawn per layer on a log scale; 8-256 covers the hls4ml 64-32-32 reference
    width: tuple[int, int] = spec((8, 256), Range(integer=True, lo=1, hi=8192, log=True),
                                  example=[8, 256])
    # [0, x]: the search switches dropout off or draws it from [x/10, x] (study.space)
    dropout: tuple[float, float] = spec((0.0, 0.5), Range(lo=0.0, hi=0.95), example=[0.0, 0.5])
    # L1/L2 strengths on a log scale; [0, 0] switches the penalty off; [0, x]: the search
    # switches it off or draws it log-uniformly from [x/1000, x]
    l1: tuple[float, float] = spec((1e-7, 1e-3), Range(lo=0.0, log=True, allow_off=True),
                                   example=[1e-7, 1e-3])
    l2: tuple[float, float] = spec((1e-7, 1e-3), Range(lo=0.0, log=True, allow_off=True),
                                   example=[1e-7, 1e-3])
    lr: tuple[float, float] = spec((1e-4, 1e-2), Range(lo=0.0, hi=10.0, log=True),
                                   example=[1e-4, 1e-2])
    activations: tuple[str, ...] = spec(("relu",), SubsetOf(ACTIVATIONS), example=["relu", "elu"])
    batch_norm: tuple[bool, ...] = spec((False,), SubsetOf((False, True)), example=[False, True])


@dataclass(frozen=True)
class SearchConfig:
    # 64 trials: enough for TPE to learn past its random start-up on a 6+ dim space
    num_trials: int = spec(64, Int(lo=1, cap=MAX_TRIALS))
    # trials running at once; more packs the hardware, fewer lets TPE learn between trials
    # (StudyConfig.warnings says when too many leave TPE nothing to learn from)
    max_concurrent: int = spec(4, Int(lo=1, cap=MAX_TRIALS))
    seed: int = spec(0, Int(lo=0, hi=MAX_SEED))
    # val_loss is smooth and what ASHA should compare; val_acc/val_auc are maximised
    metric: str = spec("val_loss", Choice(tuple(METRIC_MODES)))
    # tpe | random: a search (the best model); grid | sobol: a scan (a designed set of
    # configurations, each trained to the end: the regime picture; study.design)
    sampler: str = spec("tpe", Choice(SEARCH_SAMPLERS + SCAN_SAMPLERS))
    # grid scan: levels per axis (depth, width, each varying regulariser); the grid is every
    # combination, and search.num_trials is its size (leave num_trials out)
    grid_levels: int = spec(4, Int(lo=2, hi=10))
    # null: no wall-clock limit; otherwise running trials stop and the study reports what it has
    time_budget_s: float | None = spec(None, Optional(Float(lo=1.0, cap=1e9)), example=3600)
    # configurations tried first (e.g. the hls4ml 64-32-32), before the sampler takes over
    initial_points: tuple[dict, ...] = spec(
        (), Points(("depth", *(f"width_{i}" for i in range(16)), "dropout", "l1", "l2", "lr",
                    "activation", "batch_norm")),
        example=[{"depth": 3, "width_0": 64, "width_1": 32, "width_2": 32}])
    # null: the single search.metric. [metric, size]: also minimise the model's size, one of
    # SIZE_OBJECTIVES (Optuna's multi-objective TPE; ASHA still ranks by search.metric)
    objectives: tuple[str, ...] | None = spec(
        None, Optional(SubsetOf((*METRIC_MODES, *SIZE_OBJECTIVES))),
        example=["val_loss", "multiplications"])
    # hard size limits: a configuration over one is redrawn, never trained (study.space)
    max_params: int | None = spec(None, Optional(Int(lo=1, cap=MAX_COUNT)), example=3000)
    max_flops: int | None = spec(None, Optional(Int(lo=1, cap=MAX_COUNT)), example=6000)
    max_multiplications: int | None = spec(None, Optional(Int(lo=1, cap=MAX_COUNT)), example=3000)


@dataclass(frozen=True)
class SchedulerConfig:
    # asha stops poor trials early; fifo runs every trial to max_epochs (a clean baseline);
    # patience: every trial stops by itself once search.metric has not improved for `patience`
    # epochs (classic early stopping), else at max_epochs
    type: str = spec("asha", Choice(("asha", "fifo", "patience")))
    max_epochs: int = spec(30, Int(lo=1, cap=MAX_EPOCHS))
    # 2 epochs before the first cut: the loss has started to separate trials by then
    grace_period: int = spec(2, Int(lo=1, cap=MAX_EPOCHS))
    # keep the top third at each rung (ASHA paper default)
    reduction_factor: int = spec(3, Int(lo=2, cap=1000))
    # scheduler.type patience: epochs without a better search.metric before a trial stops
    patience: int = spec(5, Int(lo=1, cap=MAX_EPOCHS))


@dataclass(frozen=True)
class TrainingConfig:
    # 1024: the hls4ml reference batch size; large batches keep a tiny MLP efficient
    batch_size: int = spec(1024, Int(lo=1, cap=2**31 - 1))
    optimizer: str = spec("adam", Choice(("adam", "adamw", "sgd")))
    # null: the eval-mode training loss is measured on the whole training split each epoch
    # (one forward pass; its standard error then matches the validation loss's); a number caps
    # it at that many fixed training jets
    train_eval_jets: int | None = spec(None, Optional(Int(lo=100, cap=MAX_COUNT)), example=10_000)
    # checkpoint every N epochs so a trial can resume; 1 loses at most one epoch. Resume state
    # only: each trial's best epoch's weights are saved whenever they improve, whatever N
    checkpoint_every: int = spec(1, Int(lo=1, cap=MAX_EPOCHS))
    # auto: the GPU Ray assigns the trial if any, else the CPU
    device: str = spec("auto", Choice(("auto", "cpu", "cuda")))
    # torch intra-op threads per trial: 1 avoids oversubscribing cores shared by trials
    torch_threads: int = spec(1, Int(lo=1, cap=1024))
    # GPU matmuls: auto = high on CUDA; highest = exact fp32; high = TF32 (several times
    # faster on Ampere/Hopper, 10-bit mantissa; torch.set_float32_matmul_precision); no
    # effect on CPU
    matmul_precision: str = spec("auto", Choice(("auto", "highest", "high")),
                                 example="highest")


@dataclass(frozen=True)
class ResourcesConfig:
    cpus_per_trial: float = spec(1.0, Float(lo=0.0, lo_open=True, cap=1e6), example=1)
    # fractional values pack several trials on one GPU (0.25: four per GPU)
    gpus_per_trial: float = spec(0.0, Float(lo=0.0, cap=1e4), example=0.25)
    # null: start a local Ray; "auto" or "ray://host:10001": join an existing cluster
    address: str | None = spec(None, Optional(Text()), example="auto")
    # CPUs of the local Ray (null: all cores); ignored when joining a cluster
    num_cpus: int | None = spec(None, Optional(Int(lo=1, cap=1_000_000)), example=2)
    # a trial whose worker dies (node lost, OOM) restarts from its checkpoint this many times
    max_failures: int = spec(2, Int(lo=0, cap=MAX_EPOCHS))
    # 0: each trial trains its own model (any space). N: trials train in packs of up to N
    # models, one batched computation per pack (the fast path on a GPU); a pack then takes
    # cpus_per_trial and gpus_per_trial, and ceil(max_concurrent / N) packs run. auto: packed
    # when trials get a GPU (gpus_per_trial > 0 and the Ray cluster has GPUs) and the space is
    # packable, one pack per GPU (up to 64 trials each; jetstudy.study.packing.plan_packing),
    # else 0: the CPU default stays unpacked (a pack is one process, slower there)
    pack_size: int | str = spec("auto", Auto(Int(lo=0, cap=MAX_TRIALS)), example=64)
    # a pack trains each round's models in this many calls of similar size: less padding
    # (arithmetic), more kernel launches. auto: the split with the least padded FLOPs plus
    # per-call cost on the pack's device (trainables.pack_groups; CUDA graphs make calls cheap)
    pack_groups: int | str = spec("auto", Auto(Int(lo=1, cap=MAX_TRIALS)), example=4)
    # auto: on CUDA a pack replays each call's training step as a CUDA graph (the eager
    # step's numbers, measured equal to 1e-5; one model ~8x faster on an H200); off: eager
    pack_graphs: str = spec("auto", Choice(("auto", "off")), example="off")


@dataclass(frozen=True)
class StorageConfig:
    results_dir: str = spec("results", Text(), example="results")
    # null: study-<date>-<time>; a fixed name is needed to --resume
    name: str | None = spec(None, Optional(Text(name_like=True)), example="my-study")


@dataclass(frozen=True)
class RegimesConfig:
    """Thresholds of the report's regime rules: ``jetstudy.analysis.regimes.RegimeThresholds`` has the
    same names, defaults and reasons (a test keeps the two equal); only the report reads them."""

    # a gap, rise or excess counts beyond this many standard errors (per-jet spread / sqrt n)
    z: float = spec(3.0, Float(lo=0.0, lo_open=True, cap=1e6), example=3)
    # ... and a gap beyond this fraction of the train loss (any fitted model ends a few % above
    # its train loss; a 0.3% gap on 10^6 jets is significant, but no verdict)
    gap_floor: float = spec(0.08, Float(lo=0.0, hi=1.0))
    # tables without standard errors: a gap counts beyond this fraction alone
    gap_without_se: float = spec(0.15, Float(lo=0.0, hi=10.0, lo_open=True))
    # overfit when the val loss rose this fraction from its minimum while train loss ...
    overfit_rise: float = spec(0.05, Float(lo=0.0, hi=10.0, lo_open=True))
    # ... still fell this fraction after it
    train_still_falling: float = spec(0.02, Float(lo=0.0, hi=1.0))
    # good within this fraction above the reference loss L*, underfit beyond it
    underfit_tolerance: float = spec(0.15, Float(lo=0.0, hi=10.0))
    # unstable when the train loss comes within this fraction of the prior entropy
    prior_margin: float = spec(0.01, Float(lo=0.0, hi=0.5))
    # unstable when the macro val AUC is at most this (0.5: the classes are not separated)
    auc_floor: float = spec(0.55, Float(lo=0.5, hi=1.0))
    # a shorter curve shows no trend (the rise rule); a stopped one no regime (it can still show
    # a gap or a collapse); a complete shorter run is judged on its final losses
    min_epochs: int = spec(3, Int(lo=2, cap=MAX_EPOCHS))
    # L* in nats; null: the Bayes-optimal val loss on synthetic jets, else the study's best
    # val loss as a proxy (the report says which)
    # (at most ln 5 = 1.6094, the loss of guessing among 5 classes: above it every trial is good)
    reference_loss: float | None = spec(None, Optional(Float(lo=0.0, lo_open=True, hi=LN5)),
                                        example=0.6)


@dataclass(frozen=True)
class StudyConfig:
    data: DataConfig = DataConfig()
    space: SpaceConfig = SpaceConfig()
    search: SearchConfig = SearchConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    training: TrainingConfig = TrainingConfig()
    resources: ResourcesConfig = ResourcesConfig()
    storage: StorageConfig = StorageConfig()
    regimes: RegimesConfig = RegimesConfig()

    @property
    def kind(self) -> str:
        """``scan`` (grid or Sobol design, every trial to the end) or ``search`` (TPE, random)."""
        return "scan" if self.search.sampler in SCAN_SAMPLERS else "search"

    @property
    def warnings(self) -> tuple[str, ...]:
        """What is valid but probably not what the user wants (logged by :func:`load_config`)."""
        from jetstudy.study.search_rules import config_warnings
        from jetstudy.study.unused_settings import unused_settings

        return tuple(config_warnings(self)) + tuple(unused_settings(self))

    @property
    def mode(self) -> str:
        """``min`` or ``max``: the direction of ``search.metric``."""
        return METRIC_MODES[self.search.metric]

    @property
    def size_objective(self) -> str | None:
        """The size the search minimises beside ``search.metric`` (``search.objectives[1]``),
        or None for a single-objective search."""
        objectives = self.search.objectives or ()
        return objectives[1] if len(objectives) > 1 else None

    @property
    def size_limits(self) -> dict[str, int]:
        """``{quantity: limit}`` of the ``search.max_*`` fields that are set."""
        s = self.search
        limits = {"n_params": s.max_params, "flops": s.max_flops,
                  "multiplications": s.max_multiplications}
        return {k: v for k, v in limits.items() if v is not None}

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain YAML-ready dict (tuples as lists)."""
        def plain(v: Any) -> Any:
            return list(v) if isinstance(v, tuple) else v
        return {s.name: {f.name: plain(getattr(getattr(self, s.name), f.name))
                         for f in dataclasses.fields(getattr(self, s.name))}
                for s in dataclasses.fields(self)}

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None)


#: Section name -> its dataclass, in the order of the YAML file.
SECTIONS: dict[str, type] = {f.name: type(f.default) for f in dataclasses.fields(StudyConfig)}


def _fmt(value: Any) -> str:
    """A value as the user would write it in YAML (strings quoted)."""
    if isinstance(value, str):
        return shorten(repr(value))
    if isinstance(value, tuple):
        value = list(value)
    if not small(value):  # YAML aliases nest one list in another: its repr could be gigabytes
        import reprlib

        short = reprlib.Repr()
        short.maxlevel, short.maxlist, short.maxdict = 3, 4, 4
        return shorten(short.repr(value))
    text = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
    return shorten(text if "\n" not in text else repr(value))  # one line: !!binary is not


def _did_you_mean(key: str, section: str | None = None) -> str:
    """``" (did you mean num_trials?)"`` for a misspelt field (or section, when ``section`` is
    None); a field of another section is named there (``max_epochs`` is ``scheduler``'s)."""
    import difflib

    key = str(key).strip().lower().replace("-", "_")  # DATA, Max-Jets: names are lower case
    elsewhere = [other for other, cls in SECTIONS.items() if other != section
                 and key in {f.name for f in dataclasses.fields(cls)}]
    if elsewhere:
        return f" (it is a field of '{elsewhere[0]}': write {elsewhere[0]}.{key})"
    if section is None:
        close = [key] if key in SECTIONS else difflib.get_close_matches(
            key, list(SECTIONS), n=1, cutoff=0.6)
        return f" (did you mean '{close[0]}'?)" if close else ""
    fields = sorted(f.name for f in dataclasses.fields(SECTIONS[section]))
    close = [key] if key in fields else difflib.get_close_matches(
        key, fields, n=1, cutoff=0.6) or [
        f for f in fields if len(key) >= 3 and (f.startswith(key) or key.startswith(f))]
    if close:
        return f" (did you mean {section}.{close[0]}?)"
    near = _near_field(key, section)  # max_epoch under search: scheduler.max_epochs
    return f" (did you mean {near}? It is a field of '{near.split('.')[0]}')" if near else ""


def _near_field(key: str, section: str | None = None) -> str:
    """``"scheduler.max_epochs"`` for a misspelt field of another section than ``section``;
    "" when no field of any section is close."""
    import difflib

    others = {f"{name}.{f.name}": f.name for name, cls in SECTIONS.items() if name != section
              for f in dataclasses.fields(cls)}
    close = difflib.get_close_matches(str(key).strip().lower().replace("-", "_"),
                                      list(others.values()), n=1, cutoff=0.8)
    return next((full for full, name in others.items() if close and name == close[0]), "")


def _key_hint(key: Any) -> str:
    """A field name YAML read as something else: ``yes:``/``on:`` is true, ``~:`` or a bare
    ``:`` is null, ``2024-01-01:`` a date."""
    import datetime

    if isinstance(key, bool):
        return " (YAML reads a key yes/no/on/off as true/false: write the field's name)"
    if key is None:
        return " (a key '~', 'null' or nothing before ':' is YAML's null: write the field's name)"
    if isinstance(key, (datetime.date, int, float)):
        return f" (YAML read the key as the {type(key).__name__} {key!r}: write the field's name)"
    return ""


def _build_section(name: str, cls: type, values: Any) -> Any:
    if values is None:
        values = {}
    if not isinstance(values, dict):
        glued = re.fullmatch(r"\s*(\w+)\s*([=:])\s*(\S.*)", values) if isinstance(
            values, str) else None  # num_trials=3 or num_trials:3: YAML reads one string
        hint = "" if glued is None else (
            f" (YAML reads {glued[0].strip()!r} as one piece of text: write "
            f"'{glued[1]}: {glued[3].strip()}', "
            + ("with a space after ':')" if glued[2] == ":" else
               "with ': ', not '=' (--set takes section.field=value, a file field: value))"))
        raise ConfigError(f"{name} must be a mapping of fields, got {_fmt(values)}{hint}; "
                          f"write e.g. '{name}:' followed by indented 'field: value' lines")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields), key=str)
    if unknown:
        raise ConfigError(f"{name}.{shorten(str(unknown[0]))} is not a field of '{name}'"
                          f"{_did_you_mean(str(unknown[0]), name)}{_key_hint(unknown[0])}; "
                          f"known fields: "
                          f"{', '.join(fields)}")
    kwargs = {}
    for key, f in fields.items():
        if key not in values:
            continue
        check: Check = f.metadata["check"]
        cleaned = check.clean(values[key])
        if cleaned is BAD:
            hint = value_hint(f"{name}.{key}", check, values[key])
            raise ConfigError(f"{name}.{key} must be {check.describe()}, got "
                              f"{_fmt(values[key])}{hint}; "
                              f"set e.g. {_fmt(f.metadata['example'])}")
        kwargs[key] = cleaned
    return cls(**kwargs)


#: An environment variable in a path ($HOME, ${DATA}): jetstudy does not expand them.
_ENV_VAR = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")


def _path_checks(cfg: StudyConfig) -> None:
    """``~`` is expanded in data.path and storage.results_dir (and everywhere jetstudy reads
    them); environment variables are not, in either: refused, so no folder called ``$HOME`` is
    made and no data file is reported missing for a reason the message would not name."""
    for name, value in (("data.path", cfg.data.path),
                        ("storage.results_dir", cfg.storage.results_dir),
                        ("storage.name", cfg.storage.name),
                        ("resources.address", cfg.resources.address)):
        control = next((ch for ch in value or "" if ord(ch) < 32 or ord(ch) == 127), None)
        if control is not None:  # a YAML block scalar (path: |) keeps its line break
            raise ConfigError(
                f"{name} is {value!r}, which holds a control character ({control!r}, e.g. a "
                f"line break from a 'path: |' block); write it on one line, e.g. "
                f"{name.split('.')[1]}: data/jets.h5")
        if name == "resources.address":
            continue
        if name != "storage.name":
            _home_of_a_user(name, value)
        found = _ENV_VAR.search(value or "")
        if found:
            raise ConfigError(
                f"{name} is {value!r}, but jetstudy does not expand environment variables "
                f"({found.group(0)}); write the {'name' if name == 'storage.name' else 'path'} "
                f"out, or let the shell expand it: --set {name}=\"{value}\" (double quotes"
                + ("; ~ for the home folder is expanded)" if name != "storage.name" else ")"))


def _home_of_a_user(name: str, value: str | None) -> None:
    """``~name/...`` is the home folder of user ``name``; one that does not exist would be kept
    as written (a folder called ``~name`` made, or data reported missing for an unsaid reason)."""
    import os

    if not value or not value.startswith("~") or value.startswith(("~/", "~" + os.sep)) \
            or value == "~":
        return
    user = value[1:].split("/", 1)[0]
    if os.path.expanduser(value) == value:
        raise ConfigError(f"{name} is {value!r}: '~{user}' is the home folder of user {user!r}, "
                          f"and no such user exists on this machine; write ~/... for your own "
                          f"home folder, the full path, or ./{value} for a folder of that name "
                          f"here")


def _cross_checks(cfg: StudyConfig) -> None:
    d, s = cfg.data, cfg.scheduler
    if d.val_fraction + d.test_fraction > 0.9 + 1e-12:
        raise ConfigError(
            f"data.val_fraction + data.test_fraction must leave at least 10% of the jets for "
            f"training, got {d.val_fraction:g} + {d.test_fraction:g}; set e.g. 0.2 and 0.2")
    if s.type == "asha" and s.grace_period > s.max_epochs:  # fifo and patience ignore it
        raise ConfigError(f"scheduler.grace_period must be <= scheduler.max_epochs "
                          f"({s.max_epochs}), got {s.grace_period}: ASHA's first rung would "
                          f"come after the last epoch; set e.g. {max(1, s.max_epochs // 10)} "
                          f"(or scheduler.type fifo: every trial to max_epochs)")
    _resource_shares(cfg.resources)
    if cfg.training.device == "cuda" and cfg.resources.gpus_per_trial == 0:
        raise ConfigError("training.device is 'cuda' but resources.gpus_per_trial is 0, so Ray "
                          "gives trials no GPU; set resources.gpus_per_trial to e.g. 0.25 or "
                          "training.device to auto")


def _resource_shares(r: ResourcesConfig) -> None:
    """CPU and GPU shares Ray can hold: at least its step of 0.0001 (a finer one is 0 CPUs, so
    unlimited trials per core, or a ValueError inside Ray). A split GPU above one (1.5) is
    refused here too, not only by the cluster check (which JETSTUDY_SKIP_RESOURCE_CHECK skips):
    Ray shares a GPU in fractions below 1 and gives whole GPUs above."""
    import math

    gpus = r.gpus_per_trial
    if gpus > 1 and gpus != int(gpus):
        raise ConfigError(f"resources.gpus_per_trial is {gpus:g}: Ray shares a GPU (values "
                          f"below 1) or gives whole GPUs, not {gpus:g}; set "
                          f"{math.floor(gpus)} or {math.ceil(gpus)} (or e.g. 0.5 to share one)")
    for name, value in (("cpus_per_trial", r.cpus_per_trial), ("gpus_per_trial", r.gpus_per_trial)):
        if 0 < value < RESOURCE_STEP:
            raise ConfigError(f"resources.{name} is {value:g}, but Ray counts resources in steps "
                              f"of {RESOURCE_STEP:g} (a smaller share counts as none); set "
                              f"e.g. 0.25" + (", or 0 for no GPU" if name[0] == "g" else ""))


def pack_problem(cfg: StudyConfig) -> tuple[str, str] | None:
    """Why a pack could not train this study's trials (``jetstudy.trainables.packed``): (the
    problem, the fix), or None when it can."""
    points = cfg.search.initial_points
    activations = {*cfg.space.activations, *(p["activation"] for p in points if "activation" in p)}
    unpackable = sorted(activations - set(PACKABLE_ACTIVATIONS))
    if unpackable:
        return (f"packs cannot train activation {unpackable[0]!r}",
                "drop it from space.activations / search.initial_points")
    if True in cfg.space.batch_norm or any(p.get("batch_norm") for p in points):
        return "packs cannot train batch norm", "set space.batch_norm to [false]"
    if cfg.training.optimizer != "adam":
        return (f"packs train with Adam only, and training.optimizer is "
                f"{cfg.training.optimizer!r}", "set training.optimizer to adam")
    return None


def _pack_checks(cfg: StudyConfig) -> None:
    """A packed study trains only what a pack can hold; ``auto`` decides for itself
    (``jetstudy.study.packing.plan_packing``: unpacked, with a log line saying why)."""
    size = cfg.resources.pack_size
    problem = None if size in (0, "auto") else pack_problem(cfg)
    if problem is not None:
        raise ConfigError(f"resources.pack_size is {size}, but {problem[0]}; set "
                          f"resources.pack_size to 0 (each trial trains itself) or "
                          f"{problem[1]}")


def from_dict(raw: Any) -> StudyConfig:
    """Validate a plain dict (e.g. parsed YAML) into a frozen :class:`StudyConfig`."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"the config must be a mapping of sections ({', '.join(SECTIONS)}), "
                          f"got {_fmt(raw)}; see configs/dryrun.yaml for an example")
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"'{shorten(str(unknown[0]))}' is not a config section"
                          f"{_did_you_mean(str(unknown[0]))}; known sections: "
                          f"{', '.join(SECTIONS)}")
    cfg = StudyConfig(**{name: _build_section(name, cls, raw.get(name))
                         for name, cls in SECTIONS.items()})
    _path_checks(cfg)
    _cross_checks(cfg)
    _pack_checks(cfg)
    from jetstudy.study.search_rules import limit_check, search_checks

    search = raw.get("search")
    cfg = search_checks(cfg, search if isinstance(search, dict) else {})
    _size_checks(cfg)
    limit_check(cfg)  # limits nearly no draw of the space fits
    return cfg


def _size_checks(cfg: StudyConfig) -> None:
    """``search.objectives`` and the ``search.max_*`` limits against the metric, the kind of
    study and the space (the smallest model the space holds must fit)."""
    s = cfg.search
    objectives = s.objectives or (s.metric,)
    if objectives[0] != s.metric:
        raise ConfigError(f"search.objectives is {list(objectives)}, but its first entry must be "
                          f"search.metric ({s.metric!r}: ASHA and the best trial rank by it); "
                          f"set search.objectives to [{s.metric}, multiplications] or "
                          f"search.metric to {objectives[0]!r}")
    if len(objectives) > 2 or (len(objectives) == 2 and objectives[1] not in SIZE_OBJECTIVES):
        raise ConfigError(f"search.objectives is {list(objectives)}, but the second objective "
                          f"must be one size, one of {', '.join(SIZE_OBJECTIVES)}; set e.g. "
                          f"[{s.metric}, multiplications]")
    limits = cfg.size_limits
    if cfg.kind == "scan" and (len(objectives) > 1 or limits):
        field = "objectives" if len(objectives) > 1 else f"max_{next(iter(limits))}"
        field = field.replace("max_n_params", "max_params")
        raise ConfigError(f"search.{field} is set, but search.sampler {s.sampler!r} is a scan "
                          f"(a fixed design, nothing to steer); remove search.{field} or use "
                          f"search.sampler tpe")
    if not limits:
        return
    from jetstudy.study.space import config_size, smallest_size

    for quantity, limit in limits.items():
        field = "max_params" if quantity == "n_params" else f"max_{quantity}"
        smallest = smallest_size(cfg.space, quantity)
        if limit < smallest:
            raise ConfigError(f"search.{field} is {limit}, but the smallest model of the space "
                              f"(depth {cfg.space.depth[0]}, width {cfg.space.width[0]}) has "
                              f"{smallest} {quantity}; set search.{field} to at least "
                              f"{smallest} or narrow space.depth / space.width")
        for k, point in enumerate(s.initial_points):
            size = config_size(point, quantity, cfg.space)
            if size is not None and size > limit:
                raise ConfigError(f"search.initial_points[{k}] has {size} {quantity}, over "
                                  f"search.{field} {limit}; remove the point or raise the limit")


def data_beside_config(cfg: StudyConfig, config_file: str | Path | None) -> None:
    """A relative ``data.path`` starts from the folder jetstudy runs in, not the config file's:
    when nothing is found from there but the path names files beside the config file, say so
    (the reader would only say "no such file")."""
    import glob
    import os

    path = cfg.data.path
    if path is None or config_file is None or os.path.isabs(os.path.expanduser(path)):
        return
    if os.path.exists(path) or glob.glob(path, recursive=True):
        return
    base = Path(config_file).resolve().parent
    there = base / path
    if base == Path.cwd().resolve() or not (there.exists() or glob.glob(str(there),
                                                                          recursive=True)):
        return
    raise ConfigError(f"data.path {path!r} names nothing from the folder jetstudy runs in "
                      f"({os.getcwd()}), but it does beside the config file ({there}): a "
                      f"relative data.path starts from the folder jetstudy runs in, not the "
                      f"config's; run jetstudy from {base}, or give --set data.path='{there}'")


# reading YAML and --set (its own module; re-exported: callers import them from here)
from jetstudy.study.config_file import (_YamlRefused, _yaml_load,  # noqa: E402,F401
                                        apply_overrides, load_config, newer_writer,
                                        written_by_newer)
