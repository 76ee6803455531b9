"""YAML files with line numbers, ``extends:`` merging, and friendly validation errors.

Owns turning a file into plain Python data plus a map from dotted path to (file, line), and
turning pydantic errors into :class:`ScenarioError`. Knows nothing of what the keys mean.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from sim.scenario.confine import ConfinementError, data_roots, excerpt, read_text
from sim.scenario.errors import ErrorItem, ScenarioError, unprintable

__all__ = [
    "MAX_DEPTH",
    "MAX_EXTENDS",
    "MAX_VALUES",
    "MAX_YAML_BYTES",
    "ErrorItem",
    "ScenarioError",
    "SourceMap",
    "check_printable",
    "dotted",
    "load_yaml",
    "validation_error",
]

Loc = tuple[str | int, ...]

MAX_VALUES = 200_000
"""Values (mappings, lists and scalars) one YAML file may hold once its aliases are expanded."""

MAX_DEPTH = 40
"""Deepest nesting of mappings and lists in an input file."""

MAX_EXTENDS = 16
"""Longest ``extends:`` chain (a file, its parent, its parent's parent, ...)."""

MAX_YAML_BYTES = 4 * 1024 * 1024
"""Largest YAML input (scenario, experiment, templates): far above any real one."""

PATH_KEY = "file"
"""The key whose text value names a file (``arrivals.file``, an empirical distribution's
``file``; at the top of an experiment file also ``scenario``, :data:`TOP_PATH_KEY`): relative to
the file that writes it, so through ``extends:`` a base's paths are rebased onto the file that
extends it (:func:`_rebase`)."""
TOP_PATH_KEY = "scenario"


def dotted(loc: Loc) -> str:
    """``('agents', 'groups', 'general', 'skills', 2)`` -> ``agents.groups.general.skills[2]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class SourceMap:
    """Where each dotted path of the merged data was written: (file, line)."""

    default_file: str
    lines: dict[Loc, tuple[str, int]] = field(default_factory=dict)

    def where(self, loc: Loc) -> tuple[str, int | None]:
        """The closest written location at or above ``loc``."""
        loc = tuple(loc)
        while True:
            if loc in self.lines:
                return self.lines[loc]
            if not loc:
                return self.default_file, None
            loc = loc[:-1]

    def error(self, loc: Loc, message: str, suggestion: str | None = None) -> ErrorItem:
        file, line = self.where(loc)
        return ErrorItem(file, line, dotted(loc), message, suggestion)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")  # round-trip keeps line numbers; YAML 1.2 keeps `no` and 08:30 strings
    yaml.allow_duplicate_keys = False
    return yaml


def _check_graph(root: Any, file: str) -> None:
    """Refuse a composed YAML node graph that expands to more than :data:`MAX_VALUES` values or
    nests deeper than :data:`MAX_DEPTH`, counting each alias as the whole node it names (linear
    in the file: each node's expanded size is computed once)."""
    sizes: dict[int, int] = {}

    def refuse(node: Any, message: str) -> ScenarioError:
        mark = getattr(node, "start_mark", None)
        return ScenarioError([ErrorItem(file, mark.line + 1 if mark else 1, "", message)])

    def size(node: Any, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise refuse(node, f"nested more than {MAX_DEPTH} levels deep")
        if sizes.get(id(node)) == -1:
            raise refuse(node, "an alias refers to the node that holds it")
        if id(node) not in sizes:
            sizes[id(node)] = -1
            total = 1
            for item in node.value if isinstance(node.value, list) else ():
                parts = item if isinstance(item, tuple) else (item,)  # (key, value) in mappings
                total += sum(size(part, depth + 1) for part in parts)
                if total > MAX_VALUES:
                    raise refuse(
                        node,
                        f"holds more than {MAX_VALUES:,} values once its aliases (*name) are "
                        "expanded; a scenario needs far fewer",
                    )
            sizes[id(node)] = total
        return sizes[id(node)]

    if root is not None:
        size(root, 0)


def _key_line(node: Any, key: Any, index: bool = False) -> int | None:
    try:
        return (node.lc.item(key) if index else node.lc.key(key))[0] + 1
    except (KeyError, TypeError, AttributeError, IndexError):
        return None


def _plain(node: Any, loc: Loc, lines: dict[Loc, tuple[str, int]], file: str) -> Any:
    """Convert ruamel nodes to plain dict/list/scalars, recording each path's line (1-based)."""
    if isinstance(node, CommentedMap | CommentedSeq):
        is_map = isinstance(node, CommentedMap)
        items = node.items() if isinstance(node, CommentedMap) else enumerate(node)
        out: Any = {} if is_map else []
        for key, value in items:
            item_loc = (*loc, str(key) if is_map else key)
            line = _key_line(node, key, index=not is_map)
            if line is not None:
                lines[item_loc] = (file, line)
            if is_map:
                out[str(key)] = _plain(value, item_loc, lines, file)
            else:
                out.append(_plain(value, item_loc, lines, file))
        return out
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    text = str(node)  # dates and other YAML types: let the schema reject or parse the text
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        message = "text holds a lone surrogate (an invalid \\u escape)"
        raise ScenarioError([SourceMap(file, lines).error(loc, message)])
    return text


def _read_one(path: Path) -> tuple[Any, dict[Loc, tuple[str, int]]]:
    name = str(path)
    try:
        text = read_text(path, "file", limit=MAX_YAML_BYTES)
    except FileNotFoundError:
        raise ScenarioError([ErrorItem(name, None, "", "file not found")]) from None
    except ConfinementError as exc:
        raise ScenarioError([ErrorItem(name, None, "", str(exc))]) from None
    try:
        _check_graph(_yaml().compose(text), name)  # before ruamel builds (and reprs) values
        node = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ScenarioError([ErrorItem(name, line, "", f"invalid YAML: {problem}")]) from None
    except ScenarioError:
        raise
    except RecursionError:
        raise ScenarioError(
            [ErrorItem(name, 1, "", f"nested too deeply (at most {MAX_DEPTH} levels)")]
        ) from None
    except Exception as exc:  # ruamel raises assertion and value errors on odd directives
        message = f"invalid YAML: {excerpt(exc, 200)}"
        raise ScenarioError([ErrorItem(name, 1, "", message)]) from None
    lines: dict[Loc, tuple[str, int]] = {(): (name, 1)}  # the top mapping: its file's line 1
    return _plain(node, (), lines, name), lines


_CLOCK_KEY = re.compile(r"^\s*[0-9]{1,2}:[0-9]{2}\s*$")


def is_time_map(value: Any) -> bool:
    """A mapping keyed by clock times (``{"00:00": 6, "09:00": 30}``): staffing, an intraday
    profile. Like a list, it is one value: merging two entry by entry would mix two plans."""
    return (
        isinstance(value, dict)
        and bool(value)
        and all(isinstance(k, str) and _CLOCK_KEY.match(k) for k in value)
    )


def _merge(base: Any, top: Any) -> Any:
    """Deep merge: mappings merge key by key; lists, time maps and scalars from ``top``
    replace."""
    if isinstance(base, dict) and isinstance(top, dict) and not is_time_map(top):
        out = dict(base)
        for key, value in top.items():
            out[key] = _merge(base[key], value) if key in base else value
        return out
    return top


def load_yaml(path: str | Path, _seen: tuple[Path, ...] = ()) -> tuple[dict, SourceMap]:
    """Read a YAML mapping, resolving ``extends:`` (relative to the file) by deep merge; the
    paths a base names stay relative to the base (:func:`_rebase`).

    Every file read must lie under the data roots (:mod:`sim.scenario.confine`); the first
    file read sets them to its own folder (plus any ``--data-root``).
    """
    path = Path(path)
    with data_roots(path.parent):
        return _load_yaml(path, _seen)


def check_printable(data: Any, smap: SourceMap, limit: int = 20) -> None:
    """Every key and text of ``data`` printable (:func:`unprintable`): names reach terminals,
    reports and spreadsheets, where ESC sequences (an OSC 8 link, clear-screen) or U+202E
    would act. Raises :class:`ScenarioError` naming each (file, line, key)."""
    found: list[ErrorItem] = []

    def visit(value: Any, loc: Loc, what: str = "text") -> None:
        if len(found) >= limit:
            return
        if isinstance(value, str):
            ch = unprintable(value)
            if ch is not None:
                message = (
                    f"{what} holding the control character U+{ord(ch):04X}; names and texts "
                    "are printable (no escape sequences, no bidi controls)"
                )
                found.append(smap.error(loc, message))
        elif isinstance(value, dict):
            for key, item in value.items():
                visit(key, (*loc, key), "a name (key)")
                visit(item, (*loc, key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                visit(item, (*loc, i))

    visit(data, ())
    if found:
        raise ScenarioError(found)


def _load_yaml(path: Path, seen: tuple[Path, ...]) -> tuple[dict, SourceMap]:
    data, lines = _read_one(path)
    smap = SourceMap(str(path), lines)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError([smap.error((), "the file must hold a mapping of keys to values")])
    check_printable(data, smap)
    parent = data.pop("extends", None)
    if parent is None:
        return data, smap
    if not isinstance(parent, str) or not parent.strip() or "\x00" in parent:
        raise ScenarioError([smap.error(("extends",), "must be a file name (a string)")])
    parent_path = Path(os.path.realpath(path.parent / parent))
    if parent_path in seen or parent_path == Path(os.path.realpath(path)):
        message = f"extends itself in a cycle: {excerpt(parent)}"
        raise ScenarioError([smap.error(("extends",), message)])
    if len(seen) + 1 >= MAX_EXTENDS:
        message = f"the extends chain is longer than {MAX_EXTENDS} files"
        raise ScenarioError([smap.error(("extends",), message)])
    try:
        base, base_map = _load_yaml(parent_path, (*seen, Path(os.path.realpath(path))))
    except ScenarioError as exc:  # the parent cannot be read at all: blame the extends line
        if len(exc.items) == 1 and exc.items[0].file == str(parent_path) and not exc.items[0].line:
            message = f"{excerpt(parent)}: {exc.items[0].message}"
            raise ScenarioError([smap.error(("extends",), message)]) from None
        raise
    merged_lines = dict(base_map.lines)
    merged_lines.update(lines)  # the child's lines win where both wrote a key
    prefix = os.path.relpath(parent_path.parent, os.path.realpath(path.parent))
    rebased = _rebase(base, prefix, top=True)
    return _merge(rebased, data), SourceMap(str(path), merged_lines)


def _rebase(data: Any, prefix: str, top: bool = False) -> Any:
    """``data`` with every relative :data:`PATH_KEY` path (and, ``top``, :data:`TOP_PATH_KEY`)
    prefixed by ``prefix`` (the base's folder seen from the extending file's, both real, so the
    join is exact): a path keeps naming the file next to the file that wrote it. Confinement is
    checked where the file is opened, on the path with symlinks resolved
    (:func:`sim.scenario.confine.read_text`)."""
    if prefix == os.curdir:
        return data
    if isinstance(data, list):
        return [_rebase(item, prefix) for item in data]
    if not isinstance(data, dict):
        return data
    out = {k: _rebase(value, prefix) for k, value in data.items()}
    for name in (PATH_KEY, TOP_PATH_KEY) if top else (PATH_KEY,):
        path = out.get(name)
        if isinstance(path, str) and path and "\x00" not in path and not os.path.isabs(path):
            out[name] = os.path.join(prefix, path)
    return out


# --- pydantic errors to ErrorItems -------------------------------------------------------------


def _strip(tp: Any) -> Any:
    """Remove Annotated / Optional wrappers to reach the type that owns the next key."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def _union_members(tp: Any) -> list[Any]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [_strip(a) for a in typing.get_args(tp) if a is not type(None)]
    return [tp]


def _walk(model: Any, loc: Loc) -> tuple[Any, Loc]:
    """Follow a pydantic error location through the schema types.

    Returns the type reached and the location with discriminated-union tags removed.
    """
    clean: list[str | int] = []
    tp, i = model, 0
    while i < len(loc):
        part = loc[i]
        tp = _strip(tp)
        members = _union_members(tp)
        if len(members) > 1:  # pydantic puts the tag, or the member's name, in the location
            tagged = [m for m in members if _is_model(m) and _tag(m) == part]
            tagged = tagged or [m for m in members if _label(m) == part]
            if tagged:
                tp, i = tagged[0], i + 1
                continue
            return None, (*clean, *loc[i:])
        origin = typing.get_origin(tp)
        if _is_model(tp) and isinstance(part, str) and _field(tp, part) is not None:
            tp = _field(tp, part).annotation
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        elif origin in (list, tuple) and isinstance(part, int):
            tp = typing.get_args(tp)[0]
        else:
            return None, (*clean, *loc[i:])
        clean.append(part)
        i += 1
    return _strip(tp), tuple(clean)


def _field(model: type[pydantic.BaseModel], key: str) -> Any:
    """The field a key names, by its alias (``break``) or its name."""
    for name, info in model.model_fields.items():
        if key in (info.alias, name):
            return info
    return None


def _label(tp: Any) -> str:
    """The name pydantic gives a union member in error locations (``Break``, ``list[Break]``)."""
    args = typing.get_args(tp)
    if args and typing.get_origin(tp) is not None:
        return f"{typing.get_origin(tp).__name__}[{', '.join(_label(a) for a in args)}]"
    return getattr(tp, "__name__", str(tp))


_SHAPE_ERRORS = ("model_type", "model_attributes_type", "dict_type", "list_type", "tuple_type")


def _union_noise(errors: list[ErrorDetails], root: type[pydantic.BaseModel]) -> set[int]:
    """Errors saying the input has not the shape of one member of a plain union (``Break |
    list[Break]``) while another member's errors say what is really wrong: dropped."""
    shape, where = {}, {}
    for n, err in enumerate(errors):
        loc = err["loc"]
        for cut in range(len(loc), 0, -1):  # the innermost union member named in the location
            members = _union_members(_walk(root, loc[: cut - 1])[0])
            if len(members) > 1 and any(_label(m) == loc[cut - 1] for m in members):
                where[n] = loc[: cut - 1]
                if err["type"] in _SHAPE_ERRORS and cut == len(loc):
                    shape[n] = loc[: cut - 1]
                break
    return {
        n
        for n, prefix in shape.items()
        if any(where.get(m) == prefix and m not in shape for m in range(len(errors)))
    }


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, pydantic.BaseModel)


def _tag(model: type[pydantic.BaseModel]) -> Any:
    """The tag of a discriminated-union member: its ``dist`` (distributions) or ``kind``."""
    fields = model.model_fields
    field_info = fields.get("dist") or fields.get("kind")
    args = typing.get_args(field_info.annotation) if field_info else ()
    return args[0] if args else None


def _allowed_keys(model: type[pydantic.BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def validation_error(
    exc: pydantic.ValidationError, smap: SourceMap, root: type[pydantic.BaseModel]
) -> ScenarioError:
    """Translate pydantic's errors into file/line/path messages with suggestions."""
    items = []
    errors = exc.errors(include_url=False)
    noise = _union_noise(errors, root)
    for n, err in enumerate(errors):
        if n in noise:
            continue
        owner, loc = _walk(root, err["loc"])
        message, suggestion = err["msg"], None
        if err["type"] == "extra_forbidden":
            parent, parent_loc = _walk(root, err["loc"][:-1])
            key = str(loc[-1]) if loc else ""
            if _is_model(parent):
                allowed = _allowed_keys(parent)
                message = f"unknown key '{key}'; allowed here: {', '.join(allowed)}"
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                suggestion = close[0] if close else None
            loc = (*parent_loc, key)
        elif err["type"] == "missing":
            message = "required key is missing"
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        elif err["type"] == "union_tag_invalid":
            ctx = err.get("ctx") or {}
            tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
            message = f"unknown kind '{ctx.get('tag')}'; allowed: {', '.join(tags)}"
            close = difflib.get_close_matches(str(ctx.get("tag")), tags, n=1, cutoff=0.6)
            suggestion = close[0] if close else None
            for key in ("dist", "kind"):
                if isinstance(err["input"], dict) and key in err["input"]:
                    loc = (*loc, key)
        if owner is None and err["type"] != "extra_forbidden":
            loc = tuple(p for p in loc if not (isinstance(p, str) and "[" in p))
        items.append(smap.error(loc, message, suggestion))
    return ScenarioError(items)
