"""The optimal public deviation over vertex posteriors: an LP per attracted set, a MILP over sets (docs/model.md §8, §15).

**Setting.** A deviating provider commits to one public scheme ``σ(x, s)``. Write a signal's
unnormalized weight over observations ``w_s(x) = σ(x, s)·P(x)`` (so ``Σ_s w_s = P_X``: Bayes
plausibility) and its posterior ``q_s = w_s / |w_s|``. There are ``K`` user *kinds* (user
types, or later (type, private observation) pairs), each given by arrays:

* ``g_user[k, a, x]`` — kind ``k``'s utility per unit weight from action ``a`` at observation
  ``x`` (for a market ``Σ_y P[x,y] u[j,a,y] / P(x)``); kind ``k``'s value of the scheme is
  ``Val_k = Σ_s max_a w_s·g_user[k, a]``;
* ``g_prov[k, a, x]`` — the provider's payoff per unit weight from kind ``k`` taking ``a``;
* ``mass[k] > 0``; ``attract[k]``: ``k`` counts as attracted only if ``Val_k ≥ attract[k]``;
  ``leave[k]``: a kind not attracted must have ``Val_k ≤ leave[k]``; ``leave_payoff[k]``: what
  the provider gets per unit mass from a kind it does not attract.

The provider maximizes ``Σ_k mass_k·(Σ_s w_s·g_prov[k, a_k(s)]  if k ∈ T  else leave_payoff_k)``
over schemes and attracted sets ``T``, where at every signal an attracted kind takes one of
its best actions *chosen in the provider's favour* (ties go to the deviator: the supremum of
docs/model.md §8), subject to ``Val_k ≥ attract_k`` (``k ∈ T``) and ``Val_k ≤ leave_k`` (``k ∉ T``).

**Vertex posteriors.** By :mod:`~pluralign.analysis.responses.arrangement`, an optimal
scheme needs only posteriors at the vertices ``V`` of the arrangement of all kinds'
indifference hyperplanes ``(g_user[k,a] − g_user[k,a'])·q = 0`` in Δ(X). At a vertex ``v``,
``val_k(v) = max_a g_user[k,a]·v`` and ``π_k(v) = max {g_prov[k,a]·v : a best for k at v}``;
with ``λ_v = |w|`` the weight put on posterior ``v``, for a fixed ``T``

    max  Σ_v λ_v Σ_{k∈T} mass_k π_k(v) + Σ_{k∉T} mass_k leave_payoff_k
    s.t. Σ_v λ_v v = P_X,  λ ≥ 0,
         Σ_v λ_v val_k(v) ≥ attract_k  (k ∈ T),   Σ_v λ_v val_k(v) ≤ leave_k  (k ∉ T),

is exact: splitting any signal into the vertices of the face containing its posterior keeps
every value and can only raise the provider's payoff (see the arrangement module), and
conversely every ``λ`` is a scheme (one signal per used vertex). Choosing ``T`` is a
mixed-integer program with a binary ``z_k`` per kind (below).

**Fewer vertices, exactly.** Two reductions, both proved, shrink ``V``:

1. *Relevant pairs.* The hyperplane of ``(k, a, a')`` matters only if ``a`` and ``a'`` are
   both best for ``k`` somewhere in Δ(X). (Along a segment inside a face, ``k``'s best set
   changes only where the upper envelope of the lines ``g_user[k,·]·q`` breaks, i.e. where
   two actions that are *both best* swap strictly; so ``BR_k`` is constant on the relative
   interior of every face of the arrangement of relevant hyperplanes.) The tie set of
   ``(a, a')`` is a polytope whose vertices are vertices of ``k``'s own arrangement, so the
   test is: ``a, a'`` both best at one of them.
2. *Cell vertices.* The closed cells on which every ``BR_k`` is constant are polytopes
   ``{q ∈ Δ : g_a·q = g_{a'}·q (a, a' ∈ B_k), g_a·q ≥ g_b·q (a ∈ B_k, b)}``; splitting into
   *their* vertices suffices, and at such a vertex the equations active there — facets and
   indifferences between two actions both best at it — have rank ``|X|``. So a candidate is
   kept only if every hyperplane among its defining equations is an indifference between two
   best actions of some kind at that point (:func:`deviation_vertices`).

**The MILP.** Bounds from the utilities: for every feasible ``λ``,
``VLO_k = max_a g_user[k,a]·P_X ≤ Val_k ≤ VHI_k = Σ_x P_X(x) max_a g_user[k,a,x]`` (no
information and full information) and ``PLO_k = Σ_x P_X(x) min_a g_prov[k,a,x] ≤ Π_k ≤
PHI_k = Σ_x P_X(x) max_a g_prov[k,a,x]`` for ``Π_k = Σ_v λ_v π_k(v)``. Before any program:
a kind with ``leave_k < VLO_k`` must be attracted, one with ``attract_k > VHI_k`` cannot be;
a kind that can always be attracted (``attract_k ≤ VLO_k``) and brings at least as much
attracted (``PLO_k ≥ leave_payoff_k``) is attracted, and symmetrically one that can always be
left (``leave_k ≥ VHI_k``) with ``leave_payoff_k ≥ PHI_k`` is left (switching such a kind
keeps every constraint and does not lower the payoff). Identical kinds are merged (their
masses added): some optimum treats them alike.

Each remaining kind gets a binary ``z_k`` (attracted); the objective counts ``mass_k`` times
the payoff ``y_k`` the kind brings. The default ``formulation="cells"`` is a perspective
(disjunctive) formulation over aggregated masses. Group the vertices by the provider's pick
``a = act_k(v)`` — a best action of ``k`` at ``v``, so ``val_k(v) = g_user[k,a]·v`` and
``π_k(v) = g_prov[k,a]·v`` are linear on each group — and let ``M_{k,a} = Σ_{v: act_k(v)=a} λ_v v``
(a vector over X). The attracted part ``m_{k,a} ∈ ℝ^X`` of each group satisfies

    0 ≤ m_{k,a} ≤ M_{k,a},   (g_a − g_b)·m_{k,a} ≥ 0,  (g_a − g_b)·(M_{k,a} − m_{k,a}) ≥ 0   (all b)
    Σ_a m_{k,a} = z_k P_X
    Σ_a g_a·m_{k,a} ≥ attract_k z_k                        (participation if attracted)
    Σ_a g_a·(M_{k,a} − m_{k,a}) ≤ leave_k (1 − z_k)         (stays away if not)
    y_k = Σ_a g_prov[k,a]·m_{k,a} + leave_payoff_k (1 − z_k)  (substituted into the objective)

with ``g = g_user[k]``. At ``z_k = 1`` the masses force ``m = M`` (nonnegative differences
summing to zero), so the rows say ``Val_k ≥ attract_k`` and ``y_k = Π_k``; at ``z_k = 0``
they force ``m = 0``, ``Val_k ≤ leave_k`` and ``y_k = leave_payoff_k``: the program is
exact, and its relaxation is the perspective of each kind's two-way choice, far tighter
than big-M. It adds ``2|A||X| + 1`` columns and ``O(|A|² + |A||X|)`` rows per kind (the
rows defining ``M`` hold ``|X|`` entries per vertex outside the largest group, which is
defined by ``Σ_a M_{k,a} = P_X`` instead). The other
``formulation=`` values solve the same program, for comparison: ``"persp"`` (one copy of
``λ`` per kind: the exact disjunctive hull per kind, ``K·|V|`` more columns) and
``"bigm"`` (with a payoff column ``y_k``: ``Val_k − (attract_k − VLO_k)⁺ z_k ≥ VLO_k``, ``Val_k − (VHI_k − leave_k)⁺ z_k ≤
leave_k``, ``y_k ≤ Π_k + (leave_payoff_k − PLO_k)⁺(1 − z_k)``, ``y_k ≤ leave_payoff_k +
(PHI_k − leave_payoff_k)⁺ z_k``: small but weak). HiGHS solves the MILP to a relative gap of
1e-9 (:mod:`pluralign.lp`); the attracted set found is then re-solved as a plain LP, whose
basic optimum uses at most ``|X| + K`` vertices.

**Tolerances.** Vertices come from the arrangement with ``tol`` (merge radius and simplex
slack, default 1e-9). An action is *best* at a vertex when within
``tie_tol = 10·|X|·tol·max(1, max|g_user|)`` of the best, which covers the displacement of
a merged or clipped vertex (at most ``|X|·tol`` in ℓ1) times a utility difference; it is
small enough that on random or gridded utilities no action is that close without an
exact tie.

**Where the time goes** (``benchmarks/arrangement.py``). The needed vertices number
``O(H^{|X|−1})`` (about 3,000 for 100 types, |X| = |A| = 3, against 13,000 in the full
arrangement) and take well under a second; the fixed-set LP is fast. The MILP is the wall:
on random markets its relaxation is within a few per cent of the optimum but leaves most
binaries fractional (each kind's perspective is tight, the coupling between kinds through
the one scheme is not), and closing the gap takes branching whose cost grows quickly with
the number of kinds; with |X| = 3 each node also re-solves an LP with ``|X|·K·|V|``-order
nonzeros.

**Zero-probability observations** are handled by dropping them (every posterior puts zero
weight there); the rebuilt scheme sends them the signal distribution ``λ`` (any row would
do: they never occur).

>>> Px = np.array([0.7, 0.3])                              # prosecutor: innocent, guilty
>>> g_user = np.array([[[1.0, 0.0], [0.0, 1.0]]])         # judge: acquit, convict
>>> g_prov = np.array([[[0.0, 0.0], [1.0, 1.0]]])         # the prosecutor wants conviction
>>> r = vertex_deviation(Px, g_user, g_prov, [1.0], [-np.inf], [np.inf], [0.0])
>>> round(r.bound, 9), r.attracted.tolist(), r.vertices.round(3).tolist(), r.weights.round(3).tolist()
(0.6, [True], [[0.5, 0.5], [1.0, 0.0]], [0.6, 0.4])
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from pluralign.analysis.responses.arrangement import (
    DEFAULT_TOL,
    HyperplaneSet,
    enumerate_vertices,
    indifference_normals,
    prepare_hyperplanes,
)
from pluralign.lp import INF, LinearProgram, solve_lp

__all__ = [
    "VertexData",
    "VertexDeviation",
    "RebuiltScheme",
    "deviation_vertices",
    "own_vertices",
    "tie_tolerance",
    "vertex_data",
    "vertex_deviation",
    "rebuild_scheme",
    "relevant_pairs",
]

KEEP = 1e-12  # weights below this are dropped from the result
FORMULATIONS = ("cells", "persp", "bigm")


# --------------------------------------------------------------------------- vertices


def tie_tolerance(g_user: np.ndarray, tol: float) -> float:
    """``10·|X|·tol·max(1, max|g_user|)`` (module docstring, Tolerances)."""
    return 10.0 * g_user.shape[-1] * tol * max(1.0, float(np.abs(g_user).max(initial=0.0)))


def _best_mask(vals: np.ndarray, tie_tol: float) -> np.ndarray:
    """``vals[..., a]`` → which actions are within ``tie_tol`` of the best."""
    return vals >= vals.max(axis=-1, keepdims=True) - tie_tol


def own_vertices(g_kind, *, tol: float = DEFAULT_TOL) -> np.ndarray:
    """Vertices of one kind's own arrangement (its indifference hyperplanes ``g_kind[a] − g_kind[a']``)."""
    g_kind = np.asarray(g_kind, dtype=float)
    n_x = g_kind.shape[1]
    H = indifference_normals(g_kind[None])
    return enumerate_vertices(prepare_hyperplanes(H, tol=tol, n_x=n_x), tol=tol).vertices


def relevant_pairs(g_user, *, tol: float = DEFAULT_TOL) -> np.ndarray:
    """``pairs[r] = (k, a, a')``, ``a < a'``: the pairs both best for kind ``k`` somewhere in Δ(X).

    Tested at the vertices of each kind's own arrangement (module docstring, reduction 1):
    the tie set ``{q ∈ Δ: a, a' both best}`` is a polytope, nonempty iff it has a vertex, and
    its vertices are vertices of the kind's own arrangement.
    """
    g_user = np.asarray(g_user, dtype=float)
    tt = tie_tolerance(g_user, tol)
    out = []
    for k in range(g_user.shape[0]):
        best = _best_mask(own_vertices(g_user[k], tol=tol) @ g_user[k].T, tt)  # [v, a]
        both = (best[:, :, None] & best[:, None, :]).any(axis=0)
        a, b = np.nonzero(np.triu(both, 1))
        out.append(np.column_stack([np.full(a.size, k), a, b]))
    return np.concatenate(out).astype(np.int64) if out else np.zeros((0, 3), dtype=np.int64)


def deviation_vertices(g_user, *, tol: float = DEFAULT_TOL, prune: bool = True, chunk: int = 1 << 15) -> np.ndarray:
    """The posteriors ``V[v, x]`` an optimal public deviation needs (module docstring).

    ``prune=False`` gives every vertex of the full arrangement of all kinds' indifference
    hyperplanes; ``prune=True`` (default) only the vertices of the cells on which every
    kind's best-action set is constant (reductions 1 and 2), a subset that still suffices.
    Kinds with identical ``g_user`` share their hyperplanes.
    """
    g_user = np.asarray(g_user, dtype=float)
    K, n_a, n_x = g_user.shape
    G = np.unique(g_user.reshape(K, -1), axis=0).reshape(-1, n_a, n_x)
    if not prune:
        hs = prepare_hyperplanes(indifference_normals(G), tol=tol, n_x=n_x)
        return enumerate_vertices(hs, tol=tol, chunk=chunk).vertices
    pairs = relevant_pairs(G, tol=tol)
    normals = G[pairs[:, 0], pairs[:, 1]] - G[pairs[:, 0], pairs[:, 2]]
    hs = prepare_hyperplanes(normals.reshape(-1, n_x), tol=tol, n_x=n_x)
    accept = _ActiveTies(G, pairs, hs, tie_tolerance(g_user, tol))
    return enumerate_vertices(hs, tol=tol, chunk=chunk, accept=accept).vertices


class _ActiveTies:
    """Accept a candidate vertex iff each hyperplane among its equations is, for some kind
    whose indifference it is, a tie between two actions both best at the candidate."""

    def __init__(self, G: np.ndarray, pairs: np.ndarray, hs: HyperplaneSet, tie_tol: float):
        self.G, self.pairs, self.U, self.tie_tol = G, pairs, len(hs), tie_tol
        lab = hs.label
        kept = np.flatnonzero(lab >= 0)
        order = kept[np.argsort(lab[kept], kind="stable")]
        counts = np.bincount(lab[kept], minlength=self.U)
        width = int(counts.max(initial=0))
        self.members = np.full((self.U, max(width, 1)), -1, dtype=np.int64)
        starts = np.cumsum(counts) - counts
        slot = np.arange(order.size) - np.repeat(starts, counts)
        self.members[lab[order], slot] = order

    def __call__(self, q: np.ndarray, S: np.ndarray) -> np.ndarray:
        ok = np.ones(q.shape[0], dtype=bool)
        for j in range(S.shape[1]):
            u = S[:, j]
            hyper = np.flatnonzero(u < self.U)
            active = np.zeros(hyper.size, dtype=bool)
            for slot in range(self.members.shape[1]):
                todo = np.flatnonzero(~active)
                if todo.size == 0:
                    break
                m = self.members[u[hyper[todo]], slot]
                has = m >= 0
                todo, m = todo[has], m[has]
                if todo.size == 0:
                    continue
                k, a, b = self.pairs[m, 0], self.pairs[m, 1], self.pairs[m, 2]
                vals = np.einsum("cax,cx->ca", self.G[k], q[hyper[todo]])
                top = vals.max(axis=1) - self.tie_tol
                rows = np.arange(todo.size)
                active[todo] = (vals[rows, a] >= top) & (vals[rows, b] >= top)
            ok[hyper] &= active
        return ok


# --------------------------------------------------------------------------- per-vertex data


@dataclass(frozen=True, eq=False)
class VertexData:
    """Per-vertex quantities: ``val[k, v]``, ``pi[k, v]`` and the provider's pick ``act[k, v]``
    (the best action for kind ``k`` at ``v`` with the highest ``g_prov``; lowest index on ties)."""

    vertices: np.ndarray
    val: np.ndarray
    pi: np.ndarray
    act: np.ndarray
    best: np.ndarray  # best[k, v, a]: a is a best action for k at v


def vertex_data(V: np.ndarray, g_user: np.ndarray, g_prov: np.ndarray, tie_tol: float) -> VertexData:
    """``val_k(v) = max_a g_user[k,a]·v``; ``π_k(v) = max_{a best at v} g_prov[k,a]·v``."""
    Eu = np.einsum("kax,vx->kva", g_user, V)
    val = Eu.max(axis=2)
    best = Eu >= val[:, :, None] - tie_tol
    Ep = np.einsum("kax,vx->kva", g_prov, V)
    Ep = np.where(best, Ep, -np.inf)
    act = Ep.argmax(axis=2)
    pi = np.take_along_axis(Ep, act[:, :, None], axis=2)[:, :, 0]
    return VertexData(V, val, pi, act, best)


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class VertexDeviation:
    """The optimal public deviation over vertex posteriors.

    ``bound`` is the optimal value (``-inf`` if infeasible); ``attracted[k]`` the attracted
    set; ``vertices[s]`` the used posteriors over *all* observations (zero where ``Px`` is
    zero) with ``weights[s] = λ_s > 0``; ``actions[s, k]`` the action the provider picks for
    attracted kind ``k`` at signal ``s`` (``-1`` for kinds not attracted); ``values[k] =
    Σ_s λ_s val_k(q_s)`` each kind's value; ``payoffs[k]`` the provider's payoff per unit mass
    from kind ``k`` (``Σ_s λ_s π_k`` if attracted, else ``leave_payoff[k]``). ``n_vertices``
    posteriors were considered, ``lp_solves`` programs solved (MILP and LP), ``milp`` whether
    the attracted set was chosen by a MILP.
    """

    bound: float
    attracted: np.ndarray
    vertices: np.ndarray
    weights: np.ndarray
    actions: np.ndarray
    values: np.ndarray
    payoffs: np.ndarray
    Px: np.ndarray
    n_vertices: int
    lp_solves: int
    seconds: float
    status: str
    milp: bool = False

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"

    def scheme(self) -> RebuiltScheme:
        """The explicit scheme, one signal per used vertex (:func:`rebuild_scheme`)."""
        return rebuild_scheme(self)


@dataclass(frozen=True, eq=False)
class RebuiltScheme:
    """``sigma[x, s] = λ_s q_s(x) / Px(x)`` (rows sum to 1) and ``recommendations[s, k]``:
    the action recommended to kind ``k`` at signal ``s`` (``-1``: kind not attracted)."""

    sigma: np.ndarray
    recommendations: np.ndarray


def rebuild_scheme(result: VertexDeviation) -> RebuiltScheme:
    """σ(x, s) = λ_s q_s(x) / P(x): Bayes plausibility ``Σ_s λ_s q_s = P_X`` makes rows sum to 1.

    Observations with ``P(x) = 0`` get the signal distribution ``λ / Σλ`` (they never occur).
    """
    if not result.optimal:
        raise ValueError(f"no scheme: the deviation program is {result.status}")
    Px = result.Px
    lam, Q = result.weights, result.vertices
    sigma = np.empty((Px.size, lam.size))
    pos = Px > 0
    sigma[pos] = (Q[:, pos] * lam[:, None]).T / Px[pos, None]
    sigma[~pos] = lam / lam.sum()
    sigma /= sigma.sum(axis=1, keepdims=True)
    return RebuiltScheme(sigma, result.actions.copy())


# --------------------------------------------------------------------------- programs


def _as_vector(v, K: int, name: str) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    v = np.broadcast_to(v, (K,)).astype(float) if v.ndim == 0 or v.size == 1 else v
    if v.shape != (K,):
        raise ValueError(f"{name} must have one entry per kind ({K}), got shape {v.shape}")
    return v


@dataclass(frozen=True, eq=False)
class _Problem:
    Px: np.ndarray
    gu: np.ndarray
    gp: np.ndarray
    data: VertexData
    mass: np.ndarray
    attract: np.ndarray
    leave: np.ndarray
    leave_payoff: np.ndarray
    VLO: np.ndarray
    VHI: np.ndarray
    PLO: np.ndarray
    PHI: np.ndarray
    eps: float


class _Rows:
    """Accumulates sparse rows ``lo ≤ A x ≤ hi`` over ``n_col`` columns."""

    def __init__(self, n_col: int):
        self.n_col, self.r = n_col, 0
        self.rows, self.cols, self.vals, self.lo, self.hi = [], [], [], [], []

    def add(self, cols_per_row, vals_per_row, lo, hi) -> None:
        """A block of rows: ``cols_per_row[r]``, ``vals_per_row[r]`` (array-likes) for each new row."""
        n = 0
        for c, v in zip(cols_per_row, vals_per_row):
            c, v = np.asarray(c, dtype=np.int64).ravel(), np.asarray(v, dtype=float).ravel()
            self.rows.append(np.full(c.size, self.r, dtype=np.int64))
            self.cols.append(c)
            self.vals.append(v)
            self.r += 1
            n += 1
        self.lo.append(np.broadcast_to(np.asarray(lo, dtype=float), (n,)))
        self.hi.append(np.broadcast_to(np.asarray(hi, dtype=float), (n,)))

    def matrix(self) -> tuple[sp.csc_matrix, np.ndarray, np.ndarray]:
        if self.r == 0:
            return sp.csc_matrix((0, self.n_col)), np.zeros(0), np.zeros(0)
        A = sp.csc_matrix(
            (np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))), shape=(self.r, self.n_col)
        )
        return A, np.concatenate(self.lo), np.concatenate(self.hi)


def _program(pb: _Problem, fixed: np.ndarray, formulation: str = "cells") -> tuple[LinearProgram, float]:
    """The LP (every ``fixed[k] ∈ {0, 1}``) or MILP (``fixed[k] = -1``: free) of the module docstring,
    with its objective multiplied by the returned factor.

    Columns: ``λ_v``, then ``z_k`` for the free kinds, then (``"bigm"``) their ``y_k``, or each
    free kind's extra columns (``"cells"``: ``m_{k,a}``, ``M_{k,a}``; ``"persp"``: the attracted
    copy of λ). With ``"cells"`` and ``"persp"`` the payoff ``y_k`` is substituted by its bound
    (tight at the optimum) straight into the objective.
    """
    d = pb.data
    n_v, n_x = d.vertices.shape[0], pb.Px.size
    lam = np.arange(n_v)
    free = np.flatnonzero(fixed < 0)
    inn = np.flatnonzero(fixed == 1)
    out = np.flatnonzero(fixed == 0)
    nf = free.size
    zc = n_v + np.arange(nf)
    yc = n_v + nf + np.arange(nf if formulation == "bigm" else 0)
    n_col = n_v + nf + yc.size
    first, groups = [], []  # per free kind: its first extra column; ("cells") its actions
    for k in free:
        first.append(n_col)
        if formulation == "cells":
            acts = np.unique(d.act[k])
            groups.append(acts)
            n_col += 2 * acts.size * n_x
        elif formulation == "persp":
            n_col += n_v
    R = _Rows(n_col)
    c = np.zeros(n_col)
    offset = 0.0

    # Bayes plausibility: Σ_v λ_v v = P_X
    R.add([np.concatenate([lam]) for _ in range(n_x)], list(d.vertices.T), pb.Px, pb.Px)

    # kinds with a fixed status: participation or staying away, when not vacuous
    eps = pb.eps
    need_in = inn[np.isfinite(pb.attract[inn]) & (pb.attract[inn] > pb.VLO[inn] - eps)]
    R.add([lam] * need_in.size, list(d.val[need_in]), pb.attract[need_in], INF)
    need_out = out[np.isfinite(pb.leave[out]) & (pb.leave[out] < pb.VHI[out] + eps)]
    R.add([lam] * need_out.size, list(d.val[need_out]), -INF, pb.leave[need_out])

    # free kinds
    L = pb.leave_payoff[free]
    att, lea = pb.attract[free], pb.leave[free]
    part = np.isfinite(att) & (att > pb.VLO[free] - eps)
    stay = np.isfinite(lea) & (lea < pb.VHI[free] + eps)
    for i, k in enumerate(free):
        z = zc[i]
        if formulation == "cells":
            acts, nb = groups[i], groups[i].size
            g, gp = pb.gu[k], pb.gp[k]
            m = first[i] + np.arange(nb * n_x).reshape(nb, n_x)  # m_{k,a}[x]
            M = m + nb * n_x  # M_{k,a}[x]
            members = [np.flatnonzero(d.act[k] == a) for a in acts]
            big = int(np.argmax([v.size for v in members]))
            for j, a in enumerate(acts):
                if j != big:  # M_a = Σ_{v: act = a} λ_v v
                    grp = members[j]
                    R.add([np.concatenate([[M[j, x]], grp]) for x in range(n_x)],
                          [np.concatenate([[1.0], -d.vertices[grp, x]]) for x in range(n_x)], 0.0, 0.0)
                else:  # the largest group by complement: Σ_a M_a = P_X
                    R.add([M[:, x] for x in range(n_x)], [np.ones(nb)] * n_x, pb.Px, pb.Px)
                R.add([[m[j, x], M[j, x]] for x in range(n_x)], [[1.0, -1.0]] * n_x, -INF, 0.0)
                others = [b for b in range(g.shape[0]) if b != a]
                R.add([m[j]] * len(others), [g[a] - g[b] for b in others], 0.0, INF)
                R.add([np.concatenate([M[j], m[j]])] * len(others),
                      [np.concatenate([g[a] - g[b], g[b] - g[a]]) for b in others], 0.0, INF)
            R.add([np.concatenate([m[:, x], [z]]) for x in range(n_x)],
                  [np.concatenate([np.ones(nb), [-pb.Px[x]]]) for x in range(n_x)], 0.0, 0.0)
            gv, gq = g[acts].ravel(), gp[acts].ravel()
            if part[i]:
                R.add([np.concatenate([m.ravel(), [z]])], [np.concatenate([gv, [-att[i]]])], 0.0, INF)
            if stay[i]:
                R.add([np.concatenate([M.ravel(), m.ravel(), [z]])], [np.concatenate([gv, -gv, [lea[i]]])], -INF, lea[i])
            # payoff: Σ_a g_prov[k,a]·m_{k,a} + leave_payoff_k (1 − z_k)
            c[m.ravel()] += pb.mass[k] * gq
            c[z] -= pb.mass[k] * L[i]
            offset += pb.mass[k] * L[i]
        elif formulation == "persp":
            cp = first[i] + lam  # the attracted copy λ¹ ≤ λ with Σ_v λ¹_v v = z P_X
            R.add([np.concatenate([cp, [z]]) for _ in range(n_x)],
                  [np.concatenate([d.vertices[:, x], [-pb.Px[x]]]) for x in range(n_x)], 0.0, 0.0)
            R.add([[cp[v], v] for v in range(n_v)], [[1.0, -1.0]] * n_v, -INF, 0.0)
            if part[i]:
                R.add([np.concatenate([cp, [z]])], [np.concatenate([d.val[k], [-att[i]]])], 0.0, INF)
            if stay[i]:
                R.add([np.concatenate([lam, cp, [z]])], [np.concatenate([d.val[k], -d.val[k], [lea[i]]])], -INF, lea[i])
            c[cp] += pb.mass[k] * d.pi[k]
            c[z] -= pb.mass[k] * L[i]
            offset += pb.mass[k] * L[i]
        else:  # big-M
            y = yc[i]
            VLO, VHI = pb.VLO[k] - eps, pb.VHI[k] + eps
            if part[i]:
                R.add([np.concatenate([lam, [z]])], [np.concatenate([d.val[k], [-(att[i] - VLO)]])], VLO, INF)
            if stay[i]:
                R.add([np.concatenate([lam, [z]])], [np.concatenate([d.val[k], [-(VHI - lea[i])]])], -INF, lea[i])
            M1 = max(L[i] - pb.PLO[k], 0.0)
            M2 = max(pb.PHI[k] - L[i], 0.0)
            R.add([np.concatenate([[y], lam, [z]])], [np.concatenate([[1.0], -d.pi[k], [M1]])], -INF, M1)
            R.add([[y, z]], [[1.0, -M2]], -INF, L[i])

    A, lo, hi = R.matrix()
    if inn.size:
        c[:n_v] += pb.mass[inn] @ d.pi[inn]
    offset += float(pb.mass[out] @ pb.leave_payoff[out]) if out.size else 0.0
    col_lo = np.zeros(n_col)
    col_hi = np.full(n_col, INF)
    integrality = None
    if nf:
        col_hi[zc] = 1.0
        if yc.size:
            c[yc] = pb.mass[free]
            col_lo[yc] = np.minimum(pb.PLO[free], L) - eps
            col_hi[yc] = np.maximum(pb.PHI[free], L) + eps
        integrality = np.zeros(n_col, dtype=np.int8)
        integrality[zc] = 1
    # Masses of many kinds make tiny costs; HiGHS's simplex copes far better with costs of
    # order one (measured: 7x fewer iterations at 100 kinds). The caller divides back.
    top = float(np.abs(c).max(initial=0.0))
    scale = 1.0 / top if top > 0 else 1.0
    return LinearProgram.build(
        c * scale, A, lo, hi, col_lo, col_hi, sense="max", offset=offset * scale, integrality=integrality
    ), scale


def vertex_deviation(
    Px,
    g_user,
    g_prov,
    mass,
    attract,
    leave,
    leave_payoff,
    *,
    backend: str = "highs",
    tol: float = DEFAULT_TOL,
    attracted=None,
    prune: bool = True,
    formulation: str = "cells",
) -> VertexDeviation:
    """The optimal public deviation (module docstring): a MILP over attracted sets, then an LP.

    ``Px[x] ≥ 0``; ``g_user``, ``g_prov``: ``[k, a, x]``; ``mass``, ``attract``, ``leave``,
    ``leave_payoff``: ``[k]`` (scalars broadcast). ``attract[k] = -inf``: attraction needs no
    participation; ``+inf``: ``k`` can never be attracted. ``leave[k] = +inf``: no constraint on
    a kind not attracted; ``-inf``: ``k`` must be attracted. ``attracted=`` (bool ``[k]``) fixes
    the attracted set: then it is one LP. ``prune=False`` uses every vertex of the full
    arrangement (for checks: same bound, more columns). ``backend`` is passed to
    :func:`pluralign.lp.solve_lp`.
    """
    started = time.perf_counter()
    Px_full = np.asarray(Px, dtype=float).ravel()
    g_user = np.asarray(g_user, dtype=float)
    g_prov = np.asarray(g_prov, dtype=float)
    if g_user.ndim != 3 or g_prov.shape != g_user.shape or g_user.shape[2] != Px_full.size:
        raise ValueError(
            f"g_user and g_prov must be [kind, action, observation] of one shape with {Px_full.size} observations; "
            f"got {g_user.shape} and {g_prov.shape}"
        )
    if not (np.all(np.isfinite(Px_full)) and np.all(Px_full >= 0) and Px_full.sum() > 0):
        raise ValueError("Px must be finite, nonnegative and not all zero")
    if not (np.all(np.isfinite(g_user)) and np.all(np.isfinite(g_prov))):
        raise ValueError("g_user and g_prov must be finite")
    K = g_user.shape[0]
    mass = _as_vector(mass, K, "mass")
    attract = _as_vector(attract, K, "attract")
    leave = _as_vector(leave, K, "leave")
    leave_payoff = _as_vector(leave_payoff, K, "leave_payoff")
    if not np.all(mass > 0) or not np.all(np.isfinite(mass)):
        raise ValueError("mass must be positive and finite")
    if np.any(np.isnan(attract)) or np.any(np.isnan(leave)):
        raise ValueError("attract and leave must not be NaN")
    if not np.all(np.isfinite(leave_payoff)):
        raise ValueError("leave_payoff must be finite")

    if attracted is not None:
        fixed_in = np.asarray(attracted, dtype=bool)
        if fixed_in.shape != (K,):
            raise ValueError(f"attracted must have one entry per kind ({K})")
    if formulation not in FORMULATIONS:
        raise ValueError(f"formulation must be one of {FORMULATIONS}, got {formulation!r}")

    # Identical kinds (same utilities, thresholds and leave payoff) are merged, masses added:
    # some optimum treats them alike (same value, so either status feasible for one is for
    # both, and the better payoff per unit mass serves both).
    key = np.column_stack([g_user.reshape(K, -1), g_prov.reshape(K, -1), attract, leave, leave_payoff])
    if attracted is not None:
        key = np.column_stack([key, fixed_in])
    _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    order = np.argsort(first)  # keep the kinds' order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    inv, first = rank[inv], first[order]
    mass_u = np.bincount(inv, weights=mass, minlength=first.size)

    pos = Px_full > 0
    core = _solve(
        Px_full[pos], g_user[first][:, :, pos], g_prov[first][:, :, pos], mass_u, attract[first], leave[first],
        leave_payoff[first], backend=backend, tol=tol, fixed_in=None if attracted is None else fixed_in[first],
        prune=prune, formulation=formulation,
    )
    Q = np.zeros((core.weights.size, Px_full.size))
    Q[:, pos] = core.vertices
    return VertexDeviation(
        bound=core.bound,
        attracted=core.attracted[inv],
        vertices=Q,
        weights=core.weights,
        actions=core.actions[:, inv],
        values=core.values[inv],
        payoffs=core.payoffs[inv],
        Px=Px_full,
        n_vertices=core.n_vertices,
        lp_solves=core.lp_solves,
        seconds=time.perf_counter() - started,
        status=core.status,
        milp=core.milp,
    )


def _solve(Px, gu, gp, mass, attract, leave, leave_payoff, *, backend, tol, fixed_in, prune, formulation) -> VertexDeviation:
    """:func:`vertex_deviation` on positive-probability observations and distinct kinds."""
    started = time.perf_counter()
    K = gu.shape[0]
    tt = tie_tolerance(gu, tol)
    V = deviation_vertices(gu, tol=tol, prune=prune)
    data = vertex_data(V, gu, gp, tt)
    scale = max(1.0, float(np.abs(gu).max(initial=0.0)), float(np.abs(gp).max(initial=0.0)), float(np.abs(leave_payoff).max(initial=0.0)))
    pb = _Problem(
        Px=Px,
        gu=gu,
        gp=gp,
        data=data,
        mass=mass,
        attract=attract,
        leave=leave,
        leave_payoff=leave_payoff,
        VLO=(gu @ Px).max(axis=1),
        VHI=gu.max(axis=1) @ Px,
        PLO=gp.min(axis=1) @ Px,
        PHI=gp.max(axis=1) @ Px,
        eps=1e-9 * scale * max(1.0, float(Px.sum())),
    )

    def failed(status: str, solves: int, milp: bool) -> VertexDeviation:
        return VertexDeviation(
            -np.inf, np.zeros(K, dtype=bool), np.zeros((0, Px.size)), np.zeros(0), np.zeros((0, K), dtype=np.int64),
            np.full(K, np.nan), np.full(K, np.nan), Px, V.shape[0], solves, time.perf_counter() - started, status, milp,
        )

    solves, milp = 0, False
    if fixed_in is not None:
        fixed = fixed_in.astype(np.int64)
        if np.any(fixed_in & (attract == np.inf)) or np.any(~fixed_in & (leave == -np.inf)):
            return failed("infeasible", 0, False)
    else:
        eps = pb.eps
        must_in = leave < pb.VLO - eps  # includes -inf
        cannot = attract > pb.VHI + eps  # includes +inf
        if np.any(must_in & cannot):
            return failed("infeasible", 0, True)
        # Dominance: attracting is always possible and never worse than leaving (or the reverse).
        take = (attract <= pb.VLO + eps) & (leave_payoff <= pb.PLO)
        drop = (leave >= pb.VHI - eps) & (leave_payoff >= pb.PHI)
        fixed = np.where(must_in, 1, np.where(cannot, 0, np.where(take, 1, np.where(drop, 0, -1))))
        milp = bool(np.any(fixed < 0))
        if milp:
            prog, mscale = _program(pb, fixed, formulation)
            mres = solve_lp(prog, backend=backend)
            solves += 1
            if mres.status != "optimal":
                return failed(_status(mres.status), solves, True)
            n_v, nf = V.shape[0], int(np.sum(fixed < 0))
            fixed = fixed.copy()
            fixed[fixed < 0] = (mres.x[n_v : n_v + nf] > 0.5).astype(np.int64)

    # The attracted set as a plain LP: a basic optimum, free of the MILP's integrality slack.
    prog, scale = _program(pb, fixed)
    res = solve_lp(prog, backend=backend)
    solves += 1
    if res.status != "optimal":
        if not milp:
            return failed(_status(res.status), solves, milp)
        res, scale = mres, mscale  # within the MILP's tolerances but not the LP's: keep the MILP's point
    T = fixed.astype(bool)
    lam = np.maximum(res.x[: V.shape[0]], 0.0)
    used = np.flatnonzero(lam > KEEP)
    return VertexDeviation(
        bound=float(res.objective) / scale,
        attracted=T,
        vertices=V[used],
        weights=lam[used],
        actions=np.where(T[None, :], data.act[:, used].T, -1).astype(np.int64),
        values=data.val @ lam,
        payoffs=np.where(T, data.pi @ lam, leave_payoff),
        Px=Px,
        n_vertices=int(V.shape[0]),
        lp_solves=solves,
        seconds=time.perf_counter() - started,
        status="optimal",
        milp=milp,
    )


def _status(s: str) -> str:
    return "infeasible" if s in ("infeasible", "infeasible_or_unbounded") else s
