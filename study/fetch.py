"""``jetstudy fetch hls4ml [DIR]``: the real dataset in one command.

Downloads into a cache (``$JETSTUDY_DATA``, else ``~/.cache/jetstudy``; or ``DIR``) with:

* a progress callback (the CLI draws a bar; library code never prints);
* resume: bytes arrive in ``<name>.part``; a broken connection is retried from where it
  stopped (an HTTP ``Range`` request), and a later run continues the same ``.part`` file;
* a checksum: SHA-256, checked against the source's known digest where jetstudy has one; the
  digest of every completed file is recorded in ``.jetstudy-fetch.json`` and checked again
  whenever the cached file is reused (a file that changed since is downloaded afresh);
* one clear error offline, naming the URL and what to do instead.

``$JETSTUDY_MIRROR`` replaces the scheme and host of every URL (a site mirror, or a cluster
without internet access).
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from jetstudy.study.fetch_format import warn_if_not_format
from jetstudy.study.fetch_record import (RECORD, file_sha256, identity, read_record,
                                        same_file, sha256_or_none, write_record)
from jetstudy.study.fetch_transfer import Progress, range_total, transfer
from jetstudy.study.fetch_unpack import UNPACKED as _UNPACKED
from jetstudy.study.fetch_unpack import unpack as _unpack
from jetstudy.trainables.atomic import no_room
from jetstudy.trainables.errors import DataError
from jetstudy.trainables.staging import folder_lock, plain_file

__all__ = ["Source", "DATASETS", "CACHE_ENV", "MIRROR_ENV", "RECORD", "cache_dir",
           "fetch_dataset", "data_path", "download", "file_sha256", "sha256_or_none"]

logger = logging.getLogger(__name__)

CACHE_ENV = "JETSTUDY_DATA"
MIRROR_ENV = "JETSTUDY_MIRROR"
_RETRIES = 3  # broken connections resumed within one run


@dataclass(frozen=True)
class Source:
    """One file to download: its URL, the name it is saved under, its SHA-256 when known
    (else recorded at the first download), and whether it is a tar archive to unpack."""
    url: str
    name: str
    sha256: str | None = None
    unpack: bool = False


#: The datasets ``jetstudy fetch`` knows: name -> {"table": [...], "hdf5": [...]}.
#: The OpenML table (dataset 42468, Parquet from OpenML's file store, ``data.openml.org``:
#: its earlier host ``openml1.win.tue.nl`` stopped answering in January 2025) is what
#: ``data.format: table`` reads; the original HDF5 files (Zenodo record 3602260, 150-particle
#: set, tar archives of about 880k jets) are what ``data.format: hdf5`` reads.
DATASETS: dict[str, dict[str, tuple[Source, ...]]] = {
    "hls4ml": {
        "table": (Source("https://data.openml.org/datasets/0004/42468/dataset_42468.pq",
                         "hls4ml_lhc_jets_hlf.parquet"),),
        "hdf5": (Source("https://zenodo.org/records/3602260/files/"
                        "hls4ml_LHCjet_150p_train.tar.gz", "hls4ml_LHCjet_150p_train.tar.gz",
                        unpack=True),
                 Source("https://zenodo.org/records/3602260/files/"
                        "hls4ml_LHCjet_150p_val.tar.gz", "hls4ml_LHCjet_150p_val.tar.gz",
                        unpack=True)),
    },
}



def cache_dir() -> Path:
    """``$JETSTUDY_DATA``, else ``~/.cache/jetstudy``."""
    env = os.environ.get(CACHE_ENV, "").strip()
    _env_path_problem(CACHE_ENV, env)
    if env and Path(env).expanduser().exists() and not Path(env).expanduser().is_dir():
        raise DataError(f"{CACHE_ENV} is {env!r}, a file, not a folder; set {CACHE_ENV} to the "
                        f"folder jetstudy fetch keeps data in (created if missing), or unset it "
                        f"for ~/.cache/jetstudy")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "jetstudy"


def _env_path_problem(name: str, value: str) -> None:
    """A DataError when the path in environment variable ``name`` cannot be what its user
    meant: a control character (a pasted line break), a ``$VAR`` left unexpanded (single
    quotes), ``~user`` of no such user (Path.expanduser raised a RuntimeError)."""
    from jetstudy.study.config import _ENV_VAR

    fix = f"or unset {name}" + (" for ~/.cache/jetstudy" if name == CACHE_ENV else
                                " to fetch from OpenML")
    control = next((ch for ch in value if ord(ch) < 32 or ord(ch) == 127), None)
    if control is not None:
        raise DataError(f"{name} is {value!r}, which holds a control character ({control!r}); "
                        f"set it to a path on one line, {fix}")
    found = _ENV_VAR.search(value)
    if found and "://" not in value:
        raise DataError(f"{name} is {value!r}, but jetstudy does not expand environment "
                        f"variables in it ({found.group(0)}); write the path out, or let the "
                        f"shell expand it: export {name}=\"{value}\" (double quotes), {fix}")
    if value.startswith("~") and not value.startswith("~/") and value != "~" \
            and os.path.expanduser(value) == value:
        user = value[1:].split("/", 1)[0]
        raise DataError(f"{name} is {value!r}: '~{user}' is the home folder of user {user!r}, "
                        f"and no such user exists on this machine; write ~/... for your own "
                        f"home folder or the full path, {fix}")


def _mirrored(url: str) -> str:
    """``url`` from ``$JETSTUDY_MIRROR``: an ``https://host``/``file:///path`` URL, or a
    folder (``/path``, ``~/path``, ``mirror/``: a ``file://`` URL of it), holding each
    source's URL path (``/datasets/0004/42468/dataset_42468.pq``)."""
    mirror = os.environ.get(MIRROR_ENV, "").strip().rstrip("/")
    if not mirror:
        return url
    _env_path_problem(MIRROR_ENV, mirror)
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):(//)?(.*)", mirror)
    if scheme and len(scheme[1]) > 1:  # a URL (C:\mirror, one letter, is a Windows folder)
        kind, host = scheme[1].lower(), scheme[3].split("/")[0]
        if kind not in ("http", "https", "ftp", "file") or not scheme[2] or (
                kind != "file" and not host):
            raise DataError(
                f"{MIRROR_ENV} is {os.environ[MIRROR_ENV].strip()!r}, not a mirror jetstudy can "
                f"read: give an https://host (or http://, ftp://) URL with its host, a file:/// "
                f"URL or a folder, e.g. {MIRROR_ENV}=https://mirror.example.org or "
                f"{MIRROR_ENV}=/shared/mirror; or unset it to fetch from OpenML")
    if not re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", mirror):  # a folder, not a URL
        mirror = Path(mirror).expanduser().absolute().as_uri().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    return mirror + urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))


def _offline(url: str, target: Path, reason: object) -> DataError:
    if url.startswith("file:"):  # a folder mirror without that file
        return DataError(
            f"cannot read {url} ({getattr(reason, 'strerror', None) or reason}): "
            f"{MIRROR_ENV} is {os.environ.get(MIRROR_ENV, '').strip()!r}, a folder that must "
            f"hold the file as {urllib.request.url2pathname(urllib.parse.urlsplit(url).path)} "
            f"(the source's URL path under it); put it there, or put the file at {target}")
    return DataError(
        f"cannot download {url} ({reason}); jetstudy fetch needs access to that host: check "
        f"the network (or a proxy: https_proxy=...), set {MIRROR_ENV} to a mirror, or "
        f"download the file elsewhere and put it at {target}")


def download(source: Source, folder: Path, progress: Progress | None = None,
             retries: int = _RETRIES, timeout: float = 60.0) -> Path:
    """``folder/source.name``, downloaded (or resumed) and checked; reused when the cached
    file still has the digest recorded when it was downloaded."""
    folder.mkdir(parents=True, exist_ok=True)
    target, part = folder / source.name, folder / f"{source.name}.part"
    url = _mirrored(source.url)
    record = read_record(folder)
    known = source.sha256 or record.get(source.name, {}).get("sha256")
    if target.is_file() and known and file_sha256(target) == known:
        logger.info("fetch: %s already in %s", source.name, folder)
        # no published digest: a wrong file recorded at its download is named at each reuse
        warn_if_not_format(target, source.name, source.sha256, url)
        return target
    if ((target.exists() or target.is_symlink())
            and not same_file(target, record.get(source.name))):
        return _adopt(source, target, url, folder, record)  # never downloaded over
    _check_part(part, record, folder)

    def claim(version: str | None) -> None:  # before the first byte: a kill leaves it known
        entry = record.get(part.name)
        known = {"version": version} if version else {}
        if entry is None:
            record[part.name] = {"url": url, "partial": True, **known}
            write_record(folder, record)
        elif plain_file(part) and not same_file(part, entry):  # made now: name its inode
            record[part.name] = {"url": url, "partial": True, **identity(part), **known}
            write_record(folder, record)
        elif entry.get("version") != version:  # the part now holds bytes of this version
            kept = {k: v for k, v in entry.items() if k != "version"}
            record[part.name] = {**kept, "url": url, **known}
            write_record(folder, record)
    for attempt in range(retries + 1):
        entry = record.get(part.name)
        if_range = entry.get("version") if isinstance(entry, dict) else None
        try:
            transfer(url, part, progress, source.name, timeout, claim, if_range)
            break
        except urllib.error.HTTPError as exc:
            total = range_total(exc.headers.get("Content-Range")) if exc.headers else None
            if exc.code == 416 and part.exists() and total not in (None, part.stat().st_size):
                # the part is longer than the file served now (it changed, or another
                # mirror): its bytes are not this file's, so start over
                logger.warning("fetch: %s.part holds %d bytes, but %s has %d: downloading it "
                               "afresh", source.name, part.stat().st_size, url, total)
                os.truncate(part, 0)
                continue
            if exc.code == 416 and part.exists():  # Range past the end: the part was complete
                break
            raise DataError(f"cannot download {url}: the server answered {exc.code} "
                            f"{exc.reason}; check the URL (or {MIRROR_ENV}) and try again "
                            f"later") from None
        except urllib.error.URLError as exc:
            raise _offline(url, target, exc.reason) from None
        except (http.client.HTTPException, ConnectionError, TimeoutError, OSError) as exc:
            have = part.stat().st_size if part.exists() else 0
            code = no_room(exc)
            if code is not None:  # a full disk, a quota, a file-size limit: no retry helps
                raise OSError(code, f"{os.strerror(code)} after {have} bytes; the same "
                                    f"command resumes from {part.name} once there is room",
                              str(target)) from None
            if attempt == retries:
                raise DataError(
                    f"the download of {url} broke off after {have} bytes ({exc!r}) "
                    f"{retries + 1} times; run the same command again to resume from "
                    f"{part}") from None
            logger.warning("fetch: %s broke off after %d bytes (%r); resuming", source.name,
                           have, exc)
            time.sleep(min(2.0 ** attempt, 10.0) * 0.1)
    else:  # each attempt started over (a part longer than the file, again and again)
        raise DataError(f"the download of {url} did not complete in {retries + 1} attempts; "
                        f"run the same command again")
    digest = file_sha256(part)
    if source.sha256 and digest != source.sha256:
        part.unlink(missing_ok=True)
        record.pop(part.name, None)
        if record:
            write_record(folder, record)
        else:  # the record held only this part: leave nothing behind
            (folder / RECORD).unlink(missing_ok=True)
        raise DataError(
            f"checksum mismatch for {source.name} from {url}: SHA-256 {digest}, expected "
            f"{source.sha256}; the download was corrupted (or the file changed upstream) and "
            f"was deleted: run the same command again")
    warn_if_not_format(part, source.name, source.sha256, url)
    os.replace(part, target)
    record.pop(part.name, None)
    record[source.name] = {"url": url, "sha256": digest, "size": target.stat().st_size,
                           **identity(target)}  # jetstudy's to replace while it is this file
    write_record(folder, record)
    return target


def _check_part(part: Path, record: dict, folder: Path) -> None:
    """``part`` is jetstudy's to append to: absent (then recorded before its first byte), or
    the very file this folder's record lists (its device and inode; or empty, when a kill
    came between its creation and that record). A link or a file of the user's under that
    name is refused, even if a record names it: appending would change it (or the file a
    link points at), and a wrong checksum would delete it."""
    if not part.exists() and not part.is_symlink():
        return
    if part.is_symlink() or not part.is_file():
        raise DataError(f"fetch: {part} is a link or a folder, not a partial download of "
                        f"jetstudy's; jetstudy never writes through it: move it away or give "
                        f"another DIR")
    entry = record.get(part.name)
    started = same_file(part, entry) or (  # or cut between its creation and its inode's record
        isinstance(entry, dict) and "ino" not in entry and part.lstat().st_size == 0)
    if part.exists() and not started:
        raise DataError(f"fetch: {part} exists, but jetstudy did not start that download "
                        f"(it is not the file {folder / RECORD} lists); jetstudy never appends "
                        f"to your files: move it away or give another DIR")


def _adopt(source: Source, target: Path, url: str, folder: Path, record: dict) -> Path:
    """A file jetstudy did not download sits where the download would go: the user put it
    there (as the offline error suggests). It is used, and recorded, when it can be the
    file (its SHA-256, if known, matches), and never replaced."""
    if not target.is_file() or target.is_symlink():
        raise DataError(f"fetch: {target} exists and is not a file jetstudy downloaded; "
                        f"jetstudy never replaces your files: move it away or give another DIR")
    digest = file_sha256(target)
    if source.sha256 and digest != source.sha256:
        raise DataError(f"fetch: {target} is not {source.name} from {url} (SHA-256 {digest}, "
                        f"expected {source.sha256}); jetstudy never replaces your files: move "
                        f"it away or give another DIR")
    entry = record.get(source.name)
    was = entry.get("sha256") if isinstance(entry, dict) else None
    if was and was != digest and entry.get("url") != "placed by hand":
        # the file jetstudy downloaded was replaced (a copy cut short, a restore, an edit
        # saved as a new file): not jetstudy's to overwrite, and not the download it checked
        raise DataError(f"fetch: {target} changed since jetstudy downloaded it from "
                        f"{entry.get('url', url)} (SHA-256 {digest}, recorded {was}) and is "
                        f"another file now, not the one jetstudy wrote; jetstudy never "
                        f"replaces your files: delete it (or move it away) and fetch again "
                        f"to download it afresh")
    if was and was != digest:
        logger.warning("fetch: %s, put there by hand, changed since it was recorded (SHA-256 "
                       "%s, was %s); using the new file", target, digest, was)
    warn_if_not_format(target, source.name, source.sha256, f"{target} (put there by hand)")
    logger.info("fetch: using %s, put there by hand", target)
    record[source.name] = {"url": "placed by hand", "sha256": digest,
                           "size": target.stat().st_size}
    write_record(folder, record)
    return target


def fetch_dataset(name: str, folder: str | os.PathLike[str] | None = None, *,
                  hdf5: bool = False, progress: Progress | None = None,
                  sources: tuple[Source, ...] | None = None) -> Path:
    """Download dataset ``name`` (``hls4ml``: the OpenML table, or with ``hdf5`` the
    original HDF5 files) into ``folder`` (default ``cache_dir()/name``); returns what to give
    ``data.path`` (the table file, or the folder of HDF5 files). ``sources`` replaces the
    known URLs (tests, mirrors)."""
    if sources is None:
        if name not in DATASETS:
            raise DataError(f"fetch: no dataset {name!r}; known: {', '.join(DATASETS)}")
        sources = DATASETS[name]["hdf5" if hdf5 else "table"]
    if folder is not None and not str(folder).strip():  # not silently the cache (or here)
        raise DataError(f"fetch DIR {str(folder)!r} is empty; give a folder, or leave DIR out "
                        f"for the cache ({cache_dir() / name})")
    where = Path(folder).expanduser() if folder else cache_dir() / name
    from jetstudy.study.paths import refuse_inside_study_part

    refuse_inside_study_part(where, "fetch DIR")  # e.g. <study>/best: lost with it
    if where.exists() and not where.is_dir():
        raise DataError(f"fetch DIR {str(where)!r} is a file, not a folder; give a folder "
                        f"(it is created if missing)")
    created = [p for p in (where, *where.parents) if not p.exists()]
    try:
        where.mkdir(parents=True, exist_ok=True)
        with folder_lock(where, lambda: _busy(where)):  # one fetch into a folder at a time
            paths = [download(s, where, progress) for s in sources]
            unpacked = [_unpack(p, where) for p, s in zip(paths, sources) if s.unpack]
    except BaseException:  # nothing fetched: leave no empty folder behind
        for made in created:
            if made.is_dir() and not any(made.iterdir()):
                made.rmdir()
        raise
    if unpacked:
        return where if len(unpacked) > 1 else unpacked[0]
    return paths[0]


def _busy(where: Path) -> DataError:
    return DataError(f"fetch: another jetstudy fetch is downloading into {where} now (two "
                     f"would write one file at once); wait for it to finish, then run the same "
                     f"command again: it reuses what was downloaded")


def data_path(fetched: str | os.PathLike[str]) -> str:
    """What to give ``data.path`` for what :func:`fetch_dataset` returned: the table file
    itself; for unpacked HDF5 archives, a glob of the ``.h5`` files inside them (the archives
    keep them in a subfolder such as ``train/``, and ``data.path`` naming a folder reads only
    the files directly in it): ``<unpacked>/**/*.h5``, or with several archives
    ``<DIR>/<their common name start>*/**/*.h5``, which matches only inside jetstudy's unpack
    folders."""
    fetched = Path(fetched)
    if not fetched.is_dir():  # the table
        return str(fetched)
    if (fetched / _UNPACKED).is_file():  # one archive, unpacked here
        return str(fetched / "**" / "*.h5")
    # several archives unpacked side by side in DIR: only their folders (DIR may hold
    # .h5 files of the user's too)
    folders = sorted(p.name for p in fetched.iterdir()
                     if p.is_dir() and not p.is_symlink() and (p / _UNPACKED).is_file())
    if not folders:
        return str(fetched)
    start = os.path.commonprefix(folders) if len(folders) > 1 else folders[0]
    return str(fetched / f"{start}*" / "**" / "*.h5")
