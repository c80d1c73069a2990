"""Check a study's resource requests against the Ray cluster before the first trial.

Ray Tune waits, silently and for ever, for resources that no node can give: a trial asking 4
CPUs on a 2-CPU machine, or a GPU where there is none. So once Ray is up, :func:`check_fit`
compares what one trial (or, in a packed study, one pack) asks with the nodes the cluster has
and can add, and raises one :class:`~jetstudy.trainables.errors.ConfigError` naming the field, the value,
what the cluster has and the fix.

The nodes it may add: an autoscaling cluster started by ``ray up`` lists its node types in
``~/ray_bootstrap_config.yaml`` on the head (read there by a tiny task; Ray Tune detects such
clusters by the same file) and newer autoscalers publish them to the cluster's state
(:func:`ray._private.state.state.get_cluster_config`, within its ``max_resources``). A node type that may be started counts
like a running node. ``JETSTUDY_SKIP_RESOURCE_CHECK=1`` skips the check, for an autoscaler
jetstudy cannot see.

>>> check_fit(cfg)  # doctest: +SKIP
ConfigError: resources.cpus_per_trial is 4, but the largest node of the Ray cluster has 2 CPUs
(1 node: 2 CPUs, no GPU); set resources.cpus_per_trial to 2 or less, or resources.num_cpus ...
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from dataclasses import dataclass
from typing import Any

import yaml

from jetstudy.study.config import StudyConfig, pack_problem
from jetstudy.study.packing import (PACKED_TRIAL_CPUS, PackPlan, concurrent_trials, pack_count,
                                    plan_packing)
from jetstudy.trainables.errors import ConfigError

__all__ = ["SKIP_ENV", "NodeShape", "cluster_shapes", "check_fit", "check_local_request",
           "check_request", "config_shapes", "pack_room", "resolve_packing", "scalable_shapes"]

logger = logging.getLogger(__name__)

SKIP_ENV = "JETSTUDY_SKIP_RESOURCE_CHECK"
#: How long reading the head's autoscaler config may take (a worker start on the head).
HEAD_PROBE_TIMEOUT_S = 60.0
_BOOTSTRAP = "~/ray_bootstrap_config.yaml"
#: The one node type of Ray's ``local`` provider (``prepare_local``): the listed machines,
#: sized by Ray as each joins, the head one of them.
_LOCAL_TYPE = "local.cluster.node"


@dataclass(frozen=True)
class NodeShape:
    """CPUs and GPUs of one node; ``count`` nodes like it (None: as many as needed);
    ``scalable`` for node types an autoscaler may start; ``pool``: at most this many nodes of
    all such types together (the cluster config's ``max_workers``), None: no such limit."""
    cpus: float
    gpus: float
    count: int | None = 1
    scalable: bool = False
    name: str = ""
    pool: int | None = None


def _num(value: float) -> str:
    return f"{value:g}"


def _plural(n: float, word: str) -> str:
    return f"{_num(n)} {word}" + ("" if n == 1 else "s")


def _describe(shapes: list[NodeShape]) -> str:
    """``1 node: 2 CPUs, no GPU`` / ``2 nodes: 8 CPUs + 1 GPU, 48 CPUs + 4 GPUs; may add ...``"""
    running = [s for s in shapes if not s.scalable]
    scalable = [s for s in shapes if s.scalable]

    def one(s: NodeShape) -> str:
        if math.isinf(s.cpus):
            return "size not declared"
        if math.isinf(s.gpus):  # a local Ray not started yet: its CPUs are resources.num_cpus
            return f"{_plural(s.cpus, 'CPU')} (resources.num_cpus)"
        gpus = _plural(s.gpus, "GPU") if s.gpus else "no GPU"
        return f"{_plural(s.cpus, 'CPU')}, {gpus}"

    text = f"{_plural(len(running), 'node')}: " + "; ".join(one(s) for s in running)
    if scalable:
        text += "; may add " + "; ".join(
            f"{'any number' if s.count is None else s.count} x {s.name or 'node'} ({one(s)})"
            for s in scalable)
        pools = [s.pool for s in scalable if s.pool is not None]
        if len(scalable) > 1 and pools:
            text += f", {_plural(min(pools), 'worker')} at most in all"
    return text


def _running_nodes() -> list[NodeShape]:
    import ray

    return [NodeShape(float(n["Resources"].get("CPU", 0)), float(n["Resources"].get("GPU", 0)),
                      name="head" if "node:__internal_head__" in n["Resources"] else "")
            for n in ray.nodes() if n.get("Alive")]


def _from_cluster_config() -> list[NodeShape] | None:
    """Node types an autoscaler published to the cluster's state (None when none did)."""
    try:
        from ray._private.state import state

        config = state.get_cluster_config()
    except Exception as exc:  # Ray Client, or an older cluster: no such record
        logger.debug("no autoscaler config in the cluster state: %s", exc)
        return None
    return config_shapes(config)


def config_shapes(config: Any) -> list[NodeShape] | None:
    """The node types of Ray's ``autoscaler_pb2.ClusterConfig`` (None without any), within its
    ``max_resources``, the most of each resource the whole cluster may hold: a type whose one
    node exceeds it is never started (a GPU type under ``GPU: 0`` adds no GPU), and a type
    counts no more nodes than that limit holds (``CPU: 64`` and 16-CPU nodes: 4; the running
    nodes take their share too, so this is an upper bound: nothing that fits is refused).
    Ignoring it counted a GPU node type an autoscaler may never start, and Ray Tune waited for
    ever. Pure: tested with made-up configs."""
    if config is None or not config.node_group_configs:
        return None
    most = {key: float(config.max_resources[key]) for key in ("CPU", "GPU")
            if key in config.max_resources}
    shapes = []
    for g in config.node_group_configs:
        if g.max_count == 0:
            continue
        per_node = {key: float(g.resources.get(key, 0)) for key in ("CPU", "GPU")}
        count = None if g.max_count == -1 else int(g.max_count)
        for key, cap in most.items():
            if per_node[key] > 0:
                fit = math.floor(cap / per_node[key] + 1e-9)
                count = fit if count is None else min(count, fit)
        if count == 0:
            continue
        shapes.append(NodeShape(per_node["CPU"], per_node["GPU"], count, True, g.name))
    return shapes


def _read_bootstrap() -> str | None:
    path = os.path.expanduser(_BOOTSTRAP)
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _head_bootstrap() -> str | None:
    """The head node's autoscaler config (``ray up`` writes it there), read by a zero-CPU task
    pinned to the head; None without one, or when the head does not answer in time."""
    import ray

    probe = ray.remote(num_cpus=0, max_retries=0)(_read_bootstrap)
    ref = probe.options(resources={"node:__internal_head__": 0.001}).remote()
    ready, _ = ray.wait([ref], timeout=HEAD_PROBE_TIMEOUT_S)
    if not ready:
        ray.cancel(ref, force=True)
        logger.warning("the head node did not answer within %.0f s; jetstudy checks the "
                       "resources against the running nodes only", HEAD_PROBE_TIMEOUT_S)
        return None
    return ray.get(ref)


def _from_bootstrap(text: str | None) -> list[NodeShape] | None:
    """Node types of a ``ray up`` cluster config; a type without declared resources is an
    unknown size (``NodeShape`` of infinite CPUs and GPUs: never refused), with its
    ``max_workers`` as the count for Ray's ``local`` provider (see :func:`scalable_shapes`)."""
    if not text:
        return None
    try:
        config = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return [NodeShape(math.inf, math.inf, None, True, "unreadable autoscaler config")]
    shapes = []
    for name, spec in (config.get("available_node_types") or {}).items():
        spec = spec or {}
        most = spec.get("max_workers", config.get("max_workers"))
        if most == 0:
            continue
        resources = spec.get("resources") or {}
        if "CPU" not in resources:  # filled in from the instance type at launch: unknown here
            local = name == _LOCAL_TYPE and most is not None
            shapes.append(NodeShape(math.inf, math.inf, int(most) if local else None, True,
                                    str(name)))
            continue
        pool = config.get("max_workers")
        shapes.append(NodeShape(float(resources.get("CPU", 0)), float(resources.get("GPU", 0)),
                                None if most is None else int(most), True, str(name),
                                None if pool is None else int(pool)))
    return shapes


def scalable_shapes(text: str | None, running: list[NodeShape]) -> list[NodeShape] | None:
    """The node types of the head's autoscaler config ``text`` that may still add nodes.

    On Ray's ``local`` provider (``cluster-onprem.yaml``) the one node type declares no
    resources, yet the listed machines are all the cluster will have: those already joined are
    ``running`` (the head among them), so only the rest are of unknown size; counted as an
    unknown size without limit they let any request through, and Ray Tune waited for ever for
    a trial no machine could hold. Pure: tested with made-up clusters."""
    shapes = _from_bootstrap(text)
    if shapes is None:
        return None
    joined = max(len(running) - 1, 0)
    out = []
    for s in shapes:
        if s.name == _LOCAL_TYPE and s.count is not None:
            if s.count <= joined:
                continue
            s = dataclasses.replace(s, count=s.count - joined,
                                    name=f"{_LOCAL_TYPE} not joined yet")
        out.append(s)
    return out


def cluster_shapes(local: bool) -> list[NodeShape]:
    """The running nodes plus the node types an autoscaler may add (none for a local Ray)."""
    shapes = _running_nodes()
    if local:
        return shapes
    scalable = _from_cluster_config()
    if scalable is None:
        scalable = scalable_shapes(_head_bootstrap(), shapes)
    return shapes + (scalable or [])


def _fits(s: NodeShape, cpus: float, gpus: float) -> int | None:
    """How many (cpus, gpus) requests one node of shape ``s`` holds; None: unlimited. Ray
    places a share of a GPU (``gpus`` below 1) within one card, never across two: a node of 2
    GPUs holds 4 requests of 0.4, not 5 (the fifth, counted before, waited for ever)."""
    if math.isinf(s.cpus):
        return None
    by_cpu = math.floor(s.cpus / cpus + 1e-9) if cpus > 0 else math.inf
    by_gpu: float = math.inf
    if gpus > 0 and not math.isinf(s.gpus):
        cards = math.floor(s.gpus + 1e-9)  # and a part of one, where a node declares it
        by_gpu = (cards * math.floor(1 / gpus + 1e-9)
                  + math.floor(max(s.gpus - cards, 0.0) / gpus + 1e-9) if gpus < 1
                  else math.floor(s.gpus / gpus + 1e-9))
    n = min(by_cpu, by_gpu)
    return None if math.isinf(n) else int(n)


def _capacity(shapes: list[NodeShape], cpus: float, gpus: float) -> int | None:
    """Requests of (cpus, gpus) the whole cluster holds at once; None: unlimited. Node types
    sharing a ``pool`` (the autoscaler's ``max_workers`` over all types) count only the
    ``pool`` nodes that hold the most (``cluster.yaml``: 8 workers in all, not 8 + 2), and a
    running node of such a type's size is one of them, not one more."""
    pooled = [s for s in shapes if s.scalable and s.pool is not None]
    pool = min((s.pool for s in pooled), default=0)
    sizes = {(s.cpus, s.gpus) for s in pooled}
    total, in_pool = 0, 0
    for s in shapes:
        per_node = _fits(s, cpus, gpus)
        if per_node is None:
            return None
        if s in pooled:
            continue
        if (not s.scalable and s.name != "head" and s.count == 1
                and (s.cpus, s.gpus) in sizes and in_pool < pool):
            in_pool += 1  # a worker the autoscaler started: counted in the pool below
            continue
        if per_node and s.count is None:
            return None
        total += per_node * s.count
    left = pool
    for per_node, count in sorted(((_fits(s, cpus, gpus), s.count) for s in pooled),
                                  key=lambda pc: -pc[0]):
        take = left if count is None else min(count, left)
        total, left = total + per_node * take, left - take
    return total


def _one_fits(shapes: list[NodeShape], cpus: float, gpus: float, what: str, local: bool) -> None:
    """Raise unless one node holds one request of ``cpus`` CPUs and ``gpus`` GPUs."""
    if any(_fits(s, cpus, gpus) != 0 for s in shapes):
        return
    have = _describe(shapes)
    most_cpus = max((s.cpus for s in shapes), default=0.0)
    most_gpus = max((s.gpus for s in shapes), default=0.0)
    more_cpus = (f", or resources.num_cpus to {math.ceil(cpus)} or more (Ray may count more "
                 f"CPUs than the machine has)" if local else ", or add larger nodes")
    skip = "" if local else f" (an autoscaler jetstudy cannot see: set {SKIP_ENV}=1)"
    if gpus > 0 and most_gpus == 0:
        raise ConfigError(
            f"resources.gpus_per_trial is {_num(gpus)}, but the Ray cluster has no GPU "
            f"({have}); set resources.gpus_per_trial to 0 to train on CPUs (and "
            f"training.device to auto or cpu), or run on a machine or cluster with GPUs{skip}")
    if cpus > most_cpus:
        fix = (f"set resources.cpus_per_trial to {_num(most_cpus)} or less{more_cpus}"
               if most_cpus > 0 else f"add nodes with CPUs{more_cpus}")
        raise ConfigError(
            f"resources.cpus_per_trial is {_num(cpus)}, but the largest node of the Ray "
            f"cluster has {_plural(most_cpus, 'CPU')} and {what} runs on one node ({have}); "
            f"{fix}{skip}")
    if gpus > most_gpus:
        raise ConfigError(
            f"resources.gpus_per_trial is {_num(gpus)}, but the largest node of the Ray "
            f"cluster has {_plural(most_gpus, 'GPU')} and {what} runs on one node ({have}); "
            f"set resources.gpus_per_trial to {_num(most_gpus)} or less{skip}")
    raise ConfigError(
        f"no node of the Ray cluster has both the {_plural(cpus, 'CPU')} "
        f"(resources.cpus_per_trial) and the {_plural(gpus, 'GPU')} "
        f"(resources.gpus_per_trial) that {what} asks for ({have}); lower one of the two so "
        f"that it fits a node{skip}")


def _packs_fit(cfg: StudyConfig, shapes: list[NodeShape], local: bool, restored: int) -> None:
    """A packed study starts all its packs before the first trial (one per ``pack_size`` of the
    trials that can run at once, :func:`~jetstudy.study.packing.concurrent_trials`): they must
    all fit, and leave room for the trials' own light processes."""
    r, s = cfg.resources, cfg.search
    count, at_once = pack_count(cfg, r.pack_size, restored), concurrent_trials(cfg, restored)
    _one_fits(shapes, r.cpus_per_trial, r.gpus_per_trial, "each pack", local)
    room = _capacity(shapes, r.cpus_per_trial, r.gpus_per_trial)
    why = (f"{restored} trials --resume continues" if restored > min(s.max_concurrent,
                                                                       s.num_trials)
           else f"search.max_concurrent {s.max_concurrent}" if s.max_concurrent <= s.num_trials
           else f"search.num_trials {s.num_trials}")
    what = (f"{why} ({at_once} trial(s) at once) with resources.pack_size "
            f"{r.pack_size} starts {_plural(count, 'pack')} of "
            f"{_plural(r.cpus_per_trial, 'CPU')}"
            + (f" and {_plural(r.gpus_per_trial, 'GPU')}" if r.gpus_per_trial else "") + " each")
    if room is not None and room < count:
        raise ConfigError(
            f"{what}, but the Ray cluster holds only {room} ({_describe(shapes)}); set "
            + (f"search.max_concurrent to {room * r.pack_size} or less, or "
               if restored <= room * r.pack_size else "")
            + f"resources.pack_size to {math.ceil(at_once / max(room, 1))} or more")
    if any(s.scalable for s in shapes):
        return
    spare = sum(s.cpus for s in shapes) - count * r.cpus_per_trial
    if spare < PACKED_TRIAL_CPUS - 1e-9:
        raise ConfigError(
            f"{what}, which takes every CPU of the Ray cluster ({_describe(shapes)}) and leaves "
            f"none for the trials ({PACKED_TRIAL_CPUS:g} CPU each); set "
            f"resources.cpus_per_trial to {_num(r.cpus_per_trial - PACKED_TRIAL_CPUS)} or "
            f"less" + (", or resources.num_cpus one higher" if local else ""))


def check_request(cfg: StudyConfig, shapes: list[NodeShape], local: bool,
                  restored: int = 0) -> None:
    """Raise a ConfigError unless the cluster of ``shapes`` can run the study (pure: tested
    with made-up clusters); ``restored``: the trials a ``--resume`` continues."""
    r = cfg.resources
    if r.gpus_per_trial > 1 and r.gpus_per_trial != int(r.gpus_per_trial):
        raise ConfigError(
            f"resources.gpus_per_trial is {_num(r.gpus_per_trial)}: Ray shares a GPU (values "
            f"below 1) or gives whole GPUs, not {_num(r.gpus_per_trial)}; set "
            f"{math.floor(r.gpus_per_trial)} or {math.ceil(r.gpus_per_trial)}")
    if r.pack_size and r.pack_size != "auto":
        _packs_fit(cfg, shapes, local, restored)
    else:  # auto not resolved yet (before Ray starts): what a trial and a pack both need
        _one_fits(shapes, r.cpus_per_trial, r.gpus_per_trial, "each trial", local)


def _skip_check() -> bool:
    """:data:`SKIP_ENV` as a switch: 1/true/yes/on skip, unset/empty/0/false/no/off check
    (``false`` skipped the check before); anything else is an error naming the variable."""
    raw = os.environ.get(SKIP_ENV, "")
    word = raw.strip().lower()
    if word in ("", "0", "false", "no", "off"):
        return False
    if word in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{SKIP_ENV} is {raw!r}, neither on nor off; set {SKIP_ENV}=1 to skip the "
                      f"resource check, or {SKIP_ENV}=0 (or unset it) to keep it")


def check_local_request(cfg: StudyConfig, restored: int = 0) -> None:
    """Before a local Ray starts (and before any data work): with ``resources.num_cpus`` set,
    its CPUs are known, so a trial or pack asking more fails at once. GPUs are checked by
    :func:`check_fit` once Ray has found them."""
    r = cfg.resources
    skip = _skip_check()  # a bad value is refused before any work, whatever the cluster
    if r.address or r.num_cpus is None or skip:
        return
    check_request(cfg, [NodeShape(float(r.num_cpus), math.inf)], local=True, restored=restored)


def check_fit(cfg: StudyConfig, restored: int = 0) -> None:
    """Check ``cfg.resources`` against the connected Ray cluster (see the module docstring)."""
    if _skip_check():
        logger.warning("%s is set: the resource requests are not checked against the cluster",
                       SKIP_ENV)
        return
    local = cfg.resources.address is None
    check_request(cfg, cluster_shapes(local), local, restored)


def pack_room(shapes: list[NodeShape], cpus_per_trial: float, gpus_per_trial: float
              ) -> tuple[bool, int | None]:
    """(the cluster has GPUs or may add GPU nodes, how many packs it holds at once): a pack
    takes ``cpus_per_trial`` CPUs and a whole GPU (``gpus_per_trial`` if more), so one pack per
    card; None: no limit known (an autoscaler adds nodes). Pure: tested with made-up clusters."""
    has_gpus = any(s.gpus > 0 for s in shapes)
    return has_gpus, _capacity(shapes, cpus_per_trial, max(gpus_per_trial, 1.0))


def resolve_packing(cfg: StudyConfig, restored: int = 0) -> tuple[StudyConfig, PackPlan]:
    """Once Ray is up: ``resources.pack_size: auto`` becomes a number
    (:func:`~jetstudy.study.packing.plan_packing`, from the cluster's GPUs), and a packed
    ``auto`` gives each pack a whole GPU (``gpus_per_trial`` below 1 becomes 1: one pack per
    card, as planned); returns the config the study runs with and the plan (its ``why`` is
    logged and kept in ``provenance.json``).
    The cluster is asked only when the answer depends on it."""
    r = cfg.resources
    has_gpus, room = False, None
    if r.pack_size == "auto" and plan_packing(cfg, True, None, restored).size:
        has_gpus, room = pack_room(cluster_shapes(r.address is None), r.cpus_per_trial,
                                   r.gpus_per_trial)
    plan = plan_packing(cfg, has_gpus, room, restored)
    if r.pack_size == "auto":
        # trials get GPUs but a pack cannot train the space: the user misses the fast path
        unexpected = (plan.size == 0 and r.gpus_per_trial > 0 and cfg.training.device != "cpu"
                      and pack_problem(cfg) is not None)
        logger.log(logging.WARNING if unexpected else logging.INFO, "%s", plan.why)
    resolved = dataclasses.replace(r, pack_size=plan.size)
    if r.pack_size == "auto" and plan.size and r.gpus_per_trial < 1:
        # one pack per GPU (pack_room counts whole cards): a pack asking Ray for a share
        # would land on the card of the one before (Ray fills the first GPU) and leave the
        # others idle. Packed trials themselves ask for no GPU.
        resolved = dataclasses.replace(resolved, gpus_per_trial=1.0)
    return dataclasses.replace(cfg, resources=resolved), plan
