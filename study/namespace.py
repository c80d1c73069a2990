"""What Ray's workers will import as ``jetstudy``: refused when the study's folder shadows it.

Ray puts the folder the driver runs in (under ``ray job submit --working-dir``, the job's
copy of it) first on its workers' ``sys.path``. The trials are pickled by reference
(``jetstudy.trainables...``), so a file ``jetstudy.py`` or a package ``jetstudy/`` there is
what every worker imports instead of the installed jetstudy, and every trial fails with Ray's
"An unexpected internal error occurred while the worker was executing a task". A folder
``jetstudy/`` without ``__init__.py`` merges into the namespace package; it shadows only
where it holds ``study``, ``trainables`` or ``analysis`` other than the ones in use (a clone
of another version, say).

:func:`check_not_shadowed` finds these before anything starts and says what to rename.
"""

from __future__ import annotations

import importlib.machinery
import os
from pathlib import Path

from jetstudy.trainables.errors import ConfigError

__all__ = ["check_not_shadowed"]

_PARTS = ("study", "trainables", "analysis")


def _in_use(part: str) -> Path:
    """The folder of the jetstudy package ``part`` this process runs."""
    import importlib

    return Path(importlib.import_module(f"jetstudy.{part}").__file__).resolve().parent


def check_not_shadowed(folder: str | os.PathLike[str] | None = None) -> None:
    """Raise :class:`ConfigError` when ``folder`` (default: the current folder, where Ray's
    workers start) holds a ``jetstudy`` module or package the workers would import instead
    of the jetstudy in use."""
    here = Path(folder if folder is not None else os.getcwd())
    spec = importlib.machinery.PathFinder.find_spec("jetstudy", [str(here)])
    if spec is None:
        return
    fix = "rename it (e.g. my_jetstudy), or run jetstudy from another folder"
    if spec.origin not in (None, "namespace"):  # a module or a regular package
        raise ConfigError(
            f"{spec.origin} is a module named jetstudy in the folder the study runs from; "
            f"Ray's workers would import it instead of the installed jetstudy and every "
            f"trial would fail: {fix}")
    for location in spec.submodule_search_locations or ():
        for part in _PARTS:
            found = importlib.machinery.PathFinder.find_spec(part, [location])
            if found is None:
                continue
            where = Path(found.origin).resolve().parent if found.origin not in (
                None, "namespace") else Path(next(iter(found.submodule_search_locations)))
            if where.resolve() != _in_use(part):
                raise ConfigError(
                    f"{where} would be jetstudy.{part} for Ray's workers (a jetstudy/ folder in "
                    f"the folder the study runs from comes before the installed jetstudy, "
                    f"{_in_use(part)}): {fix}")
