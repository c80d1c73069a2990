"""How many trials a study runs at a time: ``search.max_concurrent`` (never more than
``search.num_trials``), and never more than the Ray cluster holds at once.

Unpacked trials each ask Ray for ``resources.cpus_per_trial`` CPUs and
``resources.gpus_per_trial`` GPUs; with ``search.max_concurrent`` 8 on 2 CPUs, 1 CPU a trial,
Ray runs 2 at a time and the rest wait, while the kind line said "8 at a time". A packed
study's packs must all fit (:mod:`jetstudy.study.resources` refuses it otherwise), so its
trials all run at once. Pure functions of a config and the cluster's node shapes.
"""

from __future__ import annotations

import logging

from jetstudy.study.config import StudyConfig
from jetstudy.study.resources import NodeShape, _capacity, _describe, _plural

__all__ = ["trials_at_once", "local_shapes", "concurrency_warning"]

logger = logging.getLogger(__name__)


def _packed(cfg: StudyConfig) -> bool:
    """Trials in packs (``auto`` counts as packed when it may pack: GPU trials)."""
    r = cfg.resources
    if r.pack_size == "auto":
        return r.gpus_per_trial > 0 and cfg.training.device != "cpu"
    return int(r.pack_size) > 0


def trials_at_once(cfg: StudyConfig, shapes: list[NodeShape] | None) -> int:
    """``min(search.num_trials, search.max_concurrent)``, capped by how many unpacked trials
    the cluster of ``shapes`` holds at once (None: not known, no cap).

    >>> from jetstudy.study.config import from_dict
    >>> cfg = from_dict({"search": {"num_trials": 8, "max_concurrent": 6},
    ...                  "resources": {"cpus_per_trial": 1, "pack_size": 0}})
    >>> trials_at_once(cfg, [NodeShape(2.0, 0.0)]), trials_at_once(cfg, None)
    (2, 6)
    """
    s, r = cfg.search, cfg.resources
    at_once = min(s.num_trials, s.max_concurrent)
    if shapes is None or _packed(cfg):
        return at_once
    room = _capacity(shapes, r.cpus_per_trial, r.gpus_per_trial)
    return at_once if room is None else max(1, min(at_once, room))


def local_shapes(cfg: StudyConfig) -> list[NodeShape] | None:
    """The local Ray's node before it starts, where the config declares its size: CPU trials
    on ``resources.num_cpus`` CPUs (as :func:`~jetstudy.study.resources.check_local_request`
    checks them); None when joining a cluster, when ``num_cpus`` is left to Ray or when trials
    ask for GPUs (the start's warning and the report say what Ray then held)."""
    r = cfg.resources
    if r.address or r.num_cpus is None or r.gpus_per_trial > 0:
        return None
    return [NodeShape(float(r.num_cpus), 0.0)]


def concurrency_warning(cfg: StudyConfig, shapes: list[NodeShape] | None) -> str | None:
    """The start's warning when ``search.max_concurrent`` asks more trials at a time than the
    cluster of ``shapes`` holds (None when it holds them)."""
    s, r = cfg.search, cfg.resources
    wanted, at_once = min(s.num_trials, s.max_concurrent), trials_at_once(cfg, shapes)
    if at_once >= wanted or shapes is None:
        return None
    asks = f"{_plural(r.cpus_per_trial, 'CPU')} (resources.cpus_per_trial)" + (
        f" and {_plural(r.gpus_per_trial, 'GPU')} (resources.gpus_per_trial)"
        if r.gpus_per_trial else "")
    return (f"search.max_concurrent is {s.max_concurrent}, but the Ray cluster "
            f"({_describe(shapes)}) holds only {at_once} trial(s) of {asks} at once: "
            f"{at_once} run at a time, the others wait; set search.max_concurrent to "
            f"{at_once}, or lower resources.cpus_per_trial"
            + (" or resources.gpus_per_trial" if r.gpus_per_trial else ""))
