"""Config fields that are each valid but that the rest of the config leaves without effect: a
``scheduler.patience`` under ASHA, a ``data.synthetic_jets`` beside a ``data.path``, GPUs
reserved for trials that train on the CPU, a ``regimes.min_epochs`` no trial can reach. Each is
a warning naming both fields and the fix (:attr:`jetstudy.study.config.StudyConfig.warnings`);
what cannot run at all is a :class:`~jetstudy.trainables.errors.ConfigError` in
:mod:`jetstudy.study.config` instead.

>>> from jetstudy.study.config import from_dict
>>> unused_settings(from_dict({"scheduler": {"type": "fifo", "patience": 3}}))[0][:56]
'scheduler.patience is 3, but scheduler.type is fifo: onl'
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jetstudy.study.config import StudyConfig

__all__ = ["unused_settings"]

#: (section, field, the setting that makes it count, when it counts, what makes it count).
#: scheduler.grace_period is left out: a fifo or patience config keeps ASHA's value quietly
#: (tests/study/test_referee3_search_rules.py), so switching to asha needs no edit.
_ONLY_WHEN: tuple[tuple[str, str, str, str, str], ...] = (
    ("scheduler", "patience", "scheduler.type", "patience", "scheduler.type patience"),
    ("scheduler", "reduction_factor", "scheduler.type", "asha", "scheduler.type asha"),
    ("search", "grid_levels", "search.sampler", "grid", "search.sampler grid"),
)


def unused_settings(cfg: StudyConfig) -> list[str]:
    """Warnings for settings the rest of ``cfg`` ignores or cannot reach (see the module)."""
    out = [_ignored(cfg, *rule) for rule in _ONLY_WHEN]
    d, r, sch = cfg.data, cfg.resources, cfg.scheduler
    if d.path is not None:
        given = [f for f in ("synthetic_jets", "synthetic_seed") if _changed(cfg, "data", f)]
        if given:
            out.append(f"data.{given[0]} is {getattr(d, given[0])}, but data.path is set "
                       f"({d.path!r}): synthetic jets are made only when data.path is null; "
                       f"remove data.{given[0]}, or set data.path to null for synthetic jets")
    if r.address is not None and r.num_cpus is not None:
        out.append(f"resources.num_cpus is {r.num_cpus}, but resources.address is "
                   f"{r.address!r}: num_cpus sizes a local Ray only, a cluster has its own "
                   f"CPUs; remove resources.num_cpus")
    if cfg.training.device == "cpu" and r.gpus_per_trial > 0:
        out.append(f"resources.gpus_per_trial is {r.gpus_per_trial:g}, but training.device is "
                   f"'cpu': each trial holds a GPU share it never uses (and fewer trials run "
                   f"at once); set resources.gpus_per_trial to 0, or training.device to auto")
    if _changed(cfg, "regimes", "min_epochs") and cfg.regimes.min_epochs > sch.max_epochs:
        out.append(f"regimes.min_epochs is {cfg.regimes.min_epochs}, above "
                   f"scheduler.max_epochs {sch.max_epochs}: no learning curve is long enough to "
                   f"show a trend (no trial can be judged overfit by its rise); set "
                   f"regimes.min_epochs to at most {max(2, sch.max_epochs)}")
    if cfg.training.checkpoint_every > sch.max_epochs:
        out.append(f"training.checkpoint_every is {cfg.training.checkpoint_every}, above "
                   f"scheduler.max_epochs {sch.max_epochs}: a trial saves its resumable state "
                   f"only when it ends, so a restarted trial starts over; set "
                   f"training.checkpoint_every to at most {sch.max_epochs}")
    size, running = r.pack_size, cfg.search.max_concurrent
    if isinstance(size, int) and not isinstance(size, bool) and size > 1 and running < size:
        out.append(f"resources.pack_size is {size}, but search.max_concurrent is {running}: at "
                   f"most {running} trials run at once, so a pack holds at most {running} "
                   f"models; raise search.max_concurrent to fill a pack, or set "
                   f"resources.pack_size to {running}")
    out.append(_batch_above_the_data(cfg))
    return [line for line in out if line]


def _batch_above_the_data(cfg: StudyConfig) -> str:
    """``training.batch_size`` at or above every training jet the config allows (synthetic jets,
    or ``data.max_jets``): each epoch is one full-batch step, not what the batch size says."""
    d = cfg.data
    jets = min(v for v in (d.max_jets, d.synthetic_jets if d.path is None else None,
                           float("inf")) if v is not None)
    if d.path is None and d.max_jets is not None and d.max_jets > d.synthetic_jets:
        return (f"data.max_jets is {d.max_jets}, above data.synthetic_jets {d.synthetic_jets}: "
                f"every synthetic jet is read, so it has no effect; remove data.max_jets, or "
                f"raise data.synthetic_jets")
    train = int(jets * (1 - d.val_fraction - d.test_fraction)) if jets != float("inf") else None
    if train is None or cfg.training.batch_size < train:
        return ""
    return (f"training.batch_size is {cfg.training.batch_size}, at least the {train} training "
            f"jets (data.{'max_jets' if d.max_jets is not None and d.max_jets <= jets else 'synthetic_jets'} "
            f"{jets} less the validation and test splits): each epoch is one full-batch step; "
            f"set training.batch_size below {train}, e.g. {max(1, train // 8)}")


def _ignored(cfg: StudyConfig, section: str, name: str, switch: str, value: str,
             needs: str) -> str:
    """The warning for ``section.name`` set away from its default while ``switch`` is not
    ``value`` (so nothing reads it), or ""."""
    owner, field = switch.split(".")
    if not _changed(cfg, section, name) or getattr(getattr(cfg, owner), field) == value:
        return ""
    now = getattr(getattr(cfg, owner), field)
    return (f"{section}.{name} is {getattr(getattr(cfg, section), name)}, but {switch} is "
            f"{now}: only {needs} reads it, so it has no effect; remove {section}.{name}, or "
            f"set {needs}")


def _changed(cfg: StudyConfig, section: str, name: str) -> bool:
    """Whether ``section.name`` differs from its default."""
    part = getattr(cfg, section)
    default = {f.name: f.default for f in dataclasses.fields(part)}[name]
    return getattr(part, name) != default
