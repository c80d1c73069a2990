"""YAML as a physicist writes it: ``1e-4`` a number, ``1_000`` the thousand it reads as,
yes/no/on/off true/false where a field takes true/false; a key given twice, an octal-looking
``0042``, a hexadecimal ``0x10``, a binary ``0b101``, a base-60 ``1:30`` or a thousands
separator inside brackets refused, naming the field, not silently read as another number.
:func:`_yaml_load` is the one reader of config text (the file and each ``--set`` value);
:mod:`jetstudy.study.config_file` uses it."""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__: list[str] = []


class _YamlRefused(yaml.YAMLError):
    """YAML text jetstudy refuses with its own words, as it would read other than written: a
    key given twice in one mapping (YAML keeps the last silently, hiding the first), a number
    YAML 1.1 reads otherwise (:func:`_construct_int`), a thousands separator inside brackets,
    a number or a nesting too large to read."""


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads ``1e-4`` (no dot) as a string; physicists write rates that way. A key
    given twice in one mapping is refused: plain YAML keeps the last one without a word."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
                seen[key] = line
            except TypeError:  # an unhashable key: SafeLoader says so itself
                continue
            if first is not None:
                where = f"lines {first} and {line}" if first != line else f"line {line}"
                raise _YamlRefused(f"{key!r} is given twice ({where}), and YAML would "
                                    f"silently keep the last; keep one of them")
        return super().construct_mapping(node, deep=deep)


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    """YAML 1.1 reads ``010`` as octal 8 and ``1:30`` as 90 (base 60) without a word: a seed
    ``0042`` would be 34, a budget ``1:30`` 90 s. Refused, naming what YAML made of it."""
    digits = str(node.value).replace("_", "").lstrip("+-")
    try:
        value = loader.construct_yaml_int(node)
    except ValueError:  # Python reads at most 4300 digits: a paste gone wrong, not a setting
        raise _YamlRefused(
            f"{_place(loader, node)}{digits[:12]}... (line {node.start_mark.line + 1}) is a number of {len(digits)} "
            f"digits, longer than Python reads and than any setting takes (a paste gone "
            f"wrong?); write the value meant") from None
    base = digits[:2].lower()
    if ":" in digits or base in ("0x", "0b") or (
            len(digits) > 1 and digits[0] == "0" and digits[1:].isdigit()):
        why = ("base 60, the ':'" if ":" in digits else "hexadecimal, the 0x" if base == "0x"
               else "binary, the 0b" if base == "0b" else "octal, the leading 0")
        meant = (digits.lstrip("0") or "0") if why.startswith("octal") else value
        raise _YamlRefused(
            f"{_place(loader, node)}{node.value} (line {node.start_mark.line + 1}) reads in "
            f"YAML 1.1 as {value} ({why}); write the number plainly (e.g. {meant}), or quote "
            f"it if it is text")
    return value


def _place(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    """``"search.num_trials: "``: where in the config ``node`` stands, for a message; "" for
    a ``--set`` value as a whole (its item names the field) or a node not found."""
    where = getattr(loader, "places", {}).get(id(node))
    return f"{where}: " if where and where != getattr(loader, "root", "") else ""


def _scalar_places(root: yaml.Node, name: str = "") -> dict[int, str]:
    """Each value node's dotted place in the document (``search.num_trials``,
    ``space.depth[1]``), under ``name`` (a ``--set`` field's); a merge key (``<<: *base``)
    adds no part, an alias keeps its first."""
    places: dict[int, str] = {}
    stack: list[tuple[yaml.Node, str]] = [(root, name)]
    while stack:
        node, where = stack.pop()
        if id(node) in places:
            continue
        places[id(node)] = where
        children: list[tuple[yaml.Node, str]] = []
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                merge = key.tag == "tag:yaml.org,2002:merge"
                name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
                children.append((value, where if merge else f"{where}.{name}".lstrip(".")))
        elif isinstance(node, yaml.SequenceNode):
            children.extend((item, f"{where}[{i}]") for i, item in enumerate(node.value))
        stack.extend(reversed(children))  # in document order: an anchor before its aliases
    return places


def _construct_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    """YAML 1.1 reads ``1:30.5`` as 90.5 (base 60) as it does ``1:30``: refused likewise."""
    value = loader.construct_yaml_float(node)
    if ":" in str(node.value):
        raise _YamlRefused(
            f"{_place(loader, node)}{node.value} (line {node.start_mark.line + 1}) reads in "
            f"YAML 1.1 as {value:g} (base 60, the ':'); write the number plainly (e.g. "
            f"{value:g}), or quote it if it is text")
    return value


def _thousands_in_brackets(root: yaml.Node) -> None:
    """Inside ``[...]`` or ``{...}`` YAML's ',' separates entries, so a thousands separator
    splits a number: ``{num_trials: 1,000}`` reads as num_trials 1 and a key 000 (then "octal"
    or "not a field"), ``[8, 1,024]`` as three values. Refused, naming the number as written.
    A number followed, with no space, by a 3-digit group is taken for one when the group is a
    key of a mapping (a field name is never a number), starts with 0, or sits in a list whose
    other entries are separated by ', ' (``[8,256]`` alone stays a range)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen or isinstance(node, yaml.ScalarNode):
            continue
        seen.add(id(node))
        mapping = isinstance(node, yaml.MappingNode)
        items = [n for pair in node.value for n in pair] if mapping else list(node.value)
        stack.extend(items)
        if not node.flow_style:
            continue
        joined = [i for i in range(1, len(items)) if _glued(items[i - 1], items[i])]
        spaced = len(items) - 1 - len(joined) > 0
        for i in joined:
            group = items[i]
            if i - 1 in joined or not (
                    (mapping and i % 2 == 0) or group.value.startswith("0") or spaced):
                continue
            start, text = items[i - 1].start_mark, group.start_mark.buffer or ""
            whole = re.match(r"[-+]?\d{1,3}(?:,\d{3})+", text[start.index:])
            parts = (whole.group(0) if whole else f"{items[i - 1].value},{group.value}").split(",")
            read = (f"{parts[0]} and a key {parts[1]}" if mapping else
                    f"{len(parts)} entries ({', '.join(parts)})")
            raise _YamlRefused(
                f"{','.join(parts)} (line {group.start_mark.line + 1}) inside "
                f"{'{...}' if mapping else '[...]'} reads as {read}: there YAML's ',' "
                f"separates entries, so a thousands separator splits the number; write "
                f"{''.join(parts)}")


def _glued(before: yaml.Node, group: yaml.Node) -> bool:
    """``1,000``: a plain number, a comma, then (no space) a plain group of three digits."""
    return (isinstance(before, yaml.ScalarNode) and isinstance(group, yaml.ScalarNode)
            and before.style is None and group.style is None
            and re.fullmatch(r"[-+]?\d{1,3}", before.value) is not None
            and re.fullmatch(r"\d{3}", group.value) is not None
            and group.start_mark.index == before.end_mark.index + 1)


def _construct_document(loader: _Loader, node: yaml.Node) -> Any:
    _thousands_in_brackets(node)
    loader.places = _scalar_places(node, getattr(loader, "root", ""))  # type: ignore[attr-defined]
    return yaml.SafeLoader.construct_document(loader, node)


_Loader.construct_document = _construct_document  # type: ignore[method-assign]
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def _yaml_load(text: str, root: str = "") -> Any:
    """``text`` read as YAML by :class:`_Loader`; ``root``: the field a ``--set`` value is
    for, which messages name a list entry under (``space.depth[1]``)."""
    loader = _Loader(text)
    loader.root = root  # type: ignore[attr-defined]
    try:
        return loader.get_single_data()
    except RecursionError:  # PyYAML reads nesting by recursion: '[[[[...' a thousand deep
        raise _YamlRefused(
            "nests lists or mappings deeper than YAML can be read here (a thousand levels or "
            "more, e.g. '[[[[...'); a config is a few levels deep: check the brackets and "
            "the indentation") from None
    finally:
        loader.dispose()
