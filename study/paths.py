"""Where jetstudy may write, and what it may delete: one place for both rules.

* Every path a study writes is inside its study folder, ``<results_dir>/<name>``, and that
  folder is inside ``results_dir`` once symbolic links are resolved (:func:`study_folder`,
  :func:`inside`): a name such as ``..`` or a link pointing elsewhere can never put a study,
  or its clean-up, beside the user's own files.
* A study folder is jetstudy's only when jetstudy made it (:data:`STUDY_MARK`, written when the
  folder is created) or it already holds a study (:func:`holds_study`; a ``config.yaml`` alone
  is the user's); a folder holding anything else is the user's, and is refused
  (:func:`claim_study_folder`).
* jetstudy deletes only files it recorded as it created them (:class:`FileRecord`, a small
  JSON manifest written *before* the files, so a kill mid-write still leaves them recorded),
  and only while the manifest is provably its own (a plain file saying ``written_by``), the
  name one its writer uses, and the file still the one it wrote (the caller's check).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from jetstudy.study.dead_temporaries import (ATOMIC_FILES, clear_dead_temporaries,
                                            sorted_entries)
from jetstudy.study.dead_temporaries import real_folder as _real_folder
from jetstudy.study.file_record import RECORD_WRITER, FileRecord
from jetstudy.study.results_dir import (check_results_dir, check_results_dir_in_job,
                                        in_ray_job)
from jetstudy.trainables.errors import ConfigError, listed
from jetstudy.trainables.staging import new_folders, plain_file

__all__ = ["STUDY_MARK", "marked", "MARKED_LATER", "RECORD_WRITER", "study_folder", "in_ray_job",
           "check_results_dir_in_job", "inside", "holds_study", "inside_study_part",
           "STUDY_OWN_PARTS", "is_study_folder", "refuse_inside_study_part",
           "claim_study_folder", "never_started", "abandon_study_folder", "FileRecord",
           "clear_dead_temporaries", "ATOMIC_FILES"]

#: Written into a study folder when jetstudy creates it: the folder is jetstudy's to fill.
STUDY_MARK = ".jetstudy-study"
#: A line of the mark written into a study from before the mark (resumed or rerun in place):
#: its ``report/`` may hold a report from before report manifests, the report's files unlisted.
MARKED_LATER = "marked later: the study is older than the mark"


def study_folder(results_dir: str | os.PathLike[str], name: str) -> Path:
    """``<results_dir>/<name>``, resolved, after checking it really lies inside ``results_dir``
    (a symbolic link named ``name`` that points elsewhere is refused), and that jetstudy can
    create or write it (``results_dir``, or the nearest folder above it that exists, is a
    writable folder), and not inside another study's own sub-folders
    (:func:`inside_study_part`)."""
    check_results_dir(results_dir)
    root = Path(results_dir).expanduser().resolve()
    folder = root / name
    real = folder.resolve()
    if real.parent != root or real.name != name:
        raise ConfigError(
            f"storage.name {name!r}: {folder} leads to {real}, outside storage.results_dir "
            f"{str(root)!r}; set storage.name to a plain folder name, or remove the link")
    held = inside_study_part(folder)
    if held is not None:  # e.g. results_dir = <study>/best: replaced whole, study and all
        raise ConfigError(
            f"storage.results_dir {str(results_dir)!r} lies inside the study {held[0]}'s own "
            f"{held[1]}/, which jetstudy rewrites or clears (best/ is replaced whole on its next "
            f"evaluation), so this study would be lost; set storage.results_dir to a folder "
            f"outside it (e.g. {str(held[0].parent)!r})")
    return folder


def inside(folder: Path, *parts: str) -> Path:
    """``folder / parts``, refused when it resolves outside ``folder`` (a link inside the
    study folder pointing at the user's files)."""
    path = folder.joinpath(*parts)
    real, root = path.resolve(), folder.resolve()
    if _first_part(root, real) is None:
        raise ConfigError(
            f"{path} leads to {real}, outside the study folder {root}; jetstudy writes only "
            f"inside it: remove the link {path}")
    return path


def _first_part(root: Path, real: Path) -> str | None:
    """The first part of the resolved path ``real`` below the resolved folder ``root`` (""
    for ``root`` itself), None when ``real`` lies outside it: the one test of both
    :func:`inside` and :func:`inside_study_part`."""
    if real == root:
        return ""
    return real.relative_to(root).parts[0] if root in real.parents else None


#: What every started study holds (``scaler.json`` and ``data_summary.json`` are written
#: before ``config.yaml``): a study folder from before :data:`STUDY_MARK` is known by them.
_STUDY_FILES = frozenset({"config.yaml", "scaler.json", "data_summary.json"})


def holds_study(folder: Path) -> bool:
    """``folder`` holds a study of jetstudy's: its ``config.yaml`` beside the mark (or, from
    before the mark, beside the files every study writes first). A ``config.yaml`` alone is
    the user's own file (e.g. their study config, kept in a project folder): never a study
    to resume, so never rewritten."""
    entries = set(sorted_entries(folder))
    return "config.yaml" in entries and (STUDY_MARK in entries or _STUDY_FILES <= entries)


#: A study's own sub-folders that jetstudy rewrites, replaces or clears (best/ is swapped whole
#: on the next evaluation, data/ and trials/ are the study's, ray/ is Tune's): an output of
#: ``report -o`` or ``export -o`` placed inside one would be lost or taken for the study's.
STUDY_OWN_PARTS = frozenset({"data", "best", "trials", "ray"})


def inside_study_part(out: Path) -> tuple[Path, str] | None:
    """``(study folder, part)`` when ``out`` (made absolute, links of its parents followed;
    and again with a link at ``out`` itself followed: ``-o mylink`` to a study's ``best/``)
    lies inside a study's own sub-folder (:data:`STUDY_OWN_PARTS`, also in another case on a
    case-insensitive file system, or a hidden one: jetstudy's temporaries), else None."""
    try:
        given = Path(os.path.abspath(out.expanduser()))
        targets = dict.fromkeys([given.parent.resolve() / given.name, given.resolve()])
    except (OSError, RuntimeError):
        return None
    for target in targets:
        for parent in target.parents:
            try:
                ours = holds_study(parent)
            except OSError:
                ours = False
            if ours:
                part = _first_part(parent, target) or ""
                if part in STUDY_OWN_PARTS or part.startswith(".") or _own_in_another_case(
                        parent, part):
                    return parent, part
    return None


def _own_in_another_case(study: Path, part: str) -> bool:
    """``part`` (``BEST``) is one of the study's own sub-folders (``best``) spelt in another
    case, on a file system that takes both for one folder."""
    own = part.casefold()
    if own == part or own not in STUDY_OWN_PARTS:
        return False
    try:
        return os.path.samefile(study / own, study / part)
    except OSError:
        return False


def is_study_folder(out: Path) -> bool:
    """``out`` is a study folder itself (links followed: through a link, a ``..`` detour, a
    trailing slash or a bind mount it is still one)."""
    try:
        return out.expanduser().is_dir() and holds_study(out.expanduser())
    except OSError:
        return False


def refuse_inside_study_part(out: str | os.PathLike[str], what: str) -> None:
    """A ConfigError when the output folder ``out`` (``what``: the option naming it, e.g.
    ``synth DIR``) is a study folder itself (its files mixed into the study's, read as the
    study's) or lies inside a study's own sub-folder (:func:`inside_study_part`): what a
    command writes there would be lost with it, or read as the study's."""
    if is_study_folder(Path(out)):
        raise ConfigError(
            f"{what} {str(out)!r} is a study folder itself (its config.yaml, trials and "
            f"tables), whose files are the study's alone; give a folder outside it")
    held = inside_study_part(Path(out))
    if held is not None:
        raise ConfigError(
            f"{what} {str(out)!r}: inside the study folder {held[0]}'s own {held[1]}/, which "
            f"jetstudy rewrites or clears (best/ is replaced whole on the next evaluation, "
            f"data/ holds only the study's own jets); give a folder outside it")


#: What jetstudy writes into a study folder before (or, when a check before the first trial
#: fails, instead of) its ``config.yaml``: a marked folder holding only these (and hidden
#: names: jetstudy's temporaries) is a study that never started, the same command's to reuse.
_BEFORE_START = frozenset({"data", "scaler.json", "data_summary.json", "reference.json",
                           "driver.lock", "ray_session.json", "provenance.json", "trials", "ray",
                           "optuna.journal", "pack_data.npz", "packs.json"})



def marked(folder: Path, entries: Iterable[str] | None = None) -> bool:
    """``folder`` carries jetstudy's mark: a plain file (not a link or folder) listed under
    exactly :data:`STUDY_MARK` among its ``entries`` (``os.listdir``'s names, read here when
    not given). The name is compared as listed, not looked up: on a case-insensitive file
    system (macOS, Windows, a CIFS share) ``folder / STUDY_MARK`` opens a user's
    ``.JetStudy-Study`` too, which made a folder of their dotfiles look like a study of
    jetstudy's that never started (reused, written into, its files counted as jetstudy's)."""
    try:
        names = sorted_entries(folder) if entries is None else entries
    except OSError:  # not a folder, or not readable: no mark to be seen
        return False
    return STUDY_MARK in names and plain_file(folder / STUDY_MARK)


def _never_started(folder: Path, entries: list[str]) -> bool:
    """``folder`` carries jetstudy's mark (:func:`marked`: a plain file listed under its exact
    name) and holds nothing but what a study that never started leaves: a user's files put
    into a marked folder (their ``trials.parquet``, ``best/``, notes) make it theirs again."""
    return marked(folder, entries) and all(
        e.startswith(".") or (e in _BEFORE_START and _kind_ok(folder / e)) for e in entries)


def never_started(folder: Path) -> bool:
    """``folder`` is a study folder of jetstudy's whose study never started (a stop or a
    failed check before its first trial): the same command reuses it (``rerun`` too)."""
    return folder.is_dir() and not folder.is_symlink() and _never_started(
        folder, sorted_entries(folder))


def _kind_ok(path: Path) -> bool:
    """An entry under one of jetstudy's names is of the kind jetstudy makes there (a real
    folder for ``data``, ``trials``, ``ray``; a plain file otherwise), never a link."""
    try:
        mode = path.lstat().st_mode
    except OSError:
        return False
    return stat.S_ISDIR(mode) if path.name in _FOLDERS else stat.S_ISREG(mode)


_FOLDERS = frozenset({"data", "trials", "ray"})


def _refuse_misplaced(folder: Path, entry: str) -> None:
    """A folder or link under the name of a file the study writes (``trials.csv``), or a
    file or link under one of its folders' (``trials``): refused before any work (it failed
    when the finished study's tables were written, naming a temporary)."""
    path = folder / entry
    best_file = entry == "best" and not path.is_symlink() and not _real_folder(path)
    if best_file or (entry in ATOMIC_FILES[""] or entry in _FOLDERS) and not _kind_ok(path):
        kind = "a link" if path.is_symlink() else "a folder" if path.is_dir() else "a file"
        own = "folder" if entry in _FOLDERS or best_file else "file"
        raise ConfigError(f"{path} is {kind}, where jetstudy keeps the study's own {own} "
                          f"{entry!r}; move it out of {folder}, then run the same command "
                          f"again")


def claim_study_folder(folder: Path) -> list[Path]:
    """Create the study folder with its mark, or accept an existing one that is jetstudy's
    (holding a study, or marked and holding only what a study that never started leaves); a
    folder with anything else in it belongs to the user. Returns the folders this call
    created (the study folder, then any missing parents)."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise ConfigError(f"storage.name {folder.name!r}: {folder} is a file or a link, not a "
                          f"study folder; set another storage.name")
    entries = sorted_entries(folder)
    ours = holds_study(folder) or _never_started(folder, entries)
    if entries and not ours:
        if STUDY_MARK in entries:  # name the user's files, not jetstudy's own
            entries = [e for e in entries if not e.startswith(".") and not (
                e in _BEFORE_START and _kind_ok(folder / e))] or entries
        shown = listed(entries)
        raise ConfigError(
            f"storage.name {folder.name!r}: {folder} already holds files jetstudy did not "
            f"write ({shown}); set storage.name to a new folder name (jetstudy never writes "
            f"into a folder of yours)")
    for entry in entries:  # a link in the study folder must not lead jetstudy out of it
        inside(folder, entry)
        _refuse_misplaced(folder, entry)
    try:
        with new_folders(folder) as created:  # a failed mark (a full disk): no folder left
            mark = folder / STUDY_MARK
            if not mark.exists() and not mark.is_symlink():
                later = MARKED_LATER + "\n" if entries else ""  # a study from before the mark
                try:
                    mark.write_text("made by jetstudy: the study folder (see README 'Results "
                                    "layout')\n" + later)
                except BaseException:
                    mark.unlink(missing_ok=True)
                    raise
    except OSError as exc:
        raise _unmade(folder, exc) from None
    return created


def _unmade(folder: Path, exc: OSError) -> ConfigError:
    """The study folder could not be made: name the field at fault (storage.results_dir when
    the results folder itself could not be made, else storage.name) rather than the file
    system's words alone ("/proc/x: No such file or directory; ... (storage.results_dir,
    data.path or the output folder)")."""
    import errno

    from jetstudy.study.os_errors import os_problem

    field, value = (("storage.results_dir", str(folder.parent)) if not folder.parent.is_dir()
                    else ("storage.name", folder.name))
    why = (f"{exc.strerror}: the file system there does not let a folder be made; set {field} "
           "to a folder you can write" if exc.errno == errno.ENOENT else os_problem(exc))
    return ConfigError(f"{field} {value!r}: the study folder {folder} cannot be made ({why})")


def abandon_study_folder(folder: Path, created: list[Path] | None = None) -> None:
    """Undo :func:`claim_study_folder` for a study that never started (no ``config.yaml``):
    remove the mark, only if nothing else is left in the folder, then the folder if
    :func:`claim_study_folder` ``created`` it (an empty folder of the user's stays, as it was)
    and the parents it created (e.g. ``results_dir``) while they are empty."""
    if (folder / "config.yaml").exists():
        return
    if sorted_entries(folder) != [STUDY_MARK]:  # e.g. synthetic jets already written: keep it,
        return                            # marked, so the same command reuses it
    (folder / STUDY_MARK).unlink(missing_ok=True)
    if not created or created[0] != folder:  # the folder was there before: not ours to remove
        return
    try:
        folder.rmdir()
    except OSError:  # something appeared meanwhile: keep it
        return
    for parent in (created or [])[1:]:
        try:
            parent.rmdir()
        except OSError:  # not empty (another study, the user's files): keep it
            return
