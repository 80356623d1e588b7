"""Bayesian persuasion of one user by one provider, as a linear program (MODEL.md §6, §8).

Variables are a recommendation scheme ``sigma[x, a]`` (flattened ``x * n_a + a``).
For user utility ``u[a, y]`` and provider utility ``U[a, y]``:

    maximize   Σ_{x,a} sigma[x, a] · Σ_y P[x, y] U[a, y]
    s.t.       Σ_a sigma[x, a] = 1                                  (each x)
               Σ_x sigma[x, a] · (D[x, a, a'] − δ · P(x)) ≥ 0       (obedience, a ≠ a')
               Σ_{x,a} sigma[x, a] · Σ_y P[x, y] u[a, y] ≥ V_out     (participation, optional)
               sigma ≥ 0

with ``D[x, a, a'] = Σ_y P[x, y] (u[a, y] − u[a', y])`` and ``δ`` an optional margin on
the posterior advantage of the recommended action (δ > 0 makes obedience strict,
so the optimum survives any action tie rule). Optimal schemes are attained under
the ``"recommended"`` action tie rule (the user follows a recommendation she is
indifferent about).

Each builder is a small pure function, unit-tested against hand-written matrices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp

from pluralign.lp import INF, LinearProgram, LPError, solve_lp

__all__ = [
    "objective_coefficients",
    "simplex_rows",
    "obedience_rows",
    "user_value_row",
    "build_persuasion_lp",
    "PersuasionResult",
    "solve_persuasion",
]


def objective_coefficients(P: np.ndarray, V: np.ndarray) -> np.ndarray:
    """``c[x * n_a + a] = Σ_y P[x, y] V[a, y]``: expected utility ``V`` from recommending a at x."""
    return np.einsum("xy,ay->xa", P, V).ravel()


def simplex_rows(n_x: int, n_a: int) -> sp.csr_matrix:
    """Row x sums ``sigma[x, ·]``; with bounds 1 ≤ · ≤ 1 each row is a distribution."""
    return sp.kron(sp.eye(n_x), np.ones((1, n_a)), format="csr")


def obedience_rows(P: np.ndarray, u: np.ndarray, margin: float = 0.0) -> tuple[sp.csr_matrix, list[tuple[int, int]]]:
    """Obedience rows, one per ordered pair (a, a'), a ≠ a'; each must be ≥ 0.

    Row (a, a') has coefficient ``D[x, a, a'] − margin · P(x)`` on ``sigma[x, a]``.
    Returns the matrix and the list of pairs labelling its rows.
    """
    n_x = P.shape[0]
    n_a = u.shape[0]
    Px = P.sum(axis=1)
    Eu = P @ u.T  # [x, a] = Σ_y P[x,y] u[a,y]
    pairs = [(a, b) for a in range(n_a) for b in range(n_a) if a != b]
    rows, cols, vals = [], [], []
    for r, (a, b) in enumerate(pairs):
        coef = Eu[:, a] - Eu[:, b] - margin * Px
        rows.extend([r] * n_x)
        cols.extend(x * n_a + a for x in range(n_x))
        vals.extend(coef)
    A = sp.csr_matrix((vals, (rows, cols)), shape=(len(pairs), n_x * n_a))
    return A, pairs


def user_value_row(P: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``row[x * n_a + a] = Σ_y P[x, y] u[a, y]``: the user's utility when she follows sigma."""
    return objective_coefficients(P, u)


def build_persuasion_lp(
    P: np.ndarray,
    u: np.ndarray,
    U: np.ndarray,
    participation: float | None = None,
    margin: float = 0.0,
) -> LinearProgram:
    """The persuasion LP above; rows are [simplex (n_x), obedience (n_a(n_a−1)), participation (0 or 1)]."""
    n_x, n_a = P.shape[0], u.shape[0]
    simplex = simplex_rows(n_x, n_a)
    obey, _ = obedience_rows(P, u, margin)
    blocks = [simplex, obey]
    lo = [np.ones(n_x), np.zeros(obey.shape[0])]
    hi = [np.ones(n_x), np.full(obey.shape[0], INF)]
    if participation is not None:
        blocks.append(sp.csr_matrix(user_value_row(P, u)[None, :]))
        lo.append(np.array([participation]))
        hi.append(np.array([INF]))
    return LinearProgram.build(
        c=objective_coefficients(P, U),
        A=sp.vstack(blocks),
        row_lower=np.concatenate(lo),
        row_upper=np.concatenate(hi),
        col_lower=0.0,
        col_upper=1.0,
        sense="max",
    )


@dataclass(frozen=True, eq=False)
class PersuasionResult:
    """Optimal persuasion of one user: the scheme ``sigma[x, a]`` and both parties' utilities."""

    feasible: bool
    scheme: np.ndarray | None
    provider_utility: float
    user_utility: float
    margin: float
    participation: float | None
    user_tiebreak: str | None


def solve_persuasion(
    P: np.ndarray,
    u: np.ndarray,
    U: np.ndarray,
    *,
    participation: float | None = None,
    margin: float = 0.0,
    user_tiebreak: Literal["best", "worst"] | None = "best",
    tol: float = 0.0,
    backend: str = "highs",
) -> PersuasionResult:
    """Solve the persuasion LP; among provider-optimal schemes take the user's ``best`` (default) or ``worst``.

    The second stage keeps the provider's value at least its optimum minus ``tol``.

    Returns ``feasible=False`` when the participation constraint cannot be met.
    """
    if user_tiebreak not in ("best", "worst", None):
        raise ValueError(f"user_tiebreak must be 'best', 'worst' or None, got {user_tiebreak!r}")
    lp = build_persuasion_lp(P, u, U, participation, margin)
    res = solve_lp(lp, backend=backend)
    if res.status == "infeasible":
        return PersuasionResult(False, None, float("nan"), float("nan"), margin, participation, user_tiebreak)
    res.require_optimal("persuasion LP")
    x = res.x
    user_row = user_value_row(P, u)
    if user_tiebreak is not None:
        # Second stage: keep the provider's value (to tol), optimize the user's.
        second = LinearProgram.build(
            c=user_row,
            A=sp.vstack([lp.A, sp.csr_matrix(lp.c[None, :])]),
            row_lower=np.append(lp.row_lower, res.objective - tol),
            row_upper=np.append(lp.row_upper, INF),
            col_lower=0.0,
            col_upper=1.0,
            sense="max" if user_tiebreak == "best" else "min",
        )
        res2 = solve_lp(second, backend=backend)
        if not res2.optimal:  # pragma: no cover - the first-stage optimum is feasible here
            raise LPError(f"persuasion tie-break LP: solver status {res2.status!r}")
        x = res2.x
    n_x, n_a = P.shape[0], u.shape[0]
    scheme = np.clip(x.reshape(n_x, n_a), 0.0, 1.0)
    scheme[scheme < 1e-10] = 0.0  # solver round-off, also turns -0.0 into 0.0
    scheme = scheme / scheme.sum(axis=1, keepdims=True)
    provider_value = float(lp.c @ scheme.ravel())
    user_value = float(user_row @ scheme.ravel())
    return PersuasionResult(True, scheme, provider_value, user_value, margin, participation, user_tiebreak)
