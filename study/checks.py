"""Constraints on config values, declared as data.

Each config field carries one :class:`Check` in its dataclass metadata. A check knows how to
describe what it accepts ("an integer >= 1") and returns the cleaned value or ``None`` when the
value is bad, so :mod:`jetstudy.study.config` can build every error message in one place:
``search.num_trials must be an integer >= 1, got 0; set e.g. 64``.

Declaring constraints as data (as scikit-learn's ``_param_validation`` does) lets one
parametrised test feed every field a bad value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Check", "Int", "Float", "Choice", "Range", "SubsetOf", "Text", "Optional",
           "Auto", "Points", "folder_name_problem", "MAX_NAME_BYTES", "shorten", "SHOWN",
           "small"]

_BAD = object()  # sentinel: the value is not acceptable


class Check:
    """A constraint on one value: ``clean`` returns the normalised value or ``_BAD``."""

    def describe(self) -> str:
        raise NotImplementedError

    def clean(self, value: Any) -> Any:
        raise NotImplementedError

    def bad_example(self) -> Any:
        """A value this check rejects (for the generic config test)."""
        raise NotImplementedError

    def accepts(self, value: Any) -> tuple[bool, Any]:
        cleaned = self.clean(value)
        return cleaned is not _BAD, cleaned


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _bounds(lo: float | None, hi: float | None, lo_open: bool = False) -> str:
    def number(v: float) -> str:  # integers in full: a seed bound 4294967295, not 4.29e+09
        return str(v) if isinstance(v, int) else f"{v:g}"

    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '>='} {number(lo)}")
    if hi is not None:
        parts.append(f"<= {number(hi)}")
    return " and ".join(parts)


@dataclass(frozen=True)
class Int(Check):
    lo: int | None = None
    hi: int | None = None
    # a sanity limit, not part of the field's meaning (so not in describe): a typo such as
    # 99999999999999999999 is refused here rather than overflowing in Ray or torch
    cap: int | None = None

    def describe(self) -> str:
        bounds = _bounds(self.lo, self.hi)
        return f"an integer {bounds}".strip()

    def clean(self, value: Any) -> Any:
        if not _is_int(value):
            return _BAD
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            return _BAD
        if self.cap is not None and value > self.cap:
            return _BAD
        return value

    def bad_example(self) -> Any:
        return self.lo - 1 if self.lo is not None else "many"


@dataclass(frozen=True)
class Float(Check):
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False  # True: the lower bound itself is not allowed
    cap: float | None = None  # a sanity limit, as Int's

    def describe(self) -> str:
        return f"a number {_bounds(self.lo, self.hi, self.lo_open)}".strip()

    def clean(self, value: Any) -> Any:
        if not _is_number(value):
            return _BAD
        value = float(value) + 0.0  # -0.0 is 0.0 (YAML's -0.0 would be written back so)
        if self.lo is not None and (value < self.lo or (self.lo_open and value == self.lo)):
            return _BAD
        if self.hi is not None and value > self.hi:
            return _BAD
        if self.cap is not None and value > self.cap:
            return _BAD
        return value

    def bad_example(self) -> Any:
        return (self.lo - 1.0) if self.lo is not None else float("nan")


def _is_control(char: str) -> bool:
    """Control, surrogate, line-separator and format characters (bidi overrides can make a
    name read as another), except the joiners some scripts need in words."""
    import unicodedata

    category = unicodedata.category(char)
    return category in ("Cc", "Cs", "Zl", "Zp") or (category == "Cf" and char not in "\u200c\u200d")


#: The longest folder name most file systems accept (bytes of UTF-8).
MAX_NAME_BYTES = 255


def folder_name_problem(value: str) -> str | None:
    """Why ``value`` cannot be one plain folder name, or None when it can.

    A study's name becomes ``<results_dir>/<name>``: a separator, ``..`` or an absolute path
    would put the study (and its clean-up) somewhere else; a leading dot hides it; control
    characters and NUL are refused by file systems or garble terminals. Unicode letters are fine.
    """
    if value in (".", ".."):
        return f"{value!r} is not a folder of its own"
    if "/" in value or "\\" in value:
        return "it holds a path separator"
    if ".." in value:
        return "it holds '..'"
    if value.startswith("."):
        return "it starts with '.' (a hidden folder)"
    if value.startswith("-"):
        return "it starts with '-' (shell commands such as ls, cd or rm read it as an option)"
    if value.startswith("~"):
        return ("it starts with '~' (a shell reads ~ as your home folder, ~name as user "
                "name's: `rm -r ~` would remove that, not the study)")
    if value != value.strip():
        return "it starts or ends with a space"
    if any(_is_control(c) for c in value):
        return "it holds a control character"
    if len(value.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"it is longer than {MAX_NAME_BYTES} bytes"
    return None


@dataclass(frozen=True)
class Text(Check):
    """A non-empty string (never holding NUL); one plain folder name when ``name_like``
    (:func:`folder_name_problem`)."""

    name_like: bool = False

    def describe(self) -> str:
        if self.name_like:
            return ("one plain folder name (no '/' or '\\', no '..', not starting with '.' or "
                    f"'-' or '~', no control characters, at most {MAX_NAME_BYTES} bytes of UTF-8)")
        return "a non-empty string"

    def clean(self, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip() or "\0" in value:
            return _BAD
        if self.name_like and folder_name_problem(value) is not None:
            return _BAD
        return value

    def bad_example(self) -> Any:
        return "../elsewhere" if self.name_like else ""


@dataclass(frozen=True)
class Choice(Check):
    options: tuple[str, ...]

    def describe(self) -> str:
        return "one of " + ", ".join(self.options)

    def clean(self, value: Any) -> Any:
        # YAML 1.1 reads a bare off/on/no/yes as a bool: `pack_graphs: off` means "off"
        if isinstance(value, bool):
            value = next((w for w in (("off", "no", "false") if not value else
                                      ("on", "yes", "true")) if w in self.options), value)
        return value if isinstance(value, str) and value in self.options else _BAD

    def bad_example(self) -> Any:
        return "nonsense"


@dataclass(frozen=True)
class SubsetOf(Check):
    """A non-empty list of distinct values from ``options`` (stored as a tuple)."""

    options: tuple[Any, ...]

    def describe(self) -> str:
        return "a non-empty list of " + ", ".join(str(o).lower() for o in self.options)

    def clean(self, value: Any) -> Any:
        if isinstance(value, (str, bool)):
            value = [value]
        if not isinstance(value, (list, tuple)) or not value:
            return _BAD
        if any(not any(v is o or (v == o and type(v) is type(o)) for o in self.options) for v in value):
            return _BAD
        if len(set(value)) != len(value):
            return _BAD
        return tuple(value)

    def bad_example(self) -> Any:
        return []


@dataclass(frozen=True)
class Range(Check):
    """A search range ``[low, high]`` with ``low <= high``; on a log scale both must be > 0,
    except, when ``allow_off``, ``[0, 0]`` (the term is switched off) and ``[0, x]`` (the
    search may switch it off, see ``jetstudy.study.space``)."""

    integer: bool = False
    lo: float | None = None
    hi: float | None = None
    log: bool = False
    allow_off: bool = False

    def describe(self) -> str:
        kind = "integers" if self.integer else "numbers"
        text = f"a range [low, high] of {kind} with low <= high"
        if self.lo is not None or self.hi is not None:
            text += f", each {_bounds(self.lo, self.hi, lo_open=self.log and self.lo <= 0)}"
        if self.allow_off:
            text += ", or [0, 0] to switch it off, or [0, x] to let the search switch it off"
        return text

    def clean(self, value: Any) -> Any:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            return _BAD
        check = _is_int if self.integer else _is_number
        if not all(check(v) for v in value):
            return _BAD
        low, high = value
        if self.allow_off and low == 0 and high == 0:
            return (type(low)(0), type(high)(0)) if self.integer else (0.0, 0.0)
        if self.allow_off and low == 0 and high > 0:  # off, or on (study.design.ON_RANGE)
            if self.hi is not None and high > self.hi:
                return _BAD
            return (0, int(high)) if self.integer else (0.0, float(high))
        if low > high:
            return _BAD
        for v in (low, high):
            if self.lo is not None and (v < self.lo or (self.log and v <= 0)):
                return _BAD
            if self.log and v <= 0:
                return _BAD
            if self.hi is not None and v > self.hi:
                return _BAD
        return (int(low), int(high)) if self.integer else (float(low) + 0.0, float(high) + 0.0)

    def bad_example(self) -> Any:
        return [2, 1]


@dataclass(frozen=True)
class Optional(Check):
    """``null`` (meaning: use the documented fallback) or a value accepted by ``inner``."""

    inner: Check

    def describe(self) -> str:
        return f"null or {self.inner.describe()}"

    def clean(self, value: Any) -> Any:
        return None if value is None else self.inner.clean(value)

    def bad_example(self) -> Any:
        return self.inner.bad_example()


@dataclass(frozen=True)
class Auto(Check):
    """``auto`` (jetstudy decides at the study's start, from the hardware) or a value accepted
    by ``inner``."""

    inner: Check

    def describe(self) -> str:
        return f"auto or {self.inner.describe()}"

    def clean(self, value: Any) -> Any:
        return "auto" if value == "auto" else self.inner.clean(value)

    def bad_example(self) -> Any:
        return self.inner.bad_example()


@dataclass(frozen=True)
class Points(Check):
    """A list of mappings from parameter names (matching ``name_pattern``) to plain values."""

    names: tuple[str, ...]

    def describe(self) -> str:
        numbered = [n for n in self.names if re.fullmatch(r"width_\d+", n)]
        names = [n for n in self.names if n not in numbered[1:-1]]
        shown = ", ".join(names).replace(f"{numbered[0]}, {numbered[-1]}",
                                         f"{numbered[0]}..{numbered[-1]}") if len(
            numbered) > 2 else ", ".join(self.names)
        return f"a list of mappings of {shown} to numbers, strings or true/false"


    def clean(self, value: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            return _BAD
        points = []
        for point in value:
            if not isinstance(point, dict) or not point or not set(point) <= set(self.names):
                return _BAD
            if not all(isinstance(v, (int, float, str, bool)) and
                       (not isinstance(v, float) or math.isfinite(v)) for v in point.values()):
                return _BAD
            points.append({k: v + 0.0 if isinstance(v, float) else v  # -0.0 is 0.0
                           for k, v in point.items()})
        return tuple(points)

    def bad_example(self) -> Any:
        return [{"depht": 3}]

    def problem(self, value: Any) -> str:
        """" (entry [0] ...)": which entry is wrong and how, for the error message."""
        import difflib

        if not isinstance(value, (list, tuple)):
            return " (a list of mappings: write [{...}], even for one point)"
        for i, point in enumerate(value):
            if not isinstance(point, dict):
                return f" (entry [{i}] is not a mapping of field: value)"
            if not point:
                return f" (entry [{i}] is empty: give its fields, e.g. depth: 3)"
            for key, item in point.items():
                if key not in self.names:
                    close = difflib.get_close_matches(str(key), self.names, n=1)
                    glued = (" (YAML needs a space after ':' inside {...})"
                             if ":" in str(key) and item is None else "")
                    mean = f"; did you mean {close[0]}?" if close and not glued else ""
                    if not isinstance(key, str):  # 1:, yes:, ~:, 2024-01-01: read by YAML
                        from jetstudy.study.name_hints import key_hint

                        mean = key_hint(key).replace(" (", "; ", 1).rstrip(")")
                    return (f" (entry [{i}] has the unknown key {_written(key)}{glued}"
                            f"{mean})")
                if not isinstance(item, (int, float, str, bool)) or (
                        isinstance(item, float) and not math.isfinite(item)):
                    return (f" (entry [{i}]: {key} is {_written(item)}; each value is one "
                            f"finite number, a string or true/false)")
        return ""


BAD = _BAD


#: Characters of a value an error message shows (a pasted file must not flood the terminal).
SHOWN = 120


def shorten(text: str) -> str:
    """``text``, or its start and its length when longer than :data:`SHOWN`."""
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}... ({len(text)} characters)"


def small(value: Any, budget: int = 200) -> bool:
    """Whether ``value`` holds at most ``budget`` items, lists and mappings counted through (a
    YAML alias bomb is a few lines that stand for billions of items)."""
    stack, seen = [value], 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > budget:
            return False
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return True


def _written(value: Any) -> str:
    """A YAML value as written, not as Python shows it: true, null, 2024-01-01, .nan."""
    import datetime

    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else ".inf" if value > 0 else "-.inf"
    return repr(value)
