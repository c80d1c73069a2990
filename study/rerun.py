"""``jetstudy rerun RESULTS``: train a finished study again from its own folder.

The saved ``config.yaml`` holds every setting, the seeds included, and ``provenance.json``
what made the first run. A rerun:

* goes into a new folder beside ``RESULTS`` (``<name>-rerun``, or ``--name``), wherever the
  study folder has been moved or copied to since (its ``storage.results_dir`` is replaced);
* reads the same data: a relative ``data.path`` starts from the folder the study ran in
  (provenance's ``cwd``), and ``--data PATH`` gives the data's new place; the files found
  there are matched **by content** with the SHA-256s the study recorded (names and folders
  may differ), and a difference is refused, naming the files (``--any-data`` reruns anyway);
* warns when the versions (jetstudy, torch, NumPy, Ray, Optuna, ...), jetstudy's own source
  (git commit, code digest) or the host differ from the study's: reruns reproduce the numbers
  only on the same machine with the same versions (README, "Reproducible reruns").

Synthetic data (``data.path: null``) is made again from ``data.synthetic_seed`` in the new
folder. :func:`plan_rerun` does the checks and returns what ``jetstudy run`` is given.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from jetstudy.trainables.errors import ConfigError, JetstudyError, listed
from jetstudy.study.rerun_compare import VOLATILE, compare_runs, expected_causes, verdict
from jetstudy.trainables.plain_read import read_plain

__all__ = ["RerunError", "RerunPlan", "plan_rerun", "version_differences", "data_differences",
           "compare_runs", "VOLATILE"]

logger = logging.getLogger(__name__)

#: Packages whose versions can change a study's numbers (a difference is warned about).
COMPARED = ("jetstudy", "torch", "numpy", "ray", "optuna", "pandas", "h5py", "scipy", "pyarrow")


#: The fields a rerun sets itself, and the option that chooses them.
_OWN = {"storage.results_dir": "no folder (the rerun goes beside RESULTS)",
        "storage.name": "--name NAME", "data.path": "--data PATH"}


class RerunError(JetstudyError):
    """The rerun cannot start as asked: the message names the folder or file and the fix."""


@dataclass(frozen=True)
class RerunPlan:
    """What ``jetstudy run`` is given for the rerun, and what differs from the first run."""

    config: Path                    # the study's config.yaml
    overrides: tuple[str, ...]      # --set items: storage.results_dir, storage.name, data.path
    folder: Path                    # where the rerun's results go
    warnings: tuple[str, ...]       # versions, code, host or data that differ (warned)


def _provenance(results: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(read_plain(results / "provenance.json"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return record if isinstance(record, dict) else None


def version_differences(recorded: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """One line per way this installation differs from the one in ``recorded`` (a study's
    ``provenance.json``); ``now`` is :func:`jetstudy.study.provenance.collect`'s record."""
    out = []
    old_v, new_v = recorded.get("versions") or {}, now.get("versions") or {}
    changed = [f"{n} {old_v.get(n)} -> {new_v.get(n)}" for n in COMPARED
               if isinstance(old_v, dict) and n in old_v and old_v.get(n) != new_v.get(n)]
    if changed:
        out.append(f"versions differ from the study's: {', '.join(changed)}")
    old_git, new_git = recorded.get("git"), now.get("git")
    if (isinstance(old_git, dict) and isinstance(new_git, dict)
            and old_git.get("commit") != new_git.get("commit")):
        out.append(f"jetstudy's git commit differs: the study ran {old_git.get('commit')}, "
                   f"this is {new_git.get('commit')}")
    elif (recorded.get("code_sha256") and now.get("code_sha256")
          and recorded["code_sha256"] != now["code_sha256"]):
        out.append("jetstudy's own source differs from the study's (code_sha256): a local "
                   "change or another build of the same version")
    if recorded.get("host") and recorded.get("host") != now.get("host"):
        out.append(f"another machine: the study ran on {recorded['host']}, this is "
                   f"{now.get('host')} (CPU reruns reproduce on the same machine only)")
    return out


def data_differences(recorded: list[dict[str, Any]], files: Sequence[str]) -> list[str]:
    """The ways the data ``files`` differ **in content** from the ``recorded`` files (a
    ``provenance.json``'s ``data``: path, bytes, sha256): empty when each recorded file has a
    file of the same SHA-256 (or, where the study left it unhashed, the same size) among
    ``files`` and no file is left over. Names and folders do not matter."""
    from jetstudy.study.fetch import file_sha256

    sizes = {}
    for f in files:
        try:
            sizes[f] = os.stat(f).st_size
        except OSError as exc:
            return [f"{f}: cannot be read ({exc.strerror or type(exc).__name__})"]
    if len(files) != len(recorded):
        return [f"the study read {len(recorded)} data file(s), {len(files)} are found now"]
    def number(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    # a file the study could not read back when it recorded it has neither size nor digest
    known = [e for e in recorded if number(e.get("bytes"))]
    wanted_sizes, found_sizes = Counter(e["bytes"] for e in known), Counter(sizes.values())
    if wanted_sizes - found_sizes:
        return ["the files' sizes differ from the ones the study read: "
                + listed(sorted(os.path.basename(f) for f in files))]
    hashes = Counter(e["sha256"] for e in known if isinstance(e.get("sha256"), str))
    if not hashes:
        return []
    wanted = {e["bytes"] for e in known if isinstance(e.get("sha256"), str)}
    have: Counter = Counter(file_sha256(Path(f)) for f in files if sizes[f] in wanted)
    missing = hashes - have
    if missing:
        names = [os.path.basename(str(e.get("path"))) for e in known
                 if e.get("sha256") in missing]
        return [f"no file found now has the content (SHA-256) of {listed(names)} the study read"]
    return []


def _data_path(cfg_path: str | None, data: str | None, recorded: dict[str, Any] | None
               ) -> str | None:
    """The data.path the rerun reads: ``--data``, else the study's own (a relative one from
    the folder the study ran in, where the data is found there)."""
    if data is not None:
        if not data.strip():
            raise RerunError(f"--data {data!r} is empty; give the data's file, folder or glob")
        return os.path.abspath(os.path.expanduser(data))
    if cfg_path is None or os.path.isabs(os.path.expanduser(cfg_path)):
        return None  # synthetic, or already absolute: as the study had it
    cwd = (recorded or {}).get("cwd")
    return os.path.join(cwd, cfg_path) if isinstance(cwd, str) and cwd else None


def _older_fields(config: Path, overrides: Sequence[str]) -> dict[str, Any]:
    """Fields newer than the saved ``config`` (:data:`jetstudy.study.resume.OLDER_STUDIES`)
    with the value that study ran with, unless ``overrides`` sets them."""
    import yaml

    from jetstudy.study.resume import OLDER_STUDIES

    try:
        raw = yaml.safe_load(read_plain(config))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}  # load_config says what is wrong with it
    given = {item.partition("=")[0].strip() for item in overrides}
    out = {}
    for (section, name), value in OLDER_STUDIES.items():
        part = raw.get(section) if isinstance(raw, dict) else None
        if isinstance(part, dict) and name not in part and f"{section}.{name}" not in given:
            out[f"{section}.{name}"] = value
    return out


def _in_fetch_cache(entries: Any) -> str | None:
    """The file ``jetstudy fetch`` saved in its cache with the SHA-256 of the study's one data
    file (the OpenML table fetched on another machine), by the cache's own record: nothing is
    hashed; None when the study read several files or the cache has no such file."""
    from jetstudy.study.fetch import DATASETS, RECORD, cache_dir

    if not (isinstance(entries, list) and len(entries) == 1 and isinstance(entries[0], dict)
            and isinstance(entries[0].get("sha256"), str)):
        return None
    for name in DATASETS:
        folder = cache_dir() / name
        try:
            record = json.loads(read_plain(folder / RECORD))
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        for file, entry in (record.items() if isinstance(record, dict) else ()):
            if (isinstance(entry, dict) and entry.get("sha256") == entries[0]["sha256"]
                    and (folder / file).is_file()):
                return str(folder / file)  # its content is checked with the others' below
    return None


def plan_rerun(results: str | os.PathLike[str], *, data: str | None = None,
               name: str | None = None, overrides: Sequence[str] = (),
               any_data: bool = False) -> RerunPlan:
    """Check that the study in ``results`` can be trained again as it was, and say how: the
    config, the ``--set`` items for ``jetstudy run``, the new folder and the warnings. Raises
    :class:`RerunError` (one message, nothing started) for a folder that is not a study, a
    rerun folder that exists, data that cannot be found or differs in content."""
    from jetstudy.study.config import load_config
    from jetstudy.study.provenance import collect
    from jetstudy.trainables.datafiles import resolve_files
    from jetstudy.trainables.errors import DataError

    for item in overrides:
        key = item.partition("=")[0].strip()
        if key in _OWN:
            raise RerunError(f"--set {item}: a rerun sets {key} itself; give {_OWN[key]} "
                             f"instead")
    from jetstudy.trainables.datacheck import url_problem

    for value, what, fix in ((results, "RESULTS", "the study"), (data, "--data", "the data")):
        url = url_problem(value) if isinstance(value, str) and not os.path.lexists(
            value) else None
        if url is not None:  # Path() would fold 's3://b/x' into a local 's3:/b/x' "not there"
            raise RerunError(f"{what} {value!r} is {url}" + (
                "" if url.startswith("a URL (file://)") else
                f": download or copy {fix} here first, and give its local path"))
    results = Path(results).expanduser().absolute()
    config = results / "config.yaml"
    if not config.is_file():
        raise RerunError(f"{results} is not a jetstudy results folder (no config.yaml); give "
                         f"the folder `jetstudy run` printed as 'results: ...'")
    from jetstudy.study.lock import read_lock

    holder = read_lock(results)
    if holder is not None and holder.stale_reason() is None:  # its tables are not final yet
        raise RerunError(f"{results}: the study is still running ({holder.describe()}); a "
                         f"rerun compares its tables with the study's, which are not final "
                         f"yet: rerun it once the study has finished")
    recorded = _provenance(results)
    from jetstudy.study.checks import folder_name_problem

    given, name = name, name if name is not None else f"{results.name}-rerun"
    problem = "it is empty" if not name else folder_name_problem(name)
    if problem is not None:  # in the rerun's words (it said storage.name, which it sets)
        what = (f"--name {name!r}" if given is not None else
                f"the rerun's default folder name {name!r} ({results.name!r} + '-rerun')")
        raise RerunError(f"{what}: {problem}; a rerun's folder is one plain folder name beside "
                         f"the study: give one with --name, e.g. --name rerun-1")
    items = [*overrides, f"storage.results_dir={json.dumps(str(results.parent))}",
             f"storage.name={json.dumps(name)}"]
    notes: list[str] = []
    older = _older_fields(config, overrides)
    for key, value in older.items():
        items.append(f"{key}={json.dumps(value)}")
        notes.append(f"{config} predates {key}: the rerun uses {value}, as that study ran")
    quiet = logging.getLogger("jetstudy.study.config")  # its warnings come once, from `run`
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        study_path = load_config(config, overrides).data.path
        path = _data_path(study_path, data, recorded)
        if path is not None:
            items.append(f"data.path={json.dumps(path)}")
        cfg = load_config(config, items)
    except ConfigError as exc:
        raise RerunError(f"{exc} (rerun of {results})") from None
    finally:
        quiet.setLevel(level)
    folder = Path(cfg.storage.results_dir) / str(cfg.storage.name)
    from jetstudy.study.paths import never_started

    if (folder.exists() or folder.is_symlink()) and not never_started(folder):  # a stopped
        # rerun's unstarted folder is the same command's to reuse, as run's
        raise RerunError(f"{folder} exists already (an earlier rerun?); give the rerun another "
                         f"folder name with --name NAME")
    if recorded is None:
        notes.append(f"{results} has no readable provenance.json: the versions and the data "
                     f"cannot be compared with the study's")
    else:
        notes += version_differences(recorded, collect(cfg.training.device))
    if cfg.data.path is not None:
        read = cfg.data.path
        try:
            files = resolve_files(cfg.data.path, cfg.data.format)
        except DataError as exc:
            cached = None if data is not None else _in_fetch_cache((recorded or {}).get("data"))
            if cached is None:
                raise RerunError(f"the study's data is not found: {exc}; give its new place "
                                 f"with --data PATH") from None
            items = [i for i in items if not i.startswith("data.path=")]
            items.append(f"data.path={json.dumps(cached)}")
            files, read = [cached], cached
            notes.append(f"the study's data.path is not found here; {cached}, fetched by "
                         f"`jetstudy fetch` with the same SHA-256, is read instead")
        entries = (recorded or {}).get("data")
        if isinstance(entries, list) and entries:
            problems = data_differences(entries, files)
            if problems and not any_data:
                raise RerunError(f"data.path {read}: {'; '.join(problems)}, so the "
                                 f"rerun would train on other jets; give the study's data with "
                                 f"--data PATH, or pass --any-data to rerun on these files")
            notes += [f"data differs (--any-data): {p}" for p in problems]
        elif recorded is not None:
            notes.append(f"{results / 'provenance.json'} records no data checksums (its "
                         f"data_summary.json was missing): the data is not checked")
    for note in notes:
        logger.warning("rerun: %s", note)
    return RerunPlan(config, tuple(items), folder, tuple(notes))


# ---- the command line ------------------------------------------------------------------------

def add_command(sub: Any) -> None:
    """Add ``rerun`` to the ``jetstudy`` parser's subcommands."""
    rerun = sub.add_parser(
        "rerun", help="train a study again from its folder (its config.yaml, seeds included) "
        "into RESULTS-rerun beside it; checks the data by content and warns of other versions")
    rerun.add_argument("results", metavar="RESULTS", help="the study's results folder (it may "
                       "have moved since)")
    rerun.add_argument("--data", metavar="PATH", help="the study's data at its new place (file, "
                       "folder or glob); its files must have the contents the study read")
    rerun.add_argument("--any-data", action="store_true",
                       help="rerun even when the data's contents differ from the study's")
    rerun.add_argument("--name", help="the rerun's folder name (default: <study>-rerun)")
    rerun.add_argument("--set", dest="overrides", action="append", default=[],
                       metavar="SECTION.FIELD=VALUE", help="override a config field, e.g. "
                       "resources.num_cpus (repeatable)")
    rerun.add_argument("--address", help="join a Ray cluster, as for run")
    rerun.add_argument("--no-report", action="store_true", help="skip the report at the end")
    rerun.add_argument("--no-figures", action="store_true",
                       help="the report without its PNG figures, as for run")
    rerun.add_argument("-v", "--verbose", action="store_true", help="show Ray's own logs")


def cmd_rerun(args: Any) -> int:
    """``jetstudy rerun``: :func:`plan_rerun`, its warnings on stderr, then ``jetstudy run``."""
    import argparse

    from jetstudy.study.cli import _cmd_run

    if not args.results.strip():  # '' would be read as the current folder ('.')
        raise ConfigError(f"rerun RESULTS is empty ({args.results!r}); give the study's results "
                          "folder, the one `jetstudy run` printed as 'results: ...'")
    plan = plan_rerun(args.results, data=args.data, name=args.name,
                      overrides=args.overrides, any_data=args.any_data)
    print(f"rerun of {Path(args.results).absolute()} into {plan.folder}")
    code = _cmd_run(argparse.Namespace(
        config=str(plan.config), overrides=list(plan.overrides), resume=False,
        address=args.address, no_report=args.no_report, no_figures=args.no_figures,
        verbose=args.verbose))
    if code in (0, 3) and plan.folder.is_dir():  # finished (3: some trials failed)
        differ = compare_runs(Path(args.results), plan.folder)
        print(verdict(differ, expected_causes(Path(args.results), plan.folder, plan.warnings)))
    return code
