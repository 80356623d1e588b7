"""The one door to the linear-programming solver.

Every linear program in pluralign is assembled by small builder functions into an
:class:`LinearProgram` in HiGHS's native form

    optimize  c·x + offset
    s.t.      row_lower ≤ A x ≤ row_upper,   col_lower ≤ x ≤ col_upper,

and solved here. Nothing else in the package imports ``highspy`` or
``scipy.optimize.linprog``.

Two ways to solve:

* :func:`solve_lp` solves one program (backend ``"highs"`` through highspy, or
  ``"scipy"`` through :func:`scipy.optimize.linprog`, used as an independent
  second computation in tests and as a fallback);
* :class:`LPModel` keeps one HiGHS model alive, lets the caller change costs,
  bounds and coefficients, and re-solves warm-started from the previous basis,
  for the many small, similar programs of best-response dynamics.

Dual convention (both backends): ``row_dual[r]`` is the derivative of the optimal
objective with respect to the active bound of row ``r``, ``col_dual[c]`` likewise
for the bounds of column ``c`` (the reduced cost). For a minimization these are
the multipliers of the Lagrangian ``c·x - row_dual·(A x - b) - col_dual·(x - l)``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.sparse as sp

__all__ = [
    "INF",
    "LinearProgram",
    "LPResult",
    "LPModel",
    "LPError",
    "solve_lp",
]

INF = float("inf")
Sense = Literal["min", "max"]
Backend = Literal["highs", "scipy"]


class LPError(RuntimeError):
    """A linear program could not be solved to optimality."""


@dataclass(frozen=True, eq=False)
class LinearProgram:
    """``optimize c·x + offset`` s.t. ``row_lower ≤ A x ≤ row_upper``, ``col_lower ≤ x ≤ col_upper``."""

    c: np.ndarray
    A: sp.csc_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    sense: Sense = "min"
    offset: float = 0.0

    @classmethod
    def build(
        cls,
        c,
        A,
        row_lower,
        row_upper,
        col_lower=None,
        col_upper=None,
        sense: Sense = "min",
        offset: float = 0.0,
    ) -> "LinearProgram":
        """Build from array-likes; ``A`` may be dense or any scipy sparse matrix.

        Column bounds default to ``x ≥ 0``.
        """
        c = np.asarray(c, dtype=float).ravel()
        n = c.size
        A = sp.csc_matrix(A, dtype=float) if not sp.issparse(A) else A.tocsc().astype(float)
        if A.shape[1] != n:
            raise ValueError(f"A has {A.shape[1]} columns but c has {n} entries")
        r = A.shape[0]
        row_lower = np.broadcast_to(np.asarray(row_lower, dtype=float), (r,)).copy()
        row_upper = np.broadcast_to(np.asarray(row_upper, dtype=float), (r,)).copy()
        col_lower = np.zeros(n) if col_lower is None else np.broadcast_to(np.asarray(col_lower, dtype=float), (n,)).copy()
        col_upper = np.full(n, INF) if col_upper is None else np.broadcast_to(np.asarray(col_upper, dtype=float), (n,)).copy()
        if sense not in ("min", "max"):
            raise ValueError(f"sense must be 'min' or 'max', got {sense!r}")
        return cls(c, A, row_lower, row_upper, col_lower, col_upper, sense, float(offset))

    @property
    def num_cols(self) -> int:
        return self.c.size

    @property
    def num_rows(self) -> int:
        return self.A.shape[0]


@dataclass(frozen=True, eq=False)
class LPResult:
    """Outcome of one solve: status, primal point, objective and duals."""

    status: str
    x: np.ndarray | None
    objective: float
    row_dual: np.ndarray | None
    col_dual: np.ndarray | None
    backend: str
    iterations: int = 0
    seconds: float = 0.0

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"

    def require_optimal(self, what: str = "linear program") -> "LPResult":
        """Return self, or raise :class:`LPError` naming ``what`` and the status."""
        if not self.optimal:
            raise LPError(f"{what}: solver status {self.status!r}")
        return self


# --------------------------------------------------------------------------- HiGHS


_banner_suppressed = False


def _new_highs():
    """A silent ``highspy.Highs`` instance (HiGHS prints a banner on first construction)."""
    global _banner_suppressed
    import highspy

    if _banner_suppressed:
        h = highspy.Highs()
    else:
        # The banner is written by C code straight to file descriptor 1.
        try:
            saved = os.dup(1)
        except OSError:  # pragma: no cover - no stdout at all
            saved = None
        if saved is not None:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 1)
                h = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
                os.close(devnull)
        else:  # pragma: no cover
            h = highspy.Highs()
        _banner_suppressed = True
    h.setOptionValue("output_flag", False)
    return h


def _highs_lp(lp: LinearProgram):
    import highspy

    model = highspy.HighsLp()
    model.num_col_ = lp.num_cols
    model.num_row_ = lp.num_rows
    model.col_cost_ = lp.c
    model.col_lower_ = _to_highs_inf(lp.col_lower)
    model.col_upper_ = _to_highs_inf(lp.col_upper)
    model.row_lower_ = _to_highs_inf(lp.row_lower)
    model.row_upper_ = _to_highs_inf(lp.row_upper)
    model.offset_ = lp.offset
    A = lp.A.tocsc()
    A.sort_indices()
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = A.indptr.astype(np.int32)
    model.a_matrix_.index_ = A.indices.astype(np.int32)
    model.a_matrix_.value_ = A.data.astype(float)
    model.sense_ = highspy.ObjSense.kMaximize if lp.sense == "max" else highspy.ObjSense.kMinimize
    return model


def _to_highs_inf(v: np.ndarray) -> np.ndarray:
    import highspy

    out = np.asarray(v, dtype=float).copy()
    out[np.isposinf(out)] = highspy.kHighsInf
    out[np.isneginf(out)] = -highspy.kHighsInf
    return out


_HIGHS_STATUS = {
    "Optimal": "optimal",
    "Infeasible": "infeasible",
    "Unbounded": "unbounded",
    "Primal infeasible or unbounded": "infeasible_or_unbounded",
}


def _read_highs(h, backend: str, started: float) -> LPResult:
    status_text = h.modelStatusToString(h.getModelStatus())
    status = _HIGHS_STATUS.get(status_text, status_text.lower())
    info = h.getInfo()
    iterations = int(info.simplex_iteration_count)
    seconds = time.perf_counter() - started
    if status != "optimal":
        return LPResult(status, None, float("nan"), None, None, backend, iterations, seconds)
    sol = h.getSolution()
    return LPResult(
        "optimal",
        np.asarray(sol.col_value, dtype=float),
        float(info.objective_function_value),
        np.asarray(sol.row_dual, dtype=float),
        np.asarray(sol.col_dual, dtype=float),
        backend,
        iterations,
        seconds,
    )


def _solve_highs(lp: LinearProgram) -> LPResult:
    started = time.perf_counter()
    h = _new_highs()
    h.passModel(_highs_lp(lp))
    h.run()
    return _read_highs(h, "highs", started)


# --------------------------------------------------------------------------- scipy


def _solve_scipy(lp: LinearProgram) -> LPResult:
    """Solve with scipy's ``linprog`` after converting to its (A_ub, A_eq) form."""
    from scipy.optimize import linprog

    started = time.perf_counter()
    sign = -1.0 if lp.sense == "max" else 1.0
    A = lp.A.tocsr()
    lo, hi = lp.row_lower, lp.row_upper
    eq = np.isfinite(lo) & np.isfinite(hi) & (lo == hi)
    up = ~eq & np.isfinite(hi)
    dn = ~eq & np.isfinite(lo)
    A_ub = sp.vstack([A[up], -A[dn]]).tocsr()
    b_ub = np.concatenate([hi[up], -lo[dn]])
    bounds = list(zip(np.where(np.isfinite(lp.col_lower), lp.col_lower, None), np.where(np.isfinite(lp.col_upper), lp.col_upper, None)))
    res = linprog(
        sign * lp.c,
        A_ub=A_ub if A_ub.shape[0] else None,
        b_ub=b_ub if A_ub.shape[0] else None,
        A_eq=A[eq] if eq.any() else None,
        b_eq=hi[eq] if eq.any() else None,
        bounds=bounds,
        method="highs",
    )
    seconds = time.perf_counter() - started
    status = {0: "optimal", 2: "infeasible", 3: "unbounded"}.get(res.status, "error")
    if status != "optimal":
        return LPResult(status, None, float("nan"), None, None, "scipy", int(res.nit), seconds)
    row_dual = np.zeros(lp.num_rows)
    if eq.any():
        row_dual[eq] = res.eqlin.marginals
    if A_ub.shape[0]:
        m = res.ineqlin.marginals
        n_up = int(up.sum())
        row_dual[up] += m[:n_up]
        row_dual[dn] -= m[n_up:]
    col_dual = np.asarray(res.lower.marginals, dtype=float) + np.asarray(res.upper.marginals, dtype=float)
    return LPResult(
        "optimal",
        np.asarray(res.x, dtype=float),
        sign * float(res.fun) + lp.offset,
        sign * row_dual,
        sign * col_dual,
        "scipy",
        int(res.nit),
        seconds,
    )


def solve_lp(lp: LinearProgram, backend: Backend = "highs") -> LPResult:
    """Solve ``lp`` with the named backend; never raises for infeasible/unbounded programs.

    >>> lp = LinearProgram.build(c=[1, 1], A=[[1, 2]], row_lower=[1], row_upper=[INF])
    >>> round(solve_lp(lp).objective, 6), round(solve_lp(lp, backend="scipy").objective, 6)
    (0.5, 0.5)
    """
    if backend == "highs":
        return _solve_highs(lp)
    if backend == "scipy":
        return _solve_scipy(lp)
    raise ValueError(f"unknown LP backend {backend!r}; choose 'highs' or 'scipy'")


# --------------------------------------------------------------------------- reuse


@dataclass(eq=False)
class LPModel:
    """A HiGHS model kept alive between solves, warm-started from its last basis.

    Build once from a :class:`LinearProgram` with the right sparsity pattern, then
    change what differs between instances (costs, bounds, coefficients) and call
    :meth:`solve`. HiGHS keeps the previous optimal basis and starts from it.
    """

    lp: LinearProgram
    _h: object = field(init=False, repr=False)
    solves: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._h = _new_highs()
        self._h.passModel(_highs_lp(self.lp))

    def set_costs(self, c) -> None:
        c = np.asarray(c, dtype=float)
        idx = np.arange(c.size, dtype=np.int32)
        self._h.changeColsCost(c.size, idx, c)

    def set_row_bounds(self, rows, lower, upper) -> None:
        rows = np.asarray(rows, dtype=np.int32).ravel()
        lo = _to_highs_inf(np.broadcast_to(np.asarray(lower, dtype=float), rows.shape))
        hi = _to_highs_inf(np.broadcast_to(np.asarray(upper, dtype=float), rows.shape))
        self._h.changeRowsBounds(rows.size, rows, lo, hi)

    def set_col_bounds(self, cols, lower, upper) -> None:
        cols = np.asarray(cols, dtype=np.int32).ravel()
        lo = _to_highs_inf(np.broadcast_to(np.asarray(lower, dtype=float), cols.shape))
        hi = _to_highs_inf(np.broadcast_to(np.asarray(upper, dtype=float), cols.shape))
        self._h.changeColsBounds(cols.size, cols, lo, hi)

    def set_coefficients(self, rows, cols, values) -> None:
        for r, c, v in zip(np.ravel(rows), np.ravel(cols), np.ravel(values)):
            self._h.changeCoeff(int(r), int(c), float(v))

    def solve(self) -> LPResult:
        started = time.perf_counter()
        self._h.run()
        self.solves += 1
        return _read_highs(self._h, "highs", started)
