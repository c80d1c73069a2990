"""Checks for running on a multi-node Ray cluster.

Every trial writes its checkpoints, and the driver its tables and Optuna journal, under
``storage.results_dir``. On one machine that is just a folder; on a cluster each node must see
the *same* folder (NFS, EFS), or a trial restarted on another node finds no checkpoint and the
driver finds no results. A cluster whose nodes each have a private ``/mnt/jetstudy`` looks
healthy until the first restart, so :func:`check_shared_storage` checks before any trial runs:
the driver writes a marker file and a tiny task on every alive node looks for it.

>>> check_shared_storage(Path("/mnt/jetstudy/results/full"))  # doctest: +SKIP
ConfigError: storage.results_dir '/mnt/jetstudy/results' is not shared: node 10.0.0.7 cannot
see /mnt/jetstudy/results/full; on a multi-node cluster set storage.results_dir to a path
mounted on every node (NFS/EFS, see docs/cluster.md)
"""

from __future__ import annotations

import logging
import os
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from jetstudy.trainables.errors import ConfigError

__all__ = ["check_shared_storage", "nodes_missing", "alive_nodes", "node_label"]

logger = logging.getLogger(__name__)

#: How long the probes may take: a busy node may need a few seconds to start a worker.
PROBE_TIMEOUT_S = 120.0


@ray.remote(num_cpus=0, max_retries=0)
def _path_exists(path: str) -> bool:
    """Runs on one node: does this node see ``path``? (Module level: Ray imports it by name.)"""
    return os.path.exists(path)


def alive_nodes() -> list[dict[str, Any]]:
    """The alive nodes of the connected Ray cluster, as ``ray.nodes()`` describes them."""
    return [n for n in ray.nodes() if n.get("Alive")]


def node_label(node: dict[str, Any], nodes: list[dict[str, Any]]) -> str:
    """A node's IP, plus the start of its node id when several alive nodes share that IP
    (several Ray nodes on one machine)."""
    ip = str(node.get("NodeManagerAddress", "?"))
    shared_ip = Counter(str(n.get("NodeManagerAddress", "?")) for n in nodes)[ip] > 1
    return f"{ip} (node id {node['NodeID'][:12]})" if shared_ip else ip


def nodes_missing(path: Path) -> list[str]:
    """Labels (see :func:`node_label`) of the alive nodes that do not see ``path``.

    Runs one zero-CPU task pinned to each alive node (``soft=False``: never on another node),
    so it works while trials hold every CPU. A node whose probe fails or does not answer within
    :data:`PROBE_TIMEOUT_S` is reported too: the study cannot rely on it.
    """
    nodes = alive_nodes()
    if not nodes:
        return []
    refs = {
        _path_exists.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
            node_id=n["NodeID"], soft=False)).remote(str(path)): n
        for n in nodes}
    ready, _ = ray.wait(list(refs), num_returns=len(refs), timeout=PROBE_TIMEOUT_S)
    missing = []
    for ref, node in refs.items():
        label = node_label(node, nodes)
        if ref not in ready:
            logger.warning("node %s did not answer the storage probe within %.0f s",
                           label, PROBE_TIMEOUT_S)
            try:
                ray.cancel(ref, force=True)
            except Exception:  # already finished or gone: nothing to stop
                pass
            missing.append(label)
            continue
        try:
            seen = ray.get(ref)
        except Exception as exc:  # the node died, or could not run the task
            logger.warning("storage probe on node %s failed: %s", label, exc)
            seen = False
        if not seen:
            missing.append(label)
    return missing


def check_shared_storage(folder: Path) -> None:
    """Raise :class:`~jetstudy.trainables.errors.ConfigError` unless every alive node of a multi-node
    cluster sees ``folder`` (the study's results folder, ``<results_dir>/<name>``).

    On a single node it does nothing (and starts no task). The marker file it writes is
    removed again, whatever happens.
    """
    nodes = alive_nodes()
    if len(nodes) <= 1:
        return
    folder = Path(folder)
    marker = folder / f".jetstudy-shared-check-{uuid.uuid4().hex}"
    try:  # a stop (or a full disk) while it is written leaves no marker either
        marker.write_text("written by the study driver; every node must see this file\n")
        missing = nodes_missing(marker)
    finally:
        marker.unlink(missing_ok=True)
    if missing:
        which = (f"node {missing[0]} cannot" if len(missing) == 1
                 else f"nodes {', '.join(missing)} cannot")
        raise ConfigError(
            f"storage.results_dir {str(folder.parent)!r} is not shared: {which} see {folder}; "
            f"on a multi-node cluster set storage.results_dir to a path mounted on every node "
            f"(NFS/EFS, see docs/cluster.md)")
    logger.info("results folder %s is visible on all %d nodes", folder, len(nodes))
