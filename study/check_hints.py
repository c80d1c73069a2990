"""Hints for a refused config value: what the user probably meant (a list where one path
goes, a float where a whole number goes, quoted text where a number goes, a YAML 1.1 boolean
where a word goes, a choice listed twice, a choice in capitals), appended to the message
:mod:`jetstudy.study.config` builds from a :class:`~jetstudy.study.checks.Check`."""

from __future__ import annotations

import math
from typing import Any

from jetstudy.study.checks import BAD as _BAD
from jetstudy.study.checks import Auto, Check, Choice, Float, Int, Optional, Points, Range, \
    SubsetOf, Text

__all__ = ["value_hint"]


def value_hint(where: str, check: Check, value: Any) -> str:
    """What the user probably meant, for the common shapes of a wrong value: a list where one
    path goes, one number where a range goes, a float where a whole number goes."""
    if where == "data.path" and isinstance(value, (list, tuple)) and len(value) > 1:
        return (" (several files: put them in one folder and give the folder, or match them "
                "with a glob such as 'data/*.h5')")
    if isinstance(check, Range) and isinstance(value, (int, float)) \
            and not isinstance(value, bool):
        return f" (one fixed value is a range of one: [{value}, {value}])"
    if isinstance(check, Range) and isinstance(value, (list, tuple)) and len(value) != 2:
        return (f" ({len(value)} values: a range is two, its lowest and highest value; the "
                "search picks values between them, a grid scan spaces search.grid_levels of them)")
    inner = check.inner if isinstance(check, (Optional, Auto)) else check
    items = value if isinstance(value, (list, tuple)) else [value]
    if isinstance(inner, SubsetOf) and True in inner.options and any(
            type(v) is int and v in (0, 1) for v in items):
        return " (true/false are words here: write [true] or [false, true], not 1 or 0)"
    if isinstance(inner, (Int, Float, Choice, Text)) and isinstance(value, (list, tuple)) \
            and len(value) == 1 and inner.clean(value[0]) is not _BAD:
        return f" (one value, not a list: write {value[0]!r} without the brackets)"
    if isinstance(inner, Points):
        return inner.problem(value)
    if isinstance(inner, Choice) and isinstance(value, bool):
        return (" (YAML reads yes/no/on/off as true/false: none of these is a choice here; "
                "write one of the choices, quoted if it is such a word)")
    cap = getattr(inner, "cap", None)
    if cap is not None and isinstance(value, (int, float)) and not isinstance(value, bool) \
            and value > cap:
        shown = str(cap) if isinstance(cap, int) else f"{cap:g}"
        return f" (more than {shown}, the most jetstudy takes here: a typo?)"
    return _whole_number_hint(check, value) or _odd_items_hint(inner, items)


def _odd_items_hint(check: Check, items: list[Any]) -> str:
    """A number written as quoted text ('64', shown quoted: YAML dumps '1e-3' bare), a YAML
    yes/no/on/off where a number goes, a choice listed twice: say which."""
    def numeric(v: Any) -> bool:
        try:
            return isinstance(v, str) and math.isfinite(float(v.replace("_", "")))
        except ValueError:
            return False
    text = [v for v in items if numeric(v)]
    if isinstance(check, (Int, Float, Range)) and text:
        return (f" ({', '.join(repr(v) for v in text[:2])} is quoted text, not a number: "
                "write the number without quotes)")
    if isinstance(check, (Int, Float, Range)) and any(isinstance(v, bool) for v in items):
        return " (YAML reads yes/no/on/off as true/false: write a number)"
    first = items[0] if items else None
    if isinstance(check, Text) and isinstance(first, bool):
        return " (YAML reads yes/no/on/off as true/false: quote the word, e.g. 'no')"
    if isinstance(check, Text) and isinstance(first, dict) and len(first) == 1:
        return (" (YAML reads 'text: more' as a mapping: quote the whole value, e.g. "
                "'data/run: 1.h5')")
    if isinstance(check, Text) and isinstance(first, (int, float)):
        return f" (read as the number {first!r}: quote it to keep it as written)"
    if isinstance(check, Choice) and isinstance(first, str) \
            and items[0].strip().lower() in check.options:
        return f" (choices are lower case: write {items[0].strip().lower()!r})"
    if isinstance(check, SubsetOf) and True in check.options and any(
            isinstance(v, str) and v.strip().lower() in ("true", "false") for v in items):
        return " ('true'/'false' are quoted text here: write true or false without quotes)"
    twice = [v for i, v in enumerate(items) if v in items[:i] and type(v) in (str, bool)]
    if isinstance(check, SubsetOf) and twice:
        return f" ({str(twice[0]).lower()} is given twice: list each value once)"
    return ""


def _whole_number_hint(check: Check, value: Any) -> str:
    """YAML reads ``1e3`` and ``1000.0`` as floats; an integer field says how to write them."""
    items = value if isinstance(value, (list, tuple)) else [value]
    floats = [v for v in items if isinstance(v, float) and v.is_integer() and abs(v) < 2**63]
    if "integer" not in check.describe() or not floats:
        return ""
    return (f" (read as the float {floats[0]!r}: write whole numbers plainly, e.g. "
            f"{int(floats[0])}, not 1e3 or 1000.0)")
