"""``storage.results_dir`` in its own words: a folder, or creatable as one, writable, never a
dangling link, UTF-8 text, and never relative inside a Ray job (:mod:`jetstudy.study.paths`
re-exports these; it holds the study folder's own rules)."""

from __future__ import annotations

import os
from pathlib import Path

from jetstudy.study.os_errors import dangling_link, link_loop
from jetstudy.trainables.errors import ConfigError

__all__ = ["check_results_dir", "in_ray_job", "check_results_dir_in_job"]


def check_results_dir(results_dir: str | os.PathLike[str]) -> None:
    """``storage.results_dir`` must be a folder, or creatable as one, and writable: say so
    in its own words, not as the file system's "Not a directory" on a path below it."""
    from jetstudy.study.arg_paths import raw_bytes

    if raw_bytes(os.fspath(results_dir)):  # Ray's start, and every page naming it, failed
        raise ConfigError(f"storage.results_dir {str(results_dir)!r} is not UTF-8 text (a "
                          f"name of raw bytes, shown as \\udcXX); jetstudy writes the study's "
                          f"paths into UTF-8 files: set storage.results_dir to a UTF-8 path")
    given = Path(results_dir).expanduser()
    for path in (given, *given.absolute().parents):
        if not path.exists():
            dangling = dangling_link(path)  # mkdir would make the missing target, anywhere
            if dangling is not None:
                fix = "" if link_loop(path) else "; or create the folder it points to"
                raise ConfigError(f"storage.results_dir {str(results_dir)!r}: {dangling}{fix}")
            continue
        if not path.is_dir():
            what = ("is a file, not a folder" if path == given else
                    f"cannot be a folder: {str(path)!r} above it is a file")
            raise ConfigError(f"storage.results_dir {str(results_dir)!r} {what}; set "
                              f"storage.results_dir to a folder (it is created if missing)")
        if not os.access(path, os.W_OK | os.X_OK):
            why, fix = (("on a read-only file system", "") if _read_only(path) else
                        ("not writable (permission denied)", ", or change its permissions"))
            raise ConfigError(f"storage.results_dir {str(results_dir)!r}: {str(path)!r} is "
                              f"{why}; set storage.results_dir to a folder you can write{fix}")
        return


def _read_only(path: Path) -> bool:
    """``path`` lies on a file system mounted read-only (no permission could be changed)."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def in_ray_job(environ: dict[str, str] | None = None, cwd: str | None = None) -> bool:
    """This process is a ``ray job submit`` driver: Ray set its job config, or it runs in a
    working-dir copy under Ray's ``runtime_resources`` (deleted with the Ray session)."""
    environ = os.environ if environ is None else environ
    cwd = os.getcwd() if cwd is None else cwd
    return ("RAY_JOB_CONFIG_JSON_ENV_VAR" in environ or bool(environ.get("RAY_JOB_ID"))
            or "runtime_resources" in Path(cwd).parts)


def check_results_dir_in_job(results_dir: str | os.PathLike[str],
                             environ: dict[str, str] | None = None,
                             cwd: str | None = None) -> None:
    """Refuse a relative ``storage.results_dir`` in a Ray job: it would land in Ray's temporary
    copy of the working dir, deleted with the session."""
    if Path(results_dir).expanduser().is_absolute() or not in_ray_job(environ, cwd):
        return
    raise ConfigError(
        f"storage.results_dir {str(results_dir)!r} is relative, and this is a Ray job: it "
        f"would land in Ray's temporary copy of the working dir "
        f"({cwd or os.getcwd()}), deleted with the Ray session; set it to an absolute path "
        f"on storage every node mounts, e.g. --set storage.results_dir=/mnt/jetstudy/results "
        f"(see docs/cluster.md)")
