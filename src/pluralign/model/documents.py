"""Reading a YAML or JSON document into plain data and a line map, within limits.

One job: bytes or text in, ``(data, lines)`` out, or a :class:`DocumentError` whose
problems each carry a field path and a line. Market files and sweep configs both read
through here. What it guarantees, whatever the input:

* text: UTF-8 (a byte-order mark is skipped), or UTF-16/32 with a byte-order mark;
  invalid UTF-8, NUL characters and unpaired surrogates are refused with their line;
  an empty document is refused;
* structure: nesting deeper than ``max_depth`` is refused as soon as it is seen (no
  recursion anywhere: YAML is built from parser events, JSON's depth is checked before
  ``json.loads``); a **duplicate key** is refused, naming the key and both lines;
* YAML aliases: a recursive alias (``loop: &r [*r]``) is refused; an alias shares the
  anchored value (never copied) and the count of values *after* expansion is kept, so
  an alias bomb is refused once it passes ``max_values``; merge keys (``<<``) and tags
  other than YAML's standard scalars are refused;
* numbers: an integer literal longer than ``max_int_chars`` becomes a
  :class:`~pluralign.model.messages.LongInteger` (reported by the validator at its field),
  never ``int()``-converted;
* lines: :class:`LineMap` records, per list or mapping, the line of each item or key,
  in one linear pass (an alias's contents are not walked again).
"""

from __future__ import annotations

import codecs
import json
import re
from array import array
from pathlib import Path
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode

from pluralign.model import limits
from pluralign.model.messages import LongInteger, escape, show

__all__ = ["DocumentError", "LineMap", "read_text", "decode", "parse"]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp", "binary")}
_SEQ_TAGS = {None, "!", _TAG + "seq"}
_MAP_TAGS = {None, "!", _TAG + "map"}
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
# What YAML's reader refuses: control characters other than tab and line breaks, and U+FFFE/U+FFFF.
_NOT_YAML = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class DocumentError(ValueError):
    """A document that cannot be read; ``problems`` are ``(path, message, line)`` tuples."""

    def __init__(self, problems: list[tuple[tuple, str, int | None]]):
        self.problems = problems
        path, message, line = problems[0]
        super().__init__(f"line {line}: {message}" if line else message)


def _fail(message: str, line: int | None = None, path: tuple = ()) -> DocumentError:
    return DocumentError([(path, message, line)])


class LineMap:
    """The line of every item and key of a document, stored per list or mapping (by path).

    ``lookup(path)`` is the line of the value at ``path``, or of its nearest enclosing
    value with a known line (inside an alias: the alias's line).
    """

    def __init__(self) -> None:
        self.root: int | None = None
        self.items: dict[tuple, Any] = {}  # path → array of item lines, or {key: line}

    def lookup(self, path: tuple) -> int | None:
        for k in range(len(path), 0, -1):
            items = self.items.get(path[: k - 1])
            if items is None:
                continue
            key = getattr(path[k - 1], "raw", path[k - 1])
            if isinstance(items, dict):
                try:
                    line = items.get(key)
                except TypeError:
                    line = None
                if line is not None:
                    return line
            elif isinstance(key, int) and not isinstance(key, bool) and 0 <= key < len(items):
                return items[key]
        return self.root

    def __contains__(self, path: tuple) -> bool:  # the old dict interface of Collector
        return self.lookup(path) is not None

    def __getitem__(self, path: tuple) -> int:
        line = self.lookup(path)
        if line is None:
            raise KeyError(path)
        return line


# ----------------------------------------------------------------------------- text


def read_text(path: str | Path, max_bytes: int) -> str:
    """A file's text (see :func:`decode`); refused beyond ``max_bytes`` without reading it all."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise _fail("no such file") from None
    except IsADirectoryError:
        raise _fail("is a directory, not a file") from None
    except OSError as exc:
        raise _fail(f"cannot read file: {exc.strerror or type(exc).__name__}") from None
    if len(raw) > max_bytes:
        raise _fail(f"file too large: more than {limits.size_text(max_bytes)} (the limit for this kind of file)")
    return decode(raw)


def _line_col(raw: bytes | str, index: int) -> tuple[int, int]:
    nl = b"\n" if isinstance(raw, bytes) else "\n"
    return raw.count(nl, 0, index) + 1, index - (raw.rfind(nl, 0, index) + 1) + 1


def decode(raw: bytes) -> str:
    """UTF-8 text (BOM skipped), or UTF-16/32 with a byte-order mark; else a located error."""
    encoding = "utf-8"
    for bom, name in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
        (codecs.BOM_UTF8, "utf-8-sig"),
    ):
        if raw.startswith(bom):
            encoding = name
            break
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding != "utf-8":
            raise _fail(f"not valid {encoding.upper()} text despite its byte-order mark ({exc.reason} at byte {exc.start:,})") from None
        line, col = _line_col(raw, exc.start)
        raise _fail(
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at column {col} cannot be decoded; save the file as UTF-8",
            line,
        ) from None
    return text


def _check_text(text: str) -> str:
    if text.startswith("\ufeff"):
        text = text[1:]
    bad = _BAD_TEXT.search(text)
    if bad is not None:
        line, col = _line_col(text, bad.start())
        if bad.group() == "\x00":
            hint = "; is it UTF-16 without a byte-order mark? Save it as UTF-8" if text.count("\x00") * 4 > len(text) else ""
            raise _fail(f"NUL character at column {col}: not a text file{hint}", line)
        raise _fail(f"unpaired surrogate {escape(bad.group())} at column {col}: not valid Unicode text", line)
    if not text.strip():
        raise _fail("the file is empty", 1)
    return text


def parse(
    text: str,
    fmt: str = "yaml",
    *,
    max_depth: int | None = None,
    max_values: int | None = None,
    max_int_chars: int | None = None,
) -> tuple[Any, LineMap]:
    """``(data, lines)`` of a YAML or JSON document (``fmt``); :class:`DocumentError` otherwise."""
    depth = limits.MAX_DEPTH if max_depth is None else max_depth
    values = limits.MAX_VALUES if max_values is None else max_values
    int_chars = limits.MAX_INT_CHARS if max_int_chars is None else max_int_chars
    text = _check_text(text)
    if fmt == "json":
        return _parse_json(text, depth, int_chars)
    return _YamlBuilder(text, depth, values, int_chars).build()


# ----------------------------------------------------------------------------- JSON

_JSON_TOKEN = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"|[{}\[\],:]|\n|[^\s{}\[\],:"]+|"')


def _json_key(token: str) -> str:
    if "\\" not in token:
        return token[1:-1]
    try:
        return json.loads(token)
    except ValueError:
        return token[1:-1]


def _json_lines(text: str, max_depth: int) -> tuple[LineMap, list]:
    """Lines of every item and key, duplicate keys, and the depth check — one linear scan, no recursion.

    Tolerant of invalid JSON (``json.loads`` reports that afterwards); a frame is
    ``[is_object, path, items, current_key, expecting_key]``.
    """
    lines, dups = LineMap(), []
    stack: list[list] = []
    line = 1
    for match in _JSON_TOKEN.finditer(text):
        tok = match.group()
        c = tok[0]
        if c == "\n":
            line += 1
            continue
        if c == "," or c == ":":
            if stack and stack[-1][0]:
                stack[-1][4] = c == ","
            continue
        if c == "}" or c == "]":
            if stack:
                stack.pop()
            continue
        if stack:
            top = stack[-1]
            if top[0]:
                if top[4] and c == '"':
                    key = _json_key(tok)
                    first = top[2].get(key)
                    if first is not None:
                        dups.append(((*top[1], key), _duplicate(key, first, line), line))
                    else:
                        top[2][key] = line
                    top[3], top[4] = key, False
                    continue
                child = (*top[1], top[3])
            else:
                child = (*top[1], len(top[2]))
                top[2].append(line)
        else:
            child = ()
            if lines.root is None:
                lines.root = line
        if c == "{" or c == "[":
            if len(stack) >= max_depth:
                raise _fail(_too_deep(max_depth), line, child)
            items: Any = {} if c == "{" else array("i")
            lines.items.setdefault(child, items)
            stack.append([c == "{", child, items, None, c == "{"])
    return lines, dups


def _parse_json(text: str, max_depth: int, max_int_chars: int) -> tuple[Any, LineMap]:
    lines, dups = _json_lines(text, max_depth)

    def parse_int(s: str):
        return int(s) if len(s) <= max_int_chars else LongInteger(s)

    try:
        data = json.loads(text, parse_int=parse_int)
    except json.JSONDecodeError as exc:
        raise _fail(f"not valid JSON: {exc.msg} (column {exc.colno})", exc.lineno) from None
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise _fail(_too_deep(max_depth)) from None
    if dups:
        raise DocumentError(dups)
    return data, lines


def _too_deep(max_depth: int) -> str:
    return f"lists and mappings nested more than {max_depth} levels deep (the limit; a market file needs 7)"


def _duplicate(key: Any, first: int, again: int) -> str:
    return f"duplicate key {show(key)}: first at line {first}, again at line {again} (the second would silently replace the first)"


# ----------------------------------------------------------------------------- YAML

_OPEN = object()  # an anchor whose list or mapping is still being read
_NO_KEY = object()
_SKIP = object()  # a refused or duplicate key: its value is read but not kept


class _Frame:
    __slots__ = ("is_map", "obj", "path", "items", "line", "key", "keep", "size", "anchor")

    def __init__(self, is_map: bool, path: tuple, line: int, anchor: str | None):
        self.is_map = is_map
        self.obj: Any = {} if is_map else []
        self.items: Any = {} if is_map else array("i")
        self.path, self.line, self.anchor = path, line, anchor
        self.key: Any = _NO_KEY
        self.keep = True  # False after a duplicate key: its value is read, then dropped
        self.size = 1

    def child_path(self) -> tuple:
        return (*self.path, self.key) if self.is_map else (*self.path, len(self.obj))


def _where(stack: list[_Frame]) -> tuple:
    """The path of the value being read (a key being read: its mapping's path)."""
    if not stack:
        return ()
    top = stack[-1]
    return top.path if top.is_map and (top.key is _NO_KEY or top.key is _SKIP) else top.child_path()


class _YamlBuilder:
    """Builds Python data from YAML parser events (no recursion), with lines and limits."""

    def __init__(self, text: str, max_depth: int, max_values: int, max_int_chars: int):
        self.text = text
        self.max_depth, self.max_values, self.max_int_chars = max_depth, max_values, max_int_chars
        self.lines = LineMap()
        self.problems: list[tuple[tuple, str, int | None]] = []
        self.anchors: dict[str, Any] = {}

    def build(self) -> tuple[Any, LineMap]:
        bad = _NOT_YAML.search(self.text)
        if bad is not None:
            line, col = _line_col(self.text, bad.start())
            raise _fail(f"character U+{ord(bad.group()):04X} at column {col}: YAML files hold printable text only (write it as an escape in double quotes)", line)
        loader = _Loader(self.text)
        try:
            data = self._document(loader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            reason = exc.problem or exc.context or "syntax error"
            message = _too_deep(self.max_depth) if "nesting depth" in reason else f"not valid YAML: {escape(reason)}"
            raise _fail(message, mark.line + 1 if mark else None) from None
        except yaml.YAMLError as exc:
            raise _fail(f"not valid YAML: {escape(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)}") from None
        finally:
            loader.dispose()
        if self.problems:
            raise DocumentError(self.problems)
        return data, self.lines

    def _document(self, loader) -> Any:
        loader.get_event()  # stream start
        if loader.check_event(StreamEndEvent):
            raise _fail("the file holds no data (only comments or blank lines)", 1)
        loader.get_event()  # document start
        data = self._value(loader)
        loader.get_event()  # document end
        if not loader.check_event(StreamEndEvent):
            line = loader.peek_event().start_mark.line + 1
            raise _fail("a second YAML document starts here (after ---); a file holds one document", line)
        return data

    def _value(self, loader) -> Any:
        stack: list[_Frame] = []
        while True:
            ev = loader.get_event()
            line = ev.start_mark.line + 1
            if isinstance(ev, ScalarEvent):
                value, size = self._scalar(loader, ev, line, stack), 1
                if ev.anchor:
                    self.anchors[ev.anchor] = (value, 1)
            elif isinstance(ev, AliasEvent):
                entry = self.anchors.get(ev.anchor)
                if entry is None:
                    raise _fail(f"alias *{escape(ev.anchor)} refers to no anchor (&{escape(ev.anchor)}) defined before it", line)
                if entry is _OPEN:
                    raise _fail(f"alias *{escape(ev.anchor)} refers to a list or mapping that contains it: a recursive structure cannot be read", line)
                value, size = entry
            elif isinstance(ev, (SequenceStartEvent, MappingStartEvent)):
                is_map = isinstance(ev, MappingStartEvent)
                path = _where(stack)
                if len(stack) >= self.max_depth:
                    raise _fail(_too_deep(self.max_depth), line, path)
                if ev.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
                    self.problems.append((path, f"unsupported YAML tag {escape(ev.tag, 60)}; write plain lists and mappings", line))
                frame = _Frame(is_map, path, line, ev.anchor)
                self.lines.items.setdefault(path, frame.items)
                if ev.anchor:
                    self.anchors[ev.anchor] = _OPEN
                stack.append(frame)
                continue
            elif isinstance(ev, (SequenceEndEvent, MappingEndEvent)):
                frame = stack.pop()
                value, size, line = frame.obj, frame.size, frame.line
                if frame.anchor:
                    self.anchors[frame.anchor] = (value, size)
            else:  # pragma: no cover - the parser emits nothing else inside a document
                raise _fail(f"unexpected YAML event {type(ev).__name__}", line)
            if not stack:
                self.lines.root = line
                return value
            self._attach(stack[-1], value, size, line, ev)

    def _attach(self, parent: _Frame, value: Any, size: int, line: int, ev) -> None:
        parent.size += size
        if parent.size > self.max_values:
            raise _fail(
                f"more than {self.max_values:,} values once YAML aliases are expanded (the limit; an alias bomb?)",
                line,
                parent.path,
            )
        if not parent.is_map:
            parent.items.append(line)
            parent.obj.append(value)
            return
        if parent.key is not _NO_KEY:
            if parent.key is not _SKIP and parent.keep:
                parent.obj[parent.key] = value
            parent.key, parent.keep = _NO_KEY, True
            return
        parent.key = self._key(parent, value, line, ev)

    def _key(self, parent: _Frame, key: Any, line: int, ev) -> Any:
        if isinstance(ev, ScalarEvent) and key == "<<" and ev.tag is None and ev.implicit[0]:
            self.problems.append((parent.path, "YAML merge keys (<<) are not supported; write the fields out", line))
            return _SKIP
        if isinstance(key, (list, dict)):
            self.problems.append((parent.path, f"a key must be a name, got {show(key)}", line))
            return _SKIP
        first = parent.items.get(key)
        if first is not None:
            self.problems.append(((*parent.path, key), _duplicate(key, first, line), line))
            parent.keep = False
            return key
        parent.items[key] = line
        return key

    def _scalar(self, loader, ev: ScalarEvent, line: int, stack: list[_Frame]) -> Any:
        tag = ev.tag
        if tag is None or tag == "!":
            tag = loader.resolve(ScalarNode, ev.value, ev.implicit)
        if tag == _TAG + "merge":
            return ev.value
        if tag == _TAG + "int" and len(ev.value) > self.max_int_chars:
            return LongInteger(ev.value)
        path = _where(stack)
        if tag not in _SCALAR_TAGS:
            self.problems.append((path, f"unsupported YAML tag {escape(tag, 60)} on {show(ev.value)}", line))
            return None
        node = ScalarNode(tag, ev.value, ev.start_mark, ev.end_mark, ev.style)
        try:
            return loader.yaml_constructors[tag](loader, node)
        except Exception as exc:  # the constructors of int, float, timestamp, binary: ValueError and others
            reason = getattr(exc, "problem", None) or str(exc) or type(exc).__name__
            self.problems.append((path, f"cannot read {show(ev.value)} as {tag[len(_TAG):]}: {escape(str(reason), 120)}", line))
            return None
