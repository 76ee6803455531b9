"""YAML files with line numbers, ``extends:`` merging, and friendly validation errors.

Owns turning a file into plain Python data plus a map from dotted path to (file, line), and
turning pydantic errors into :class:`ScenarioError`. Knows nothing of what the keys mean.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from sim.scenario.errors import ErrorItem, ScenarioError

__all__ = [
    "ErrorItem",
    "ScenarioError",
    "SourceMap",
    "dotted",
    "load_yaml",
    "validation_error",
]

Loc = tuple[str | int, ...]


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


def _plain(node: Any, file: str, loc: Loc, lines: dict[Loc, tuple[str, int]]) -> Any:
    """Convert ruamel nodes to plain dict/list/scalars, recording each path's line (1-based)."""
    if isinstance(node, CommentedMap):
        out = {}
        for key, value in node.items():
            key_loc = (*loc, str(key))
            try:
                lines[key_loc] = (file, node.lc.key(key)[0] + 1)
            except (KeyError, TypeError, AttributeError):
                pass
            out[str(key)] = _plain(value, file, key_loc, lines)
        return out
    if isinstance(node, CommentedSeq):
        out_list = []
        for i, value in enumerate(node):
            item_loc = (*loc, i)
            try:
                lines[item_loc] = (file, node.lc.item(i)[0] + 1)
            except (KeyError, TypeError, AttributeError, IndexError):
                pass
            out_list.append(_plain(value, file, item_loc, lines))
        return out_list
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return str(node)  # dates and other YAML types: let the schema reject or parse the text


def _read_one(path: Path) -> tuple[Any, dict[Loc, tuple[str, int]]]:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([ErrorItem(name, None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([ErrorItem(name, None, "", f"cannot read file: {exc}")]) from None
    try:
        node = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ScenarioError([ErrorItem(name, line, "", f"invalid YAML: {problem}")]) from None
    except (YAMLError, ValueError, TypeError, RecursionError) as exc:
        raise ScenarioError([ErrorItem(name, None, "", f"invalid YAML: {exc}")]) from None
    lines: dict[Loc, tuple[str, int]] = {}
    return _plain(node, name, (), lines), lines


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
    """Read a YAML mapping, resolving ``extends:`` (relative to the file) by deep merge."""
    path = Path(path)
    data, lines = _read_one(path)
    smap = SourceMap(str(path), lines)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError([smap.error((), "the file must hold a mapping of keys to values")])
    parent = data.pop("extends", None)
    if parent is None:
        return data, smap
    if not isinstance(parent, str):
        raise ScenarioError([smap.error(("extends",), "must be a file name (a string)")])
    parent_path = (path.parent / parent).resolve()
    if parent_path in _seen or parent_path == path.resolve():
        raise ScenarioError([smap.error(("extends",), f"extends itself in a cycle: {parent}")])
    base, base_map = load_yaml(parent_path, (*_seen, path.resolve()))
    merged_lines = dict(base_map.lines)
    merged_lines.update(lines)  # the child's lines win where both wrote a key
    return _merge(base, data), SourceMap(str(path), merged_lines)


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
    tp, clean, i = model, [], 0
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


def _union_noise(errors: list[dict], root: type[pydantic.BaseModel]) -> set[int]:
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
