"""Values in error messages: short, one line, printable, with hints for the usual YAML traps.

Whatever a file holds, a message built from these helpers stays on one line and within a
few hundred characters: :func:`show` cuts long texts, lists and integers (it never calls
``repr`` on a whole value), :func:`escape` writes control characters, line separators and
unpaired surrogates as escapes, and :func:`hint` explains the YAML readings that surprise
people (``7e-1`` is text, ``yes`` is a boolean, ``2024-01-01`` is a date).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["LongInteger", "show", "describe", "escape", "hint", "choices", "bad_char"]

SHOW_CHARS = 48  # characters of a text shown before it is cut
MESSAGE_CHARS = 1000  # a whole message is cut here

# Characters that break a one-line message or an encoder: C0/C1 controls, DEL, unpaired
# surrogates and the Unicode line/paragraph separators.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NUMBER_TEXT = re.compile(r"^[-+]?(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][-+]?\d+)?$")
_FRACTION_TEXT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


class LongInteger:
    """An integer literal too long to convert (more than ``limits.MAX_INT_CHARS`` characters).

    Readers put it where the integer was, so the validator reports it with its field path
    and line instead of converting it (Python refuses 4,300 digits; float range ends at 309).
    """

    __slots__ = ("chars", "head")

    def __init__(self, text: str):
        self.chars = len(text)
        self.head = text[:12]

    def __repr__(self) -> str:
        return f"an integer of {self.chars:,} characters ({self.head}…), too long to read"


def _escape_char(match: re.Match) -> str:
    ch = match.group()
    return _ESCAPES.get(ch) or repr(ch)[1:-1]


def escape(text: str, limit: int | None = MESSAGE_CHARS) -> str:
    """``text`` on one line: control characters and unpaired surrogates escaped; beyond ``limit``
    characters, its middle is cut (the end of a message often says what went wrong)."""
    if limit is not None and len(text) > limit:
        head, tail = limit * 2 // 3, limit // 4
        text = f"{text[:head]}…({len(text) - head - tail:,} characters cut)…{text[-tail:]}"
    return _UNSAFE.sub(_escape_char, text)


def bad_char(text: str, *, allow_newlines: bool = False) -> str | None:
    """The first character of ``text`` that a name may not hold, escaped (``'\\x07'``), or None."""
    for match in _UNSAFE.finditer(text):
        if allow_newlines and match.group() in "\n\r\t":
            continue
        return _escape_char(match)
    return None


def _show_int(v: int) -> str:
    if v.bit_length() > 3000:  # str() of a huge int is slow, and refused past 4,300 digits
        return f"an integer of about {int(v.bit_length() * 0.30103):,} digits"
    s = str(v)
    return s if len(s) <= 24 else f"{s[:12]}… ({len(s.lstrip('-')):,} digits)"


def show(v: Any, width: int = SHOW_CHARS) -> str:
    """A short, printable rendering of any value read from a file (never a whole large value)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return _show_int(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        cut = v if len(v) <= width else v[:width]
        text = escape(repr(cut), None)
        return text if cut is v else f"{text[:-1]}…{text[-1]} ({len(v):,} characters)"
    if isinstance(v, LongInteger):
        return repr(v)
    if isinstance(v, (_dt.date, _dt.time)):
        return v.isoformat()
    if isinstance(v, bytes):
        return f"binary data ({len(v):,} bytes)"
    if isinstance(v, (list, tuple)):
        if len(v) <= 6 and all(v_ is None or isinstance(v_, (bool, int, float)) for v_ in v):
            return "[" + ", ".join(show(x) for x in v) + "]"
        return f"a list of {len(v):,} values"
    if isinstance(v, dict):
        keys = [show(k, 16) for k in list(v)[:3]]
        more = ", …" if len(v) > 3 else ""
        return f"a mapping ({', '.join(keys)}{more})" if keys else "an empty mapping"
    try:  # numpy scalars and the like
        number = float(v)
    except (TypeError, ValueError, OverflowError):
        return type(v).__name__
    return repr(number) if math.isfinite(number) else str(number)


def describe(v: Any) -> str:
    """What a value is, for "expected X, got ..." messages: ``the text '7e-1'``, ``a boolean (true)``."""
    if v is None:
        return "nothing (an empty value)"
    if isinstance(v, bool):
        return f"a boolean ({show(v)})"
    if isinstance(v, str):
        return f"the text {show(v)}"
    if isinstance(v, (list, tuple)):
        return f"a list of {len(v):,}"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, _dt.datetime):
        return f"a date and time ({v.isoformat()})"
    if isinstance(v, _dt.date):
        return f"a date ({v.isoformat()})"
    if isinstance(v, (int, float)):
        return f"the number {show(v)}"
    return show(v)


def hint(v: Any, expected: str) -> str:
    """A hint for a value of the wrong type (``expected``: ``"number"``, ``"name"`` or ``"boolean"``), or ``""``."""
    if expected == "number" and isinstance(v, str):
        text = v.strip()
        if _NUMBER_TEXT.match(text):
            try:
                value = float(text.replace("_", ""))
            except (ValueError, OverflowError):
                return ""
            if not math.isfinite(value):
                return ""
            if "e" in text.lower() and "." not in text:
                mantissa, _, exponent = text.lower().partition("e")
                return f" (YAML reads {text} as text: write {mantissa}.0e{exponent} or {value!r})"
            return f" (a number in quotes is text; write {value!r} without quotes)"
        frac = _FRACTION_TEXT.match(text)
        if frac and int(frac.group(2)) != 0 and len(text) < 40:
            return f" (fractions are text; write a decimal such as {int(frac.group(1)) / int(frac.group(2))!r})"
        return ""
    if expected == "name":
        if isinstance(v, bool):
            return " (YAML reads unquoted yes, no, on, off, true and false as booleans: put the name in quotes, e.g. 'yes')"
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return f" (YAML reads it as a number: put the name in quotes, e.g. '{show(v)}')"
        if isinstance(v, _dt.date):
            return f" (YAML reads it as a date: put the name in quotes, e.g. '{v.isoformat()}')"
        return ""
    if expected == "boolean" and isinstance(v, str) and v.strip().lower() in ("true", "false", "yes", "no"):
        return " (write true or false without quotes)"
    return ""


def choices(names: Iterable[str], limit: int = 8) -> str:
    """``a, b, c`` — at most ``limit`` names, then how many more."""
    names = list(names)
    shown = ", ".join(escape(str(n), SHOW_CHARS) for n in names[:limit])
    return shown if len(names) <= limit else f"{shown}, … ({len(names):,} in all)"
