"""Vertices of a hyperplane arrangement inside the simplex of posteriors (docs/model.md §15).

**Setting.** A public signal induces a posterior ``q ∈ Δ(X) = {q ≥ 0, Σ_x q_x = 1}`` over
what the providers observe. User kind ``k`` with utility per unit weight ``g[k, a, x]``
(``ū_k(a)(x) = E[u_k(a, y) | x]`` for a market) takes, at ``q``, an action in

    BR_k(q) = argmax_a g[k, a]·q.

Whether ``a`` or ``a'`` is better is the sign of the linear function ``(g[k,a] − g[k,a'])·q``:
the *indifference hyperplane* ``{q : (g[k,a] − g[k,a'])·q = 0}`` passes through the origin
of ℝ^X (it is linear, not affine) and cuts the simplex along an affine slice.

**Why vertices suffice.** The hyperplanes (all kinds, all pairs ``a < a'``) cut Δ(X) into
closed cells; relative to a face of this arrangement every hyperplane either contains the
face or leaves its relative interior strictly on one side. So each ``BR_k`` is one fixed
set ``B_k(F)`` on the relative interior of a face ``F``, and by continuity every action of
``B_k(F)`` stays best on the closure of ``F`` — in particular at its vertices. Hence, on
the closed face, a user's value ``max_a g[k,a]·q = g[k,b]·q`` (any ``b ∈ B_k(F)``) and the
provider's payoff from her following ``b`` are *linear* in ``q``. A signal with posterior
``q`` in the relative interior of ``F`` and weight ``|w|`` can therefore be split into signals
at ``F``'s vertices (``q = Σ_v μ_v v``, weights ``μ_v |w|``): Bayes plausibility, every
user's value and the provider's payoff are unchanged (the users may keep the action ``b``,
still best at every vertex). So an optimal public scheme may use only posteriors at the
vertices of the arrangement restricted to Δ(X) — finitely many, ``O(H^{|X|−1})`` for ``H``
hyperplanes.

**Vertices.** A vertex is a point of Δ(X) that is the unique solution of ``Σ_x q_x = 1``
together with ``|X| − 1`` linearly independent equations chosen among the hyperplanes
``h·q = 0`` and the facets ``q_x = 0``. :func:`arrangement_vertices` enumerates every such
choice, solves all the ``|X| × |X|`` systems in batches (``np.linalg.solve`` over chunks of
candidate subsets, so memory stays bounded), keeps the solutions with ``q ≥ −tol``
(clipped to the simplex) and merges duplicates. Before that it normalizes every normal,
drops zero normals, merges near-duplicate hyperplanes (``h`` and ``−h`` are the same
hyperplane) and drops hyperplanes that miss the simplex (all entries of one strict sign:
``h·q`` then has that sign on all of Δ(X)). For ``|X| = 2`` the vertices are the two
endpoints and the breakpoints in between; for ``|X| = 1`` the single point ``[1]``.

**Tolerances.** ``tol`` (default 1e-9) is the distance below which two vertices are one
(quantized on a grid of width ``tol``, then near neighbours across grid cells joined with a
k-d tree, so the merge does not depend on where the grid falls), the slack ``q ≥ −tol`` of
the simplex test, and the threshold for a zero normal. Hyperplanes are merged when their
unit normals agree to ``1e-12``, well below ``tol``, so a merged hyperplane still vanishes
(to rounding) at every vertex of the other. A subset of equations counts as independent
when the determinant of its (unit-row) matrix exceeds ``1e-13`` and the computed point
satisfies the equations to ``1e-9``; a near-singular subset whose solution still lies in
the simplex gives a point where the nearly equal hyperplanes (nearly) vanish — a harmless
extra point, not a wrong one, since any posterior of Δ(X) may be used.

>>> arrangement_vertices(np.array([[1.0, -3.0]]))          # 1·q0 = 3·q1: breakpoint (0.75, 0.25)
array([[0.  , 1.  ],
       [0.75, 0.25],
       [1.  , 0.  ]])
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

__all__ = [
    "HyperplaneSet",
    "ArrangementCounts",
    "indifference_normals",
    "prepare_hyperplanes",
    "enumerate_vertices",
    "arrangement_vertices",
    "arrangement_counts",
    "merge_close",
]

DEFAULT_TOL = 1e-9
HYPERPLANE_MERGE_TOL = 1e-12
DET_TOL = 1e-13
RESIDUAL_TOL = 1e-9
DEFAULT_CHUNK = 1 << 16


# --------------------------------------------------------------------------- hyperplanes


def indifference_normals(g, *, return_pairs: bool = False):
    """All pairwise differences ``g[k, a] − g[k, a']`` for ``a < a'`` (rows), all-zero rows dropped.

    ``g[k, a, x]`` is kind ``k``'s utility per unit weight of action ``a`` at observation ``x``;
    row ``(k, a, a')`` is the normal of the hyperplane where ``k`` is indifferent between ``a``
    and ``a'``. With ``return_pairs=True`` also returns ``pairs[h] = (k, a, a')``.

    >>> indifference_normals(np.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]]), return_pairs=True)
    (array([[ 1., -1.],
           [-1.,  1.]]), array([[0, 0, 1],
           [0, 1, 2]]))
    """
    g = np.asarray(g, dtype=float)
    if g.ndim != 3:
        raise ValueError(f"g must be g[k, a, x], got shape {g.shape}")
    n_k, n_a, n_x = g.shape
    a, b = np.triu_indices(n_a, 1)
    D = (g[:, a, :] - g[:, b, :]).reshape(-1, n_x)
    pairs = np.column_stack([np.repeat(np.arange(n_k), a.size), np.tile(a, n_k), np.tile(b, n_k)]).astype(np.int64)
    keep = np.any(D != 0.0, axis=1)
    if return_pairs:
        return D[keep], pairs[keep]
    return D[keep]


@dataclass(frozen=True, eq=False)
class HyperplaneSet:
    """Cleaned hyperplanes: ``normals[u]`` unit normals, and where each input row went.

    ``label[h]`` is the cleaned hyperplane input row ``h`` became (``-1``: dropped — a zero
    normal or a hyperplane that misses the simplex); ``n_input`` input rows.
    """

    normals: np.ndarray
    label: np.ndarray
    n_input: int

    @property
    def n_x(self) -> int:
        return self.normals.shape[1]

    def __len__(self) -> int:
        return self.normals.shape[0]


def prepare_hyperplanes(H, *, tol: float = DEFAULT_TOL, n_x: int | None = None) -> HyperplaneSet:
    """Normalize normals, drop zero ones and those that miss Δ(X), merge (near-)duplicates.

    A normal ``h`` with ``max |h_x| ≤ tol`` is a zero normal (the two actions are tied
    everywhere). After normalization (``‖h‖₂ = 1``) the sign is fixed so that the first
    entry with ``|h_x| > 1e-6`` is positive (``h`` and ``−h`` describe one hyperplane), and
    hyperplanes whose unit normals agree within ``1e-12`` are merged. A hyperplane with
    ``min h > tol`` or ``max h < −tol`` misses the simplex (``h·q`` keeps one sign on Δ(X))
    and is dropped.
    """
    H = np.asarray(H, dtype=float)
    if n_x is None:
        H = np.atleast_2d(H)
        n_x = H.shape[1]
    H = H.reshape(-1, n_x)
    if not np.all(np.isfinite(H)):
        raise ValueError("hyperplane normals must be finite")
    n_in = H.shape[0]
    label = np.full(n_in, -1, dtype=np.int64)
    keep = np.max(np.abs(H), axis=1, initial=0.0) > tol
    idx = np.flatnonzero(keep)
    N = H[idx]
    N = N / np.linalg.norm(N, axis=1, keepdims=True)
    big = np.abs(N) > 1e-6
    first = np.argmax(big, axis=1)
    sign = np.sign(N[np.arange(N.shape[0]), first])
    N = N * sign[:, None]
    meets = (N.min(axis=1, initial=np.inf) <= tol) & (N.max(axis=1, initial=-np.inf) >= -tol)
    idx, N = idx[meets], N[meets]
    reps, lab = merge_close(N, HYPERPLANE_MERGE_TOL)
    label[idx] = lab
    return HyperplaneSet(reps, label, n_in)


# --------------------------------------------------------------------------- merging


def merge_close(P: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge points closer than ``radius`` (max-norm, transitively); returns ``(reps, label)``.

    Points are quantized to a grid of width ``radius`` and made unique; representatives of
    neighbouring grid cells within ``radius`` of each other are then joined (k-d tree pairs,
    connected components), so two close points straddling a grid line are merged too.
    ``reps[label[i]]`` is the representative of point ``i``: the first point of its group in
    input order; groups are numbered in order of their first point.
    """
    P = np.asarray(P, dtype=float)
    n = P.shape[0]
    if n == 0:
        return P.copy(), np.zeros(0, dtype=np.int64)
    key = np.floor(P / radius).astype(np.int64)
    _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    labels = np.arange(first.size)
    if first.size > 1:
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components
        from scipy.spatial import cKDTree

        pairs = cKDTree(P[first]).query_pairs(r=radius, p=np.inf, output_type="ndarray")
        if pairs.size:
            g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(first.size, first.size))
            _, labels = connected_components(g, directed=False)
    group = labels[inv]  # group of each point (arbitrary numbering)
    # Renumber groups by first occurrence in input order; the representative is that point.
    _, first_pt, g_inv = np.unique(group, return_index=True, return_inverse=True)
    order = np.argsort(first_pt, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    label = rank[g_inv.ravel()]
    return P[np.sort(first_pt)], label.astype(np.int64)


# --------------------------------------------------------------------------- enumeration


def _combinations(m: int, r: int, chunk: int) -> Iterator[np.ndarray]:
    """All ``r``-subsets of ``range(m)`` in lexicographic order, as int arrays of ≤ ~``chunk`` rows."""
    if r < 0 or r > m:
        return
    if r == 0:
        yield np.zeros((1, 0), dtype=np.int64)
        return
    if r == 1:
        for s in range(0, m, chunk):
            yield np.arange(s, min(m, s + chunk), dtype=np.int64)[:, None]
        return
    buf, size = [], 0
    for first in range(m - r + 1):
        for sub in _combinations(m - first - 1, r - 1, chunk):
            block = np.empty((sub.shape[0], r), dtype=np.int64)
            block[:, 0] = first
            block[:, 1:] = sub + first + 1
            buf.append(block)
            size += block.shape[0]
            if size >= chunk:
                yield np.concatenate(buf)
                buf, size = [], 0
    if buf:
        yield np.concatenate(buf)


def _n_choose(m: int, r: int) -> int:
    from math import comb

    return comb(m, r) if 0 <= r <= m else 0


Accept = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False)
class _Enumeration:
    vertices: np.ndarray
    subsets: int
    nonsingular: int
    in_simplex: int
    accepted: int


def enumerate_vertices(
    hyperplanes: HyperplaneSet,
    *,
    tol: float = DEFAULT_TOL,
    chunk: int = DEFAULT_CHUNK,
    accept: Accept | None = None,
) -> _Enumeration:
    """Vertices of the arrangement of cleaned ``hyperplanes`` (and the facets) in Δ(X).

    Rows ``0..U−1`` are the hyperplanes, rows ``U..U+|X|−1`` the facets ``q_x = 0``. Every
    ``(|X|−1)``-subset ``S`` of rows, with the row ``Σ q = 1``, is one candidate system. When
    ``accept`` is given, ``accept(q[c, x], S[c, r])`` is called on the candidates of each chunk
    that lie in the simplex and returns which to keep (a caller's filter, e.g. "every
    hyperplane of S is an indifference between two *best* actions at q").
    Returns the merged vertices (sorted lexicographically) and counts.
    """
    n_x = hyperplanes.n_x
    if n_x == 1:
        return _Enumeration(np.ones((1, 1)), 0, 0, 1, 1)
    rows = np.vstack([hyperplanes.normals, np.eye(n_x)])
    m, r = rows.shape[0], n_x - 1
    ones = np.full(n_x, 1.0 / np.sqrt(n_x))
    rhs = np.zeros(n_x)
    rhs[0] = 1.0 / np.sqrt(n_x)
    found = []
    n_sub = n_nonsing = n_in = n_acc = 0
    for S in _combinations(m, r, max(1, chunk)):
        n_sub += S.shape[0]
        M = np.empty((S.shape[0], n_x, n_x))
        M[:, 0, :] = ones
        M[:, 1:, :] = rows[S]
        with np.errstate(all="ignore"):
            det = np.linalg.det(M)
        ok = np.abs(det) > DET_TOL
        if not ok.any():
            continue
        M, S = M[ok], S[ok]
        q = np.linalg.solve(M, np.broadcast_to(rhs, (M.shape[0], n_x))[:, :, None])[:, :, 0]
        res = np.abs(np.einsum("cij,cj->ci", M, q) - rhs).max(axis=1)
        good = np.isfinite(q).all(axis=1) & (res <= RESIDUAL_TOL)
        n_nonsing += int(good.sum())
        inside = good & (q.min(axis=1) >= -tol)
        n_in += int(inside.sum())
        if not inside.any():
            continue
        q, S = q[inside], S[inside]
        q = np.maximum(q, 0.0)
        q /= q.sum(axis=1, keepdims=True)
        if accept is not None:
            keep = np.asarray(accept(q, S), dtype=bool)
            q = q[keep]
        n_acc += q.shape[0]
        if q.shape[0]:
            # merge within the chunk now to keep memory small
            found.append(merge_close(q, tol)[0])
    if found:
        V = merge_close(np.concatenate(found), tol)[0]
        V = V[np.lexsort(V.T[::-1])]
    else:
        V = np.zeros((0, n_x))
    return _Enumeration(V, n_sub, n_nonsing, n_in, n_acc)


def arrangement_vertices(H, *, tol: float = DEFAULT_TOL, n_x: int | None = None, chunk: int = DEFAULT_CHUNK) -> np.ndarray:
    """Vertices ``V[v, x]`` of the arrangement of ``{q : q·H[h] = 0}`` and the facets, in Δ(X).

    ``H[h, x]`` are hyperplane normals (linear in ``q``, through the origin); pass ``n_x`` when
    ``H`` has no rows. Zero normals, duplicates and hyperplanes missing the simplex are
    dropped first (:func:`prepare_hyperplanes`); duplicate vertices are merged within
    ``tol``. Rows are sorted lexicographically; the simplex's corners are always included.

    >>> arrangement_vertices(np.zeros((0, 3)))            # no hyperplane: the triangle's corners
    array([[0., 0., 1.],
           [0., 1., 0.],
           [1., 0., 0.]])
    """
    hs = prepare_hyperplanes(H, tol=tol, n_x=n_x)
    return enumerate_vertices(hs, tol=tol, chunk=chunk).vertices


@dataclass(frozen=True)
class ArrangementCounts:
    """Sizes along the enumeration: input rows, cleaned hyperplanes, candidate subsets
    ``C(U + |X|, |X| − 1)``, independent ones, those inside Δ(X), distinct vertices."""

    n_x: int
    hyperplanes_in: int
    hyperplanes: int
    subsets: int
    nonsingular: int
    in_simplex: int
    vertices: int


def arrangement_counts(H, *, tol: float = DEFAULT_TOL, n_x: int | None = None, chunk: int = DEFAULT_CHUNK) -> ArrangementCounts:
    """Counts of :func:`arrangement_vertices` for measurement (see :class:`ArrangementCounts`).

    >>> c = arrangement_counts(np.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]]))
    >>> c.subsets, c.vertices          # C(2 + 3, 2) systems; 3 corners, 2 edge midpoints, the centre
    (10, 6)
    """
    hs = prepare_hyperplanes(H, tol=tol, n_x=n_x)
    e = enumerate_vertices(hs, tol=tol, chunk=chunk)
    return ArrangementCounts(hs.n_x, hs.n_input, len(hs), e.subsets, e.nonsingular, e.in_simplex, e.vertices.shape[0])
