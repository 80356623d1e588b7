"""Market alignment: is each user's utility a nonnegative mix of the providers'? (docs/model.md §7)

Stack utilities over (action, state) pairs, ``r = a·n_y + y`` (``N = n_a·n_y`` rows),
so that user j has the vector ``u_j[r] = u[j, a, y]`` and the providers the matrix
``M_j[r, i] = U[i, j, a, y]``.

**Weak Market Alignment** (per user; cone weights and a scalar offset by default)::

    ε_j = min_{λ ≥ 0, c ∈ ℝ}  max_r | (M_j λ)_r + c − u_j[r] |

**Strong Market Alignment** (one weight vector for every user, one offset per user)::

    ε_S = min_{λ ≥ 0, c_1..c_m}  max_{j, r} | (M_j λ)_r + c_j − u_j[r] |

Options: ``variant="simplex"`` restricts λ to the simplex (Σ_i λ_i = 1; never
smaller than the cone error); ``offset="state"`` replaces the scalar c by a
state-dependent c(y), i.e. ``E c`` with ``E[r, y'] = 1[r has state y']`` (the scalar
offset is ``E = 1``).

Both are linear programs, ``min t s.t. −t ≤ Mλ + Ec − u ≤ t``. Their duals are the
certificates: for any ``w`` over (a, y) with ``Eᵀw = 0`` and ``‖w‖₁ ≤ 1``,

    ε ≥ w·u                      (cone, if additionally Mᵀw ≤ 0)
    ε ≥ w·u − max_i (Mᵀw)_i      (simplex)

because ``w·u = Σ_i λ_i (Mᵀw)_i + cᵀEᵀw − w·(Mλ + Ec − u) ≤ Σ_i λ_i (Mᵀw)_i + ε``.
LP duality makes the best such bound equal to ε, so every result carries the
weights and offsets that achieve ε (an upper bound) and the ``w`` that proves no
fit is better (a lower bound); ``verify()`` recomputes both from the market.

Many users are fitted together: ``method="batched"`` (default) solves the duals of
all users' programs in lockstep with :func:`pluralign.lp.solve_standard_batch`, and
falls back to HiGHS for any user whose certificate does not close; ``"highs"``
stacks users into block-diagonal HiGHS programs; ``"scipy"`` solves each user with
scipy's ``linprog`` (an independent second computation).

>>> from pluralign.catalog import load
>>> weak = weak_alignment(load("biased_pair"))
>>> round(float(weak.epsilon[0]), 9), weak.weights[0].round(6).tolist(), round(float(weak.offsets[0, 0]), 6)
(0.0, [1.25, 1.25], -0.75)
>>> round(weak_alignment(load("biased_pair"), variant="simplex").max_epsilon, 9)
0.3
>>> round(strong_alignment(load("match_mismatch")).epsilon, 9)
0.5
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.sparse as sp

from pluralign.lp import INF, LinearProgram, LPError, block_diagonal, solve_lp, solve_standard_batch
from pluralign.model.market import Market

__all__ = [
    "VARIANTS",
    "OFFSETS",
    "METHODS",
    "provider_matrix",
    "provider_matrices",
    "offset_matrix",
    "fit_rows",
    "weight_sum_row",
    "fit_bounds",
    "fit_lp",
    "strong_fit_lp",
    "dual_standard_form",
    "dual_from_row_duals",
    "best_offsets",
    "certificate",
    "LinfFits",
    "linf_fits",
    "FitCheck",
    "UserAlignment",
    "WeakAlignment",
    "StrongAlignment",
    "AlignmentReport",
    "weak_alignment",
    "strong_alignment",
    "align",
]

Variant = Literal["cone", "simplex"]
Offset = Literal["scalar", "state"]
Method = Literal["batched", "highs", "scipy"]
VARIANTS = ("cone", "simplex")
OFFSETS = ("scalar", "state")
METHODS = ("batched", "highs", "scipy")

#: Weights at or below this are reported as "not covering" the user.
COVER_TOL = 1e-9


def _choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


# =========================================================================== builders


def provider_matrix(U_j) -> np.ndarray:
    """``M[r, i] = U_j[i, a, y]`` with ``r = a·n_y + y``, for one user's provider utilities ``U_j[i, a, y]``."""
    U_j = np.asarray(U_j, dtype=float)
    return np.ascontiguousarray(U_j.reshape(U_j.shape[0], -1).T)


def provider_matrices(market: Market) -> np.ndarray:
    """``M[j, r, i] = U[i, j, a, y]`` for every user, shape ``(m, N, k)``.

    When no provider's utility depends on the user this is a read-only broadcast of
    one ``(N, k)`` matrix, so it costs no memory.
    """
    U = market.U
    k, m = U.shape[0], U.shape[1]
    if not any(market.user_specific):
        return np.broadcast_to(provider_matrix(U[:, 0]), (m, U.shape[2] * U.shape[3], k))
    return np.moveaxis(U.reshape(k, m, -1), 0, -1)


def offset_matrix(n_actions: int, n_states: int, offset: Offset = "scalar") -> np.ndarray:
    """``E[r, l]``: offset column l applies to row ``r = a·n_y + y``.

    Scalar offset: one column of ones. State offset: ``E[a·n_y + y, y'] = 1[y = y']``.
    """
    _choice(offset, OFFSETS, "offset")
    N = n_actions * n_states
    if offset == "scalar":
        return np.ones((N, 1))
    return np.tile(np.eye(n_states), (n_actions, 1))


def fit_rows(M, E, u) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Rows of ``−t ≤ Mλ + Ec − u ≤ t`` over columns ``[λ (k) | c (q) | t]``.

    The first N rows are ``Mλ + Ec − t ≤ u``, the next N rows ``Mλ + Ec + t ≥ u``.
    Returns ``(A, row_lower, row_upper)``.
    """
    M = np.asarray(M, dtype=float)
    E = np.asarray(E, dtype=float)
    u = np.asarray(u, dtype=float).ravel()
    N = M.shape[0]
    if E.shape[0] != N or u.size != N:
        raise ValueError(f"M has {N} rows, E {E.shape[0]} and u {u.size}; they must agree")
    one = np.ones((N, 1))
    A = sp.csr_matrix(np.vstack([np.hstack([M, E, -one]), np.hstack([M, E, one])]))
    lower = np.concatenate([np.full(N, -INF), u])
    upper = np.concatenate([u, np.full(N, INF)])
    return A, lower, upper


def weight_sum_row(k: int, n_cols: int) -> sp.csr_matrix:
    """The row ``Σ_i λ_i`` (the first k columns); with bounds 1 ≤ · ≤ 1 it puts λ on the simplex."""
    row = np.zeros((1, n_cols))
    row[0, :k] = 1.0
    return sp.csr_matrix(row)


def fit_bounds(k: int, q: int, n_users: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Column bounds for ``[λ (k) | c (q per user) | t]``: λ ≥ 0, offsets free, t ≥ 0."""
    lower = np.concatenate([np.zeros(k), np.full(q * n_users, -INF), [0.0]])
    return lower, np.full(lower.size, INF)


def fit_lp(M, E, u, variant: Variant = "cone") -> LinearProgram:
    """``min t s.t. −t ≤ Mλ + Ec − u ≤ t``, λ ≥ 0 (simplex: also Σλ = 1); columns ``[λ | c | t]``.

    Rows: the 2N rows of :func:`fit_rows`, then (simplex only) :func:`weight_sum_row`.
    """
    _choice(variant, VARIANTS, "variant")
    M = np.asarray(M, dtype=float)
    k, q = M.shape[1], np.shape(E)[1]
    A, lower, upper = fit_rows(M, E, u)
    if variant == "simplex":
        A = sp.vstack([A, weight_sum_row(k, k + q + 1)], format="csr")
        lower, upper = np.append(lower, 1.0), np.append(upper, 1.0)
    col_lower, col_upper = fit_bounds(k, q)
    c = np.zeros(k + q + 1)
    c[-1] = 1.0
    return LinearProgram.build(c, A, lower, upper, col_lower, col_upper, sense="min")


def strong_fit_lp(M, E, u, variant: Variant = "cone") -> LinearProgram:
    """The Strong Market Alignment program over m users.

    ``M`` is ``(m, N, k)`` (or ``(N, k)``, shared), ``u`` is ``(m, N)``. Columns
    ``[λ (k) | c_1 (q) | … | c_m (q) | t]``; rows come in user blocks of 2N, each
    block laid out as :func:`fit_rows` (upper rows, then lower rows), then (simplex
    only) :func:`weight_sum_row`.
    """
    _choice(variant, VARIANTS, "variant")
    u = np.atleast_2d(np.asarray(u, dtype=float))
    m, N = u.shape
    M = np.asarray(M, dtype=float)
    if M.ndim == 2:
        M = np.broadcast_to(M, (m,) + M.shape)
    E = np.asarray(E, dtype=float)
    k, q = M.shape[2], E.shape[1]
    lam = np.concatenate([M, M], axis=1).reshape(2 * m * N, k)
    offsets = sp.kron(sp.eye(m), np.vstack([E, E]))
    t = np.tile(np.concatenate([-np.ones(N), np.ones(N)]), m)[:, None]
    A = sp.hstack([sp.csr_matrix(lam), offsets, sp.csr_matrix(t)], format="csr")
    lower = np.concatenate([np.full((m, N), -INF), u], axis=1).ravel()
    upper = np.concatenate([u, np.full((m, N), INF)], axis=1).ravel()
    n_cols = k + m * q + 1
    if variant == "simplex":
        A = sp.vstack([A, weight_sum_row(k, n_cols)], format="csr")
        lower, upper = np.append(lower, 1.0), np.append(upper, 1.0)
    col_lower, col_upper = fit_bounds(k, q, m)
    c = np.zeros(n_cols)
    c[-1] = 1.0
    return LinearProgram.build(c, A, lower, upper, col_lower, col_upper, sense="min")


def dual_standard_form(M, E, u, variant: Variant = "cone"):
    """The dual of :func:`fit_lp` in standard form, for :func:`pluralign.lp.solve_standard_batch`.

    ``maximize u·(w⁺ − w⁻) [− z⁺ + z⁻]`` over nonnegative columns
    ``[w⁺ (N) | w⁻ (N) | s (k) | s₁ (1) | z⁺ z⁻ (simplex only)]`` subject to

    * k weight rows:  ``Mᵀ(w⁺ − w⁻) + s [− z⁺ + z⁻] = 0``  (Mᵀw ≤ 0, or ≤ z for the simplex),
    * q offset rows:  ``Eᵀ(w⁺ − w⁻) = 0``,
    * 1 norm row:     ``1·(w⁺ + w⁻) + s₁ = 1``.

    ``u`` is ``(B, N)`` (one row per program) and ``M`` is ``(N, k)`` (shared) or
    ``(B, N, k)``. Returns ``(A, b, c, basis)``: A is ``(k+q+1, n)`` or
    ``(B, k+q+1, n)``, and ``basis`` is the feasible start w = 0 (the slacks, plus
    for each offset row the first w⁺ column in it). The simplex multipliers of the
    optimum are ``(λ, c, t)`` of :func:`fit_lp`.
    """
    _choice(variant, VARIANTS, "variant")
    u = np.atleast_2d(np.asarray(u, dtype=float))
    B, N = u.shape
    M = np.asarray(M, dtype=float)
    E = np.asarray(E, dtype=float)
    k, q = M.shape[-1], E.shape[1]
    extra = 2 if variant == "simplex" else 0
    n = 2 * N + k + 1 + extra
    rows = k + q + 1
    if M.ndim == 2:
        A = np.zeros((rows, n))
        A[:k, :N] = M.T
        A[:k, N : 2 * N] = -M.T
    else:
        A = np.zeros((B, rows, n))
        A[:, :k, :N] = np.swapaxes(M, 1, 2)
        A[:, :k, N : 2 * N] = -A[:, :k, :N]
    A[..., :k, 2 * N : 2 * N + k] = np.eye(k)
    A[..., k : k + q, :N] = E.T
    A[..., k : k + q, N : 2 * N] = -E.T
    A[..., k + q, : 2 * N] = 1.0
    A[..., k + q, 2 * N + k] = 1.0
    cost = np.zeros((B, n))
    cost[:, :N] = u
    cost[:, N : 2 * N] = -u
    if variant == "simplex":
        A[..., :k, 2 * N + k + 1] = -1.0
        A[..., :k, 2 * N + k + 2] = 1.0
        cost[:, 2 * N + k + 1] = -1.0
        cost[:, 2 * N + k + 2] = 1.0
    b = np.zeros(rows)
    b[-1] = 1.0
    first = np.argmax(E > 0, axis=0)
    basis = np.concatenate([2 * N + np.arange(k), first, [2 * N + k]])
    return A, b, cost, np.tile(basis, (B, 1))


def dual_from_row_duals(row_dual, N: int, n_blocks: int = 1) -> np.ndarray:
    """``w[b, r] = row_dual[upper row] + row_dual[lower row]`` = ∂ε/∂u[r], from :func:`fit_lp` row duals.

    ``n_blocks`` user blocks of 2N rows are read (as laid out by :func:`strong_fit_lp`);
    rows after them (the simplex row) are ignored.
    """
    rd = np.asarray(row_dual, dtype=float)[: 2 * N * n_blocks].reshape(n_blocks, 2, N)
    return rd[:, 0] + rd[:, 1]


def best_offsets(r0, E) -> tuple[np.ndarray, np.ndarray]:
    """Optimal offsets for fixed weights: ``c = argmin_c max_r |r0[r] + (Ec)_r|`` and the residual.

    ``r0[b, r] = (Mλ)_r − u[r]``; each offset column takes minus the mid-range of its
    rows: ``c_l = −(max + min)/2`` over the rows of ``E[:, l]``. Returns ``(c [B, q], r0 + Ec)``.
    """
    r0 = np.atleast_2d(np.asarray(r0, dtype=float))
    E = np.asarray(E, dtype=float)
    masks = E.T > 0  # [q, N]
    hi = np.where(masks[None], r0[:, None, :], -INF).max(axis=2)
    lo = np.where(masks[None], r0[:, None, :], INF).min(axis=2)
    c = -(hi + lo) / 2.0
    return c, r0 + c @ E.T


def _dual_terms(w, M, E, u):
    """Per program: ``w·u``, ``Mᵀw [k]``, ``Eᵀw [q]`` and ``‖w‖₁``."""
    w = np.atleast_2d(w)
    Mtw = w @ M if M.ndim == 2 else np.einsum("bn,bnk->bk", w, M)
    return (w * u).sum(axis=1), Mtw, w @ E, np.abs(w).sum(axis=1)


def certificate(w, M, E, u, variant: Variant = "cone", pooled: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Lower bound on ε proved by ``w`` and how far ``w`` is from dual-feasible.

    Per program b (or, with ``pooled=True``, for all programs together as in Strong
    Market Alignment, where ``Σ_b M_bᵀw_b`` and ``Σ_b ‖w_b‖₁`` enter)::

        value     = Σ w·u − (max_i (Mᵀw)_i if simplex else 0)
        violation = max( (Mᵀw)_i⁺ (cone only), |Eᵀw|, ‖w‖₁ − 1 )

    If ``violation == 0`` then ``value ≤ ε`` (module docstring).
    """
    _choice(variant, VARIANTS, "variant")
    u = np.atleast_2d(np.asarray(u, dtype=float))
    M = np.asarray(M, dtype=float)
    wu, Mtw, Etw, l1 = _dual_terms(np.asarray(w, dtype=float), M, np.asarray(E, dtype=float), u)
    if pooled:
        wu, Mtw, l1 = wu.sum(keepdims=True), Mtw.sum(axis=0, keepdims=True), l1.sum(keepdims=True)
        Etw = np.array([np.abs(Etw).max()])
    else:
        Etw = np.abs(Etw).max(axis=1)
    if variant == "simplex":
        value = wu - Mtw.max(axis=1)
        violation = np.maximum(Etw, l1 - 1.0)
    else:
        value = wu
        violation = np.maximum(np.maximum(Mtw.max(axis=1), 0.0), np.maximum(Etw, l1 - 1.0))
    return value, np.maximum(violation, 0.0)


def _clean_weights(lam: np.ndarray, variant: str) -> np.ndarray:
    """Solver round-off out of λ: clip at 0 (and renormalize onto the simplex)."""
    lam = np.where(lam > 1e-12, lam, 0.0)
    if variant == "simplex":
        s = lam.sum(axis=-1, keepdims=True)
        lam = np.where(s > 0, lam / np.where(s > 0, s, 1.0), 1.0 / lam.shape[-1])
    return lam


# =========================================================================== core: many L∞ fits


@dataclass(frozen=True, eq=False)
class LinfFits:
    """``B`` independent fits ``min_{λ, c} ‖Mλ + Ec − u_b‖∞`` (array level; see :func:`linf_fits`).

    ``epsilon[b]`` is the error of the reported ``weights[b]``/``offsets[b]`` (offsets are
    the optimal ones for those weights, :func:`best_offsets`); ``dual[b]`` is the
    certificate ``w`` and ``dual_value[b]`` the lower bound it proves; ``worst[b]`` is
    the row r with the largest residual.
    """

    variant: str
    offset: str
    method: str
    epsilon: np.ndarray
    weights: np.ndarray
    offsets: np.ndarray
    residual: np.ndarray
    worst: np.ndarray
    dual: np.ndarray
    dual_value: np.ndarray
    dual_violation: np.ndarray
    fallbacks: int
    seconds: float

    def __len__(self) -> int:
        return self.epsilon.size

    def __repr__(self) -> str:
        return (
            f"LinfFits({len(self)} fits, {self.variant}, {self.offset} offset, method={self.method}, "
            f"max ε = {self.epsilon.max():.6g}, fallbacks={self.fallbacks}, {self.seconds:.3g}s)"
        )


def _offset_kind(E: np.ndarray) -> str:
    return "scalar" if E.shape[1] == 1 else "state"


def _finish(u, M, E, lam, w, variant: str) -> dict:
    """Weights, optimal offsets, residuals and certificate values from raw (λ, w)."""
    lam = _clean_weights(lam, variant)
    r0 = (lam @ M.T if M.ndim == 2 else np.einsum("bnk,bk->bn", M, lam)) - u
    offsets, residual = best_offsets(r0, E)
    epsilon = np.abs(residual).max(axis=1)
    value, violation = certificate(w, M, E, u, variant)
    return dict(
        weights=lam,
        offsets=offsets,
        residual=residual,
        epsilon=epsilon,
        worst=np.abs(residual).argmax(axis=1),
        dual=w,
        dual_value=value,
        dual_violation=violation,
    )


def _solve_lp_fits(u, M, E, variant: str, backend: str, chunk: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Raw (λ, w) for each row of ``u`` with ``fit_lp`` through :func:`pluralign.lp.solve_lp`.

    HiGHS gets block-diagonal stacks of ``chunk`` programs; scipy one program at a time.
    """
    B, N = u.shape
    k = M.shape[-1]
    lam = np.zeros((B, k))
    w = np.zeros((B, N))
    step = chunk if backend == "highs" else 1
    for start in range(0, B, step):
        idx = range(start, min(B, start + step))
        lps = [fit_lp(M if M.ndim == 2 else M[b], E, u[b], variant) for b in idx]
        lp = lps[0] if len(lps) == 1 else block_diagonal(lps)
        res = solve_lp(lp, backend=backend)
        if not res.optimal:
            raise LPError(f"alignment fit for rows {start}..{start + len(lps) - 1}: solver status {res.status!r}")
        n_cols, n_rows = lps[0].num_cols, lps[0].num_rows
        for pos, b in enumerate(idx):
            lam[b] = res.x[pos * n_cols : pos * n_cols + k]
            w[b] = dual_from_row_duals(res.row_dual[pos * n_rows : (pos + 1) * n_rows], N)[0]
    return lam, w


def linf_fits(
    u,
    M,
    E=None,
    *,
    variant: Variant = "cone",
    method: Method = "batched",
    tol: float = 1e-7,
    chunk: int | None = None,
) -> LinfFits:
    """Fit every row of ``u`` (shape ``(B, N)``) by ``Mλ + Ec`` in the L∞ norm, with certificates.

    ``M`` is ``(N, k)`` (shared) or ``(B, N, k)``; ``E`` defaults to a scalar offset
    (a column of ones). ``λ ≥ 0`` (``variant="cone"``) or ``λ`` in the simplex.

    With ``method="batched"`` the duals of ``chunk`` programs at a time (default 1000
    with a shared ``M``, 250 otherwise, to stay in cache) go through
    :func:`pluralign.lp.solve_standard_batch`; a program whose status is not optimal,
    or whose certificate leaves a gap ``ε − dual_value > tol`` or is infeasible by more
    than ``tol``, is re-solved with HiGHS (counted in ``fallbacks``).
    """
    started = time.perf_counter()
    _choice(variant, VARIANTS, "variant")
    _choice(method, METHODS, "method")
    u = np.atleast_2d(np.asarray(u, dtype=float))
    B, N = u.shape
    M = np.asarray(M, dtype=float)
    if M.ndim not in (2, 3) or M.shape[-2] != N or (M.ndim == 3 and M.shape[0] != B):
        raise ValueError(f"M must have shape ({N}, k) or ({B}, {N}, k); got {M.shape}")
    E = np.ones((N, 1)) if E is None else np.asarray(E, dtype=float)
    if E.shape[0] != N:
        raise ValueError(f"E must have {N} rows; got shape {E.shape}")
    k = M.shape[-1]
    fallbacks = 0
    if chunk is None:
        chunk = 1000 if M.ndim == 2 else 250
    if method == "batched":
        lam = np.zeros((B, k))
        w = np.zeros((B, N))
        status = np.empty(B, dtype="<U16")
        for start in range(0, B, chunk):
            sl = slice(start, min(B, start + chunk))
            A, b, cost, basis = dual_standard_form(M if M.ndim == 2 else M[sl], E, u[sl], variant)
            res = solve_standard_batch(A, b, cost, basis)
            lam[sl] = res.y[:, :k]
            w[sl] = res.x[:, :N] - res.x[:, N : 2 * N]
            status[sl] = res.status
        out = _finish(u, M, E, lam, w, variant)
        redo = (status != "optimal") | (out["epsilon"] - out["dual_value"] > tol) | (out["dual_violation"] > tol)
        if redo.any():
            idx = np.flatnonzero(redo)
            fallbacks = idx.size
            lam[idx], w[idx] = _solve_lp_fits(u[idx], M if M.ndim == 2 else M[idx], E, variant, "highs")
            out = _finish(u, M, E, lam, w, variant)
    else:
        lam, w = _solve_lp_fits(u, M, E, variant, method)
        out = _finish(u, M, E, lam, w, variant)
    return LinfFits(
        variant=variant,
        offset=_offset_kind(E),
        method=method,
        fallbacks=fallbacks,
        seconds=time.perf_counter() - started,
        **out,
    )


# =========================================================================== results


@dataclass(frozen=True)
class FitCheck:
    """Independent recomputation of an alignment result from the market's arrays.

    * ``epsilon_error``: max |recomputed max-residual of the reported fit − reported ε|;
    * ``weight_violation``: how far the weights are from λ ≥ 0 (and Σλ = 1 for the simplex);
    * ``dual_violation``: how far the certificate w is from dual-feasible;
    * ``duality_gap``: max (ε − lower bound proved by w); ≈ 0 proves optimality.

    ``ok`` is True when all four are at most ``tol``.
    """

    ok: bool
    tol: float
    epsilon_error: float
    weight_violation: float
    dual_violation: float
    duality_gap: float

    def __bool__(self) -> bool:
        return self.ok


def _fit_check(tol: float, *values: float) -> FitCheck:
    vals = [float(v) for v in values]
    return FitCheck(all(v <= tol for v in vals), tol, *vals)


def _market_fit(market: Market, weights: np.ndarray, offsets: np.ndarray, offset: str) -> np.ndarray:
    """Residual ``Σ_i λ_ji U[i, j, a, y] + c_j(·) − u[j, a, y]`` computed straight from the market arrays."""
    fit = np.einsum("ji,ijay->jay", weights, market.U)
    if offset == "scalar":
        fit = fit + offsets[:, 0][:, None, None]
    else:
        fit = fit + offsets[:, None, :]
    return fit - market.u


def _weight_violation(weights: np.ndarray, variant: str) -> float:
    v = float(max(0.0, -weights.min()))
    if variant == "simplex":
        v = max(v, float(np.abs(weights.sum(axis=-1) - 1.0).max()))
    return v


def _offset_value(market: Market, offsets_j: np.ndarray, offset: str):
    if offset == "scalar":
        return float(offsets_j[0]) + 0.0
    return {s: float(offsets_j[y]) + 0.0 for y, s in enumerate(market.states)}


@dataclass(frozen=True)
class UserAlignment:
    """One user's Weak Market Alignment: ε, the weights and offset achieving it, the worst (action, state)."""

    user: str
    epsilon: float
    weights: dict
    offset: float | dict
    worst: tuple[str, str]
    lower_bound: float

    @property
    def covering(self) -> tuple[str, ...]:
        """Providers with positive weight, heaviest first."""
        pos = [(w, p) for p, w in self.weights.items() if w > COVER_TOL]
        return tuple(p for w, p in sorted(pos, key=lambda t: -t[0]))


@dataclass(frozen=True, eq=False, repr=False)
class WeakAlignment:
    """Weak Market Alignment of every user (docs/model.md §7): ``epsilon[j]``, ``weights[j, i]``, ``offsets[j, q]``.

    ``dual[j, a, y]`` is the certificate w of user j and ``lower_bound[j]`` the bound it
    proves (equal to ``epsilon[j]`` up to the solver tolerance). ``worst[j] = (a, y)``
    is where user j's largest residual sits. Iterate, index by position or user
    name, for :class:`UserAlignment` records.
    """

    market: Market
    variant: str
    offset: str
    method: str
    epsilon: np.ndarray
    weights: np.ndarray
    offsets: np.ndarray
    worst: np.ndarray
    dual: np.ndarray
    lower_bound: np.ndarray
    seconds: float
    info: dict = field(default_factory=dict)

    @property
    def max_epsilon(self) -> float:
        """The market's WMA level: ``max_j ε_j``."""
        return float(self.epsilon.max())

    def __len__(self) -> int:
        return self.epsilon.size

    def __getitem__(self, key: int | str) -> UserAlignment:
        j = self.market.user_index(key) if isinstance(key, str) else int(key)
        m = self.market
        a, y = (int(v) for v in self.worst[j])
        return UserAlignment(
            user=m.users[j],
            epsilon=float(self.epsilon[j]),
            weights={p: float(self.weights[j, i]) for i, p in enumerate(m.providers)},
            offset=_offset_value(m, self.offsets[j], self.offset),
            worst=(m.actions[a], m.states[y]),
            lower_bound=float(self.lower_bound[j]),
        )

    def __iter__(self) -> Iterator[UserAlignment]:
        return (self[j] for j in range(len(self)))

    def __repr__(self) -> str:
        head = f"WeakAlignment({self.market.name!r}, {self.variant}, {self.offset} offset, method={self.method}: "
        if len(self) <= 6:
            body = ", ".join(f"{u} ε={e:.6g}" for u, e in zip(self.market.users, self.epsilon))
        else:
            body = f"{len(self)} users, max ε={self.max_epsilon:.6g}, mean ε={float(self.epsilon.mean()):.6g}"
        return head + body + ")"

    def _repr_html_(self) -> str:
        from pluralign.html import table

        m = self.market
        rows = [(u, self.epsilon[j], ", ".join(f"{p} {self.weights[j, i]:.3g}" for i, p in enumerate(m.providers)))
                for j, u in enumerate(m.users)]
        return table(f"Weak Market Alignment of {m.name} ({self.variant}, {self.offset} offset)",
                     ("user", "ε", "weights λ"), rows)

    def verify(self, tol: float = 1e-7) -> FitCheck:
        """Recompute residuals, weight feasibility and every certificate from the market arrays."""
        m = self.market
        res = _market_fit(m, self.weights, self.offsets, self.offset)
        eps = np.abs(res).max(axis=(1, 2))
        w = self.dual  # [j, a, y]
        wu = (w * m.u).sum(axis=(1, 2))
        Mtw = np.einsum("jay,ijay->ji", w, m.U)
        Etw = w.sum(axis=1) if self.offset == "state" else w.sum(axis=(1, 2))[:, None]
        l1 = np.abs(w).sum(axis=(1, 2))
        if self.variant == "simplex":
            bound = wu - Mtw.max(axis=1)
            dual_violation = max(float(np.abs(Etw).max()), float((l1 - 1).max()), 0.0)
        else:
            bound = wu
            dual_violation = max(float(Mtw.max()), float(np.abs(Etw).max()), float((l1 - 1).max()), 0.0)
        return _fit_check(
            tol,
            np.abs(eps - self.epsilon).max(),
            _weight_violation(self.weights, self.variant),
            dual_violation,
            max(0.0, float((eps - bound).max())),
        )

    def to_dict(self, dual: bool = False) -> dict:
        """Plain data; with ``dual=True`` each user also carries her certificate ``w[action][state]``."""
        m = self.market
        users = []
        for j, rec in enumerate(self):
            d = {
                "name": rec.user,
                "epsilon": rec.epsilon,
                "weights": rec.weights,
                "offset": rec.offset,
                "covering": list(rec.covering),
                "worst": {"action": rec.worst[0], "state": rec.worst[1]},
                "lower_bound": rec.lower_bound,
            }
            if dual:
                d["dual"] = {a: [float(v) for v in self.dual[j, ka]] for ka, a in enumerate(m.actions)}
            users.append(d)
        return {
            "market": m.name,
            "variant": self.variant,
            "offset": self.offset,
            "method": self.method,
            "max_epsilon": self.max_epsilon,
            "users": users,
            "seconds": self.seconds,
            "info": dict(self.info),
        }


@dataclass(frozen=True, eq=False, repr=False)
class StrongAlignment:
    """Strong Market Alignment (docs/model.md §7): ``epsilon``, common ``weights[i]``, per-user ``offsets[j, q]``.

    ``dual[j, a, y]`` is the certificate (pooled over users) and ``lower_bound`` the
    bound it proves; ``worst = (j, a, y)`` is where the largest residual sits.
    """

    market: Market
    variant: str
    offset: str
    method: str
    epsilon: float
    weights: np.ndarray
    offsets: np.ndarray
    worst: tuple[int, int, int]
    dual: np.ndarray
    lower_bound: float
    seconds: float
    info: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        w = ", ".join(f"{p} {x:.4g}" for p, x in zip(self.market.providers, self.weights))
        return (
            f"StrongAlignment({self.market.name!r}, {self.variant}, {self.offset} offset, method={self.method}: "
            f"ε={self.epsilon:.6g}, weights [{w}])"
        )

    def _repr_html_(self) -> str:
        from pluralign.html import table

        rows = [(p, w) for p, w in zip(self.market.providers, self.weights)]
        return table(f"Strong Market Alignment of {self.market.name}: ε_S = {self.epsilon:.6g} ({self.variant})",
                     ("provider", "common weight λ"), rows)

    def verify(self, tol: float = 1e-7) -> FitCheck:
        """Recompute the pooled residual and the pooled certificate from the market arrays."""
        m = self.market
        weights = np.broadcast_to(self.weights, (m.n_users, m.n_providers))
        res = _market_fit(m, weights, self.offsets, self.offset)
        eps = float(np.abs(res).max())
        w = self.dual
        wu = float((w * m.u).sum())
        Mtw = np.einsum("jay,ijay->i", w, m.U)
        Etw = w.sum(axis=1) if self.offset == "state" else w.sum(axis=(1, 2))
        l1 = float(np.abs(w).sum())
        if self.variant == "simplex":
            bound = wu - float(Mtw.max())
            dual_violation = max(float(np.abs(Etw).max()), l1 - 1, 0.0)
        else:
            bound = wu
            dual_violation = max(float(Mtw.max()), float(np.abs(Etw).max()), l1 - 1, 0.0)
        return _fit_check(
            tol,
            abs(eps - self.epsilon),
            _weight_violation(self.weights, self.variant),
            dual_violation,
            max(0.0, eps - bound),
        )

    def to_dict(self, dual: bool = False) -> dict:
        m = self.market
        j, a, y = self.worst
        d = {
            "market": m.name,
            "variant": self.variant,
            "offset": self.offset,
            "method": self.method,
            "epsilon": self.epsilon,
            "weights": {p: float(self.weights[i]) for i, p in enumerate(m.providers)},
            "offsets": {u: _offset_value(m, self.offsets[k], self.offset) for k, u in enumerate(m.users)},
            "worst": {"user": m.users[j], "action": m.actions[a], "state": m.states[y]},
            "lower_bound": self.lower_bound,
            "seconds": self.seconds,
            "info": dict(self.info),
        }
        if dual:
            d["dual"] = {
                u: {act: [float(v) for v in self.dual[k, ka]] for ka, act in enumerate(m.actions)}
                for k, u in enumerate(m.users)
            }
        return d


# =========================================================================== entry points


def _market_arrays(market: Market, offset: str):
    m, n_a, n_y = market.u.shape
    return market.u.reshape(m, n_a * n_y), provider_matrices(market), offset_matrix(n_a, n_y, offset)


def weak_alignment(
    market: Market,
    *,
    variant: Variant = "cone",
    offset: Offset = "scalar",
    method: Method = "batched",
    tol: float = 1e-7,
) -> WeakAlignment:
    """Weak Market Alignment error ``ε_j`` of every user, with weights, offsets and dual certificates.

    ``ε_j = min_{λ ≥ 0, c} max_{a,y} |Σ_i λ_i U_i(j,a,y) + c − u_j(a,y)|`` (module docstring).
    Per-user errors: ``weak_alignment(market).epsilon`` (array over users); the
    market's WMA level: ``.max_epsilon``.
    """
    _choice(offset, OFFSETS, "offset")
    started = time.perf_counter()
    u, M, E = _market_arrays(market, offset)
    shared = not any(market.user_specific)
    fits = linf_fits(u, M[0] if shared else M, E, variant=variant, method=method, tol=tol)
    n_a, n_y = market.n_actions, market.n_states
    worst = np.stack(np.divmod(fits.worst, n_y), axis=1)
    return WeakAlignment(
        market=market,
        variant=variant,
        offset=offset,
        method=method,
        epsilon=fits.epsilon,
        weights=fits.weights,
        offsets=fits.offsets,
        worst=worst,
        dual=fits.dual.reshape(-1, n_a, n_y),
        lower_bound=fits.dual_value,
        seconds=time.perf_counter() - started,
        info={"fallbacks": fits.fallbacks, "tol": tol},
    )


def strong_alignment(
    market: Market,
    *,
    variant: Variant = "cone",
    offset: Offset = "scalar",
    method: Literal["highs", "scipy"] = "highs",
    tol: float = 1e-7,
    max_users_per_lp: int = 200,
) -> StrongAlignment:
    """Strong Market Alignment error ``ε_S`` with the common weights, per-user offsets and a pooled certificate.

    ``ε_S = min_{λ ≥ 0, c_1..c_m} max_{j,a,y} |Σ_i λ_i U_i(j,a,y) + c_j − u_j(a,y)|``.

    Markets with more than ``max_users_per_lp`` users are solved by adding users
    to the program until the common weights fit every user: solve the program on
    a working set, give every user her optimal offset for those weights
    (:func:`best_offsets`), and add the users whose error exceeds the working
    optimum by more than ``tol``. The working program is a relaxation, so when no
    user is added its optimum is ε_S, and its dual (zero on the other users) is a
    certificate for the whole market.
    """
    _choice(variant, VARIANTS, "variant")
    _choice(offset, OFFSETS, "offset")
    if method not in ("highs", "scipy"):
        raise ValueError(f"method must be 'highs' or 'scipy' for strong alignment; got {method!r}")
    started = time.perf_counter()
    u, M, E = _market_arrays(market, offset)
    m, N = u.shape
    k = M.shape[2]
    if m <= max_users_per_lp:
        active = np.arange(m)
    else:  # start from the users farthest from constant (their error with λ = 0)
        spread = u.max(axis=1) - u.min(axis=1)
        active = np.sort(np.argsort(-spread, kind="stable")[: max(1, max_users_per_lp // 4)])
    rounds = 0
    while True:
        rounds += 1
        lp = strong_fit_lp(M[active], E, u[active], variant)
        res = solve_lp(lp, backend=method).require_optimal("strong alignment LP")
        lam = _clean_weights(res.x[:k], variant)
        r0 = np.einsum("jnk,k->jn", M, lam) - u
        offsets, residual = best_offsets(r0, E)
        errors = np.abs(residual).max(axis=1)
        violators = np.setdiff1d(np.flatnonzero(errors > res.objective + tol), active)
        if violators.size == 0:
            break
        add = violators[np.argsort(-errors[violators], kind="stable")[: max(1, max_users_per_lp // 4)]]
        active = np.union1d(active, add)
    w = np.zeros((m, N))
    w[active] = dual_from_row_duals(res.row_dual, N, active.size)
    bound, _ = certificate(w, M, E, u, variant, pooled=True)
    j, r = np.unravel_index(int(np.abs(residual).argmax()), residual.shape)
    a, y = divmod(int(r), market.n_states)
    return StrongAlignment(
        market=market,
        variant=variant,
        offset=offset,
        method=method,
        epsilon=float(np.abs(residual).max()),
        weights=lam,
        offsets=offsets,
        worst=(int(j), a, y),
        dual=w.reshape(m, market.n_actions, market.n_states),
        lower_bound=float(bound[0]),
        seconds=time.perf_counter() - started,
        info={"rounds": rounds, "users_in_lp": int(active.size), "tol": tol},
    )


@dataclass(frozen=True, eq=False, repr=False)
class AlignmentReport:
    """Weak and Strong Market Alignment of one market, as ``pluralign align`` prints it."""

    weak: WeakAlignment
    strong: StrongAlignment

    def __repr__(self) -> str:
        return f"AlignmentReport(\n  {self.weak!r},\n  {self.strong!r})"

    def _repr_html_(self) -> str:
        return self.weak._repr_html_() + self.strong._repr_html_()

    def verify(self, tol: float = 1e-7) -> FitCheck:
        """Both verifications combined (the worse of each figure)."""
        a, b = self.weak.verify(tol), self.strong.verify(tol)
        return FitCheck(
            a.ok and b.ok,
            tol,
            max(a.epsilon_error, b.epsilon_error),
            max(a.weight_violation, b.weight_violation),
            max(a.dual_violation, b.dual_violation),
            max(a.duality_gap, b.duality_gap),
        )

    def to_dict(self) -> dict:
        """``{"variant", "users": [{"name", "epsilon", "weights", "offset"}], "strong": {"epsilon", "weights", "offsets"}}``."""
        weak, strong = self.weak, self.strong
        m = weak.market
        return {
            "variant": weak.variant,
            "users": [
                {"name": rec.user, "epsilon": rec.epsilon, "weights": rec.weights, "offset": rec.offset}
                for rec in weak
            ],
            "strong": {
                "epsilon": strong.epsilon,
                "weights": {p: float(strong.weights[i]) for i, p in enumerate(m.providers)},
                "offsets": {u: _offset_value(m, strong.offsets[j], strong.offset) for j, u in enumerate(m.users)},
            },
        }


def align(
    market: Market,
    *,
    variant: Variant = "cone",
    offset: Offset = "scalar",
    method: Method = "batched",
    tol: float = 1e-7,
) -> AlignmentReport:
    """Weak and Strong Market Alignment of ``market`` with the same variant and offset."""
    weak = weak_alignment(market, variant=variant, offset=offset, method=method, tol=tol)
    strong = strong_alignment(market, variant=variant, offset=offset, method="scipy" if method == "scipy" else "highs", tol=tol)
    return AlignmentReport(weak, strong)
