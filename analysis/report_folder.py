"""Which report folder may be written, and which of its files are jetstudy's to replace.

``jetstudy report RESULTS -o DIR`` may be pointed at any folder, including one holding the
user's own ``index.html`` or ``roc.png``. So a report folder carries a manifest,
:data:`MANIFEST`, listing each file the report wrote with its SHA-256: a file is jetstudy's
only while it is listed *and* unchanged. The rules (:func:`plan_report_folder`):

* an empty or new folder, or one holding only jetstudy's files, is written (an earlier
  report's files are replaced, its figures that this report lacks are removed);
* a folder holding anything else is refused, naming the files, unless ``force``: then the
  report is written beside them, and is still refused if it would overwrite one of them
  (names compared case-folded: on macOS's or Windows' file system ``roc.png`` is ``ROC.png``);
* a report folder of a study written before manifests existed (``<study>/report`` beside a
  ``config.yaml``, in a study folder without jetstudy's mark: every marked study was made by a
  jetstudy that writes the manifest with each report) counts its report-named files as
  jetstudy's; a marked study's ``report/`` without a manifest holds no report of jetstudy's,
  so a ``summary.md`` the user put there is theirs;
* only names a report writes ever count as jetstudy's: a manifest (planted, or copied with
  the user's own files) listing anything else never makes jetstudy replace or delete it.

The report is built in a hidden staging folder (:func:`report_staging`, marked with its run's
host and pid); one that a killed report left is cleared by the next report into the folder.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from jetstudy.analysis.errors import AnalysisError
from jetstudy.study.fetch import sha256_or_none
from jetstudy.study.os_errors import dangling_link
from jetstudy.trainables.errors import listed
from jetstudy.trainables.staging import (clear_old_manifest_temporaries, clear_stale_staging,
                                         folder_lock, looks_like_staging, new_folders,
                                         staging_folder)
from jetstudy.trainables.plain_read import read_plain

__all__ = ["MANIFEST", "TMP_PREFIX", "FolderPlan", "plan_report_folder", "write_manifest",
           "digests", "report_staging", "report_names", "report_folder_made", "same_names"]

#: The list of files a report wrote, in the report folder.
MANIFEST = ".jetstudy-report"
#: jetstudy's temporary folder inside the report folder while it writes.
TMP_PREFIX = ".report-tmp-"
#: Longest wait for another report moving its files into the same folder.
_WAIT_S = 60.0
#: What the staging folder's mark says made it.
_WHAT = "jetstudy report"


def report_names() -> frozenset[str]:
    """Every file name a report writes (its figures and pages): the only names a report
    folder's manifest can make jetstudy's."""
    from jetstudy.analysis.report import DATA_FILES, FIGURE_FILES, PAGE_FILES

    return frozenset({*FIGURE_FILES, *DATA_FILES, *PAGE_FILES})


@contextmanager
def report_staging(plan: FolderPlan) -> Iterator[tuple[Path, FolderPlan]]:
    """A new staging folder in ``plan.out`` for this report (a ``with`` block's), after
    clearing the ones killed reports left there (only staging folders provably theirs: see
    :mod:`jetstudy.trainables.staging`), and the plan made again. The folder is held for the
    block: two reports into one folder at once (a run's own report and one asked for
    meanwhile) move their files and manifests in one after the other, never interleaved; and
    what the folder holds is judged again once it is held (:meth:`FolderPlan.again`): a report
    that moved in since ``plan`` was made is an earlier report, a file the user put there
    meanwhile is theirs (a report planned before either listed the first's extra figures as
    nobody's, or overwrote the second)."""
    out = plan.out
    names = report_names() | {MANIFEST}
    def busy() -> AnalysisError:
        return AnalysisError(f"cannot write the report to {out}: another jetstudy report has "
                             f"been moving its files in for {_WAIT_S:.0f} s (is it stopped, "
                             f"e.g. with Ctrl-Z?); let it finish, then run the report again")

    with folder_lock(out, busy, _WAIT_S):  # waits its turn: the files are built by now
        plan = plan.again()  # refuses, as before any work, what is now the user's
        clear_stale_staging(out, TMP_PREFIX, _WHAT, names.__contains__)
        clear_old_manifest_temporaries(out, TMP_PREFIX, _WHAT)  # an older jetstudy's
        with staging_folder(out, TMP_PREFIX, _WHAT) as stage:
            yield stage, plan


@contextmanager
def report_folder_made(out: Path) -> Iterator[None]:
    """``out`` (and its missing parents) made and checked writable before any work is done,
    for the ``with`` block that writes the report: when the report fails or is stopped
    (Ctrl-C, SIGTERM), the folders made for it are removed again while empty, so ``report
    -o new/dir`` leaves nothing behind (:func:`jetstudy.trainables.staging.new_folders`)."""
    with ExitStack() as made:
        try:
            made.enter_context(new_folders(out))
            tempfile.TemporaryFile(dir=out).close()
        except OSError as exc:  # the file system's words, without the probe's random name
            raise AnalysisError(f"cannot write the report to {out}: {_unmade(out, exc)}") \
                from exc
        yield


def _unmade(out: Path, exc: OSError) -> str:
    """Why ``out`` cannot be made or written: "No such file or directory" for a folder that a
    file system such as /proc or /sys will not make (or will not take files in) says what is
    really wrong (:func:`~jetstudy.study.os_errors.os_problem`), not "missing"."""
    import errno

    if exc.errno != errno.ENOENT:
        return f"{exc.strerror or exc}; choose another folder with -o"
    from jetstudy.study.os_errors import os_problem

    if not getattr(exc, "making_folder", False):
        exc.filename = str(out)  # the probe's random name aside: the folder is the one meant
    text = os_problem(exc)
    return text.removeprefix(f"{out}: ")


@dataclass(frozen=True)
class FolderPlan:
    """``ours``: files of an earlier report that may be replaced or removed; the rest are the
    arguments of :func:`plan_report_folder` that made it."""

    out: Path
    ours: frozenset[str]
    will_write: frozenset[str] = frozenset()
    force: bool = False
    legacy_names: frozenset[str] = frozenset()

    def again(self) -> FolderPlan:
        """The same plan made from what the folder holds now (call while holding it)."""
        return plan_report_folder(self.out, set(self.will_write), self.force,
                                  self.legacy_names)


def _listed(out: Path) -> dict[str, set[str]] | None:
    """name -> accepted SHA-256s from the manifest; None when there is no manifest."""
    try:
        raw = json.loads(read_plain(out / MANIFEST))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    files = raw.get("files", {}) if isinstance(raw, dict) else {}
    if not isinstance(files, dict):
        return {}
    listed = {}
    known = report_names()
    for name, digests in files.items():
        digests = [digests] if isinstance(digests, str) else digests
        if name in known and isinstance(digests, list):  # never a name a report never writes
            listed[name] = {d for d in digests if isinstance(d, str)}
    return listed


def _manifest_ours(out: Path) -> bool:
    """:data:`MANIFEST` is absent, or a manifest a report wrote (a plain file saying so); a
    link, a folder or a file of the user's under that name is theirs, never overwritten."""
    path = out / MANIFEST
    if not path.exists() and not path.is_symlink():
        return True
    if path.is_symlink() or not path.is_file():
        return False
    try:
        raw = json.loads(read_plain(path))
    except (OSError, ValueError):
        return False
    return isinstance(raw, dict) and raw.get("written_by") == "jetstudy report"


#: A manifest temporary that reports before staging folders left when killed.
_OLD_MANIFEST_TMP = re.compile(re.escape(TMP_PREFIX) + r"manifest-[a-z0-9_]{8}\.tmp\Z")


def _staging_entry(out: Path, name: str) -> bool:
    """A report's staging folder (or an older report's manifest temporary), not the user's:
    a file of theirs under a look-alike name (``.report-tmp-notes``) is theirs."""
    return looks_like_staging(out, name, TMP_PREFIX) or bool(_OLD_MANIFEST_TMP.match(name))


def same_names(present: list[str], names: set[str]) -> list[str]:
    """The entries of ``present`` that writing ``names`` would replace: the same name, or the
    same name in another case (``ROC.png`` for ``roc.png``, ``Index.HTML`` for ``index.html``),
    which a case-insensitive file system (macOS's and Windows' default) takes for one file."""
    folded = {n.casefold() for n in names}
    return sorted(n for n in present if n.casefold() in folded)


def _shown(names: list[str]) -> str:
    return listed(names, 6, total=True)


def _made_with_manifests(study: Path) -> bool:
    """The study folder carries jetstudy's mark (a plain file) written as jetstudy made the
    folder: a jetstudy that writes a report's manifest with each report made the study, so its
    ``report/`` is never a pre-manifest one (a mark added to an older study says so)."""
    from jetstudy.study.paths import MARKED_LATER, STUDY_MARK, marked

    mark = study / STUDY_MARK
    try:  # the mark as listed: on a case-insensitive file system a user's .JetStudy-Study opens
        return marked(study) and MARKED_LATER not in read_plain(mark, errors="replace")
    except OSError:
        return False


def plan_report_folder(out: Path, will_write: set[str], force: bool,
                       legacy_names: frozenset[str] = frozenset()) -> FolderPlan:
    """Decide whether the report may be written into ``out`` (raises :class:`AnalysisError`
    with the reason and the fix when not); ``will_write`` are the names the report writes,
    ``legacy_names`` names counted as jetstudy's in a manifest-less study report folder."""
    if legacy_names and out.is_symlink():  # the study's own report/ leading elsewhere
        raise AnalysisError(
            f"cannot write the report to {out}: it is a link (to {os.readlink(out)}), and a "
            f"study's report/ is replaced as jetstudy's own; remove the link, or give the "
            f"folder it points at with -o (then only an earlier report there is replaced)")
    dangling = dangling_link(out)
    if dangling is not None:  # mkdir said only "File exists"
        raise AnalysisError(f"cannot write the report there: {dangling} with -o")
    if out.exists() and not out.is_dir():
        raise AnalysisError(f"cannot write the report to {out}: it is a file, not a folder; "
                            f"choose a folder with -o")
    from jetstudy.study.paths import is_study_folder

    if is_study_folder(out):  # not even with --force: the study's files and the report's mixed
        raise AnalysisError(
            f"cannot write the report to {out}: it is a study folder itself (its config.yaml, "
            f"trials and tables), not a report folder; leave -o out for report/ in it, or give "
            f"another folder with -o")
    real = Path(os.path.realpath(out))
    if not legacy_names and real.name.casefold() == "report" and is_study_folder(real.parent):
        cased = ("" if real.name == "report" else
                 f" ({real.name}/ is report/ on a file system that ignores case, as macOS's "
                 f"and Windows' do, and once the study is copied onto one)")
        raise AnalysisError(  # another study's (or a table's) report would pass for that study's
            f"cannot write the report to {out}: it is the study {real.parent}'s own report "
            f"folder{cased}, replaced by that study's next report and read as its report; to "
            f"write a study's report there, give that study and leave -o out (jetstudy report "
            f"{real.parent}), else give another folder with -o")
    try:
        entries = sorted(os.listdir(out)) if out.is_dir() else []
    except OSError as exc:
        raise AnalysisError(f"cannot write the report to {out}: {exc}; choose another folder "
                            f"with -o") from exc
    listed = _listed(out) if _manifest_ours(out) else None
    if listed is None:
        old_names = frozenset() if _made_with_manifests(out.parent) else legacy_names
        ours = {n for n in entries if n in old_names and (out / n).is_file()
                and not (out / n).is_symlink()}
    else:
        ours = {n for n, digests in listed.items() if n in entries
                and not (out / n).is_symlink() and sha256_or_none(out / n) in digests}
    manifest_ours = _manifest_ours(out)
    foreign = [n for n in entries if n not in ours and not _staging_entry(out, n)
               and (n != MANIFEST or not manifest_ours)]
    if foreign and not force:
        raise AnalysisError(
            f"cannot write the report to {out}: it holds files jetstudy did not write "
            f"({_shown(foreign)}); give an empty or new folder with -o, or pass --force to "
            f"write the report beside them (jetstudy never overwrites or deletes them)")
    clash = same_names(foreign, will_write | {MANIFEST})
    if clash:
        cased = [n for n in clash if n not in will_write | {MANIFEST}]
        why = (f" (the report's {_shown([n.casefold() for n in cased])} on a file system that "
               f"ignores case, as macOS's and Windows' do)" if cased else "")
        raise AnalysisError(
            f"cannot write the report to {out}: it would overwrite {_shown(clash)}{why}, which "
            f"jetstudy did not write (or which changed since); move them away or give another "
            f"folder with -o")
    return FolderPlan(out=out, ours=frozenset(ours), will_write=frozenset(will_write),
                      force=force, legacy_names=legacy_names)


def write_manifest(out: Path, files: dict[str, list[str]], stage: Path) -> None:
    """Record the report's files, name -> accepted SHA-256s: written in the staging folder
    ``stage``, then renamed into place (atomic, and no loose temporary in ``out``). Written
    before the files are moved in (listing old and new contents, so a kill midway leaves
    every file recorded) and again after (new contents only)."""
    text = json.dumps({"written_by": "jetstudy report", "files": files}, indent=1) + "\n"
    (stage / MANIFEST).write_text(text)
    os.replace(stage / MANIFEST, out / MANIFEST)


def digests(folder: Path, names: list[str]) -> dict[str, str]:
    """name -> SHA-256 of each file of ``names`` present in ``folder``."""
    return {n: d for n in names if (d := sha256_or_none(folder / n)) is not None}
