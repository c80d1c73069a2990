"""Configs a new user starts from: the example configs shipped inside the package, the full
default config, and a starter ``jetstudy.yaml`` that explains every field.

The example configs live in the repository's top-level ``configs/`` folder; ``pyproject.toml``
maps that folder into the wheel as the package ``jetstudy/configs`` (so an installed
jetstudy has them too). :func:`example_config` finds them in either place.

>>> print(commented_yaml(load_config(None))[:60])  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import yaml

from jetstudy.study.config import SECTIONS, StudyConfig, from_dict, load_config
from jetstudy.trainables.atomic import write_atomic
from jetstudy.trainables.errors import ConfigError
from jetstudy.trainables.staging import new_folders

__all__ = ["STARTER_NAME", "STARTER_EXAMPLE", "EXAMPLES", "examples_folder", "example_config",
           "field_comments", "commented_yaml", "write_starter"]

#: The file ``jetstudy init DIR`` writes.
STARTER_NAME = "jetstudy.yaml"
#: The example its values come from: a study small enough for a laptop (about a minute).
STARTER_EXAMPLE = "dryrun"
#: The examples ``jetstudy init --example`` writes, and what each is.
EXAMPLES: dict[str, str] = {
    "dryrun": "synthetic jets, about a minute on 2 CPU cores",
    "lecture": "a small scan for a lecture on under- and overfitting, synthetic jets",
    "full": "a cluster study on real data: set data.path to your files",
}

_FIELD = re.compile(r"^\s+(\w+)\s*:")

#: What the fields without a comment of their own in :mod:`jetstudy.study.config` mean (the README's
#: words).
_NOTES: dict[str, str] = {
    "data.synthetic_seed": "seed of the synthetic-jet generator",
    "data.test_fraction": "test share (touched once, by the best model)",
    "data.split_seed": "seed of the stratified train/validation/test split",
    "space.l2": "L2 penalty on the weights, as l1",
    "space.lr": "learning rate, log scale",
    "space.activations": "activations the search may choose from",
    "space.batch_norm": "[false, true] lets the search choose",
    "search.seed": "seed of the sampler and of the trials (each trial's seed comes from it and "
                   "its Optuna number: a rerun trains the same curves)",
    "search.max_flops": "the same limit for FLOPs per jet",
    "search.max_multiplications": "the same limit for multiplications (dense multiply-adds) "
                                  "per jet",
    "scheduler.max_epochs": "epochs of a trial that is never stopped",
    "training.optimizer": "adam, adamw or sgd (Nesterov momentum 0.9)",
    "resources.cpus_per_trial": "CPUs Ray reserves per trial",
    "storage.results_dir": "parent folder of studies (an absolute path on shared storage on a "
                           "cluster)",
}


def examples_folder() -> Path:
    """Where the example configs are: ``jetstudy/configs`` beside this package in an installed
    wheel, the checkout's top-level ``configs/`` in a clone (the same relative place)."""
    return Path(__file__).resolve().parent.parent / "configs"


def example_config(name: str) -> Path:
    """The path of the example config ``name`` (``dryrun``, ``full``, ``lecture``)."""
    folder = examples_folder()
    path = folder / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.yaml"))) or "none found"
        raise ConfigError(f"no example config {name!r} (known: {known}); the examples ship "
                          f"with jetstudy in {folder}")
    return path


def field_comments(section: type) -> dict[str, str]:
    """Field name -> the comment written above it in :mod:`jetstudy.study.config` (the field's "why"),
    empty where there is none."""
    comments: dict[str, str] = {}
    pending: list[str] = []
    for line in inspect.getsource(section).splitlines()[1:]:
        text = line.strip()
        if text.startswith("#"):
            pending.append(text.lstrip("#").strip())
            continue
        match = _FIELD.match(line)
        if match and "=" in line:
            comments[match.group(1)] = " ".join(pending)
        if text and not text.startswith("#"):
            pending = []
    return comments


def _value(value: object) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=1000).strip().removesuffix(
        "\n...").removesuffix("...").strip()


def commented_yaml(cfg: StudyConfig, header: str = "") -> str:
    """``cfg`` as YAML, every field with the comment that explains it; it loads back into
    the same config (:func:`jetstudy.study.config.load_config`)."""
    lines = [f"# {h}" if h else "#" for h in header.splitlines()]
    plain = cfg.to_dict()
    for name, section in SECTIONS.items():
        lines.append(f"{name}:")
        comments = field_comments(section)
        for f in dataclasses.fields(section):
            note = comments.get(f.name) or _NOTES.get(f"{name}.{f.name}", "")
            allowed = f.metadata["check"].describe() if "check" in f.metadata else ""
            if note:
                lines.append(f"  # {note}")
            if allowed:
                lines.append(f"  # allowed: {allowed}")
            lines.append(f"  {f.name}: {_value(plain[name][f.name])}")
    return "\n".join(lines) + "\n"


def run_options(example: str) -> str:
    """What ``jetstudy run`` needs beside the file for ``example``: the cluster study runs on
    a running Ray cluster (README: ``jetstudy run configs/full.yaml --address auto``)."""
    return " --address auto   (on the cluster, after setting data.path)" \
        if example == "full" else ""


def write_starter(folder: str | Path, force: bool = False,
                  example: str = STARTER_EXAMPLE) -> Path:
    """Write ``folder/jetstudy.yaml``: the example ``example``'s values (one of
    :data:`EXAMPLES`, default :data:`STARTER_EXAMPLE`) with every other field at its default,
    each explained. Never over an existing file unless ``force``."""
    if example not in EXAMPLES:
        raise ConfigError(f"init --example {example!r}: no such example; use one of "
                          f"{', '.join(EXAMPLES)}")
    if not str(folder).strip():  # Path("") reads as the current folder: say so instead
        raise ConfigError(f"init DIR {str(folder)!r} is empty; give a folder, or leave DIR out "
                          f"for the current folder")
    folder = Path(folder)
    from jetstudy.study.paths import refuse_inside_study_part

    refuse_inside_study_part(folder, "init DIR")  # e.g. <study>/best: lost with it
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"init DIR {str(folder)!r} is a file, not a folder; give a folder "
                          f"(it is created if missing)")
    if not folder.exists() and folder.suffix.lower() in (".yaml", ".yml"):
        raise ConfigError(  # a folder called my.yaml holding jetstudy.yaml would be made
            f"init DIR {str(folder)!r} names a YAML file, but init writes {STARTER_NAME} into "
            f"a folder; give the folder (jetstudy init {folder.parent}), then rename "
            f"{folder.parent / STARTER_NAME} to {folder} if you like")
    path = folder / STARTER_NAME
    if path.is_symlink():  # writing through it would create or change a file elsewhere
        raise ConfigError(f"init: {path} is a symbolic link (to {str(path.readlink())!r}); "
                          f"jetstudy writes only a plain file there, never through a link, "
                          f"not even with --force: remove the link or give another DIR")
    if path.exists() and not path.is_file():  # a folder, or a FIFO, socket or device
        kind = ("a folder" if path.is_dir() else "a named pipe (FIFO)" if path.is_fifo() else
                "a socket" if path.is_socket() else "a device")
        raise ConfigError(f"init: {path} is {kind}, not a file; jetstudy never replaces it, "
                          f"not even with --force: move it away or give another DIR")
    if path.exists() and not force:
        raise ConfigError(f"init: {path} exists; jetstudy never overwrites your files: edit "
                          f"it, remove it, or pass --force")
    cfg = load_config(example_config(example))
    header = (f"jetstudy starter config (from the {example!r} example: {EXAMPLES[example]}).\n"
              f"Run it with:  jetstudy run {STARTER_NAME}{run_options(example)}\n"
              f"Every field is listed with its reason; `jetstudy config --defaults` prints\n"
              f"the defaults. Real data: set data.path (see the README, 'Data').")
    text = commented_yaml(cfg, header)
    if from_dict(yaml.safe_load(text)) != cfg:  # the comments never change the config
        raise RuntimeError("the starter config does not load back as written")
    with new_folders(folder):  # a stop or a failure leaves no empty folder it made
        write_atomic(path, lambda tmp: Path(tmp).write_text(text))  # whole or not at all
    return path
