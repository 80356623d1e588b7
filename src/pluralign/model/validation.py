"""Validation rules for markets (docs/model.md §13), shared by files and arrays.

Every rule reports a :class:`Problem` naming the field (``users[1].utility.convict``)
and, for files, the line where it sits. All problems are collected before raising
(the first ``limits.MAX_PROBLEMS`` in full, the rest counted), so ``pluralign validate``
can list every one at once. Messages show values through :mod:`pluralign.model.messages`:
cut, escaped, one line, with hints for YAML's surprises.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pluralign.model import limits
from pluralign.model.messages import bad_char, describe, escape, hint, show

__all__ = ["Problem", "MarketError", "MarketFileError", "check_arrays", "PROB_TOL", "Key"]

PROB_TOL = 1e-9


@dataclass(frozen=True)
class Problem:
    """One violated rule: where (field path, file, line) and what."""

    path: str
    message: str
    source: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = ""
        if self.source is not None:
            where = f"{self.source}:{self.line}: " if self.line is not None else f"{self.source}: "
        field = f"{self.path}: " if self.path else ""
        return escape(f"{where}{field}{self.message}")


class MarketError(ValueError):
    """A market violates one or more rules; ``problems`` lists them all.

    ``str(error)`` is a single line: the first problem, plus how many more there are.
    ``omitted`` counts problems beyond ``limits.MAX_PROBLEMS`` that were not kept.
    """

    def __init__(self, problems: Sequence[Problem], omitted: int = 0):
        self.problems = list(problems)
        self.omitted = omitted
        first = str(self.problems[0]) if self.problems else "invalid market"
        more = len(self.problems) - 1 + omitted
        suffix = f" (and {more} more problem{'s' if more > 1 else ''}; run 'pluralign validate' to list them)" if more else ""
        super().__init__(first + suffix)


class MarketFileError(MarketError):
    """A market file could not be read or violates the format of docs/model.md §13."""


class Key:
    """A mapping key that is not a text (``1``, ``true``) in a field path: printed ``.1``, never ``[1]``."""

    __slots__ = ("raw",)

    def __init__(self, raw: Any):
        self.raw = raw

    def __str__(self) -> str:
        return show(self.raw, 24)


def key_part(key: Any) -> Any:
    """A mapping key as a path part (texts as they are, anything else wrapped in :class:`Key`)."""
    return key if isinstance(key, str) else Key(key)


class Collector:
    """Accumulates problems, resolving file lines from a line map (``lookup(path)``, or a dict path → line)."""

    def __init__(self, source: str | None = None, lines: Any = None):
        self.source = source
        self.lines = lines if lines is not None else {}
        self.problems: list[Problem] = []
        self.omitted = 0

    def _line(self, path: tuple) -> int | None:
        lookup = getattr(self.lines, "lookup", None)
        if lookup is not None:
            return lookup(path)
        for k in range(len(path), -1, -1):  # nearest enclosing node with a known line
            if path[:k] in self.lines:
                return self.lines[path[:k]]
        return None

    def add(self, path: tuple, message: str) -> None:
        if len(self.problems) >= limits.MAX_PROBLEMS:
            self.omitted += 1
            return
        self.problems.append(Problem(format_path(path), message, self.source, self._line(path)))

    def __bool__(self) -> bool:
        return bool(self.problems)


_PLAIN_KEY = re.compile(r"^[^\s.\[\]'\"]{1,40}$")


def format_path(path: tuple) -> str:
    """``("users", 1, "utility", "convict")`` → ``users[1].utility.convict``.

    List indices print as ``[1]``; a key that is not a text as ``.1`` (:class:`Key`);
    a key with spaces, dots or unprintable characters quoted and cut (``.'a b'``).
    """
    if len(path) > 12:  # a path into deep nesting: its start and end
        return f"{format_path(path[:5])}…({len(path) - 8} more levels)…{format_path(path[-3:])}"
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
            continue
        if isinstance(part, str):
            text = part if _PLAIN_KEY.match(part) and part.isprintable() else show(part, 24)
        else:
            text = str(part) if isinstance(part, Key) else show(part, 24)
        out += f".{text}" if out else text
    return out


# ---------------------------------------------------------------- scalar rules


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def number(v: Any) -> float:
    """``float(v)`` of a number; integers beyond float range become ±inf (never OverflowError)."""
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def check_unit_number(v: Any, path: tuple, out: Collector, what: str) -> bool:
    """A finite number in [0, 1]."""
    if not is_number(v):
        out.add(path, f"expected a number for {what}, got {describe(v)}{hint(v, 'number')}")
        return False
    x = number(v)
    if math.isnan(x):
        out.add(path, f"{what} is NaN")
        return False
    if not 0.0 <= x <= 1.0:
        out.add(path, f"{what} must lie in [0, 1], got {show(v)}")
        return False
    return True


def check_distribution(values: Sequence, path: tuple, out: Collector, what: str) -> None:
    """Entries in [0, 1] summing to 1 (within PROB_TOL; exact sums are restored by :class:`Market`)."""
    ok = all([check_unit_number(v, path + (k,), out, what) for k, v in enumerate(values)])  # noqa: C419 - report every entry
    if ok:
        total = math.fsum(number(v) for v in values)
        if abs(total - 1.0) > PROB_TOL:
            out.add(path, f"{what} must sum to 1, got {total:.12g}")


def check_name(v: Any, path: tuple, out: Collector, what: str) -> bool:
    """A non-blank text without control characters, line separators or unpaired surrogates."""
    if not isinstance(v, str) or not v.strip():
        out.add(path, f"expected a non-empty text ({what}), got {describe(v)}{hint(v, 'name')}")
        return False
    bad = bad_char(v)
    if bad is not None:
        out.add(path, f"{what} {show(v)} holds the character {bad}; names must be printable text")
        return False
    return True


def check_text(v: Any, path: tuple, out: Collector, what: str) -> bool:
    """A text (several lines allowed) without other control characters or unpaired surrogates."""
    if not isinstance(v, str):
        out.add(path, f"expected a text for {what}, got {describe(v)}")
        return False
    bad = bad_char(v, allow_newlines=True)
    if bad is not None:
        out.add(path, f"{what} holds the character {bad}; write printable text")
        return False
    return True


def check_count(n: int, limit: int, path: tuple, out: Collector, what: str) -> bool:
    """At most ``limit`` items (a documented limit of ``pluralign.model.limits``)."""
    if n > limit:
        out.add(path, f"too many {what}: {n:,} (the limit is {limit:,}; see 'Market files' in the README)")
        return False
    return True


def check_names(values: Any, path: tuple, out: Collector, what: str, limit: int | None = None) -> list[str] | None:
    """A non-empty list of unique, printable, non-empty texts (at most ``limit`` of them)."""
    if not isinstance(values, list):
        out.add(path, f"expected a list of {what} names, got {describe(values)}")
        return None
    if not values:
        out.add(path, f"expected at least one {what}, got an empty list")
        return None
    if limit is not None and not check_count(len(values), limit, path, out, f"{what}s"):
        return None
    names: list[str] = []
    for k, v in enumerate(values):
        if not check_name(v, path + (k,), out, f"{what} name"):
            return None
        names.append(v)
    check_unique(names, path, out, what)
    return names


def check_unique(names: Sequence[str], path: tuple, out: Collector, what: str) -> bool:
    """No name twice (one pass over a set); True when they are unique."""
    seen: set[str] = set()
    ok = True
    for k, n in enumerate(names):
        if n in seen:
            out.add(path + (k,), f"duplicate {what} name {show(n)}")
            ok = False
        seen.add(n)
    return ok


# ---------------------------------------------------------------- arrays


def check_arrays(
    *,
    prior: np.ndarray,
    observation: np.ndarray | None,
    p: np.ndarray,
    u: np.ndarray,
    U: np.ndarray,
    states,
    observations,
    actions,
    users,
    providers,
    normalize: bool = False,
) -> None:
    """Check the arrays of :meth:`Market.from_arrays`; raise :class:`MarketError` listing every problem."""
    out = Collector()
    m, n_a, n_y = u.shape
    shapes = {
        "prior": (prior.shape, (n_y,)),
        "p": (p.shape, (m,)),
        "U": (U.shape[1:], (m, n_a, n_y)),
    }
    for field, (got, want) in shapes.items():
        if got != want:
            out.add((field,), f"expected shape {want}, got {got}")
    for field, names, n in (
        ("states", states, n_y),
        ("actions", actions, n_a),
        ("users", users, m),
        ("providers", providers, U.shape[0]),
    ):
        if len(names) != n:
            out.add((field,), f"expected {n} names, got {len(names)}")
        elif n == 0:
            out.add((field,), f"expected at least one of {field}")
        else:
            check_unique(list(names), (field,), out, field[:-1])
            for k, name in enumerate(names):
                if isinstance(name, str) and bad_char(name) is not None:
                    out.add((field, k), f"name {show(name)} holds the character {bad_char(name)}; names must be printable text")
                    break
    if observation is not None:
        if observation.ndim != 2 or observation.shape[0] != n_y:
            out.add(("observation",), f"expected shape ({n_y}, n_x), got {observation.shape}")
        else:
            if len(observations) != observation.shape[1]:
                out.add(("signals",), f"expected {observation.shape[1]} names, got {len(observations)}")
            _check_array_probs(observation, ("observation",), out, rows=True)
    if out:
        raise MarketError(out.problems)
    _check_array_probs(prior, ("prior",), out, rows=True)
    for field, arr in (("u", u), ("U", U)):
        bad = ~np.isfinite(arr) | (arr < 0) | (arr > 1)
        if bad.any():
            idx = tuple(int(k) for k in np.argwhere(bad)[0])
            out.add((field,), f"entries must be finite and in [0, 1]; {field}{list(idx)} = {arr[idx]}")
    if not np.all(np.isfinite(p)) or np.any(p <= 0):
        bad = int(np.argmax(~np.isfinite(p) | (p <= 0)))
        out.add(("p",), f"masses must be positive and finite, got p[{bad}] = {show(float(p[bad]))}")
    elif not normalize and abs(math.fsum(p) - 1.0) > PROB_TOL:
        out.add(("p",), f"masses must sum to 1 (or pass normalize=True), got {math.fsum(p):.12g}")
    elif normalize and np.any(normalized_masses(p) <= 0):
        bad = int(np.argmin(normalized_masses(p)))
        out.add(("p",), f"p[{bad}] = {show(float(p[bad]))} is too small next to the largest mass: it would normalize to 0")
    if out:
        raise MarketError(out.problems)


def _check_array_probs(arr: np.ndarray, path: tuple, out: Collector, rows: bool) -> None:
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr > 1):
        out.add(path, "probabilities must be finite and in [0, 1]")
        return
    sums = np.atleast_1d(arr.sum(axis=-1))
    bad = np.flatnonzero(np.abs(sums - 1.0) > PROB_TOL)
    if bad.size:
        where = f" (row {int(bad[0])})" if arr.ndim > 1 else ""
        shown = ", ".join(f"{x:.12g}" for x in sums[:6]) + (", …" if sums.size > 6 else "")
        out.add(path, f"probabilities must sum to 1, got sums {shown}{where}")


def normalized_masses(mass: np.ndarray) -> np.ndarray:
    """``mass / sum(mass)`` without overflow (masses of 1e308 are fine): scaled by the largest first."""
    mass = np.asarray(mass, dtype=float)
    scaled = mass / mass.max()
    return scaled / math.fsum(scaled)


def exact_distribution(values: np.ndarray) -> np.ndarray:
    """Rescale nonnegative entries (summing to 1 within tolerance) so that their exact sum rounds to 1.

    Values whose exact sum (``math.fsum``) is already 1.0 come back unchanged, bit for bit;
    otherwise they are divided by their sum and the largest entry absorbs the last rounding.
    Along the last axis for a 2-d array (one distribution per row).
    """
    values = np.array(values, dtype=float)
    if values.ndim > 1:
        return np.stack([exact_distribution(row) for row in values]) if values.size else values
    total = math.fsum(values)
    if total == 1.0 or not math.isfinite(total) or total <= 0:
        return values
    values = values / total
    top = int(np.argmax(values))
    for _ in range(4):
        residual = 1.0 - math.fsum(values)
        if residual == 0.0:
            break
        values[top] += residual
    return values
