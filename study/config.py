"""The study config: one typed, validated, frozen object, loaded from YAML.

Every field has a default with a reason (the comment beside it) and a declared constraint
(:mod:`jetstudy.study.checks`). :func:`load_config` reads YAML, applies ``--set section.field=value``
overrides, checks everything once and returns a frozen :class:`StudyConfig`; a bad value raises
:class:`~jetstudy.trainables.errors.ConfigError` naming the field, the value and the fix::

    search.num_trials must be an integer >= 1, got 0; set e.g. 64

The resolved config is written next to the results (``config.yaml``) and
:func:`from_dict` (:mod:`jetstudy.study.config_build`) rebuilds the same object from it.

>>> cfg = from_dict({"search": {"num_trials": 12}})
>>> cfg.search.num_trials, cfg.scheduler.type
(12, 'asha')
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from jetstudy.study.checks import (Auto, Check, Choice, Float, Int, Optional, Points, Range,
                                   SubsetOf, Text)
from jetstudy.study.check_hints import yaml_text as _fmt  # noqa: F401 (re-exported)
from jetstudy.study.name_hints import near_field as _near_field  # noqa: F401 (re-exported)
from jetstudy.trainables.duplicates import POLICIES as DUPLICATES
from jetstudy.trainables.errors import ConfigError  # noqa: F401 (re-exported)
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


# Re-exported, imported on first use: config_build, config_file and config_rules import this
# module, so importing them here would make `import jetstudy.study.config_file` alone circular.
_ELSEWHERE = {
    "from_dict": "jetstudy.study.config_build",
    **dict.fromkeys(("_YamlRefused", "_yaml_load", "apply_overrides", "load_config",
                     "newer_writer", "written_by_newer"), "jetstudy.study.config_file"),
    **dict.fromkeys(("pack_problem", "data_beside_config", "_home_of_a_user", "_ENV_VAR"),
                    "jetstudy.study.config_rules"),
}


if TYPE_CHECKING:
    from jetstudy.study.config_build import from_dict  # noqa: F401
    from jetstudy.study.config_file import (_YamlRefused, _yaml_load,  # noqa: F401
                                            apply_overrides, load_config, newer_writer,
                                            written_by_newer)
    from jetstudy.study.config_rules import (_ENV_VAR, _home_of_a_user,  # noqa: F401
                                             data_beside_config, pack_problem)


def __getattr__(name: str) -> Any:
    """``from jetstudy.study.config import load_config`` (or pack_problem, ...) as before."""
    if name in _ELSEWHERE:
        import importlib

        return getattr(importlib.import_module(_ELSEWHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
