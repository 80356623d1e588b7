"""Validation rules for markets (MODEL.md §13), shared by files and arrays.

Every rule reports a :class:`Problem` naming the field (``users[1].utility.convict``)
and, for files, the line where it sits. All problems are collected before raising,
so ``pluralign validate`` can list every one at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

__all__ = ["Problem", "MarketError", "MarketFileError", "check_arrays", "PROB_TOL"]

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
        return f"{where}{field}{self.message}"


class MarketError(ValueError):
    """A market violates one or more rules; ``problems`` lists them all.

    ``str(error)`` is a single line: the first problem, plus how many more there are.
    """

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        first = str(self.problems[0]) if self.problems else "invalid market"
        more = len(self.problems) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''}; run 'pluralign validate' to list them)" if more else ""
        super().__init__(first + suffix)


class MarketFileError(MarketError):
    """A market file could not be read or violates the format of MODEL.md §13."""


class Collector:
    """Accumulates problems, resolving file lines from a path → line map."""

    def __init__(self, source: str | None = None, lines: dict[tuple, int] | None = None):
        self.source = source
        self.lines = lines or {}
        self.problems: list[Problem] = []

    def add(self, path: tuple, message: str) -> None:
        line = None
        for k in range(len(path), -1, -1):  # nearest enclosing node with a known line
            if path[:k] in self.lines:
                line = self.lines[path[:k]]
                break
        self.problems.append(Problem(format_path(path), message, self.source, line))

    def __bool__(self) -> bool:
        return bool(self.problems)


def format_path(path: tuple) -> str:
    """``("users", 1, "utility", "convict")`` → ``users[1].utility.convict``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# ---------------------------------------------------------------- scalar rules


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def check_unit_number(v: Any, path: tuple, out: Collector, what: str) -> bool:
    """A finite number in [0, 1]."""
    if not is_number(v):
        out.add(path, f"expected a number for {what}, got {_describe(v)}")
        return False
    if math.isnan(float(v)):
        out.add(path, f"{what} is NaN")
        return False
    if not 0.0 <= float(v) <= 1.0:
        out.add(path, f"{what} must lie in [0, 1], got {v}")
        return False
    return True


def check_distribution(values: Sequence, path: tuple, out: Collector, what: str) -> None:
    """Entries in [0, 1] summing to 1 (within PROB_TOL)."""
    ok = all([check_unit_number(v, path + (k,), out, what) for k, v in enumerate(values)])
    if ok and abs(sum(float(v) for v in values) - 1.0) > PROB_TOL:
        total = sum(float(v) for v in values)
        out.add(path, f"{what} must sum to 1, got {total:.12g}")


def check_names(values: Any, path: tuple, out: Collector, what: str) -> list[str] | None:
    """A non-empty list of unique, non-empty strings."""
    if not isinstance(values, list):
        out.add(path, f"expected a list of {what} names, got {_describe(values)}")
        return None
    if not values:
        out.add(path, f"expected at least one {what}, got an empty list")
        return None
    names: list[str] = []
    for k, v in enumerate(values):
        if not isinstance(v, str) or not v.strip():
            out.add(path + (k,), f"expected a non-empty {what} name (a string), got {_describe(v)}")
            return None
        names.append(v)
    check_unique(names, path, out, what)
    return names


def check_unique(names: Sequence[str], path: tuple, out: Collector, what: str) -> None:
    seen: set[str] = set()
    for k, n in enumerate(names):
        if n in seen:
            out.add(path + (k,), f"duplicate {what} name {n!r}")
        seen.add(n)


def _describe(v: Any) -> str:
    if v is None:
        return "nothing"
    if isinstance(v, bool):
        return f"a boolean ({v})"
    if isinstance(v, str):
        return f"the text {v!r}"
    if isinstance(v, list):
        return f"a list of {len(v)}"
    if isinstance(v, dict):
        return "a mapping"
    return f"{type(v).__name__} {v!r}"


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
        out.add(("p",), f"masses must be positive and finite, got {p.tolist()}")
    elif not normalize and abs(p.sum() - 1.0) > PROB_TOL:
        out.add(("p",), f"masses must sum to 1 (or pass normalize=True), got {p.sum():.12g}")
    if out:
        raise MarketError(out.problems)


def _check_array_probs(arr: np.ndarray, path: tuple, out: Collector, rows: bool) -> None:
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr > 1):
        out.add(path, "probabilities must be finite and in [0, 1]")
        return
    sums = arr.sum(axis=-1)
    bad = np.abs(sums - 1.0) > PROB_TOL
    if np.any(bad):
        out.add(path, f"probabilities must sum to 1, got sums {np.atleast_1d(sums).tolist()}")
