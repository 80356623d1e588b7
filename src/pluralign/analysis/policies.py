"""Finite policy classes and named starting schemes.

* **partitions** of X: a deterministic scheme sends the label of the block that
  contains x, ``sigma[x, b] = 1[x ∈ B_b]``; blocks are numbered in order of their
  smallest element (restricted-growth strings), so there are Bell(|X|) of them;
* **recommendations**: deterministic maps X → A, ``sigma[x, a] = 1[a = f(x)]``
  (|A|^|X| of them; the label matters only under ``action_tie="recommended"``).

>>> [tuple(map(int, r)) for r in set_partitions(3)]
[(0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1), (0, 1, 2)]
>>> partition_schemes(2).tolist()       # no information, full revelation
[[[1.0, 0.0], [1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]]]
>>> bell(5), bell(10)
(52, 115975)
"""

from __future__ import annotations

import itertools
from typing import Literal

import numpy as np

from pluralign.model.market import Market

__all__ = [
    "PolicyClass",
    "bell",
    "set_partitions",
    "partition_schemes",
    "recommendation_schemes",
    "policy_class",
    "random_partitions",
    "random_schemes",
    "describe_scheme",
]

PolicyClass = Literal["partitions", "recommendations"]


def bell(n: int) -> int:
    """The number of partitions of an n-element set (Bell triangle)."""
    row = [1]
    for _ in range(n):
        nxt = [row[-1]]
        for v in row:
            nxt.append(nxt[-1] + v)
        row = nxt
    return row[0]


def set_partitions(n: int) -> np.ndarray:
    """All partitions of ``range(n)`` as restricted-growth strings ``[b, x]`` (lexicographic)."""
    out: list[list[int]] = []

    def grow(prefix: list[int], top: int) -> None:
        if len(prefix) == n:
            out.append(list(prefix))
            return
        for b in range(top + 2):
            prefix.append(b)
            grow(prefix, max(top, b))
            prefix.pop()

    if n == 0:
        return np.zeros((1, 0), dtype=int)
    grow([0], 0)
    return np.asarray(out, dtype=int)


def _one_hot(labels: np.ndarray, width: int) -> np.ndarray:
    """``[c, x] → [c, x, width]`` one-hot schemes."""
    return np.eye(width)[labels]


def partition_schemes(n_x: int) -> np.ndarray:
    """Every partition of X as a deterministic scheme ``[c, x, s]`` (|S| = |X|, padded)."""
    return _one_hot(set_partitions(n_x), n_x)


def recommendation_schemes(n_x: int, n_a: int) -> np.ndarray:
    """Every deterministic recommendation map X → A as a scheme ``[c, x, a]``."""
    maps = np.array(list(itertools.product(range(n_a), repeat=n_x)), dtype=int)
    return _one_hot(maps, n_a)


def policy_class(market: Market, kind: PolicyClass = "partitions") -> np.ndarray:
    """The schemes of a finite policy class for ``market`` (see module docstring)."""
    if kind == "partitions":
        return partition_schemes(market.n_observations)
    if kind == "recommendations":
        return recommendation_schemes(market.n_observations, market.n_actions)
    raise ValueError(f"policy class must be 'partitions' or 'recommendations', got {kind!r}")


def random_partitions(n_x: int, count: int, seed: int) -> np.ndarray:
    """``count`` random partition schemes (each x gets a uniformly random block label, relabelled)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_x, size=(count, n_x))
    canon = np.empty_like(labels)
    for c, row in enumerate(labels):
        _, first = np.unique(row, return_index=True)
        order = {int(row[f]): k for k, f in enumerate(sorted(first))}
        canon[c] = [order[int(v)] for v in row]
    return _one_hot(canon, n_x)


def random_schemes(n_x: int, n_s: int, size: tuple[int, ...], seed: int | np.random.Generator) -> np.ndarray:
    """Random stochastic schemes ``[*size, x, s]`` with Dirichlet(½) rows."""
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.full(n_s, 0.5), size=tuple(size) + (n_x,))


def describe_scheme(market: Market, sigma: np.ndarray, digits: int = 3) -> str:
    """Readable form, e.g. ``"full revelation"`` or ``"innocent→s0 0.571, s1 0.429; guilty→s1"``."""
    sigma = np.asarray(sigma, dtype=float)
    used = np.flatnonzero(sigma.sum(axis=0) > 1e-12)
    s = sigma[:, used]
    if s.shape[1] == 1 or np.allclose(s, s[:1], atol=1e-9):
        return "no information"
    deterministic = np.all((s < 1e-9) | (s > 1 - 1e-9))
    if deterministic and s.shape[1] == market.n_observations and np.all(s.sum(axis=0) > 1 - 1e-9):
        return "full revelation"
    parts = []
    for kx, x in enumerate(market.observations):
        sent = [(k, v) for k, v in enumerate(s[kx]) if v > 1e-9]
        if len(sent) == 1:
            parts.append(f"{x}→s{sent[0][0]}")
        else:
            parts.append(f"{x}→" + ", ".join(f"s{k} {v:.{digits}g}" for k, v in sent))
    return "; ".join(parts)
