"""Format A's names, read from an open HDF5 file: ``jetFeatureNames`` as a list of str (bytes
or str, a (59, 1) column; a table, numbers or one value refused), each needed column's index
by name, and in words what stands where a dataset belongs or which key is spelt otherwise.
:mod:`jetstudy.trainables.formats` reads the file with them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import h5py
import numpy as np

from jetstudy.trainables.datacheck import HELP as _HELP
from jetstudy.trainables.datacheck import near_names
from jetstudy.trainables.errors import DataError
from jetstudy.trainables.schema import HLF_FEATURES, LABEL_COLUMNS

__all__ = ["what_instead", "key_spelling", "decode_names", "name_index"]


def what_instead(handle: h5py.File, key: str) -> str:
    """What stands at ``key`` of an HDF5 file where a dataset belongs, in words: a soft link
    to a path the file does not hold (named), a group, a named datatype (a type, no values)."""
    link = handle.get(key, getlink=True)
    if isinstance(link, h5py.SoftLink):
        target = handle.get(link.path)
        return (f"a soft link to {link.path!r}, which this file does not hold" if target is None
                else f"a soft link to {link.path!r}, a {type(target).__name__.lower()}")
    if isinstance(link, h5py.ExternalLink):
        return f"an external link to {link.filename!r}, a missing file or one not readable"
    item = handle.get(key)
    if isinstance(item, h5py.Datatype):
        return "a named datatype: a type, no values"
    return "a group" if isinstance(item, h5py.Group) else "not readable as one"


def key_spelling(absent: Sequence[str], keys: Sequence[str]) -> str:
    """"; `Jets` is `jets` written otherwise — rename it ..." for an absent Format A key the
    file holds in another case, with underscores or one letter off (Jets, jet_feature_names,
    jetfeaturenames, jet); "" when none is near."""
    import difflib

    def plain(name: str) -> str:
        return name.lower().replace("_", "").replace("-", "")

    pairs = []
    for want in absent:
        same = [k for k in keys if plain(k) == plain(want)]
        close = same or difflib.get_close_matches(want, [k for k in keys if k not in absent],
                                                  n=1, cutoff=0.8)
        if close:
            pairs.append((close[0], want))
    if not pairs:
        return ""
    moves = "; ".join(f"f.move({old!r}, {new!r})" for old, new in pairs)
    named = ", ".join(f"`{old}` for `{new}`" for old, new in pairs)
    return (f"; found {named}, spelt otherwise — Format A's key names are exact (case, "
            f"underscores): rename {'it' if len(pairs) == 1 else 'them'} (h5py, file opened with 'r+': "
            f"{moves})")


def decode_names(file: str, raw: Any) -> list[str]:
    """``jetFeatureNames`` as str: the real files store bytes, rewritten files often str; a
    column of names (N, 1) is read as a list; numbers are no names."""
    if isinstance(raw, h5py.Empty) or np.ndim(raw) == 0:  # no names, or one value
        shown = "no value (an HDF5 empty dataspace)" if isinstance(raw, h5py.Empty) else (
            f"one value ({np.asarray(raw).item()!r:.60})")
        raise DataError(
            f"{file}: jetFeatureNames holds {shown}, not a list of names; Format A names each "
            f"`jets` column with one entry (b'j_ptfrac', b'j_pt', ...): re-create or "
            f"re-download the file ({_HELP})")
    raw = np.asarray(raw)
    if raw.ndim == 2 and 1 in raw.shape:
        raw = raw.ravel()
    if raw.ndim > 1:  # (59, 2): names beside another column; each row read as one "name"
        shown = ", ".join(repr(v.decode("utf-8", errors="replace") if isinstance(v, bytes)
                               else v)[:30] for v in raw.reshape(-1)[:2].tolist())
        raise DataError(
            f"{file}: jetFeatureNames has shape {raw.shape} ({shown}, ...), a table, where "
            f"Format A has a list of shape (59,): one name per `jets` column (b'j_ptfrac', "
            f"b'j_pt', ...); store the one row or column that holds the names (h5py, file "
            f"opened with 'r+': names = f['jetFeatureNames'][:, 0]; del f['jetFeatureNames']; "
            f"f['jetFeatureNames'] = names), or re-create the file ({_HELP})")
    if raw.dtype.kind in "fiub":
        shown = ", ".join(str(v) for v in raw.ravel()[:3].tolist())
        raise DataError(
            f"{file}: jetFeatureNames holds numbers ({shown}, ...), not the column names; "
            f"Format A names each `jets` column (b'j_zlogz', ...): re-create or re-download "
            f"the file ({_HELP})")
    items = np.atleast_1d(raw).tolist()
    return [
        (i.decode("utf-8", errors="replace") if isinstance(i, bytes) else str(i)).strip()
        for i in items
    ]


def name_index(file: str, names: Sequence[str]) -> dict[str, int]:
    """Column index of every name; the HLF and label names must each appear exactly once."""
    needed = HLF_FEATURES + LABEL_COLUMNS
    missing = [n for n in needed if n not in names]
    if missing:
        lower = {n.lower(): n for n in names}
        cased = [lower[n] for n in missing if n in lower]
        hint = (f" (names are case-sensitive: found {', '.join(map(repr, cased[:3]))}"
                f"{', ...' if len(cased) > 3 else ''}; rename them in lower case)" if cased
                else near_names(missing, names, prefixed=True))
        raise DataError(
            f"{file}: jetFeatureNames lacks {', '.join(missing)}{hint}; jetstudy needs the 16 "
            f"high-level features and the labels {', '.join(LABEL_COLUMNS)} by name ({_HELP})"
        )
    twice = [n for n in needed if names.count(n) > 1]
    if twice:
        raise DataError(
            f"{file}: jetFeatureNames has {', '.join(twice)} more than once, so the column is "
            "ambiguous; re-create the file with one column per name"
        )
    return {name: names.index(name) for name in set(names)}
