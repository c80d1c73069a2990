"""Hints for a refused config value: what the user probably meant (a list where one path
goes, a float where a whole number goes, quoted text where a number goes, a YAML 1.1 boolean
where a word goes, a choice listed twice, a choice in capitals), appended to the message
:mod:`jetstudy.study.config` builds from a :class:`~jetstudy.study.checks.Check`. The hints
for a misspelt name (field, section, choice, command-line option) are
:mod:`jetstudy.study.name_hints`', re-exported here."""

from __future__ import annotations

import datetime
import math
import re
from typing import Any

import yaml

from jetstudy.study.checks import BAD as _BAD
from jetstudy.study.checks import Auto, Check, Choice, Float, Int, Optional, Points, Range, \
    SubsetOf, Text, shorten, small
# the hints for names (a misspelt field, choice or option) live in name_hints; re-exported
from jetstudy.study.name_hints import (did_you_mean, key_hint, near_choice, near_field,
                                       option_choice_hint, unknown_arguments_hint)

__all__ = ["value_hint", "unit_number", "point_choice_hint", "option_choice_hint",
           "unknown_arguments_hint", "yaml_text", "did_you_mean", "near_field", "key_hint"]


def value_hint(where: str, check: Check, value: Any) -> str:
    """What the user probably meant, for the common shapes of a wrong value: a list where one
    path goes, one number where a range goes, a float where a whole number goes."""
    if isinstance(check, Optional) and isinstance(value, str) and value.strip() in (
            "None", "none", "NONE", "nil", "Nil"):  # Python's or Ruby's word for no value
        return f" ({value.strip()} is text in YAML, which writes no value as null: write null)"
    if where == "data.path" and isinstance(value, (list, tuple)) and len(value) > 1:
        return (" (several files: put them in one folder and give the folder, or match them "
                "with a glob such as 'data/*.h5')")
    if isinstance(check, Range) and isinstance(value, (int, float)) \
            and not isinstance(value, bool):
        if check.clean([value, value]) is not _BAD:
            return f" (one fixed value is a range of one: [{value}, {value}])"
        # [0, 0] for a learning rate, [nan, nan]: the range of one is refused as well
        what = ("NaN, not a number" if math.isnan(value) else "infinite (or too large for a "
                "float, e.g. 1e400)" if math.isinf(value) else "outside the field's bounds "
                "even as a range of one")
        return f" (one value, and {what}: write [low, high] of finite numbers within the bounds)"
    if isinstance(check, Range):
        meant = _range_hint(value)
        if meant:
            return meant
    if isinstance(check, Range) and isinstance(value, (list, tuple)) and len(value) == 2 \
            and check.clean([value[1], value[0]]) is not _BAD and value[0] != value[1]:
        return (f" (low above high: write [{value[1]}, {value[0]}], lowest first)")
    if isinstance(check, Range) and isinstance(value, (list, tuple)) and len(value) != 2:
        return (f" ({len(value)} values: a range is two, its lowest and highest value; the "
                "search picks values between them, a grid scan spaces search.grid_levels of them)")
    inner = check.inner if isinstance(check, (Optional, Auto)) else check
    items = value if isinstance(value, (list, tuple)) else [value]
    if where == "regimes.reference_loss" and isinstance(value, (int, float)) \
            and not isinstance(value, bool) and value > 1:
        return (" (ln 5 = 1.6094 nats is the loss of guessing among the 5 classes: an L* above "
                "it would call every trial good; give the Bayes-optimal or best-known loss, or "
                "null for the study's own)")
    if isinstance(check, Auto) and isinstance(value, str) and value.strip().lower() == "auto":
        return " (did you mean 'auto'? It is written in lower case)"
    if isinstance(inner, (Int, Float)) and isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return " (NaN is not a number: write a number)"
        return (" (infinite: write null for no limit)" if isinstance(check, Optional) else
                " (infinite, or too large for a float, e.g. 1e400: write a finite number)")
    meant = _unit_hint(where, inner, value) or _percent_hint(inner, value)
    if meant:
        return meant
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
    if isinstance(inner, SubsetOf) and True not in inner.options and any(
            isinstance(v, bool) for v in items):  # [relu, no]: the list shows false
        return (" (YAML reads yes/no/on/off as true/false, and no entry here is true or "
                "false: write the choices meant, quoted if one is such a word)")
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
    blank = next((hint for v in items if (hint := _blank_hint(v))), "")
    if isinstance(check, (Int, Float, Range)) and blank:
        return blank
    written = next((v for v in items if isinstance(v, str) and _yaml_text_number(v)), None)
    if isinstance(check, (Int, Float, Range)) and written is not None:
        return _yaml_text_number(written)
    foreign = next((v for v in items if numeric(v) and not v.isascii()), None)
    if isinstance(check, (Int, Float, Range)) and foreign is not None:
        # Python reads '５' or '٣' as 5 and 3; YAML, and every other reader, as text
        ascii_form = "".join(str(int(c)) if c.isdigit() else c for c in foreign.strip())
        return (f" ({foreign!r} is written with digits of another script (full-width or "
                f"Arabic-Indic, from a keyboard layout or a copied text), which YAML reads as "
                f"text: write {ascii_form} in ASCII digits)")
    text = [v for v in items if numeric(v)]
    if isinstance(check, (Int, Float, Range)) and text:
        return (f" ({', '.join(repr(v) for v in text[:2])} is quoted text, not a number: "
                "write the number without quotes)")
    if isinstance(check, (Int, Float, Range)) and any(isinstance(v, bool) for v in items):
        return " (YAML reads yes/no/on/off as true/false: write a number)"
    date = next((v for v in items if isinstance(v, datetime.date)), None)
    if isinstance(check, (Int, Float, Range)) and date is not None:
        return f" (YAML reads {date.isoformat()} as a date: write a number)"
    ratio = next((v for v in items if isinstance(v, str) and re.fullmatch(
        r"\s*\d+(?:\.\d*)?\s*/\s*\d*[1-9]\d*(?:\.\d*)?\s*", v)), None)
    if isinstance(check, Float) and ratio is not None:
        top, bottom = (float(p) for p in ratio.split("/"))
        if check.clean(top / bottom) is not _BAD:
            return f" ({ratio.strip()!r} is text in YAML, not a division: write {top / bottom:g})"
    first = items[0] if items else None
    if isinstance(check, Text) and isinstance(items, (list, tuple)) and len(items) > 1:
        return (f" (a list of {len(items)} values: this field takes one; quote the whole "
                "value if its brackets or commas are part of it)")
    if isinstance(check, Text) and isinstance(first, bool):
        return " (YAML reads yes/no/on/off as true/false: quote the word, e.g. 'no')"
    if isinstance(check, Text) and isinstance(first, dict) and len(first) == 1:
        return (" (YAML reads 'text: more' as a mapping: quote the whole value, e.g. "
                "'data/run: 1.h5')")
    if isinstance(check, Text) and isinstance(first, datetime.date):
        return (f" (YAML reads {first.isoformat(sep=' ') if isinstance(first, datetime.datetime) else first.isoformat()} "
                f"as a date: quote it to keep it as text, e.g. '{first}')")
    if isinstance(check, Text) and isinstance(first, (int, float)):
        return f" (read as the number {first!r}: quote it to keep it as written)"
    curly = "\u2018\u2019\u201a\u201c\u201d\u201e\u00ab\u00bb"
    quoted = next((v for v in items if isinstance(v, str) and len(v.strip()) > 1
                   and v.strip()[0] in curly and v.strip()[-1] in curly), None)
    if isinstance(check, (Choice, SubsetOf)) and quoted is not None:
        return (f" ({quoted.strip()!r} is wrapped in typographic quotes, which YAML keeps as "
                f"part of the text: write {quoted.strip()[1:-1]} with straight quotes or none)")
    if isinstance(check, Choice) and isinstance(first, str) \
            and items[0].strip().lower() in check.options:
        return f" (choices are lower case: write {items[0].strip().lower()!r})"
    if isinstance(check, SubsetOf) and True in check.options and any(
            isinstance(v, str) and v.strip().lower() in ("true", "false") for v in items):
        return " ('true'/'false' are quoted text here: write true or false without quotes)"
    twice = [v for i, v in enumerate(items) if v in items[:i] and type(v) in (str, bool)]
    if isinstance(check, SubsetOf) and twice:
        return f" ({str(twice[0]).lower()} is given twice: list each value once)"
    if isinstance(check, SubsetOf) and isinstance(first, str) and "," in first:
        parts = [p.strip() for p in first.split(",") if p.strip()]
        return (f" (one string holding commas: a list is written in brackets, "
                f"[{', '.join(parts)}])")
    if isinstance(check, (Choice, SubsetOf)):
        odd = next((v for v in items if isinstance(v, str) and v not in check.options), None)
        close = near_choice(odd, [o for o in check.options if isinstance(o, str)])
        if close:
            return f" (did you mean {close!r}?)"
    return ""


def point_choice_hint(key: str, value: Any, options: tuple[Any, ...],
                      known: tuple[str, ...] = ()) -> str:
    """What a ``search.initial_points`` entry's ``activation`` or ``batch_norm`` meant, in the
    words the space's own fields get (``ReLU``, ``'relu '``, ``Tanh``: did you mean 'relu'?;
    ``'true'`` or 1 for a batch norm: write true): its choices are ``options`` (the space's),
    then ``known`` (every choice jetstudy has: one to add to the space)."""
    if key == "batch_norm":
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no",
                                                                "on", "off"):
            word = str(value.strip().lower() in ("true", "yes", "on")).lower()
            return f" ({value!r} is quoted text: write {word} without quotes)"
        if type(value) is int and value in (0, 1):
            return f" (true/false are words here: write {str(bool(value)).lower()}, not {value})"
        return ""
    if not isinstance(value, str):
        return ""
    words = [o for o in options if isinstance(o, str)]
    close = near_choice(value, words)
    if close:
        return f" (did you mean {close!r}?)"
    close = near_choice(value, [o for o in known if o not in words])
    return (f" (did you mean {close!r}? It is not in the space yet: add it to "
            f"space.activations)" if close else "")


def _blank_hint(value: Any) -> str:
    """A number with a tab, a no-break space or an invisible character (a zero-width space, a
    byte-order mark) before or after it: YAML keeps such a character as part of the value
    (it trims only plain spaces), so the number is text. Name the character; "" otherwise."""
    import unicodedata

    if not isinstance(value, str):
        return ""
    odd = [c for c in (value[:1], value[-1:]) if c and c != " " and (
        c.isspace() or unicodedata.category(c) == "Cf")]
    bare = value.strip(" " + "".join(odd))
    try:
        float(bare.replace("_", ""))
    except ValueError:
        return ""
    if not odd or not bare.isascii():
        return ""
    char = odd[0]
    name = {"\t": "a tab", "\u00a0": "a no-break space"}.get(
        char, f"{unicodedata.name(char, 'an invisible character').lower()} "
              f"(U+{ord(char):04X})")
    place = "starts" if value[:1] == char else "ends"
    return (f" ({value!r} {place} with {name}, which YAML keeps as part of the value, so it "
            f"reads as text, not a number (pasted from a table or a document?): write {bare}")


def _yaml_text_number(value: str) -> str:
    """Why YAML 1.1 kept an unquoted number-like word as text: a leading 0 before an 8 or 9
    (``08``: not octal, so not a number), ``0o17``/``0B101``/``0X1F`` (spellings YAML 1.1
    does not read as numbers; config_file refuses the 0x and 0b it does read), a
    thousands separator (``1,000``); "" for other text."""
    word = value.strip()
    if re.fullmatch(r"[-+]?0\d+", word) and not re.fullmatch(r"[-+]?0[0-7]+", word):
        plain = word.lstrip("+-").lstrip("0") or "0"
        return (f" ({word} has a leading 0, which YAML 1.1 reads as octal, and {word} is no "
                f"octal number, so it is text: write {'-' if word.startswith('-') else ''}"
                f"{plain})")
    if re.fullmatch(r"0[oO][0-7]+|0[bB][01]+|0[xX][0-9a-fA-F]+", word):  # 0X1F: no 1.1 hex
        return (f" (YAML 1.1 reads {word} as text, not the number {int(word, 0)}: write "
                f"{int(word, 0)})")
    found = re.fullmatch(r"[-+]?\d{1,3}([,' \u00a0\u202f])\d{3}(\1\d{3})*(\.\d*)?", word)
    if found:  # 1,000 / 1 000 / 1'000 (Swiss) / a no-break space, as spreadsheets copy it
        mark = found.group(1)
        return (f" (a thousands separator ({mark!r}) makes it text: write "
                f"{word.replace(mark, '')})")
    return ""


#: What a unit multiplies a number by: seconds for durations, powers of ten for counts.
_SECONDS = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "m": 60, "min": 60,
            "mins": 60, "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hrs": 3600,
            "hour": 3600, "hours": 3600, "d": 86400, "day": 86400, "days": 86400}
_COUNTS = {"k": 10**3, "m": 10**6, "g": 10**9, "b": 10**9}
_WITH_UNIT = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z%]+)\s*")


def _unit_hint(where: str, check: Check, value: Any) -> str:
    """A number written with a unit ('10s', '2h', '100k', '25%', '1GB'): jetstudy takes bare
    numbers in the field's own unit; say which number that is."""
    if not isinstance(check, (Int, Float)) or not isinstance(value, str):
        return ""
    found = _WITH_UNIT.fullmatch(value)
    if not found:
        return ""
    number, unit = float(found.group(1)), found.group(2)
    if unit == "%":
        return f" (a number with a unit, '%': write the fraction {number / 100:g})"
    if where.endswith("_s") and unit.lower() in _SECONDS:
        seconds = number * _SECONDS[unit.lower()]
        return (f" (a number with a unit: write the bare number of seconds, "
                f"{seconds:.15g} for {value.strip()!r})")
    if unit.lower() in _COUNTS and isinstance(check, Int):
        return (f" (a number with a unit: write it out, {number * _COUNTS[unit.lower()]:.15g} "
                f"for {value.strip()!r})")
    return (f" (a number with a unit, {unit!r}: jetstudy takes the bare number; write it out "
            f"without the unit)")


def _percent_hint(check: Check, value: Any) -> str:
    """A percentage (20) where a fraction goes (a field of at most 1): say the fraction."""
    if not isinstance(check, Float) or check.hi is None or check.hi > 1:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 < value <= 100:
        return ""
    return f" (a percentage? this field is a fraction: write {value / 100:g})"


def _whole_number_hint(check: Check, value: Any) -> str:
    """YAML reads ``1e3`` and ``1000.0`` as floats; an integer field says how to write them."""
    items = value if isinstance(value, (list, tuple)) else [value]
    floats = [v for v in items if isinstance(v, float) and v.is_integer() and abs(v) < 2**63]
    if "integer" not in check.describe() or not floats:
        return ""
    whole = [int(v) if isinstance(v, float) and v in floats else v for v in items]
    if check.clean(whole if isinstance(value, (list, tuple)) else whole[0]) is _BAD:
        return ""  # -0.0 for num_trials: 0 is refused too, so the field's rule is the answer
    return (f" (read as the float {floats[0]!r}: write whole numbers plainly, e.g. "
            f"{int(floats[0])}, not 1e3 or 1000.0)")


_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE_TEXT = re.compile(rf"\s*[\[(]?\s*({_NUMBER})\s*(?:,|-|\.\.|:|to)\s*({_NUMBER})\s*[\])]?\s*")


def _range_hint(value: Any) -> str:
    """A range written as text ('1-6', '[1, 6]' quoted) or as a mapping ({min: 1, max: 6}):
    say the list it means."""
    pair: tuple[Any, Any] | None = None
    if isinstance(value, str) and _RANGE_TEXT.fullmatch(value):
        found = _RANGE_TEXT.fullmatch(value)
        pair = (found.group(1), found.group(2))
        shape = "text"
    elif isinstance(value, dict) and len(value) == 2:
        keys = {str(k).strip().lower(): v for k, v in value.items()}
        low = next((keys[k] for k in ("low", "min", "lo", "lower", "from") if k in keys), None)
        high = next((keys[k] for k in ("high", "max", "hi", "upper", "to") if k in keys), None)
        pair = (low, high) if low is not None and high is not None else None
        shape = "a mapping"
    if pair is None:
        return ""
    return (f" ({shape}: a range is a list of two values, lowest and highest, written "
            f"[{pair[0]}, {pair[1]}] without quotes)")


def unit_number(text: str) -> float | None:
    """The number ``text`` stands for when written with a count unit or in float form ('1e5',
    '100k', '2.0', '1.5M'), or None when it is no such number."""
    try:
        return float(text.replace("_", ""))
    except ValueError:
        pass
    found = _WITH_UNIT.fullmatch(text)
    if not found or found.group(2).lower() not in _COUNTS:
        return None
    return float(found.group(1)) * _COUNTS[found.group(2).lower()]


def yaml_text(value: Any) -> str:
    """A value as the user would write it in YAML (strings quoted)."""
    if isinstance(value, str):
        return shorten(repr(value))
    if isinstance(value, tuple):
        value = list(value)
    if not small(value):  # YAML aliases nest one list in another: its repr could be gigabytes
        import reprlib

        short = reprlib.Repr()
        short.maxlevel, short.maxlist, short.maxdict = 3, 4, 4
        return shorten(short.repr(value))
    # letters as written ('“relu”', not "\u201Crelu\u201D"); escapes kept for invisible
    # characters (a bidi override must not reorder the terminal's line)
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).strip()
    if not text.replace("\n", " ").isprintable():
        text = yaml.safe_dump(value, default_flow_style=True).strip()
    text = text.removesuffix("...").strip()
    return shorten(text if "\n" not in text else repr(value))  # one line: !!binary is not
