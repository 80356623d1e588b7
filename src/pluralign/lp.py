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
  for the many small, similar programs of best-response dynamics; a solve the warm
  start cannot settle is retried from scratch and then with scipy (:func:`solve_robust`);
* :func:`solve_standard_batch` runs a dense revised simplex in numpy over a whole
  batch of small programs at once (thousands of users' alignment fits), and
  :func:`block_diagonal` stacks independent programs into one HiGHS solve.

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
    "solve_robust",
    "block_diagonal",
    "BatchResult",
    "solve_standard_batch",
]

INF = float("inf")
#: HiGHS's primal and dual feasibility tolerances (its default, 1e-7, lets a bound's LP gain
#: ~1e-7 × its multipliers from constraint violations; certificates compare regrets with 1e-6).
FEASIBILITY_TOL = 1e-9
#: The last retry of :func:`solve_robust` when HiGHS cannot settle a program at FEASIBILITY_TOL.
LOOSE_FEASIBILITY_TOL = 1e-7
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
    integrality: np.ndarray | None = None  # 1 = integer column (a MILP), 0 = continuous; None = an LP

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
        integrality=None,
    ) -> LinearProgram:
        """Build from array-likes; ``A`` may be dense or any scipy sparse matrix.

        Column bounds default to ``x ≥ 0``. ``integrality[c] = 1`` makes column c integer
        (a mixed-integer program: solved to a relative gap of 1e-9, no duals).
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
        if integrality is not None:
            integrality = np.broadcast_to(np.asarray(integrality, dtype=np.int8), (n,)).copy()
            if not integrality.any():
                integrality = None
        return cls(c, A, row_lower, row_upper, col_lower, col_upper, sense, float(offset), integrality)

    @property
    def is_mip(self) -> bool:
        return self.integrality is not None

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

    def require_optimal(self, what: str = "linear program") -> LPResult:
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
    for option in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):
        h.setOptionValue(option, FEASIBILITY_TOL)
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
    if lp.integrality is not None:
        kinds = {0: highspy.HighsVarType.kContinuous, 1: highspy.HighsVarType.kInteger}
        model.integrality_ = [kinds[int(v)] for v in lp.integrality]
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


def _read_highs(h, backend: str, started: float, mip: bool = False) -> LPResult:
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
        None if mip else np.asarray(sol.row_dual, dtype=float),
        None if mip else np.asarray(sol.col_dual, dtype=float),
        backend,
        iterations,
        seconds,
    )


def _solve_highs(lp: LinearProgram, presolve: bool = True, feasibility_tol: float | None = None) -> LPResult:
    started = time.perf_counter()
    h = _new_highs()
    if not presolve:
        h.setOptionValue("presolve", "off")
    if feasibility_tol is not None:
        for option in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):
            h.setOptionValue(option, feasibility_tol)
    if lp.is_mip:
        h.setOptionValue("mip_rel_gap", 1e-9)
        h.setOptionValue("mip_abs_gap", 1e-12)
    h.passModel(_highs_lp(lp))
    h.run()
    return _read_highs(h, "highs", started, mip=lp.is_mip)


# --------------------------------------------------------------------------- scipy


def _solve_scipy(lp: LinearProgram) -> LPResult:
    """Solve with scipy's ``linprog`` after converting to its (A_ub, A_eq) form."""
    from scipy.optimize import linprog

    if lp.is_mip:
        return _solve_scipy_milp(lp)
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
        options={"primal_feasibility_tolerance": FEASIBILITY_TOL, "dual_feasibility_tolerance": FEASIBILITY_TOL},
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


def _solve_scipy_milp(lp: LinearProgram) -> LPResult:
    """A mixed-integer program through :func:`scipy.optimize.milp` (no duals)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    started = time.perf_counter()
    sign = -1.0 if lp.sense == "max" else 1.0
    res = milp(
        sign * lp.c,
        constraints=[LinearConstraint(lp.A, lp.row_lower, lp.row_upper)] if lp.num_rows else None,
        integrality=lp.integrality,
        bounds=Bounds(lp.col_lower, lp.col_upper),
        options={"mip_rel_gap": 1e-9},
    )
    seconds = time.perf_counter() - started
    status = {0: "optimal", 2: "infeasible", 3: "unbounded"}.get(res.status, "error")
    if status != "optimal":
        return LPResult(status, None, float("nan"), None, None, "scipy", 0, seconds)
    return LPResult("optimal", np.asarray(res.x, dtype=float), sign * float(res.fun) + lp.offset, None, None, "scipy", 0, seconds)


def solve_lp(
    lp: LinearProgram, backend: Backend = "highs", *, presolve: bool = True, feasibility_tol: float | None = None
) -> LPResult:
    """Solve ``lp`` with the named backend; never raises for infeasible/unbounded programs.

    >>> lp = LinearProgram.build(c=[1, 1], A=[[1, 2]], row_lower=[1], row_upper=[INF])
    >>> round(solve_lp(lp).objective, 6), round(solve_lp(lp, backend="scipy").objective, 6)
    (0.5, 0.5)
    """
    if backend == "highs":
        return _solve_highs(lp, presolve, feasibility_tol)
    if backend == "scipy":
        return _solve_scipy(lp)
    raise ValueError(f"unknown LP backend {backend!r}; choose 'highs' or 'scipy'")


# --------------------------------------------------------------------------- reuse


TRUSTED = ("optimal", "infeasible", "unbounded", "infeasible_or_unbounded")


@dataclass(eq=False)
class LPModel:
    """A HiGHS model kept alive between solves, warm-started from its last basis.

    Build once from a :class:`LinearProgram` with the right sparsity pattern, then
    change what differs between instances (costs, bounds, coefficients) and call
    :meth:`solve`. HiGHS keeps the previous optimal basis and starts from it.

    The model also keeps its current data, so that a solve HiGHS cannot finish from the
    warm start (status ``unknown`` and the like, seen on degenerate programs) is retried
    on a fresh HiGHS model and then with the scipy backend; :attr:`retries` counts them.
    ``confirm_infeasible=True`` also re-checks an "infeasible" answer from scratch (for
    programs whose infeasibility would change a certificate).
    """

    lp: LinearProgram
    _h: object = field(init=False, repr=False)
    solves: int = field(init=False, default=0)
    retries: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._h = _new_highs()
        self._h.passModel(_highs_lp(self.lp))
        self._c = self.lp.c.copy()
        self._rows = (self.lp.row_lower.copy(), self.lp.row_upper.copy())
        self._cols = (self.lp.col_lower.copy(), self.lp.col_upper.copy())
        self._A = self.lp.A.tocsc(copy=True)

    def set_costs(self, c) -> None:
        c = np.asarray(c, dtype=float)
        idx = np.arange(c.size, dtype=np.int32)
        self._h.changeColsCost(c.size, idx, c)
        self._c[: c.size] = c

    def set_row_bounds(self, rows, lower, upper) -> None:
        rows = np.asarray(rows, dtype=np.int32).ravel()
        lo = np.broadcast_to(np.asarray(lower, dtype=float), rows.shape)
        hi = np.broadcast_to(np.asarray(upper, dtype=float), rows.shape)
        self._h.changeRowsBounds(rows.size, rows, _to_highs_inf(lo), _to_highs_inf(hi))
        self._rows[0][rows], self._rows[1][rows] = lo, hi

    def set_col_bounds(self, cols, lower, upper) -> None:
        cols = np.asarray(cols, dtype=np.int32).ravel()
        lo = np.broadcast_to(np.asarray(lower, dtype=float), cols.shape)
        hi = np.broadcast_to(np.asarray(upper, dtype=float), cols.shape)
        self._h.changeColsBounds(cols.size, cols, _to_highs_inf(lo), _to_highs_inf(hi))
        self._cols[0][cols], self._cols[1][cols] = lo, hi

    def set_coefficients(self, rows, cols, values) -> None:
        A = self._A.tolil()
        for r, c, v in zip(np.ravel(rows), np.ravel(cols), np.ravel(values)):
            self._h.changeCoeff(int(r), int(c), float(v))
            A[int(r), int(c)] = float(v)
        self._A = A.tocsc()

    def current(self) -> LinearProgram:
        """The program as it stands after every change (for a fresh solve)."""
        return LinearProgram(
            self._c.copy(), self._A.copy(), self._rows[0].copy(), self._rows[1].copy(), self._cols[0].copy(),
            self._cols[1].copy(), self.lp.sense, self.lp.offset,
        )

    def solve(self, *, confirm_infeasible: bool = False) -> LPResult:
        started = time.perf_counter()
        self._h.run()
        self.solves += 1
        res = _read_highs(self._h, "highs", started)
        if res.status in TRUSTED and not (confirm_infeasible and res.status != "optimal"):
            return res
        self.retries += 1
        self._h.clearSolver()  # drop the basis that led here
        fresh = solve_robust(self.current())
        return fresh

    def basis(self):
        """The model's current simplex basis (an opaque object for :meth:`set_basis`)."""
        return self._h.getBasis()

    def set_basis(self, basis) -> None:
        """Start the next solve from ``basis``, taken from a model with the same rows and columns
        (e.g. the same constraints with other costs: the basis stays primal feasible)."""
        self._h.setBasis(basis)


def solve_robust(lp: LinearProgram) -> LPResult:
    """Solve with HiGHS, and do not take its word for failure: an "infeasible" or "unbounded"
    answer is re-checked without presolve (HiGHS's presolve has been seen to call a feasible,
    tightly toleranced program infeasible — for a bound's LP that would understate a supremum),
    and a status HiGHS cannot settle is retried with the scipy backend and then with HiGHS's
    default tolerances (1e-7: a relaxation, so its optimum can only be higher and its
    infeasibility is real). Returns the first optimal result, else the confirmed failure."""
    res = solve_lp(lp, backend="highs")
    if res.optimal:
        return res
    if res.status in TRUSTED:
        again = solve_lp(lp, backend="highs", presolve=False)
        if again.optimal or again.status not in TRUSTED:
            alt = again if again.optimal else solve_lp(lp, backend="scipy")
            return alt if alt.status in TRUSTED else res
        return res
    alt = solve_lp(lp, backend="scipy")
    if alt.status in TRUSTED:
        return alt
    loose = solve_lp(lp, backend="highs", feasibility_tol=LOOSE_FEASIBILITY_TOL)
    return loose if loose.status in TRUSTED else res


# --------------------------------------------------------------------------- batches


def block_diagonal(programs) -> LinearProgram:
    """One program whose blocks are ``programs``: ``optimize Σ_b c_b·x_b`` subject to each block's rows.

    The blocks share no variable or row, so an optimum of the stacked program is an
    optimum of every block (columns and rows keep the order of ``programs``). All
    programs must have the same sense.
    """
    programs = list(programs)
    if not programs:
        raise ValueError("block_diagonal needs at least one program")
    senses = {lp.sense for lp in programs}
    if len(senses) != 1:
        raise ValueError(f"block_diagonal needs programs of one sense, got {sorted(senses)}")
    return LinearProgram(
        c=np.concatenate([lp.c for lp in programs]),
        A=sp.block_diag([lp.A for lp in programs], format="csc"),
        row_lower=np.concatenate([lp.row_lower for lp in programs]),
        row_upper=np.concatenate([lp.row_upper for lp in programs]),
        col_lower=np.concatenate([lp.col_lower for lp in programs]),
        col_upper=np.concatenate([lp.col_upper for lp in programs]),
        sense=programs[0].sense,
        offset=float(sum(lp.offset for lp in programs)),
    )


@dataclass(frozen=True, eq=False)
class BatchResult:
    """Outcome of :func:`solve_standard_batch` for ``B`` programs (arrays indexed by program first).

    ``status[b]`` is ``"optimal"``, ``"unbounded"``, ``"iteration_limit"``, ``"singular"``
    (the starting basis could not be inverted) or ``"inaccurate"`` (the final basis,
    refactorized, missed the feasibility tolerances). ``y[b]`` are the simplex
    multipliers ``c_B B⁻¹``: an optimal solution of the dual ``min b·y s.t. Aᵀy ≥ c``.
    """

    status: np.ndarray
    x: np.ndarray
    y: np.ndarray
    objective: np.ndarray
    basis: np.ndarray
    iterations: np.ndarray
    seconds: float

    @property
    def optimal(self) -> np.ndarray:
        return self.status == "optimal"


def _basis_matrices(A: np.ndarray, AT: np.ndarray | None, basis: np.ndarray) -> np.ndarray:
    """``B[b] = A_b[:, basis[b]]`` for a shared (``AT`` given) or batched ``A``."""
    if AT is not None:
        return AT[basis].transpose(0, 2, 1)
    return np.take_along_axis(A, basis[:, None, :], axis=2)


def _price(y: np.ndarray, A: np.ndarray) -> np.ndarray:
    """``y @ A`` for a shared ``A``, in row blocks of at most ~200,000 multiply-adds.

    A threaded BLAS splits larger products over its threads; for products this
    small that costs more than it saves, and on a busy machine many times more.
    Blocks below its threading threshold run on one thread.
    """
    B = y.shape[0]
    m, n = A.shape
    step = max(1, 200_000 // max(1, m * n))
    if step >= B:
        return y @ A
    out = np.empty((B, n))
    for s in range(0, B, step):
        np.matmul(y[s : s + step], A, out=out[s : s + step])
    return out


def _invert(Bm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched inverse; singular matrices get NaN and ``False`` in the returned mask."""
    try:
        return np.linalg.inv(Bm), np.ones(Bm.shape[0], dtype=bool)
    except np.linalg.LinAlgError:
        out = np.full_like(Bm, np.nan)
        ok = np.zeros(Bm.shape[0], dtype=bool)
        for b in range(Bm.shape[0]):
            try:
                out[b] = np.linalg.inv(Bm[b])
                ok[b] = True
            except np.linalg.LinAlgError:
                pass
        return out, ok


def solve_standard_batch(
    A,
    b,
    c,
    basis,
    *,
    max_iter: int | None = None,
    tol: float = 1e-9,
    refactor_every: int = 32,
    bland_after: int | None = None,
    compact_fraction: float = 0.25,
) -> BatchResult:
    """Solve many small programs ``maximize c_b·x s.t. A_b x = b_b, x ≥ 0`` at once.

    A revised primal simplex run in lockstep over the batch with numpy: every
    iteration prices, picks an entering column (largest reduced cost; Bland's
    smallest-index rule after ``bland_after`` iterations, against cycling), does the
    ratio test and updates each program's dense basis inverse, for all unfinished
    programs together. It suits many programs with a few dozen rows, where one
    solver call per program would cost more in overhead than in pivots.

    ``A`` is ``(m, n)`` (shared by all programs) or ``(B, m, n)``; ``b`` is ``(m,)`` or
    ``(B, m)``; ``c`` is ``(B, n)``; ``basis`` is ``(B, m)`` column indices of a
    *feasible* starting basis (``A_B⁻¹ b ≥ 0``). The final basis is refactorized and
    its primal and dual feasibility checked again, so ``status == "optimal"`` means
    optimal to ``tol``.

    >>> A = np.array([[1.0, 1.0, 1.0]])            # x0 + x1 + slack = 1
    >>> r = solve_standard_batch(A, [1.0], [[1.0, 2.0, 0.0], [3.0, 1.0, 0.0]], [[2], [2]])
    >>> r.status.tolist(), r.objective.tolist()
    (['optimal', 'optimal'], [2.0, 3.0])
    """
    started = time.perf_counter()
    c = np.atleast_2d(np.asarray(c, dtype=float))
    n_prob, n = c.shape
    A = np.asarray(A, dtype=float)
    shared = A.ndim == 2
    m = A.shape[-2]
    if A.shape[-1] != n or (not shared and A.shape[0] != n_prob):
        raise ValueError(f"A has shape {A.shape}, expected (m, {n}) or ({n_prob}, m, {n})")
    rhs = np.broadcast_to(np.asarray(b, dtype=float), (n_prob, m))
    basis = np.array(basis, dtype=np.int64).reshape(n_prob, m)
    if max_iter is None:
        max_iter = 50 * (m + n)
    if bland_after is None:
        bland_after = 5 * (m + n)
    AT = np.ascontiguousarray(A.T) if shared else None

    status = np.full(n_prob, "iteration_limit", dtype="<U16")
    iterations = np.zeros(n_prob, dtype=np.int64)
    Binv, ok = _invert(_basis_matrices(A, AT, basis))
    status[~ok] = "singular"
    ids = np.flatnonzero(ok)
    Binv, bas = Binv[ok], basis[ok]
    cw, rw = c[ok], rhs[ok]
    Aw = None if shared else A[ok]
    xB = (Binv @ rw[:, :, None])[:, :, 0]
    bad_start = (xB < -1e3 * tol).any(axis=1)
    if bad_start.any():
        raise ValueError(f"the starting basis of program {int(ids[np.argmax(bad_start)])} is not feasible")
    np.maximum(xB, 0.0, out=xB)

    # Finished programs stay in the working arrays (frozen: their pivots are made
    # no-ops) until enough have finished to make compacting the arrays worth it.
    live = np.ones(ids.size, dtype=bool)
    it = 0
    while live.any() and it < max_iter:
        if (~live).sum() > compact_fraction * live.size:
            basis[ids[~live]] = bas[~live]
            ids, bas, Binv, xB, cw, rw = ids[live], bas[live], Binv[live], xB[live], cw[live], rw[live]
            if not shared:
                Aw = Aw[live]
            live = np.ones(ids.size, dtype=bool)
        if it and it % refactor_every == 0:
            Bm = _basis_matrices(A, AT, bas) if shared else np.take_along_axis(Aw, bas[:, None, :], axis=2)
            fresh, good = _invert(Bm)
            Binv = np.where(good[:, None, None], fresh, Binv)
            xB = np.maximum((Binv @ rw[:, :, None])[:, :, 0], 0.0)
        cb = np.take_along_axis(cw, bas, axis=1)
        y = (cb[:, None, :] @ Binv)[:, 0]
        d = cw - (_price(y, A) if shared else (y[:, None, :] @ Aw)[:, 0])
        np.put_along_axis(d, bas, 0.0, axis=1)
        q = np.argmax(d, axis=1)
        rows = np.arange(ids.size)
        done = live & (d[rows, q] <= tol)
        if it >= bland_after:
            positive = d > tol
            q = np.where(positive.any(axis=1), np.argmax(positive, axis=1), q)
        aq = AT[q] if shared else Aw[rows, :, q]
        alpha = (Binv @ aq[:, :, None])[:, :, 0]
        can = alpha > tol
        ratio = np.where(can, xB / np.where(can, alpha, 1.0), np.inf)
        if it >= bland_after:  # ties: the smallest basic column index leaves
            best = ratio.min(axis=1, keepdims=True)
            tied = ratio <= best * (1 + 1e-12) + 1e-15
            p = np.argmin(np.where(tied, bas, np.iinfo(np.int64).max), axis=1)
        else:
            p = np.argmin(ratio, axis=1)
        unbounded = live & ~can.any(axis=1) & ~done
        status[ids[done]] = "optimal"
        status[ids[unbounded]] = "unbounded"
        live &= ~(done | unbounded)
        if not live.any():
            break
        frozen = ~live
        if frozen.any():  # pivot column 0 on itself: leaves basis, xB and Binv unchanged
            p[frozen] = 0
            q[frozen] = bas[frozen, 0]
            alpha[frozen] = 0.0
            alpha[frozen, 0] = 1.0
        pivot = alpha[rows, p]
        theta = xB[rows, p] / pivot
        xB -= theta[:, None] * alpha
        xB[rows, p] = theta
        np.maximum(xB, 0.0, out=xB)
        prow = Binv[rows, p] / pivot[:, None]
        Binv -= alpha[:, :, None] * prow[:, None, :]
        Binv[rows, p] = prow
        bas[rows, p] = q
        iterations[ids[live]] += 1
        it += 1
    if ids.size:
        basis[ids] = bas

    # Refactorize every final basis and check it again.
    Binv, good = _invert(_basis_matrices(A, AT, basis))
    Binv = np.where(good[:, None, None], Binv, 0.0)
    xB = (Binv @ rhs[:, :, None])[:, :, 0]
    cb = np.take_along_axis(c, basis, axis=1)
    y = (cb[:, None, :] @ Binv)[:, 0]
    d = c - (y @ A if shared else (y[:, None, :] @ A)[:, 0])
    np.put_along_axis(d, basis, 0.0, axis=1)
    accurate = good & (xB >= -1e2 * tol).all(axis=1) & (d <= 1e2 * tol).all(axis=1)
    status[(status == "optimal") & ~accurate] = "inaccurate"
    x = np.zeros((n_prob, n))
    np.put_along_axis(x, basis, np.maximum(xB, 0.0), axis=1)
    objective = np.where(status == "optimal", (c * x).sum(axis=1), np.nan)
    return BatchResult(status, x, y, objective, basis, iterations, time.perf_counter() - started)
