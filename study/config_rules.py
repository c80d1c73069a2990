"""Rules across a study config's fields, checked once by :func:`jetstudy.study.config.from_dict`
after each field passed its own check: paths jetstudy would read otherwise than written (``$HOME``,
``~nobody``, a line break), splits and ASHA rungs that cannot work, resource shares Ray cannot
hold, a pack asked for what it cannot train, size limits no model of the space fits; and
:func:`data_beside_config`, the CLI's check of a relative ``data.path``.

(The fields and their own checks are :mod:`jetstudy.study.config`'s, which re-exports
:func:`pack_problem` and :func:`data_beside_config`.)"""

from __future__ import annotations

import re
from pathlib import Path

from jetstudy.study.config import (PACKABLE_ACTIVATIONS, RESOURCE_STEP, SIZE_OBJECTIVES,
                                   ResourcesConfig, StudyConfig)
from jetstudy.trainables.errors import ConfigError

__all__ = ["check_across_fields", "check_sizes", "pack_problem", "data_beside_config"]


def check_across_fields(cfg: StudyConfig) -> None:
    """The rules that need no search-rule module: paths, splits, ASHA, resources, packs."""
    _path_checks(cfg)
    _cross_checks(cfg)
    _pack_checks(cfg)


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
        curly = "\u2018\u2019\u201a\u201c\u201d\u201e\u00ab\u00bb"
        if value and len(value) > 1 and value[0] in curly and value[-1] in curly:
            raise ConfigError(  # ‘results’ would be a folder of that name, quotes and all
                f"{name} is {value!r}, wrapped in typographic quotes (a word processor's or "
                f"web page's {value[0]}{value[-1]}), which YAML keeps as part of the text; "
                f"write it with straight quotes or none: {name.split('.')[1]}: "
                f"{value[1:-1].strip()}")
        if name == "resources.address":
            continue
        if name == "storage.results_dir" and value != value.strip():  # quoted: "results "
            where = "starts" if value[:1].isspace() else "ends"
            raise ConfigError(
                f"storage.results_dir is {value!r}, which {where} with a blank: studies would "
                f"go into a folder of that name, which ls shows as {value.strip()!r} and a "
                f"shell path must quote; remove it (e.g. results_dir: {value.strip()})")
        if name != "storage.name":
            _url(name, value)
            _home_of_a_user(name, value)
        found = _ENV_VAR.search(value or "")
        if found:
            raise ConfigError(
                f"{name} is {value!r}, but jetstudy does not expand environment variables "
                f"({found.group(0)}); write the {'name' if name == 'storage.name' else 'path'} "
                f"out, or let the shell expand it: --set {name}=\"{value}\" (double quotes"
                + ("; ~ for the home folder is expanded)" if name != "storage.name" else ")"))


def _url(name: str, value: str | None) -> None:
    """A URL is no path: data.path said "no such file" at the start of the run, and
    storage.results_dir made a local folder ``s3:`` (or ``https:``) beside the user's files."""
    from jetstudy.trainables.datacheck import url_problem

    problem = url_problem(value)
    if problem is None:
        return
    fix = "" if problem.startswith("a URL (file://)") else (
        "; download the files first (`jetstudy fetch hls4ml` for the dataset) and give their "
        "local path" if name == "data.path" else
        "; object stores are not supported as the results folder (docs/cluster.md): give a "
        "local folder, or a shared one mounted on every node, and copy the study there after")
    raise ConfigError(f"{name} is {value!r}, {problem}{fix}")


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


def check_sizes(cfg: StudyConfig) -> None:
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
