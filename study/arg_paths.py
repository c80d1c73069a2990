"""The command line's path arguments as the config's paths are read: ``~`` is the home folder.

A ``~`` the shell left (quoted, or after ``=`` as in ``--out=~/models``) made a folder
literally called ``~`` in the current folder for ``synth``, ``init``, ``export -o`` and
``fetch`` (a trap: ``rm -r ~`` then removes the home folder), while ``report -o`` and the
config's paths read it as home. Output folders whose name holds a control character (a
newline) are refused as ``storage.name`` is: every printed path and listing would be garbled.
Any path argument of bytes that are not UTF-8 is refused: printing it, or writing it into a
report's UTF-8 pages, failed with a traceback after the work was done. An output folder given
with ``..`` after a folder that does not exist (``-o new/../out``) is read as the folder it
names (``out``): ``mkdir -p`` made ``new`` only to step out of it, and it stayed, empty.
"""

from __future__ import annotations

import argparse
import os

from jetstudy.trainables.errors import ConfigError

__all__ = ["read_path_args", "raw_bytes", "past_missing"]


def raw_bytes(value: str) -> bool:
    """``value`` holds bytes that were not UTF-8 (Python's surrogate escapes of a file name or
    an argument): printing it, or writing it into a UTF-8 file, fails."""
    return any("\udc80" <= c <= "\udcff" for c in value)

def past_missing(value: str) -> str:
    """``value`` with each ``..`` that follows a folder that does not exist taken back with
    that folder (``new/../out`` -> ``out``, ``a/new/x/../../b`` -> ``a/b`` when ``a`` is
    there): the folder the path names once made, without making folders only to step out of
    them. A ``..`` after a folder that is there (a link, perhaps, whose ``..`` is the link
    target's parent) is kept, as the kernel reads it; so is the rest of the spelling."""
    if ".." not in value.split(os.sep):
        return value
    head, parts, missing = ("/" if value.startswith(os.sep) else ""), [], 0
    for part in value.split(os.sep):
        if part in ("", "."):
            continue
        if part == ".." and missing:
            parts.pop()
            missing -= 1
            continue
        parts.append(part)
        if missing or not os.path.lexists(head + os.sep.join(parts)):
            missing += 1
    return head + os.sep.join(parts) if parts else (head or ".")


#: Arguments naming a folder a command creates or writes into.
_OUTPUTS = ("out_dir", "dir", "out")


def read_path_args(args: argparse.Namespace, flags: dict[str, str]) -> None:
    """Expand ``~`` in the path arguments ``flags`` (attribute -> the option's name) of
    ``args`` in place; refuse ``~user`` of no such user, and output folders holding a control
    character."""
    from jetstudy.study.checks import _is_control
    from jetstudy.study.config import _home_of_a_user

    for attr, flag in flags.items():
        value = getattr(args, attr, None)
        if not isinstance(value, str):
            continue
        if value.startswith("~"):
            _home_of_a_user(flag, value)  # ~nobody: no such user, said with the fix
            value = os.path.expanduser(value)
            setattr(args, attr, value)
        if attr in _OUTPUTS and past_missing(value) != value:
            value = past_missing(value)
            setattr(args, attr, value)
        if raw_bytes(value):  # the bytes Python could not decode
            fix = ("choose a folder name in UTF-8" if attr in _OUTPUTS else
                   "rename it to a UTF-8 name (mv), then give that")
            raise ConfigError(f"{flag} {value!r} is not UTF-8 text (a name of raw bytes, shown "
                              f"as \\udcXX); jetstudy prints its paths and writes them into "
                              f"its reports and config files, which are UTF-8: {fix}")
        if attr in _OUTPUTS and any(_is_control(c) for c in value):
            raise ConfigError(f"{flag} {value!r} holds a control character (a newline or "
                              f"tab); every path jetstudy prints and lists would be garbled: "
                              f"choose a folder name without one")
